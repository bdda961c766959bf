"""The teacher is checked where it is inverted (synth.inversion.synthesize and what passes
through to it), in messages that name the file the caller read it from (``name=``); prune and
continual keep their lines and their order of errors."""
import pytest
import torch

from synth.checkpoint import save_checkpoint
from synth.errors import UserError
from synth.inversion import InversionConfig, balanced_labels, synthesize
from synth.models import build
from tests.synth._tiny import TINY_SPEC

RANGE = (torch.tensor([-1.0]), torch.tensor([2.0]))
NO_BN = r"^--model m\.pt: teacher has no BatchNorm layers: DeepInversion needs"


def _plain(digits):
    torch.manual_seed(0)
    return build({**TINY_SPEC, "bn": False}, digits.input_shape, digits.num_classes)


def test_synthesize_and_what_passes_through_it_name_the_teacher(digits):
    from synth.continual import synthesize_old
    from synth.synthesis import synthesize_inputs
    model, labels = _plain(digits), balanced_labels(10, digits.num_classes)
    config = InversionConfig(iterations=2, device="cpu")
    calls = [lambda **k: synthesize(model, labels, config, pixel_range=RANGE, **k),
             lambda **k: synthesize_old(model, 10, RANGE, config, **k)]
    calls += [lambda m=m, **k: synthesize_inputs(model, labels, config.replace(method=m),
                                                 pixel_range=RANGE, **k)
              for m in ("deepinversion", "amortized")]
    for call in calls:
        with pytest.raises(UserError, match=NO_BN):
            call(name="--model m.pt")
        with pytest.raises(UserError, match=r"^teacher has no BatchNorm layers"):
            call()   # no name: the message as before


def test_prune_says_no_batchnorm_before_no_normalization(digits, tmp_path):
    """A checkpoint with neither: the teacher's own fault comes first, as it did when
    synthesized_images checked the teacher itself before reading the normalization."""
    from synth.dfprune import PruneConfig
    from synth.workflows import prune_checkpoint
    meta = {k: v for k, v in digits.metadata().items() if k not in ("mean", "std")}
    path = save_checkpoint(tmp_path / "raw.pt", _plain(digits), dataset=meta)
    with pytest.raises(UserError, match=rf"^--model {path}: teacher has no BatchNorm layers"):
        prune_checkpoint(path, tmp_path / "p.pt", PruneConfig(device="cpu", progress=False),
                         kd_steps=0)
    assert not (tmp_path / "p.pt").exists()
