"""hwsim's own faults while tracing a forward pass are not told as the model's (h134).

extract() told every RuntimeError and ValueError of its forward pass as 'model M does not
accept input shape ...: <first line>', its traceback dropped, and a TypeError as hwsim's only
where the traceback's innermost hwsim frame was not the function mode's pass-on call.  A
torch function hwsim's own hook calls runs through that pass-on call too, so an error in
hwsim's arithmetic (a reshape in an op's code) read as the model's: a parametrized nn.LSTM
(priced by hwsim.recurrent.rnn_ops, which found no weights under the parametrization's
names) was told 'model ParametrizedLSTM does not accept input shape (3, 4): torch.cat():
expected a non-empty list of Tensors', though the model runs.

The faults below are injected into hwsim's own code (monkeypatch used only to make it fail).
"""
from __future__ import annotations

import traceback

import pytest
import torch
from torch import nn

import hwsim
import hwsim.layers
import hwsim.tracing
from hwsim import extract
from hwsim.workload import summary
from synth.errors import UserError


def _reshape_fault(real):
    """``real`` (an hwsim function), then a torch error in hwsim's code: a reshape that does
    not fit (the torch call passes through extract()'s function mode)."""
    def faulty(*args, **kwargs):
        out = real(*args, **kwargs)
        torch.zeros(4).reshape(7, 7)
        return out
    return faulty


def _raised_in(e: BaseException, name: str) -> bool:
    return any(f.name == name for f in traceback.extract_tb(e.__traceback__))


def test_a_torch_error_in_a_layer_hook_keeps_its_traceback(monkeypatch):
    monkeypatch.setattr(hwsim.layers, "module_op", _reshape_fault(hwsim.layers.module_op))
    model = nn.Sequential(nn.Linear(4, 3), nn.ReLU())
    for run in (lambda: extract(model, (4,)), lambda: hwsim.price(model, (4,))):
        with pytest.raises(RuntimeError) as e:
            run()
        assert not isinstance(e.value, UserError), e.value
        assert "does not accept input shape" not in str(e.value)
        assert _raised_in(e.value, "faulty")


