"""`nnsynth prune` and `nnsynth continual` invert their images in-process, then fine-tune for
minutes (6.5 minutes for `prune --ratio 0.5` on the mnist5k LeNet-5-BN here, 230 s of it
synthesis): a run interrupted in the fine-tuning synthesized everything again when rerun.
The synthesized inputs are now kept in `<out>.resume` until the checkpoint is written."""
import pytest
import torch

import synth.dfprune as dfprune
import synth.inversion as inversion
from synth.checkpoint import load_model
from synth.data import load_dataset
from synth.dfprune import PruneConfig
from synth.workflows import prune_checkpoint
from tests.synth._tiny import one_thread_teacher_checkpoint

KW = {"num_images": 16, "iterations": 12, "kd_steps": 4}


@pytest.fixture(scope="module")
def teacher(tmp_path_factory):
    return one_thread_teacher_checkpoint(load_dataset("digits"), tmp_path_factory.mktemp("t"))


def _config():
    return PruneConfig(ratio=0.5, seed=0, device="cpu", progress=False)


def _counting(monkeypatch):
    calls, real = [], inversion.synthesize
    monkeypatch.setattr(inversion, "synthesize",
                        lambda *a, **k: calls.append(1) or real(*a, **k))
    return calls


def test_prune_interrupted_in_fine_tuning_does_not_synthesize_again(teacher, tmp_path,
                                                                     monkeypatch):
    whole = prune_checkpoint(teacher, tmp_path / "whole.pt", _config(), **KW)
    out, state = tmp_path / "p.pt", tmp_path / "p.pt.resume"
    calls = _counting(monkeypatch)
    real_finetune = dfprune.finetune_kd

    def interrupted(*a, **k):
        raise KeyboardInterrupt
    monkeypatch.setattr(dfprune, "finetune_kd", interrupted)
    with pytest.raises(KeyboardInterrupt):
        prune_checkpoint(teacher, out, _config(), **KW)
    assert calls == [1] and state.is_file() and not out.exists()
    monkeypatch.setattr(dfprune, "finetune_kd", real_finetune)
    resumed = prune_checkpoint(teacher, out, _config(), **KW)
    assert calls == [1]                                   # read back, not inverted again
    assert not state.exists()                             # gone with the checkpoint
    assert resumed["synthesized_images"] == whole["synthesized_images"] == 16
    for key in ("pruned_test_accuracy", "finetuned_test_accuracy", "parameters_after"):
        assert resumed[key] == whole[key], key           # the same run as an uninterrupted one
    a, b = load_model(out).state_dict(), load_model(tmp_path / "whole.pt").state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_a_state_of_other_settings_is_not_used(teacher, tmp_path, monkeypatch):
    out = tmp_path / "p.pt"

    def interrupted(*a, **k):
        raise KeyboardInterrupt
    monkeypatch.setattr(dfprune, "finetune_kd", interrupted)
    with pytest.raises(KeyboardInterrupt):
        prune_checkpoint(teacher, out, _config(), **KW)
    monkeypatch.undo()
    calls = _counting(monkeypatch)
    result = prune_checkpoint(teacher, out, _config(), **{**KW, "num_images": 20})
    assert calls == [1] and result["synthesized_images"] == 20


def test_continual_interrupted_after_synthesis_does_not_synthesize_again(tmp_path, monkeypatch):
    import synth.continual as continual
    from synth.continual import ContinualConfig
    from synth.workflows import continual_checkpoint
    config = ContinualConfig(epochs=1, seed=0, device="cpu", progress=False)
    out, state = tmp_path / "c.pt", tmp_path / "c.pt.resume"
    calls, real_old = [], continual.synthesize_old
    monkeypatch.setattr(continual, "synthesize_old",
                        lambda *a, **k: calls.append(1) or real_old(*a, **k))
    real_learn = continual.learn_new_classes

    def interrupted(*a, **k):
        raise KeyboardInterrupt
    monkeypatch.setattr(continual, "learn_new_classes", interrupted)
    old = one_thread_teacher_checkpoint(load_dataset("digits[0,1,2,3,4]"), tmp_path)
    args = (old, "digits", [5], out, config)
    kw = {"num_images": 16, "iterations": 12}
    with pytest.raises(KeyboardInterrupt):
        continual_checkpoint(*args, **kw)
    assert calls == [1] and state.is_file()
    monkeypatch.setattr(continual, "learn_new_classes", real_learn)
    continual_checkpoint(*args, **kw)
    assert calls == [1] and out.is_file() and not state.exists()
