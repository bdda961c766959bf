"""build()'s shape-only shell of a convnet or LeNet-5 runs no forward pass on the meta device.
Their constructors ran the features on zeros to size the classifier, and under build()'s
``torch.device("meta")`` that pass went through torch's Python meta kernels: ~10 ms a build
(pricing a search space builds hundreds: `nnsynth sweep --check` of tiny's space) and an
import of sympy (~1 s a process) that build() says it avoids.  The shell's layers must be
those of the real model, whose constructor still runs its pass (the pass leaves BatchNorm's
running_var at 0.9: the real model's weights and buffers are as before)."""
import random
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from synth.models import build

ROOT = Path(__file__).resolve().parents[2]


def test_a_meta_build_imports_no_sympy():
    code = ("import sys; from synth.models import build; "
            "build({'family': 'convnet', 'widths': [4, 8], 'kernels': [3, 3], "
            "'strides': [1, 2], 'bn': True, 'pool': 'flatten', 'hidden': [8]}, (1, 8, 8), 3, "
            "meta=True); build('lenet5_bn', (1, 28, 28), 10, meta=True); "
            "print('sympy' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split() == ["False"]


def _shapes(spec, shape, meta):
    try:
        return {k: tuple(v.shape) for k, v in build(spec, shape, 3, meta=meta).state_dict().items()}
    except Exception as e:   # the same refusal either way (its text is torch's own)
        return type(e).__name__


@pytest.mark.parametrize("family", ["convnet", "lenet5"])
def test_the_shell_has_the_real_models_shapes(family):
    rng = random.Random(0)
    for _ in range(60):
        if family == "convnet":
            d = rng.randint(1, 3)
            spec = {"family": "convnet", "widths": [rng.randint(1, 6) for _ in range(d)],
                    "kernels": [rng.randint(1, 6) for _ in range(d)],
                    "strides": [rng.randint(1, 3) for _ in range(d)], "bn": rng.random() < 0.5,
                    "pool": rng.choice(["avg", "max", "flatten"]),
                    "hidden": [rng.randint(1, 6)] * rng.randint(0, 1)}
        else:   # sides from 1 (refused: too small for its kernels) to 30
            spec = {"family": "lenet5", "channels": [rng.randint(1, 4), rng.randint(1, 4)],
                    "hidden": [rng.randint(1, 6)], "bn": rng.random() < 0.5}
        shape = (rng.randint(1, 2), rng.randint(1, 30), rng.randint(1, 30))
        assert _shapes(spec, shape, True) == _shapes(spec, shape, False), (spec, shape)


def test_the_real_model_keeps_its_batchnorm_buffers():
    model = build({"family": "convnet", "widths": [4], "kernels": [3], "strides": [1],
                   "bn": True, "pool": "avg", "hidden": []}, (1, 8, 8), 3)
    bn = model.features[1]
    assert torch.equal(bn.running_var, torch.full((4,), 0.9))
    assert int(bn.num_batches_tracked) == 1
