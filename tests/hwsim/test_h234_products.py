"""h234: products and convolutions a forward calls itself are priced as the work they are.

hwsim refused them ('hwsim cannot price layer 'matmul()' (called outside a layer)'), and a
leaf module of the user's own (a custom layer holding its weights) was refused as a layer
with no cost model whatever its forward computed: F.linear, x @ W, torch.mm/bmm/addmm/
baddbmm/dot, einsum, F.conv1d/2d/3d, F.conv_transpose* in a forward.  Now (``hwsim.products``)
F.linear prices exactly as nn.Linear with that W and b, F.conv2d as nn.Conv2d with the same
settings, x @ W (W a Parameter) as a Linear without bias, a product of two activations as
attention's ``matmul`` op, and einsum as the contraction it performs.  Every test here
failed before (the extracts raised UserError).
"""
import dataclasses

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import hwsim
from hwsim import extract
from synth.errors import UserError

B = 2


class Fn(nn.Module):
    """A layer of the user's own: ``layer``'s weight and bias as its own Parameters (copies),
    its forward ``call(self, x)``; a leaf module, priced by what its forward calls."""

    def __init__(self, layer: nn.Module, call):
        super().__init__()
        self.weight = nn.Parameter(layer.weight.detach().clone())
        self.bias = None if layer.bias is None else nn.Parameter(layer.bias.detach().clone())
        self.call = call

    def forward(self, x):
        return self.call(self, x)


def _unnamed(ops):
    return [dataclasses.replace(o, name="") for o in ops]


def _figures(model, shape):
    """Every figure price_report gives (accelerator totals, SPRING inference and training and
    their GPU comparisons), the per-layer rows without their names, and hwsim.price's."""
    rep = hwsim.price_report(model, shape, batch=B, spring=True)
    rows = [{k: v for k, v in row.items() if k != "name"} for row in rep.pop("layers")]
    return rep, rows, hwsim.price(model, shape, spring=True, batch=B)


def _assert_prices_as(layer, model, shape):
    got, want = extract(model, shape, batch=B), extract(layer, shape, batch=B)
    assert _unnamed(got) == _unnamed(want)
    assert [o.key() for o in got] == [o.key() for o in want]   # (a host table's key too)
    assert _figures(model, shape) == _figures(layer, shape)


torch.manual_seed(0)
LIN, LIN0 = nn.Linear(8, 6), nn.Linear(8, 6, bias=False)
TWINS = [
    ("F.linear", LIN, lambda s, x: F.linear(x, s.weight, s.bias), (5, 8)),
    ("F.linear-kw", LIN, lambda s, x: F.linear(input=x, weight=s.weight, bias=s.bias), (8,)),
    ("x@W.t()", LIN0, lambda s, x: x @ s.weight.t(), (5, 8)),
    ("matmul", LIN0, lambda s, x: torch.matmul(x, s.weight.T), (5, 8)),
    ("mm", LIN0, lambda s, x: torch.mm(x, s.weight.t()), (8,)),
    ("Tensor.matmul", LIN0, lambda s, x: x.matmul(s.weight.t()), (3, 8)),
    ("addmm", LIN, lambda s, x: torch.addmm(s.bias, x, s.weight.t()), (8,)),
    ("einsum", LIN0, lambda s, x: torch.einsum("bld,ed->ble", x, s.weight), (5, 8)),
    ("conv1d", nn.Conv1d(4, 6, 3, stride=2, padding=1),
     lambda s, x: F.conv1d(x, s.weight, s.bias, 2, 1), (4, 9)),
    ("conv1d-same", nn.Conv1d(4, 6, 3, padding="same", bias=False),
     lambda s, x: F.conv1d(x, s.weight, padding="same"), (4, 9)),
    ("conv2d", nn.Conv2d(4, 6, 3, stride=2, padding=1, dilation=2, groups=2),
     lambda s, x: F.conv2d(x, s.weight, s.bias, stride=2, padding=1, dilation=2, groups=2),
     (4, 9, 9)),
    ("depthwise", nn.Conv2d(4, 4, 3, groups=4), lambda s, x: F.conv2d(x, s.weight, s.bias,
                                                                          groups=4), (4, 6, 6)),
    ("conv3d", nn.Conv3d(2, 3, 2, stride=(1, 2, 2)),
     lambda s, x: F.conv3d(x, s.weight, s.bias, (1, 2, 2)), (2, 4, 5, 5)),
    ("conv_transpose1d", nn.ConvTranspose1d(4, 6, 3, stride=2),
     lambda s, x: F.conv_transpose1d(x, s.weight, s.bias, 2), (4, 7)),
    ("conv_transpose2d", nn.ConvTranspose2d(4, 6, 3, stride=2, padding=1, output_padding=1,
                                            groups=2),
     lambda s, x: F.conv_transpose2d(x, s.weight, s.bias, 2, 1, 1, 2), (4, 5, 5)),
]


