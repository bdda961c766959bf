"""The built-in ``convnet1d`` space: sequence data (C, L) had no built-in family space
(``load_space("convnet1d")`` was 'space file not found'), only ``mlp`` over flattened
sequences.  Its members sample, mutate, encode and build on short and long sequences."""
import numpy as np
import pytest

from search.costs import CostModel
from search.space import load_space, spec_key
from synth.models import build, count_flops


@pytest.mark.parametrize("shape", [(6, 100), (12, 7), (1, 896)])
def test_convnet1d_space_samples_specs_that_build(shape):
    space = load_space("convnet1d")
    assert space.family == "convnet1d"
    rng = np.random.default_rng(0)
    costs = CostModel(shape, 4)
    specs = [space.sample(rng) for _ in range(20)]
    specs += [space.mutate(s, rng) for s in specs[:10]]
    assert len({spec_key(s) for s in specs}) > 15
    for spec in specs:
        assert space.contains(spec)
        assert len(spec["widths"]) == len(spec["kernels"]) == len(spec["strides"])
        assert costs.costs(spec) is not None
    model = build(specs[0], shape, 4)
    assert model.spec == specs[0] and count_flops(model, shape) > 0
    assert space.encode(specs).shape == (len(specs), space.dim)
