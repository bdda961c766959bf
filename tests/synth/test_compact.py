"""Compaction: smaller dense model of the same family with equal outputs; CSR export."""
import pytest
import torch

from synth import masked
from synth.compact import compact, csr_forward_linear, export_csr
from synth.errors import UserError
from synth.models import build, count_parameters

CASES = [
    ({"family": "mlp", "hidden": [40, 20]}, (1, 8, 8)),
    ({"family": "mlp", "hidden": [30, 12], "bn": True}, (6,)),
    ({"family": "lenet5", "channels": [6, 16], "hidden": [32, 16]}, (1, 28, 28)),
    ({"family": "lenet5", "channels": [6, 16], "hidden": [32, 16], "bn": True}, (1, 28, 28)),
    ({"family": "convnet", "widths": [8, 12], "kernels": [3, 3], "strides": [1, 2], "bn": True,
      "pool": "avg", "hidden": [10]}, (1, 8, 8)),
    ({"family": "convnet", "widths": [8, 12], "kernels": [3, 1], "strides": [1, 1], "bn": False,
      "pool": "flatten", "hidden": []}, (1, 6, 6)),
]


def _pruned(spec, shape, seed=0):
    torch.manual_seed(seed)
    model = build(spec, shape, 5)
    model.train()
    with torch.no_grad():   # non-trivial BatchNorm statistics
        for _ in range(3):
            model(torch.randn(32, *shape))
        for m in model.modules():   # nonzero biases so dead units have constant outputs
            if getattr(m, "bias", None) is not None:
                m.bias.uniform_(-0.5, 0.5)
    masked.attach_masks(model)
    masked.prune_connections(model, 0.8, "lamp")
    layers = masked.masked_layers(model)
    with torch.no_grad():
        layers[0][2].mask[:2] = False          # units with no input (constant output)
        layers[1][2].mask[:, 2:4] = False      # units of layer 0 with no output
    return model.eval()


@pytest.mark.parametrize("spec,shape", CASES)
def test_compacted_model_is_smaller_and_computes_the_same(spec, shape):
    model = _pruned(spec, shape)
    small = compact(model)
    assert small.spec["family"] == spec["family"]
    assert count_parameters(small) < count_parameters(model)
    assert not masked.masked_layers(small)
    x = torch.randn(16, *shape)
    with torch.no_grad():
        assert torch.allclose(small(x), model(x), atol=1e-5)
    assert count_parameters(small, nonzero=True) <= count_parameters(model, nonzero=True)


def test_dead_units_are_removed_and_constants_folded():
    spec = {"family": "mlp", "hidden": [6]}
    torch.manual_seed(0)
    model = build(spec, (3,), 2)
    masked.attach_masks(model)
    with torch.no_grad():
        model.net[1].bias.copy_(torch.tensor([1.0, -1.0, 0.5, 0.2, 0.3, 0.4]))
        ms = masked.masked_layers(model)
        ms[0][2].mask[:3] = False      # units 0, 1, 2: no input; outputs relu(b) = 1, 0, 0.5
        ms[1][2].mask[:, 5] = False    # unit 5: no output
    small = compact(model.eval())
    assert small.spec["hidden"] == [2]        # units 3 and 4 remain
    x = torch.randn(10, 3)
    with torch.no_grad():
        assert torch.allclose(small(x), model(x), atol=1e-6)


def test_compaction_refuses_resnet():
    model = build({"family": "resnet", "depths": [1], "width": 4}, (3, 8, 8), 2)
    with pytest.raises(UserError, match="resnet"):
        compact(model)


def test_csr_export_reproduces_the_weights_and_linear_outputs():
    model = _pruned(*CASES[0])
    csr = export_csr(model)
    for name, layer in masked.prunable_layers(model):
        entry = csr[name]
        dense = torch.sparse_csr_tensor(entry["crow_indices"], entry["col_indices"],
                                        entry["values"], size=(entry["shape"][0], layer.weight[0].numel())).to_dense()
        assert torch.equal(dense, layer.weight.detach().reshape(entry["shape"][0], -1))
        assert entry["nnz"] == int((layer.weight != 0).sum())
    lin = model.net[3]
    x = torch.randn(4, lin.in_features)
    with torch.no_grad():
        assert torch.allclose(csr_forward_linear(csr["net.3"], x, lin.bias), lin(x), atol=1e-6)
