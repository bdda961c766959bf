"""A rerun of a finished ``nnsynth train`` / ``distill`` / ``prune`` / ``continual`` /
``grow-prune`` / ``incremental --out`` (the same arguments, inputs and --out) reports the
result it wrote, as ``invert``, ``search`` and ``run`` report theirs, where it trained
everything again (h284).

The checkpoint records the run that wrote it (``extra["run_key"]``: the command and a key of
its settings and input digests, ``synth.resume.run_stamp``); the rerun reads it, says so in a
warning line, and leaves the file untouched; another argument runs again and replaces it."""
import functools
import json
import os

import pytest
import torch
from click.testing import CliRunner

from deploy.cli.main import cli
from synth.train import TrainConfig, fit

MLP = '{"family": "mlp", "hidden": [8]}'
SAID = "is the finished result of this same command"


def _cli(*args) -> dict:
    """The command's --json result (its warnings: every line it logged, emit's said_in)."""
    done = CliRunner().invoke(cli, [*args, "--json"])
    assert done.exit_code == 0, done.output
    return json.loads(done.stdout.strip().splitlines()[-1])


def _file(path) -> tuple:
    return os.stat(path).st_mtime_ns, open(path, "rb").read()


def _same_figures(first: dict, again: dict, logged_only: str = "") -> None:
    """The rerun's JSON is the first run's, its warning the first run's (less the lines
    matching ``logged_only``: logged by its work, not kept in the result, and that work does
    not run again) and then the line saying that it reported it."""
    import re
    rest = {k: v for k, v in again.items() if k != "warning"}
    assert rest == {k: v for k, v in first.items() if k != "warning"}
    said = re.sub(logged_only, "", first.get("warning") or "") if logged_only else (
        first.get("warning") or "")
    line = again["warning"][len(said):]
    assert again["warning"].startswith(said) and SAID in line, (said, again["warning"])
    assert re.fullmatch(r"(; )?\S+ is the finished result [^;]*", line), line


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """(the train arguments, their --out, the first run's JSON)."""
    out = tmp_path_factory.mktemp("h284") / "m.pt"
    args = ["train", "--dataset", "iris", "--model", MLP, "--epochs", "3", "--min-steps", "0",
            "--out", str(out)]
    return args, out, _cli(*args)


def test_train_rerun_reports_the_finished_checkpoint(trained):
    args, out, first = trained
    before = _file(out)
    again = _cli(*args)
    assert _file(out) == before              # not trained, not written again
    _same_figures(first, again)
    assert f"{out} {SAID}" in again["warning"]


def test_train_with_another_argument_trains_again(trained, tmp_path):
    args, out, first = trained
    other = tmp_path / "o.pt"
    args = [a if a != str(out) else str(other) for a in args]
    _cli(*args)
    before = _file(other)
    changed = _cli(*args[:-2], "--lr", "0.05", *args[-2:])
    assert _file(other)[0] != before[0] and _file(other)[1] != before[1]   # trained again
    assert SAID not in changed["warning"]
    assert f"{other} holds the result of another training" in changed["warning"]


def test_a_state_left_beside_the_finished_checkpoint_is_removed(trained, tmp_path):
    # killed after the checkpoint was written, before its state was removed: the rerun
    # reports the checkpoint and removes the state (it resumed from it and wrote again)
    args, out, first = trained
    own = tmp_path / "k.pt"
    args = [a if a != str(out) else str(own) for a in args]
    from synth.resume import save_state
    from synth.train import STATE_FORMAT
    save_state(f"{own}.resume", STATE_FORMAT, "k", {"epoch": 2})
    _cli(*args)                              # another run's state (key 'k'): starts over
    # the state records the run that saved it (h289: one of another run, or recording
    # none, is kept): this run's, as its checkpoint records it
    run = torch.load(own, weights_only=True)["extra"]["run_key"]["key"]
    save_state(f"{own}.resume", STATE_FORMAT, "k", {"epoch": 2, "run": run})
    os.utime(f"{own}.resume", ns=(1, 1))     # older than the checkpoint
    _cli(*args)
    assert not os.path.exists(f"{own}.resume")


def test_prune_rerun_reports_and_another_ratio_prunes_again(trained, tmp_path):
    _, model, _ = trained
    out = tmp_path / "p.pt"
    args = ["prune", "--model", str(model), "--ratio", "0.5", "--importance", "magnitude",
            "--kd-steps", "0", "--out", str(out)]
    first = _cli(*args)
    before = _file(out)
    again = _cli(*args)
    assert _file(out) == before
    _same_figures(first, again)
    other = _cli(*[a if a != "0.5" else "0.25" for a in args])
    assert _file(out)[0] != before[0] and other["ratio"] != first["ratio"]
    assert "holds the result of another pruning" in other["warning"]


