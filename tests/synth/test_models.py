import pytest
import torch

from synth.errors import UserError
from synth.models import (batchnorm_layers, build, count_flops, count_parameters, list_variants,
                          prunable_layers, resolve_spec)

SHAPES = {"mlp": [(1, 28, 28), (13,)], "lenet5": [(1, 28, 28), (3, 32, 32)],
          "convnet": [(1, 8, 8), (3, 32, 32)], "resnet": [(1, 8, 8), (3, 32, 32)],
          "lstm": [(6, 12), (1, 5)], "hlstm": [(4, 10), (12, 3)],
          "convnet1d": [(6, 100), (1, 5)]}
BIG = {"resnet18", "resnet34"}


@pytest.mark.parametrize("variant", sorted(list_variants()))
def test_every_variant_builds_runs_and_backprops(variant):
    spec = resolve_spec(variant)
    for shape in SHAPES[spec["family"]][: 1 if variant in BIG else 2]:
        torch.manual_seed(0)
        model = build(variant, shape, 10)
        x = torch.randn((4,) + shape)
        out = model(x)
        assert out.shape == (4, 10) and torch.isfinite(out).all()
        out.logsumexp(1).mean().backward()
        grads = [p.grad for p in model.parameters()]
        assert all(g is not None and torch.isfinite(g).all() for g in grads)
        assert model.prunable_layers() == prunable_layers(model) and prunable_layers(model)
        assert model.batchnorm_layers() == batchnorm_layers(model)
        has_bn = spec.get("bn", spec["family"] not in ("lstm", "hlstm"))
        assert (len(batchnorm_layers(model)) > 0) == bool(has_bn)
        assert count_flops(model, shape) > 0 and count_parameters(model) > 0


def test_lenet5_counts():
    m = build("lenet5", (1, 28, 28), 10)
    assert count_parameters(m) == 61706   # the classic LeNet-5 (padding 2) figure
    assert count_parameters(build("lenet300_100", (1, 28, 28), 10)) == 266610


def test_nonzero_count():
    m = build("lenet300_100", (1, 28, 28), 10)
    with torch.no_grad():
        m.net[1].weight[:10].zero_()
    assert count_parameters(m, nonzero=True) == 266610 - 10 * 784


def test_json_spec_and_errors():
    m = build('{"family": "mlp", "hidden": [8]}', (4,), 3)
    assert m.spec == {"family": "mlp", "hidden": [8], "bn": False, "dropout": 0.0}
    with pytest.raises(UserError, match="unknown model"):
        resolve_spec("lenet9")
    with pytest.raises(UserError, match="unknown key 'depth'"):
        resolve_spec({"family": "mlp", "depth": 3})
    with pytest.raises(UserError, match="does not fit input shape"):
        build("lenet5", (1, 4, 4), 10)
    with pytest.raises(UserError, match="not valid JSON"):
        resolve_spec("{bad")


@pytest.mark.parametrize("spec, message", [
    ('{"family": "mlp", "hidden": [8.5]}', "'hidden' must be integers"),      # was cut to 8
    ('{"family": "mlp", "hidden": [true]}', "'hidden' must be integers"),     # was width 1
    ('{"family": "mlp", "dropout": NaN}', "'dropout' must be a finite number"),  # trained
    ('{"family": "mlp", "hidden": [1e400]}', "'hidden' must be integers"),
    ('{"family": "mlp", "bn": 1}', "'bn' must be true or false"),
    ('{"family": "resnet", "width": "8"}', "'width' must be integers"),
])
def test_spec_values_of_the_wrong_kind_are_refused_by_name(spec, message):
    with pytest.raises(UserError, match=message):
        build(spec, (1, 8, 8), 10)


def test_spec_values_the_families_read_are_accepted():
    import numpy as np
    assert build({"family": "mlp", "hidden": [np.int64(8)], "dropout": 0}, (4,), 3).spec["hidden"] == [8]
    build({"family": "hlstm", "hidden": [4], "gate_hidden": [[1, 2, 3, 4]]}, (2, 5), 3)   # per gate
    build({"family": "convnet", "widths": (4,), "kernels": [3], "strides": [1]}, (1, 8, 8), 3)
