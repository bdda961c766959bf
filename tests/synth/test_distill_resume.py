"""An interrupted ``nnsynth distill --synth`` resumes (``synth.workflows.distill_checkpoint``,
and ``cluster.train.ray_fit``'s workers): Ctrl-C said "this command writes its output at the
end ... rerun it to start again", and a rerun trained the student from its first epoch."""
import functools

import pytest
import torch

import synth.train
from synth.distill import DistillConfig
from synth.train import fit
from synth.workflows import distill_checkpoint
from tests.synth._tiny import tiny_teacher_checkpoint
from tests.synth.test_train_resume import Stop, _stop_at

CONFIG = DistillConfig(epochs=4, min_steps=0, batch_size=64, seed=0, device="cpu",
                       progress=False)


@pytest.fixture(scope="module")
def setup(tmp_path_factory, digits):
    """A teacher checkpoint and a 'synthesized' set (real training digits, as the teacher's
    own Parquet layout) for it."""
    from synth.data import write_parquet
    folder = tmp_path_factory.mktemp("distill_resume")
    teacher = tiny_teacher_checkpoint(digits, folder / "teacher.pt")
    meta = digits.metadata()
    x, y = digits.x_train[:256], digits.y_train[:256]
    write_parquet(folder / "synth" / "part-0.parquet", x * torch.tensor(meta["std"]).view(
        1, -1, 1, 1) + torch.tensor(meta["mean"]).view(1, -1, 1, 1), y, meta)
    return teacher, folder / "synth"


def _run(setup, out, fit_fn=fit):
    teacher, synth_dir = setup
    return distill_checkpoint(teacher, "mlp_small", out, CONFIG, synth_dir=synth_dir,
                              fit_fn=fit_fn)


def test_an_interrupted_distill_resumes_to_the_uninterrupted_student(setup, tmp_path,
                                                                     monkeypatch, caplog):
    from synth.checkpoint import load_model
    monkeypatch.setattr(synth.train, "STATE_SECONDS", 0.0)      # a state after every epoch
    whole = _run(setup, tmp_path / "whole.pt")
    out = tmp_path / "student.pt"
    with pytest.raises(Stop):
        _run(setup, out, functools.partial(fit, on_epoch_end=_stop_at(2)))
    state = tmp_path / "student.pt.resume"
    assert state.is_file() and not out.exists()
    ran = []
    resumed = _run(setup, out, functools.partial(fit, on_epoch_end=lambda m, e: ran.append(e)))
    assert ran == [2, 3] and "resuming the training from epoch 3 of 4" in caplog.text
    a, b = load_model(tmp_path / "whole.pt"), load_model(out)
    for (k, v), w in zip(a.state_dict().items(), b.state_dict().values()):
        assert torch.equal(v, w), k
    assert resumed["test_accuracy"] == whole["test_accuracy"]
    assert not state.exists()                                    # removed once out is written


def test_a_state_of_another_teacher_is_not_continued(setup, tmp_path, monkeypatch, digits):
    monkeypatch.setattr(synth.train, "STATE_SECONDS", 0.0)
    teacher, synth_dir = setup
    out = tmp_path / "student.pt"
    with pytest.raises(Stop):
        _run(setup, out, functools.partial(fit, on_epoch_end=_stop_at(2)))
    other = tmp_path / "other_teacher.pt"                       # the same spec, other weights
    other.write_bytes(teacher.read_bytes() + b"")
    from synth.checkpoint import load_model, save_checkpoint
    model = load_model(teacher)
    with torch.no_grad():
        next(model.parameters()).mul_(0.5)
    save_checkpoint(other, model, dataset=digits.metadata())
    ran = []
    distill_checkpoint(other, "mlp_small", out, CONFIG, synth_dir=synth_dir,
                       fit_fn=functools.partial(fit, on_epoch_end=lambda m, e: ran.append(e)))
    assert ran == [0, 1, 2, 3]                                   # started over


def test_ray_fit_passes_the_state_to_its_workers(digits, tmp_path, monkeypatch):
    """``ray_fit``'s fit_fn takes ``state_path`` (it raised TypeError on any unknown keyword)
    and the worker's fit writes and resumes it; local mode (0 workers) runs the same task."""
    from cluster.train import Scaling, fit_on_workers
    from synth.models import build
    from synth.train import TrainConfig
    monkeypatch.setattr(synth.train, "STATE_SECONDS", 0.0)
    config = TrainConfig(epochs=2, batch_size=64, progress=False, device="cpu")
    torch.manual_seed(0)
    model = build("mlp_small", digits.input_shape, digits.num_classes)
    state = tmp_path / "m.pt.resume"
    fit_on_workers(model, digits, config, scaling=Scaling(num_workers=0), state_path=state,
                   storage_path=tmp_path / "ray")
    assert state.is_file()                                       # written by the worker's fit
    assert torch.load(state, weights_only=True)["epoch"] == 1


def test_ctrl_c_in_distill_says_a_rerun_resumes(monkeypatch, tmp_path):
    from click.testing import CliRunner

    import synth.workflows
    from deploy.cli.main import cli

    def interrupted(*a, **k):
        raise KeyboardInterrupt
    monkeypatch.setattr(synth.workflows, "distill_checkpoint", interrupted)
    args = ["distill", "--teacher", str(tmp_path / "t.pt"), "--student", "mlp_small",
            "--synth", str(tmp_path), "--out", str(tmp_path / "s.pt")]
    result = CliRunner().invoke(cli, args)   # before fit saved a state: none is kept (h181)
    assert result.exit_code == 130 and "resume" not in result.output, result.output
    def saved_then_interrupted(*a, **k):   # fit saved its state, then Ctrl-C (h232: the line
        import synth.resume                # says "kept" only of a state this run's loop saved
        synth.resume.save_state(tmp_path / "s.pt.resume", "fit", "k", {"epoch": 0})
        raise KeyboardInterrupt            # or would resume from, not of any file there)
    monkeypatch.setattr(synth.workflows, "distill_checkpoint", saved_then_interrupted)
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 130
    assert "rerun the same command to resume" in result.output, result.output