class FunctionalRelu(nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(4, 4)

    def forward(self, x):
        return torch.relu(self.lin(x))


def test_a_value_error_in_the_function_mode_keeps_its_traceback(monkeypatch):
    """hwsim's work on a functional call (``functional_module``, priced as nn.ReLU)."""
    def faulty(func, args, kwargs):
        raise ValueError("hwsim fault")
    monkeypatch.setattr(hwsim.tracing, "functional_module", faulty)   # (the function mode's)
    with pytest.raises(ValueError, match="hwsim fault") as e:
        extract(FunctionalRelu(), (4,))
    assert not isinstance(e.value, UserError)
    assert _raised_in(e.value, "faulty")


class Fallback(nn.Module):
    """A forward that catches a RuntimeError of its fast path and takes another: hwsim's
    fault in the fast path's hook must not disappear into the fallback (the fast path's
    ops would be missing), nor come out as the fallback's error."""

    def __init__(self, fallback_fails: bool):
        super().__init__()
        self.fast, self.slow = nn.Linear(4, 2), nn.Linear(4, 2)
        self.fallback_fails = fallback_fails

    def forward(self, x):
        try:
            return self.fast(x)
        except RuntimeError:
            if self.fallback_fails:
                raise ValueError("the model's fallback failed") from None
            return self.slow(x)


@pytest.mark.parametrize("fallback_fails", [False, True])
def test_a_fault_the_model_catches_is_still_raised(monkeypatch, fallback_fails):
    monkeypatch.setattr(hwsim.layers, "module_op", _reshape_fault(hwsim.layers.module_op))
    with pytest.raises(RuntimeError, match=r"shape '\[7, 7\]' is invalid") as e:
        extract(Fallback(fallback_fails), (4,))
    assert not isinstance(e.value, UserError)


class WrongWidth(nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(3, 2)

    def forward(self, x):
        return torch.relu(self.lin(x))


def test_the_models_own_errors_are_still_one_line():
    """(guards) a wrong input width inside a layer (RuntimeError), an LSTM given the wrong
    rank (ValueError): the model's, one line naming it."""
    with pytest.raises(UserError) as e:
        extract(WrongWidth(), (4,))
    assert str(e.value).startswith("model WrongWidth does not accept input shape (4,): ")
    assert "\n" not in str(e.value)
    with pytest.raises(UserError) as e:
        extract(nn.LSTM(4, 8), (2, 3, 4))
    assert str(e.value).startswith("model LSTM does not accept input shape (2, 3, 4): ")


class KeepMask(nn.Module):
    """A fixed pruning mask (torch.nn.utils.parametrize), as a pruned model has."""

    def __init__(self, w: torch.Tensor, keep: float):
        super().__init__()
        g = torch.Generator().manual_seed(1)
        self.register_buffer("mask", (torch.rand(w.shape, generator=g) < keep).float())

    def forward(self, w):
        return w * self.mask


@pytest.mark.parametrize("kind, which", [
    ("lstm", "all"), ("lstm", "ih"), ("gru", "all"), ("lstm-cell", "all")])
def test_a_parametrized_recurrent_layer_prices_its_effective_weights(kind, which):
    """The layer hwsim refused (every matrix parametrized: no weights found) or priced with
    its parametrized matrices left out (``weight_bytes`` and sparsity of the others only)
    prices as the same layer unmasked, its weight sparsity the masked zeros."""
    from torch.nn.utils import parametrize
    torch.manual_seed(0)
    make = {"lstm": lambda: nn.LSTM(4, 8, num_layers=2, bidirectional=True, proj_size=3),
            "gru": lambda: nn.GRU(4, 8, num_layers=2),
            "lstm-cell": lambda: nn.LSTMCell(4, 8)}[kind]
    shape = (4,) if kind == "lstm-cell" else (3, 4)
    plain = make()
    masked = make()
    masked.load_state_dict(plain.state_dict())
    for n, p in list(masked.named_parameters()):
        if n.startswith("weight") and (which == "all" or "_ih" in n):
            parametrize.register_parametrization(masked, n, KeepMask(p, 0.5))
    want = [o for o in extract(plain, shape)]
    got = extract(masked, shape)
    assert len(got) == len(want)
    for g, w in zip(got, want):
        assert (g.type, g.macs, g.weight_bytes, g.weight_shape, g.gemm, g.groups, g.elems) == \
            (w.type, w.macs, w.weight_bytes, w.weight_shape, w.gemm, w.groups, w.elems)
    zeros = sum(int((getattr(masked, n) == 0).sum()) for n in dict(plain.named_parameters())
                if n.startswith("weight"))
    total = sum(p.numel() for n, p in plain.named_parameters() if n.startswith("weight"))
    stored = sum(o.weight_elems for o in got)
    assert stored == total
    assert sum(o.weight_sparsity * o.weight_elems for o in got) == pytest.approx(zeros)
    assert zeros > 0.3 * total if which == "all" else zeros > 0


# --- F.pad in a forward is the padding layer it computes (h134) --------------------------------
class Padded(nn.Module):
    """A Linear, its output padded (F.pad, or the padding layer), then a ReLU on the padded
    values."""

    def __init__(self, pad=None, layer: nn.Module | None = None, **how):
        super().__init__()
        self.lin, self.act = nn.Linear(4, 6), nn.ReLU()
        self.pad, self.layer, self.how = pad, layer, how

    def forward(self, x):
        y = self.lin(x).reshape(x.shape[0], 1, 2, 3)
        if self.layer is not None:
            y = self.layer(y)
        elif self.pad is not None:
            y = torch.nn.functional.pad(y, self.pad, **self.how)
        return self.act(y)


@pytest.mark.parametrize("pad, how, layer", [
    ((1, 1), {}, nn.ConstantPad1d((1, 1), 0.0)),
    ((1, 2, 0, 1), {"value": 2.5}, nn.ConstantPad2d((1, 2, 0, 1), 2.5)),
    ((1, 1, 1, 1), {"mode": "reflect"}, nn.ReflectionPad2d(1)),
    ((1, 1, 1, 1, 0, 0), {"mode": "replicate"}, nn.ReplicationPad3d((1, 1, 1, 1, 0, 0))),
    ((1, 1, 1, 1), {"mode": "circular"}, nn.CircularPad2d(1)),
], ids=["constant-1d", "constant-2d-value", "reflect-2d", "replicate-3d", "circular-2d"])
def test_a_functional_pad_prices_as_its_padding_layer(pad, how, layer):
    from hwsim import gpu
    torch.manual_seed(0)
    with_fn = Padded(pad, **how)
    with_layer = Padded(layer=layer)
    with_layer.load_state_dict(with_fn.state_dict(), strict=False)
    a, b = extract(with_fn, (4,), batch=2), extract(with_layer, (4,), batch=2)
    assert [o.type for o in a] == ["linear", "resample", "eltwise"]
    assert [o.key() for o in a] == [o.key() for o in b]
    assert hwsim.price_ops(a, spring_cfg=True) == hwsim.price_ops(b, spring_cfg=True)
    assert gpu.evaluate(a) == gpu.evaluate(b)


def test_a_functional_pad_costs_its_copy_and_scales_with_the_padded_size():
    """F.pad was free: the padded model priced as the unpadded one but for the ReLU's larger
    input.  The pad is a copy: its input read, its padded output written (fp32 bytes), on
    every hardware model more with more padding."""
    from hwsim import gpu

    def pad_op(p):
        ops = extract(Padded((p,) * 4), (4,), batch=2)
        return ops, next(o for o in ops if o.type == "resample")
    _, small = pad_op(1)
    _, large = pad_op(3)
    assert (small.in_bytes, small.out_bytes) == (4 * 2 * 6, 4 * 2 * (2 + 2) * (3 + 2))
    assert (large.in_bytes, large.out_bytes) == (4 * 2 * 6, 4 * 2 * (2 + 6) * (3 + 6))
    assert (small.macs, small.elems, large.macs, large.elems) == (0, 0, 0, 0)
    for p in (small, large):
        one = hwsim.price_ops([p], spring_cfg=True)
        assert one["energy_mj"] > 0 and one["latency_ms"] > 0
        assert one["spring_energy_mj"] > 0 and gpu.evaluate([p])["bytes"] > 0
    lo = hwsim.price_ops([small], spring_cfg=True)
    hi = hwsim.price_ops([large], spring_cfg=True)
    assert hi["energy_mj"] > lo["energy_mj"] and hi["spring_energy_mj"] > lo["spring_energy_mj"]
    assert gpu.evaluate([large])["bytes"] > gpu.evaluate([small])["bytes"]
    assert gpu.evaluate([large])["bytes"] == 4 * (large.in_elems + large.out_elems)


def test_a_model_with_a_functional_pad_costs_more_than_without():
    """F.pad always writes a new tensor, a zero padding too: the same model without the call
    (the ReLU on the same values) cost as much as with it."""
    from hwsim import gpu
    with_pad, without = Padded((0, 0, 0, 0)), Padded()
    without.load_state_dict(with_pad.state_dict())
    a, b = extract(with_pad, (4,), batch=2), extract(without, (4,), batch=2)
    assert len(a) == len(b) + 1
    pa, pb = hwsim.price_ops(a, spring_cfg=True), hwsim.price_ops(b, spring_cfg=True)
    for k in ("energy_mj", "latency_ms", "spring_energy_mj", "spring_latency_ms"):
        assert pa[k] > pb[k], k
    assert gpu.evaluate(a)["bytes"] > gpu.evaluate(b)["bytes"]


def test_a_functional_pad_the_call_refuses_is_still_the_models_error():
    """(a guard) F.pad(x, 'ab') raises in the call itself, not in hwsim: one line."""
    class Bad(nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = nn.Linear(4, 4)

        def forward(self, x):
            return torch.nn.functional.pad(self.lin(x), (1, 1), mode="nonsense")
    with pytest.raises(UserError, match="model Bad does not accept input shape"):
        extract(Bad(), (4,))


# --- a MultiheadAttention subclass's own work around its attention (h134) ----------------------
E, H, L = 8, 2, 5


class ExtraWork(nn.MultiheadAttention):
    """A projection and an activation before its attention, a norm, an MLP and a residual add
    after (a whole transformer block in one attention subclass)."""

    def __init__(self):
        super().__init__(E, H, batch_first=True)
        self.pre = nn.Linear(E, E)
        self.mlp = nn.Sequential(nn.LayerNorm(E), nn.Linear(E, 4 * E), nn.GELU(),
                                 nn.Linear(4 * E, E))

    def forward(self, x):
        x = torch.relu(self.pre(x))
        y = super().forward(x, x, x, need_weights=False)[0]
        return self.mlp(y) + y


class Unrolled(nn.Module):
    """ExtraWork's forward with its attention a plain nn.MultiheadAttention child."""

    def __init__(self, like: ExtraWork):
        super().__init__()
        self.pre, self.mlp = like.pre, like.mlp
        self.attn = nn.MultiheadAttention(E, H, batch_first=True)
        self.attn.load_state_dict({k: v for k, v in like.state_dict().items()
                                   if not k.startswith(("pre.", "mlp."))})

    def forward(self, x):
        x = torch.relu(self.pre(x))
        y = self.attn(x, x, x, need_weights=False)[0]
        return self.mlp(y) + y


class Holds(nn.Module):
    def __init__(self, attn):
        super().__init__()
        self.attn = attn

    def forward(self, x):
        return self.attn(x)


def test_an_attention_subclass_prices_its_own_work_around_the_attention():
    """It priced as the bare attention (1,680 MACs): the Linear before it and the MLP after
    (2,880 MACs), the ReLU, the LayerNorm, the GELU and the add were free.  It prices as the
    same forward with a plain attention layer, op for op in the order it ran."""
    torch.manual_seed(0)
    sub = ExtraWork()
    got = extract(Holds(sub), (L, E), batch=2)
    want = extract(Unrolled(sub), (L, E), batch=2)
    # self-attention 4 L E^2 + 2 L^2 E, the pre Linear L E^2, the MLP 2 x L E 4E, per sample
    assert summary(got)["macs"] == 2 * (4 * L * E * E + 2 * L * L * E + L * E * E
                                        + 2 * L * E * 4 * E) == 9120
    assert [o.key() for o in got] == [o.key() for o in want]
    assert [o.name for o in got] == [o.name.replace("pre", "attn.pre").replace(
        "mlp", "attn.mlp") for o in want]
    assert hwsim.price_ops(got, spring_cfg=True) == hwsim.price_ops(want, spring_cfg=True)
    assert summary(got)["weight_bytes"] == summary(want)["weight_bytes"]


def test_an_attention_subclass_with_an_unpriced_product_is_refused():
    """A product in the subclass's own forward is refused as anywhere else (it was free)."""
    class Gated(nn.MultiheadAttention):
        def __init__(self):
            super().__init__(E, H, batch_first=True)
            self.gate = nn.Parameter(torch.randn(E, E))

        def forward(self, x):
            y = super().forward(x, x, x, need_weights=False)[0]
            return torch.cdist(y, self.gate)   # (y @ self.gate: priced since h234)
    with pytest.raises(UserError, match=r"cannot price layer 'cdist\(\)'"):
        extract(Holds(Gated()), (L, E))


def test_an_attention_subclass_calling_its_parent_twice_keeps_each_calls_place():
    """Two calls of the parent with work between them: each call's ops where it ran."""
    class TwoWithNorm(nn.MultiheadAttention):
        def __init__(self):
            super().__init__(E, H, batch_first=True)
            self.norm = nn.LayerNorm(E)

        def forward(self, x):
            y = self.norm(super().forward(x, x, x, need_weights=False)[0])
            return super().forward(y, y, y, need_weights=False)[0]
    names = [o.name for o in extract(Holds(TwoWithNorm()), (L, E))]
    first = names.index("attn.norm")
    assert names[:first] and all(n.startswith("attn.") and "#" not in n for n in names[:first])
    assert names[first + 1:] and all(n.startswith("attn#2.") for n in names[first + 1:])
