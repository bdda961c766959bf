"""A resumed amortized synthesis (``nnsynth invert --method amortized`` rerun into its --out)
reports the generator.pt it saved: its ``stats`` mapping is the summary's ``generator`` and
``generator_pairs`` (helper h283).  Its weights were checked (h278), its stats not: pairs -5,
a fidelity of 7, steps NaN (JSON null) or a 200 kB device name reached the JSON as they were.
Now each name must be one nnsynth writes, with a value of its kind.  No Ray: the driver's."""
import pytest
import torch

from cluster.pairs import GENERATOR, _saved_generator
from synth.errors import UserError

# what a two-pair data-parallel warm-up saves (cluster.pairs._job_generator)
SAVED = {"steps": 20, "seconds": 0.07, "loss_first": 2.13, "loss_kept": 2.1,
         "bn_loss_first": 1.07, "bn_loss_kept": 1.0, "fidelity_first": 0.4375,
         "fidelity_kept": 0.5, "kept_step": 20, "device": "cpu", "cpu_seconds": 1.4,
         "pairs": 2, "same_weights": True, "rank_cpu_seconds": [1.4, 1.3],
         "rank_seconds": [0.5, 0.5], "rank_collective_seconds": [0.1, 0.1],
         "parallel": {"mode": "local", "ranks": 2, "sync_every": 5, "collectives": 5,
                      "collective_seconds": 0.1}}


def _saved(tmp_path, stats):
    torch.save({"state_dict": {}, "stats": stats}, tmp_path / GENERATOR)
    return tmp_path


@pytest.mark.parametrize("change, phrase", [
    ({"pairs": -5}, "its stats' pairs is -5, expected a count"),
    ({"steps": float("nan")}, "its stats' steps is nan, expected a count"),
    ({"fidelity_kept": 7.0}, "fidelity_kept is 7.0, expected a fraction in [0, 1]"),
    ({"loss_kept": float("inf")}, "loss_kept is inf, expected a finite number"),
    ({"seconds": -1}, "seconds is -1, expected finite seconds >= 0"),
    ({"device": "x" * 200_000}, "its stats' device is 'xxxxx"),
    ({"device": "cpu\x1b[2J"}, "expected a device name"),
    ({"same_weights": 1}, "same_weights is 1, expected true or false"),
    ({"rank_seconds": [1.0] * 100_000}, "expected a list of at most 1024 values"),
    ({"rank_seconds": [1.0, "a"]}, "expected finite seconds"),
    ({"parallel": {"mode": "evil"}}, "its stats' parallel.mode is 'evil'"),
    ({"parallel": {"x": 1}}, "its stats hold 'parallel.x', which nnsynth does not write"),
    ({"parallel": [1]}, "its stats' parallel is [1], expected a mapping"),
    ({"evil": [1.0] * 100_000}, "its stats hold 'evil', which nnsynth does not write"),
])
def test_saved_stats_of_another_kind_are_one_line(tmp_path, change, phrase):
    out = _saved(tmp_path, {**SAVED, **change})
    with pytest.raises(UserError) as e:
        _saved_generator(out)
    text = str(e.value)
    assert "\n" not in text and "\x1b" not in text and len(text) < 400, text
    assert str(out / GENERATOR) in text and phrase in text, text


def test_the_stats_nnsynth_saved_are_reported(tmp_path):
    # a two-pair warm-up's, and an older nnsynth's with fewer names (no pairs)
    for stats in (SAVED, {k: v for k, v in SAVED.items() if k in ("steps", "seconds", "device")}):
        _, got = _saved_generator(_saved(tmp_path, stats))
        assert got == {**stats, "resumed": True}
