"""h219: a model holding a quantized buffer could not be priced, and pricing it broke it.
``sample_work`` moves every parameter and buffer to the meta device before its bounding pass;
a quantized tensor has no meta form (NotImplementedError), raised half way through: the
parameters moved before it stayed meta tensors (the model's weights gone) and its hooks stayed
registered.  Now the tensors are given back, the pass has no bound (as for any model that
does not run on meta tensors) and the model is priced; a clone of a quantized tensor, whose
zeros torch cannot count (no count_nonzero kernel), counts its dequantized values'."""
import torch

from hwsim import extract
from tests.hwsim.test_h193_forward_functions import Net

B, W = 4, 32


def _net():
    net = Net(lambda y, z: y + 0 * net.head.q.clone().dequantize().sum())
    q = torch.quantize_per_tensor(torch.randn(B, W).relu(), 0.1, 0, torch.quint8)
    net.head.register_buffer("q", q)   # (the last module: the others' weights go first)
    return net


def test_a_model_with_a_quantized_buffer_is_priced_and_left_whole():
    net = _net()
    weights = {n: p.detach().clone() for n, p in net.named_parameters()}
    ops = extract(net, (16,), batch=B)
    (clone,) = [o for o in ops if dict(o.geometry).get("func") == "clone"]
    assert (clone.in_elems, clone.out_elems) == (B * W, B * W)
    zeros = float((net.head.q.dequantize() == 0).float().mean())
    assert abs(clone.act_sparsity - zeros) < 1e-6
    for n, p in net.named_parameters():   # the user's weights, not meta tensors
        assert not p.is_meta and torch.equal(p, weights[n]), n
    assert net.head.q.is_quantized and not net.head.q.is_meta
    assert all(not m._forward_hooks and not m._forward_pre_hooks for m in net.modules())
    assert extract(net, (16,), batch=B) == ops   # and again, the same