def test_continual_rerun_reports_the_finished_checkpoint(tmp_path):
    old = tmp_path / "old.pt"
    _cli("train", "--dataset", "iris[0,1]", "--model", MLP, "--epochs", "2", "--min-steps",
         "0", "--out", str(old))
    out = tmp_path / "n.pt"
    args = ["continual", "--model", str(old), "--new-dataset", "iris", "--new-classes", "2",
            "--method", "finetune", "--epochs", "1", "--out", str(out)]
    first = _cli(*args)
    before = _file(out)
    again = _cli(*args)
    assert _file(out) == before
    # the raised epochs of its training, said as it ran
    _same_figures(first, again, logged_only=r"; class-incremental training: [^;]*; running "
                                            r"\d+ epochs \([^)]*\)")


def test_distill_rerun_trains_nothing(tmp_path, digits):
    """The library call: its fit_fn is not called on the rerun; other epochs train."""
    from synth.data import write_parquet
    from synth.distill import DistillConfig
    from synth.workflows import distill_checkpoint
    from tests.synth._tiny import tiny_teacher_checkpoint
    teacher = tiny_teacher_checkpoint(digits, tmp_path / "teacher.pt")
    meta = digits.metadata()
    x, y = digits.x_train[:128], digits.y_train[:128]
    write_parquet(tmp_path / "synth" / "part-0.parquet", x * torch.tensor(meta["std"]).view(
        1, -1, 1, 1) + torch.tensor(meta["mean"]).view(1, -1, 1, 1), y, meta)
    out = tmp_path / "s.pt"

    def run(epochs):
        ran = []
        config = DistillConfig(epochs=epochs, min_steps=0, batch_size=64, seed=0,
                               device="cpu", progress=False)
        result = distill_checkpoint(teacher, "mlp_small", out, config,
                                    synth_dir=tmp_path / "synth", fit_fn=functools.partial(
                                        fit, on_epoch_end=lambda m, e: ran.append(e)))
        return result, ran
    first, ran = run(2)
    assert ran == [0, 1]
    before = _file(out)
    again, ran = run(2)
    assert ran == [] and _file(out) == before
    assert again == first   # (the library logs the line saying so; the CLI adds it)
    _, ran = run(3)
    assert ran == [0, 1, 2]


def test_grow_prune_rerun_reports_its_checkpoint_and_history(tmp_path):
    out = tmp_path / "g.pt"
    args = ["grow-prune", "--dataset", "iris", "--model", MLP, "--epochs", "1", "--min-steps",
            "0", "--prune-steps", "1", "--retrain-epochs", "1", "--out", str(out)]
    first = _cli(*args)
    before = _file(out)
    again = _cli(*args)
    assert _file(out) == before and again["history"] == first["history"]
    # the thread count too: the checkpoint records the run's (h295)
    _same_figures(first, again)
    other = _cli(*args[:-2], "--prune-fraction", "0.3", *args[-2:])
    assert _file(out)[0] != before[0]
    assert "holds the result of another grow-and-prune" in other["warning"]


def test_incremental_rerun_reports_the_whole_comparison(tmp_path):
    from synth import masked
    from synth.checkpoint import save_checkpoint
    from synth.data import load_dataset
    from synth.models import build
    data = load_dataset("iris")
    torch.manual_seed(0)
    model = build({"family": "mlp", "hidden": [8]}, data.input_shape, data.num_classes)
    fit(model, data, TrainConfig(epochs=5, seed=0, device="cpu", progress=False))
    masked.attach_masks(model)
    masked.prune_connections(model, 0.5, "lamp")
    save_checkpoint(tmp_path / "s.pt", model, dataset=data.metadata(),
                    masks=masked.masks_of(model))
    out = tmp_path / "u.pt"
    args = ["incremental", "--model", str(tmp_path / "s.pt"), "--old", "iris", "--new", "iris",
            "--target", "0.5", "--max-epochs", "0.5", "--min-steps", "0", "--out", str(out)]
    first = _cli(*args)
    before = _file(out)
    again = _cli(*args)
    assert _file(out) == before
    _same_figures(first, again)
    _cli(*args[:-2], "--seed", "1", *args[-2:])
    assert _file(out)[0] != before[0]


def test_a_fixed_point_training_is_reported_too(tmp_path):
    # it keeps no resume state (its rounding draws from generators of its own), but its
    # finished checkpoint records its run as a float one's does: the format is in the key
    out = tmp_path / "q.pt"
    args = ["train", "--dataset", "iris", "--model", MLP, "--epochs", "1", "--min-steps", "0",
            "--fixed-point", "4.12", "--out", str(out)]
    first = _cli(*args)
    before = _file(out)
    _same_figures(first, _cli(*args))
    assert _file(out) == before
    other = _cli(*[a if a != "4.12" else "4.16" for a in args])
    assert other["fixed_point"]["format"] != first["fixed_point"]["format"]
    assert f"{out} holds the result of another training" in other["warning"]
