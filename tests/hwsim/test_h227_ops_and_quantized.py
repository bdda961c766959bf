"""h227: operators called through ``torch.ops`` and quantized tensors in a forward.

- ``torch.ops.aten.mm(y, w)``, ``torch.ops.aten.exp(y)`` (and their overloads,
  ``torch.ops.aten.exp.default``): a TorchFunctionMode sees them with the operator as its
  function, which no table held: free.  Each is now priced as the torch function it is
  (torch.exp's op; aten.mm refused as torch.mm is).  An operator of another namespace (a
  custom op, torchvision's, ``torch.ops.quantized.*``) is refused in one line.
- ``torch.quantize_per_tensor`` / ``quantize_per_channel`` / ``_dynamic`` and ``dequantize``
  were refused: element-wise ops now (3, 3, 5 and 2 ops a value), ``int_repr`` a copy.
- a dynamic quantized Linear (torch.ao.nn.quantized.dynamic.Linear: its packed weights a
  child module, its kernel ``torch.ops.quantized.linear_dynamic``) was free: the model cost
  its float head alone.  Quantized Linear and convolutions (static and dynamic) are priced
  as their float twins (no per-op bit width in the hardware models), Quantize/DeQuantize as
  the functions they call; a quantized LSTM or Embedding is refused in one line.
"""
import pytest
import torch
import torch.ao.nn.quantized as nnq
import torch.ao.nn.quantized.dynamic as nnqd
from torch import nn

from hwsim import accel, extract, spring
from hwsim.host_ops import op_callable
from synth.errors import UserError
from tests.hwsim.test_h193_forward_functions import Net
from tests.hwsim.test_h209_forward_functions import B, W, _new_ops

M = torch.randn(W, W)


def _kinds(ops):
    return [(o.type, o.in_elems, o.out_elems, o.elems, dict(o.geometry).get("kind")) for o in ops]


def test_aten_operators_are_priced_as_their_torch_functions():
    exp = _kinds(_new_ops(lambda y, z: y.exp()))
    assert exp == [("eltwise", B * W, B * W, B * W, "exp")]
    assert _kinds(_new_ops(lambda y, z: torch.ops.aten.exp(y))) == exp
    assert _kinds(_new_ops(lambda y, z: torch.ops.aten.exp.default(y))) == exp
    assert _kinds(_new_ops(lambda y, z: torch.ops.aten.sum.dim_IntList(y, [1], True)
                           .expand(B, W))) == _kinds(_new_ops(lambda y, z: y.sum(1, True)
                                                            .expand(B, W)))
    # a product is priced as torch.mm is (refused as it was until h234: hwsim.products)
    mm = _kinds(_new_ops(lambda y, z: torch.mm(y, M)))
    assert mm and mm == _kinds(_new_ops(lambda y, z: torch.ops.aten.mm(y, M)))


def test_operators_of_other_namespaces_are_refused_in_one_line():
    q = lambda y: torch.quantize_per_tensor(y, 0.1, 128, torch.quint8)   # noqa: E731
    net = Net(lambda y, z: torch.ops.quantized.add(q(y), q(z), 0.2, 128).dequantize())
    with pytest.raises(UserError, match=r"torch\.ops\.quantized\.add\(\)") as e:
        extract(net, (16,), batch=B)
    assert "\n" not in str(e.value)


def test_quantize_and_dequantize_are_element_wise():
    n = B * W
    q = _kinds(_new_ops(lambda y, z: torch.quantize_per_tensor(y, 0.1, 0, torch.qint8)
                        .dequantize()))
    assert q == [("eltwise", n, n, 3 * n, "quantize_per_tensor"),
                 ("eltwise", n, n, 2 * n, "dequantize")]
    assert _kinds(_new_ops(lambda y, z: torch.dequantize(
        torch.quantize_per_tensor(y, 0.1, 0, torch.qint8)))) == q
    dyn = _kinds(_new_ops(lambda y, z: torch.quantize_per_tensor_dynamic(
        y, torch.quint8, False).dequantize()))
    assert dyn[0] == ("eltwise", n, n, 5 * n, "quantize_per_tensor_dynamic")
    scales, zeros = torch.full((W,), 0.1), torch.zeros(W, dtype=torch.long)
    ch = _new_ops(lambda y, z: torch.quantize_per_channel(y, scales, zeros, 1, torch.quint8)
                  .dequantize())
    assert _kinds(ch)[0] == ("eltwise", n + 2 * W, n, 3 * n, "quantize_per_channel")
    rep = _kinds(_new_ops(lambda y, z: torch.quantize_per_tensor(y, 0.1, 0, torch.qint8)
                          .int_repr().float()))
    assert rep[1][:3] == ("resample", n, n)   # the integers copied out