@pytest.mark.parametrize("layer, call, shape", [t[1:] for t in TWINS],
                         ids=[t[0] for t in TWINS])
def test_a_product_in_a_forward_prices_as_its_layer_twin(layer, call, shape):
    """Same ops (type, shapes, MACs, bytes, zeros, GEMM, geometry, weight id's role), same
    accelerator, SPRING and GPU figures, same per-layer rows."""
    _assert_prices_as(layer, Fn(layer, call), shape)


def test_x_at_a_weight_of_in_by_out_is_the_linear_of_its_transpose():
    w = nn.Parameter(torch.randn(8, 6))
    lin = nn.Linear(8, 6, bias=False)
    lin.weight = nn.Parameter(w.detach().t().clone())

    class XW(nn.Module):
        def __init__(self):
            super().__init__()
            self.w = w

        def forward(self, x):
            return x @ self.w
    _assert_prices_as(lin, XW(), (5, 8))


def test_a_weight_read_twice_is_stored_once_and_a_slice_is_its_own():
    """Tied: one Parameter in two products is stored once (as a Linear applied twice);
    two slices of one Parameter are two weights (as an attention's q, k, v slices of
    in_proj_weight are)."""
    class Twice(nn.Module):
        def __init__(self):
            super().__init__()
            self.w, self.v = nn.Parameter(torch.randn(8, 8)), nn.Parameter(torch.randn(8, 8))

        def forward(self, x):
            return F.linear(x @ self.w.t(), self.w) + x @ self.v[:4].t() @ self.v[4:]
    got = hwsim.price(Twice(), (8,))
    assert got["weight_bytes"] == 4 * (64 + 32 + 32)
    assert got["macs"] == 64 + 64 + 32 + 32


def _attention_pair():
    """Q K^T and A V written with matmul, and the same with F.scaled_dot_product_attention,
    on the same per-head q, k, v (B x H x L x E)."""
    torch.manual_seed(1)
    h, l, e = 2, 5, 4
    proj = nn.Linear(h * e, 3 * h * e)

    def heads(x):
        q, k, v = proj(x).chunk(3, -1)
        return [t.reshape(x.shape[0], l, h, e).transpose(1, 2) for t in (q, k, v)]

    class ByHand(nn.Module):
        def __init__(self):
            super().__init__()
            self.proj = proj

        def forward(self, x):
            q, k, v = heads(x)
            return torch.softmax(q @ k.transpose(-1, -2) * e ** -0.5, -1) @ v

    class Sdpa(ByHand):
        def forward(self, x):
            return F.scaled_dot_product_attention(*heads(x))
    return ByHand(), Sdpa(), (l, h * e)


def test_a_product_of_two_activations_is_attentions_product():
    by_hand, sdpa, shape = _attention_pair()
    mine = [o for o in extract(by_hand, shape, batch=B) if o.type == "matmul"]
    theirs = [o for o in extract(sdpa, shape, batch=B) if o.type == "matmul"]
    assert len(mine) == len(theirs) == 2
    for m, t in zip(mine, theirs):
        # attention's Q K^T also scales Q (its elems); the forward's own * scale is its own op
        t = dataclasses.replace(t, elems=0, name=m.name, geometry=m.geometry)
        assert dataclasses.replace(m, act_sparsity=0.0) == dataclasses.replace(t, act_sparsity=0.0)
        assert m.act_sparsity == pytest.approx(t.act_sparsity)
        for key in ("latency_ms", "energy_mj", "cycles", "dram_bytes", "macs",
                    "spring_latency_ms", "spring_energy_mj"):
            assert hwsim.price_ops([m], spring_cfg=True)[key] == pytest.approx(
                hwsim.price_ops([t], spring_cfg=True)[key])
    assert (mine[0].groups, mine[0].gemm, mine[0].macs) == (B * 2, (5, 4, 5), B * 2 * 5 * 4 * 5)


def test_einsum_bij_bjk_bik_is_bmm():
    def model(call):
        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.lin = nn.Linear(6, 6)

            def forward(self, x):
                y = self.lin(x)
                return call(y, x.transpose(1, 2))
        torch.manual_seed(2)
        return Net()
    bmm = model(torch.bmm)
    ein = model(lambda a, b: torch.einsum("bij,bjk->bik", a, b))
    got, want = extract(ein, (4, 6), batch=B), extract(bmm, (4, 6), batch=B)
    assert _unnamed(got) == _unnamed(want)
    assert got[-1].type == "matmul" and got[-1].macs == B * 4 * 6 * 4
    assert _figures(ein, (4, 6)) == _figures(bmm, (4, 6))


