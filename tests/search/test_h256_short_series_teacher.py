"""A search whose --dataset holds shorter series than its --teacher's (a teacher of a .ts set
of unequal lengths, left-padded to 6 steps; a file whose longest series has 4) meets the
set as ``nnsynth eval`` does (helper 256): eval left-pads it to the teacher's steps
(``synth.checkpoint.in_model_scale``), but ``search.trial.real_data`` only rescaled it, and
``nnsynth search --teacher t.pt --dataset ts:Short.ts`` said '--teacher t.pt takes inputs of
shape (2, 6); the data set ts:Short.ts has (2, 4)'.  The set is now padded in the driver and
in every trial, and the summary's 'note' is eval's padded note."""
import json

import pytest
import torch

from search.run import SearchConfig, check_teacher_inputs, real_split_seed
from search.searchers import DONE_KEY
from search.trial import real_data
from synth.checkpoint import checkpoint_dataset, load_model, read_checkpoint
from synth.data import write_parquet
from tests._cli import json_result, run
from tests.test_h254_short_series_updates import _write


@pytest.fixture(scope="module")
def short(tmp_path_factory):
    """(config, teacher): an MLP teacher of Own.ts (4-6 steps, left-padded to 6), a
    synthesized set of 40 of its inputs, and a search of Short.ts (3-4 steps) from it."""
    tmp = tmp_path_factory.mktemp("h256_short")
    own = _write(tmp / "Own.ts", [4 + i % 3 for i in range(40)], ["up", "down"], 0)
    shorter = _write(tmp / "Short.ts", [3 + i % 2 for i in range(40)], ["up", "down"], 1)
    teacher = tmp / "t.pt"
    json_result(run(["-q", "train", "--dataset", own, "--model", "mlp_small", "--epochs", "3",
                     "--min-steps", "0", "--out", str(teacher), "--json"]))
    (tmp / "syn").mkdir()
    write_parquet(tmp / "syn" / "part-0.parquet", torch.randn(40, 2, 6,
                  generator=torch.Generator().manual_seed(0)), torch.arange(40) % 2,
                  read_checkpoint(teacher)["dataset"])
    config = SearchConfig(teacher=str(teacher), data=str(tmp / "syn"), dataset=shorter,
                          space="mlp", epochs=1, min_steps=0, trials=1, searcher="random",
                          hardware=False)
    return config, teacher


def test_the_search_pads_a_file_of_shorter_series_as_eval_does(short):
    config, teacher = short
    check_teacher_inputs(config)   # refused before: 'takes inputs of shape (2, 6) ...'
    from search.run import data_note   # the summary's note
    got = real_data(config.dataset, real_split_seed(config), str(teacher))
    model = load_model(teacher).eval()
    evaluated = checkpoint_dataset(model, config.dataset)   # what eval scores
    assert tuple(got.input_shape) == (2, 6)
    assert torch.equal(got.x_test, evaluated.x_test) and torch.equal(got.y_test,
                                                                     evaluated.y_test)
    shown = json_result(run(["-q", "eval", "--model", str(teacher), "--dataset",
                             config.dataset, "--json"]))
    assert "(at most 4 steps) were left-padded" in shown["note"]
    assert data_note(got, config) == {"note": shown["note"]}   # the summary's note


def test_a_trial_trains_and_scores_on_the_padded_set(short, tmp_path, monkeypatch):
    from tests.search._trial import run_trial_here
    config, _ = short
    settings = {**config.to_dict(), "out_dir": str(tmp_path),
                "data_seed": real_split_seed(config)}
    spec = json.dumps({"family": "mlp", "hidden": [8]}, sort_keys=True)
    final = run_trial_here(monkeypatch, "h256", {"spec": spec}, settings)[-1]
    assert final[DONE_KEY] is True
    # the trial's model, reloaded by eval on the set its record names: the same figure
    shown = json_result(run(["-q", "eval", "--model", final["checkpoint"], "--json"]))
    assert shown["accuracy"] == pytest.approx(final["test_accuracy"])
    assert "(at most 4 steps) were left-padded" in shown["note"]