class _Dynamic(nn.Module):
    def __init__(self, quantized=True):
        super().__init__()
        torch.manual_seed(0)
        self.q = nnqd.Linear(16, 32) if quantized else nn.Linear(16, 32)
        self.h = nn.Linear(32, 4)

    def forward(self, x):
        return self.h(self.q(x))


class _Static(nn.Module):
    def __init__(self, quantized=True):
        super().__init__()
        self.quantized = quantized
        self.qs, self.dq = nnq.Quantize(0.1, 64, torch.quint8), nnq.DeQuantize()
        self.c = nnq.Conv2d(3, 8, 3, padding=1) if quantized else nn.Conv2d(3, 8, 3, padding=1)
        self.h = nn.Linear(8, 4)

    def forward(self, x):
        y = self.dq(self.c(self.qs(x))) if self.quantized else self.c(x)
        return self.h(y.mean((2, 3)))


def test_a_dynamic_quantized_linear_costs_its_float_twin():
    ops, twin = extract(_Dynamic(), (16,), batch=B), extract(_Dynamic(False), (16,), batch=B)
    assert [(o.type, o.name, o.macs) for o in ops] == [("linear", "q", B * 16 * 32),
                                                       ("linear", "h", B * 32 * 4)]
    assert [(o.in_shape, o.out_shape, o.weight_shape, o.geometry) for o in ops] == \
        [(o.in_shape, o.out_shape, o.weight_shape, o.geometry) for o in twin]
    assert accel.evaluate(ops)["latency_ms"] == accel.evaluate(twin)["latency_ms"]
    assert spring.evaluate(ops)["macs"] > spring.evaluate(ops[1:])["macs"]


def test_a_static_quantized_conv_and_its_quantize_dequantize_are_priced():
    ops = extract(_Static(), (3, 8, 8), batch=B)
    conv = next(o for o in ops if o.name == "c")
    twin = next(o for o in extract(_Static(False), (3, 8, 8), batch=B) if o.name == "c")
    assert (conv.type, conv.macs, conv.gemm, conv.geometry) == (
        twin.type, twin.macs, twin.gemm, twin.geometry) == (
        "conv", B * 64 * 27 * 8, (B * 64, 27, 8), twin.geometry)
    n_in, n_out = B * 3 * 64, B * 8 * 64
    boundaries = [(o.name, o.in_elems, o.out_elems, o.elems, dict(o.geometry)["kind"])
                  for o in ops if o.name in ("qs", "dq")]
    assert boundaries == [("qs", n_in, n_in, 3 * n_in, "quantize_per_tensor"),
                          ("dq", n_out, n_out, 2 * n_out, "dequantize")]
    for o in ops:   # each replayed by the host tables
        op_callable(o, torch.Generator().manual_seed(0))()


def test_quantized_layers_without_a_twin_are_refused_in_one_line():
    class Lstm(nn.Module):
        def __init__(self):
            super().__init__()
            self.lstm, self.h = nnqd.LSTM(16, 8), nn.Linear(8, 4)

        def forward(self, x):
            return self.h(self.lstm(x.unsqueeze(0))[0][0])

    class Table(nn.Module):
        def __init__(self):
            super().__init__()
            self.e, self.h = nnq.Embedding(10, 16), nn.Linear(16, 4)

        def forward(self, x):
            return self.h(self.e((x.abs() * 3).long().clamp(0, 9)).sum(1))

    for model, op in ((Lstm(), "quantized_lstm"), (Table(), "embedding_byte")):
        with pytest.raises(UserError, match=op):
            extract(model, (16,), batch=B)