@pytest.mark.parametrize("equation, operands, macs", [
    ("bhid,bhjd->bhij", ((B, 2, 3, 4), (B, 2, 5, 4)), B * 2 * 3 * 4 * 5),
    ("...id,...jd->...ij", ((B, 2, 3, 4), (B, 2, 5, 4)), B * 2 * 3 * 4 * 5),
    ("bi,bj->bij", ((B, 3), (B, 5)), B * 3 * 5),            # no contracted index: K = 1
    ("bid,bjd", ((B, 3, 4), (B, 5, 4)), B * 3 * 4 * 5),     # implicit output: 'bij'
])
def test_einsum_macs_are_the_product_of_its_index_sizes(equation, operands, macs):
    class Net(nn.Module):
        def forward(self, x):
            return torch.einsum(equation, torch.ones(operands[0]) * x.sum(),
                                torch.ones(operands[1]))
    (op,) = [o for o in extract(Net(), (4,), batch=B) if o.type == "matmul"]
    assert op.macs == macs


@pytest.mark.parametrize("forward, named", [
    (lambda s, x: torch.einsum("bi,bi,bi->b", x, x, x), "einsum('bi,bi,bi->b')"),
    (lambda s, x: torch.einsum("bii->bi", x.reshape(B, 2, 2)), "einsum('bii->bi')"),
    (lambda s, x: torch.einsum("bi,bj->b", x, x), "einsum('bi,bj->b')"),
    (lambda s, x: x @ s.batched, "matmul()' (called outside a layer: a stored operand of "
                                 "shape (3, 4, 4)"),
])
def test_a_product_hwsim_cannot_price_soundly_is_still_refused_in_one_line(forward, named):
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = nn.Linear(4, 4)
            self.batched = nn.Parameter(torch.randn(3, 4, 4))

        def forward(self, x):
            return forward(self, self.lin(x))
    with pytest.raises(UserError, match="cannot price layer") as e:
        extract(Net(), (4,), batch=B)
    assert named in str(e.value) and "\n" not in str(e.value)


def test_a_users_own_layer_is_priced_by_its_forward_and_named_when_refused():
    """The brief's example prices (a Linear, a ReLU, a fill and a product of two
    activations); a custom leaf with a weight its forward never multiplies is still refused
    by name, and a call it makes that hwsim cannot price names the layer and the call."""
    class M(nn.Module):
        def __init__(self):
            super().__init__()
            self.w = nn.Parameter(torch.randn(16, 8))

        def forward(self, x):
            return torch.matmul(x, self.w.t()).relu() @ torch.ones(16, 4)
    ops = extract(M(), (8,), batch=B)
    assert [o.type for o in ops] == ["linear", "eltwise", "resample", "matmul"]
    assert sum(o.macs for o in ops) == B * (8 * 16 + 16 * 4)

    class Unread(nn.Module):
        def __init__(self):
            super().__init__()
            self.w = nn.Parameter(torch.randn(4, 4))

        def forward(self, x):   # (x + self.w.sum() reads w in a priced reduction: priced
            return x + 1.0      # since h320, as a position embedding added to x is)
    with pytest.raises(UserError, match=r"cannot price layer 'Unread' \(Unread\)"):
        extract(Unread(), (4,), batch=B)

    class Distance(nn.Module):
        def forward(self, x):
            return torch.cdist(x, x)
    with pytest.raises(UserError) as e:
        extract(nn.Sequential(nn.Linear(4, 4), Distance()), (3, 4), batch=B)
    assert "cannot price layer '1' (Distance, whose forward calls cdist())" in str(e.value)


def test_the_bound_before_the_forward_pass_counts_products():
    """sample_work (the meta-device pass extract() checks first) counts a product called in
    a forward as attention's: Q K^T by hand bounds as F.scaled_dot_product_attention does,
    and a score matrix past MAX_ACTIVATION_VALUES is refused before the forward pass runs
    (it was not counted: the forward made it, 1.6 GB here, before anything was said)."""
    from hwsim.workload import sample_work

    by_hand, sdpa, shape = _attention_pair()
    assert sample_work(by_hand, shape) == sample_work(sdpa, shape)

    class Scores(nn.Module):
        def forward(self, x):
            return (x @ x.transpose(-1, -2)).sum(-1)
    assert sample_work(Scores(), (100, 8)) == (100 * 8 * 100, 100 * 100)
    with pytest.raises(UserError, match="one sample of .* largest layer output"):
        extract(Scores(), (20000, 8))
