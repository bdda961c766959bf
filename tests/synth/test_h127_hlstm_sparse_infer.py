"""``HLSTMClassifier.infer`` on a sparse copy (h127): ``synth.sparse_exec.sparse_copy`` makes
the gates' Linear layers CSR ones, which hold no dense ``weight``, and the fused inference
path stacked ``.weight`` of every gate: AttributeError ('CSRLinear' object has no attribute
'weight').  A sparse copy now runs its CSR gates step by step and gives the dense model's
outputs (the summation order of a CSR product differs: equal to float rounding)."""
import pytest
import torch

from synth.models import build
from synth.sparse_exec import CSRLinear, sparse_copy


def _pruned_hlstm(seed=0):
    torch.manual_seed(seed)
    model = build({"family": "hlstm", "hidden": [12, 8], "gate_hidden": [6, [3, 4, 5, 6]],
                   "dropout": 0.3}, (3, 7), 4).eval()
    with torch.no_grad():
        for p in model.parameters():
            if p.dim() == 2:
                p[p.abs() < p.abs().median()] = 0     # half the weights pruned
    return model


@pytest.mark.parametrize("batch", [1, 5])
def test_infer_on_a_sparse_copy_equals_the_dense_model(batch):
    model = _pruned_hlstm()
    sparse = sparse_copy(model)
    assert any(isinstance(m, CSRLinear) for m in sparse.rnn.layers[0].gates["i"].modules())
    x = torch.randn(batch, 3, 7, generator=torch.Generator().manual_seed(1))
    want = model.infer(x)
    assert torch.allclose(model(x).detach(), want, atol=1e-6)
    got = sparse.infer(x)
    assert got.shape == want.shape
    assert torch.allclose(got, want, atol=1e-5), (got - want).abs().max()
    assert torch.allclose(sparse(x), want, atol=1e-5)


def test_infer_on_a_partly_sparse_copy():
    """Only the gates under one layer made CSR (``within``): the other layer stays fused."""
    model = _pruned_hlstm(2)
    sparse = sparse_copy(model, within="rnn.layers.1")
    assert isinstance(sparse.rnn.layers[1].gates["o"].out, CSRLinear)
    assert isinstance(sparse.rnn.layers[0].gates["o"].out, torch.nn.Linear)
    x = torch.randn(2, 3, 7, generator=torch.Generator().manual_seed(3))
    assert torch.allclose(sparse.infer(x), model.infer(x), atol=1e-5)
