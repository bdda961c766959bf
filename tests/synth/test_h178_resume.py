"""Interrupted runs and the files they leave (h178): a state path that is a directory, another
command's state under the same ``<out>.resume``, and ``nnsynth distill --synth`` rerun with
other KD settings or on Ray Train workers (whose log lines do not reach the command)."""
import functools

import pytest
import torch

import synth.train
from synth.distill import DistillConfig, distill
from synth.errors import UserError
from synth.files import write_text_atomic
from synth.models import build
from synth.train import TrainConfig, fit

CONFIG = TrainConfig(epochs=2, batch_size=64, lr=0.05, progress=False, device="cpu")
KD = DistillConfig(epochs=3, min_steps=0, batch_size=64, seed=0, device="cpu", progress=False)


def _model(digits, spec="mlp_small"):
    torch.manual_seed(0)
    return build(spec, digits.input_shape, digits.num_classes)


def _epochs(ran):
    return functools.partial(fit, on_epoch_end=lambda m, e: ran.append(e))


def test_a_directory_at_the_state_path_is_refused_before_training(digits, tmp_path):
    """A folder named like the state (``nnsynth train --out m.pt`` beside a folder
    m.pt.resume) trained every epoch, then ended in an IsADirectoryError traceback from
    os.replace; it is refused before the first epoch, and kept."""
    state = tmp_path / "m.pt.resume"
    state.mkdir()
    (state / "mine.txt").write_text("keep")
    ran = []
    with pytest.raises(UserError, match="is a directory, not an nnsynth training state"):
        fit(_model(digits), digits, CONFIG, state_path=state,
            on_epoch_end=lambda m, e: ran.append(e))
    assert ran == [] and (state / "mine.txt").read_text() == "keep"


def test_an_atomic_write_onto_a_directory_is_one_line(tmp_path):
    (tmp_path / "d").mkdir()
    with pytest.raises(UserError, match="cannot write .*d: Is a directory"):
        write_text_atomic(tmp_path / "d", "text")
    assert [p.name for p in tmp_path.iterdir()] == ["d"]          # no temp file left


def test_another_commands_state_is_named_and_kept(digits, tmp_path):
    """``nnsynth prune --out m.pt`` interrupted after its synthesis leaves m.pt.resume;
    ``nnsynth distill`` (or train, grow-prune) to the same --out said it 'is not an nnsynth
    training state' -- a file nnsynth wrote -- it names what it holds now, and keeps it."""
    from synth.resume import save_state
    state = tmp_path / "m.pt.resume"
    save_state(state, "nnsynth-synthesized-inputs-1", "k", {"tensors": [torch.zeros(2, 3)]})
    before = state.read_bytes()
    with pytest.raises(UserError, match=r"state of an interrupted nnsynth prune or continual "
                                        r"\(its synthesized inputs\), not an nnsynth training"):
        fit(_model(digits), digits, CONFIG, state_path=state)
    synth.train.remove_state(state)                               # not this loop's: kept
    assert state.read_bytes() == before


@pytest.fixture()
def kd_setup(digits):
    teacher = _model(digits, "lenet300_100").eval()
    return teacher, digits.x_train[:192]


def test_distill_rerun_with_other_kd_settings_starts_over(digits, tmp_path, monkeypatch,
                                                          kd_setup):
    """The KD loss's settings were not in the state's key (fit's TrainConfig holds none of
    them): ``nnsynth distill --synth`` interrupted at --temperature 3 and rerun with
    --temperature 20 continued the other loss's student; here the first run's final state
    was taken whole (no epoch ran) and the student was the T=3 one."""
    monkeypatch.setattr(synth.train, "STATE_SECONDS", 0.0)
    teacher, x = kd_setup
    state = tmp_path / "s.pt.resume"
    distill(_model(digits), teacher, x, digits, KD, fit_fn=fit, state_path=state)
    for changed in (KD.replace(temperature=20.0), KD.replace(cutmix=0.0),
                    KD.replace(noise=0.3), KD.replace(alpha=0.5)):
        ran = []
        distill(_model(digits), teacher, x, digits, changed, fit_fn=_epochs(ran),
                state_path=state)
        assert ran == [0, 1, 2], changed                          # started over
    ran = []                                                      # the same settings: resumed
    distill(_model(digits), teacher, x, digits, KD.replace(alpha=0.5), fit_fn=_epochs(ran),
            state_path=state)
    assert ran == []


def test_distill_on_workers_says_it_resumes(digits, tmp_path, monkeypatch, kd_setup, caplog):
    """A fit_fn that trains elsewhere (``cluster.train.ray_fit``: the workers' log lines stay
    in Ray's files) resumed without a word; the command now says so itself."""
    from tests.synth.test_train_resume import Stop, _stop_at
    monkeypatch.setattr(synth.train, "STATE_SECONDS", 0.0)
    teacher, x = kd_setup
    state = tmp_path / "s.pt.resume"
    with pytest.raises(Stop):
        distill(_model(digits), teacher, x, digits, KD,
                fit_fn=functools.partial(fit, on_epoch_end=_stop_at(1)), state_path=state)
    ran = []
    distill(_model(digits), teacher, x, digits, KD, fit_fn=_epochs(ran), state_path=state)
    assert ran == [1, 2]
    assert "resuming the distillation from epoch 2 of 3" in caplog.text
    caplog.clear()
    distill(_model(digits), teacher, x, digits, KD, fit_fn=_epochs([]), state_path=state)
    assert "finished its 3 epochs before the interruption" in caplog.text


def test_distill_refuses_a_foreign_state_before_its_workers_start(digits, tmp_path,
                                                                  kd_setup):
    teacher, x = kd_setup
    state = tmp_path / "s.pt.resume"
    state.write_bytes(b"the user's own file")
    called = []
    with pytest.raises(UserError, match="move it away"):
        distill(_model(digits), teacher, x, digits, KD,
                fit_fn=lambda *a, **k: called.append(1), state_path=state)
    assert called == [] and state.read_bytes() == b"the user's own file"


def test_a_rewritten_file_keeps_its_permissions(tmp_path):
    """A file the user had made private (0600: a checkpoint, a report) came back 0644 after
    a rerun wrote it again: the temp file that replaces it got the umask's mode."""
    import os
    import stat
    out = write_text_atomic(tmp_path / "report.txt", "old\n")
    os.chmod(out, 0o600)
    write_text_atomic(out, "new\n")
    assert stat.S_IMODE(os.stat(out).st_mode) == 0o600 and out.read_text() == "new\n"
    fresh = write_text_atomic(tmp_path / "fresh.txt", "x")          # a new file: the umask's
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(os.stat(fresh).st_mode) == 0o666 & ~umask
