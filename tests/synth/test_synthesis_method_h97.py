"""prune and continual invert their teacher by the method settings_for picks for it, as
nnsynth invert does (synth.synthesis.synthesize_inputs): a generator (Fast DFKD) for a 16 px
teacher whose BatchNorm layers all normalize convolution channels, per pixel for one with a
BatchNorm after the flatten (LeNet-5-BN), whose inputs stay those of synth.inversion.synthesize
bit for bit.  Each run reports the method (synthesis_method).  The synthesized inputs are read
from the resume state of a run interrupted after its synthesis (what the fine-tuning gets)."""
from pathlib import Path

import pytest
import torch

import synth.continual as continual
import synth.dfprune as dfprune
from synth.amortized import AmortizedConfig, synthesize_amortized
from synth.checkpoint import load_model, load_tensor_file
from synth.continual import ContinualConfig
from synth.data import input_range
from synth.dfprune import PruneConfig
from synth.inversion import AMORTIZED_REFINE, balanced_labels, settings_for, synthesize
from synth.workflows import continual_checkpoint, prune_checkpoint
from tests.synth._tiny import make_set16

IMAGES, ITERATIONS = 16, 12
# a short generator run, over settings_for's own generator settings for such a teacher
FAST = {"generator": {"amortized": {**AMORTIZED_REFINE, "width": 8, "steps": 10, "batch_size": 16,
                                    "check_every": 5, "adapt_steps": 5, "adapt_max_steps": 10,
                                    "refine_iterations": 10}}}


@pytest.fixture(scope="module")
def set16(tmp_path_factory):
    """The 8x8 digits upsampled to 16x16 (nearest: the same normalization) as a Parquet set,
    and teachers of its classes 0-4: LeNet-5-BN (per pixel) and a tiny convnet with global
    pooling, BatchNorm2d only (a generator)."""
    return make_set16(tmp_path_factory.mktemp("set16"))


def _interrupt(*a, **k):
    raise KeyboardInterrupt


def _kept(state: Path) -> torch.Tensor:
    """The synthesized inputs an interrupted run keeps for its rerun."""
    return load_tensor_file(state, "synthesis")["tensors"][0]


def _expected(path, method: str, overrides) -> torch.Tensor:
    """The inputs of the teacher at ``path`` made here, straight from the method's function."""
    teacher = load_model(path)
    value_range = input_range(teacher.checkpoint_info["dataset"])
    inv = settings_for(teacher, value_range=value_range, iterations=ITERATIONS, device="cpu",
                       **(overrides or {}))
    assert inv.method == method                      # the case the test is about
    labels = balanced_labels(IMAGES, teacher.num_classes)
    if method == "amortized":
        return synthesize_amortized(teacher, labels, AmortizedConfig.from_inversion(inv),
                                    pixel_range=value_range, seed=0).images
    return synthesize(teacher, labels, inv, pixel_range=value_range, seed=0).images


def _prune(path, out, overrides):
    return prune_checkpoint(path, out, PruneConfig(ratio=0.5, seed=0, device="cpu",
                                                   progress=False),
                            num_images=IMAGES, iterations=ITERATIONS, kd_steps=4,
                            **({"inversion": overrides} if overrides else {}))


def _continual(name, path, out, overrides):
    return continual_checkpoint(path, name, [5], out,
                                ContinualConfig(epochs=1, seed=0, device="cpu", progress=False),
                                num_images=IMAGES, iterations=ITERATIONS,
                                **({"inversion": overrides} if overrides else {}))


@pytest.mark.parametrize("key,method", [("per_pixel", "deepinversion"),
                                        ("generator", "amortized")])
def test_prune_and_continual_invert_by_the_settings_method(set16, tmp_path, monkeypatch, key,
                                                           method):
    from hwsim.latency import torch_threads
    name, teachers = set16
    overrides = FAST.get(key)   # none per pixel: settings_for's own, as prune runs by default
    with torch_threads(1):
        expected = _expected(teachers[key], method, overrides)
        monkeypatch.setattr(dfprune, "finetune_kd", _interrupt)
        monkeypatch.setattr(continual, "learn_new_classes", _interrupt)
        with pytest.raises(KeyboardInterrupt):
            _prune(teachers[key], tmp_path / "p.pt", overrides)
        with pytest.raises(KeyboardInterrupt):
            _continual(name, teachers[key], tmp_path / "c.pt", overrides)
        # per pixel: bit-identical to synthesize (the measured defaults rest on it)
        assert torch.equal(_kept(tmp_path / "p.pt.resume"), expected)
        assert torch.equal(_kept(tmp_path / "c.pt.resume"), expected)
        monkeypatch.undo()
        pruned = _prune(teachers[key], tmp_path / "p.pt", overrides)             # resumed: read back
        extended = _continual(name, teachers[key], tmp_path / "c.pt", overrides)
    assert pruned["synthesis_method"] == extended["synthesis_method"] == method
    assert pruned["synthesized_images"] == extended["synthesized_images"] == IMAGES
    assert not (tmp_path / "p.pt.resume").exists() and not (tmp_path / "c.pt.resume").exists()


def test_no_inversion_here_reports_no_method(set16, tmp_path):
    _, teachers = set16
    result = prune_checkpoint(teachers["generator"], tmp_path / "p.pt",
                              PruneConfig(ratio=0.5, importance="magnitude", seed=0,
                                          device="cpu", progress=False), kd_steps=0)
    assert result["synthesized_images"] == 0 and result["synthesis_method"] is None


def test_inversion_overrides_where_nothing_is_inverted_here_are_refused(set16, tmp_path):
    from synth.errors import UserError
    name, teachers = set16
    with pytest.raises(UserError, match=r"^inversion overrides .* apply to inputs inverted here"):
        prune_checkpoint(teachers["generator"], tmp_path / "p.pt",
                         PruneConfig(ratio=0.5, importance="magnitude", device="cpu",
                                     progress=False), kd_steps=0, inversion=FAST["generator"])
    with pytest.raises(UserError, match=r"^inversion overrides .* apply to inputs inverted here"):
        continual_checkpoint(teachers["generator"], name, [5], tmp_path / "c.pt",
                             ContinualConfig(method="lwf", device="cpu", progress=False),
                             inversion=FAST["generator"])
    assert not list(tmp_path.iterdir())
