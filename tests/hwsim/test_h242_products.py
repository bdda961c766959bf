"""h242: the products a forward calls that h234 left refused, priced as the contraction their
equivalent is priced as (``hwsim.products``): addmv (mv + add; of a stored W with a bias, the
Linear F.linear is), addr (torch.outer + add), inner (the einsum over the last dimensions),
tensordot (the einsum over the dimensions given), addbmm (the einsum 'bij,bjk->ik' + add),
linalg.multi_dot and chain_matmul (a chain of mm's in the order torch evaluates it), vdot
(as dot).  Each refused before ('cannot price layer ...()'), each test below fails there.
F.bilinear stays refused, now with the reason.

Also: two stored tensors sharing one storage (a Linear's weight and a buffer, halves of one
flat tensor) were one weight to a product that read the buffer (found by storage alone), its
bytes counted once; and a weight a forward takes as a default argument made by
torch.frombuffer or from another tensor's untyped_storage is priced as an activation product,
its MACs counted (sound before too: a guard).
"""
import array
import dataclasses

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils._python_dispatch import TorchDispatchMode

import hwsim
from hwsim import extract
from hwsim import products
from hwsim.workload import sample_work
from synth.errors import UserError

B = 2


class Net(nn.Module):
    """A Linear(4, 4), then ``call(self, y)`` on its output; stored tensors of the shapes
    ``params`` as Parameters (a leaf's own weights are priced where a product reads them)."""

    def __init__(self, call, **params):
        super().__init__()
        torch.manual_seed(0)
        self.lin = nn.Linear(4, 4)
        self.call = call
        for name, shape in params.items():
            setattr(self, name, nn.Parameter(torch.randn(shape)))

    def forward(self, x):
        return self.call(self, self.lin(x))


LIN_MACS = B * 4 * 4   # the Linear(4, 4) every Net runs first
ONE = torch.tensor(1)   # (made in a forward, it would be a fill of its own)


def _ops(model, shape=(4,)):
    return extract(model, shape, batch=B)


def _macs(model, shape=(4,)):
    return sum(o.macs for o in _ops(model, shape))


def _unnamed(ops):
    return [dataclasses.replace(o, name="") for o in ops]


def _same_figures(a, b, shape=(4,)):
    """Same ops (but names; an add's geometry: a forward's ``+`` is a residual add, which
    records none), same accelerator, SPRING and GPU figures."""
    def plain(ops):
        return [dataclasses.replace(o, geometry=()) if o.type == "eltwise" else o
                for o in _unnamed(ops)]
    assert plain(_ops(a, shape)) == plain(_ops(b, shape))
    assert hwsim.price(a, shape, spring=True, batch=B) == hwsim.price(b, shape, spring=True,
                                                                      batch=B)


# (form, forward, its MACs by hand besides the Linear's, an equivalent forward h234 prices)
BY_HAND = [
    # addmv: input (B,), mat (B, 4), vec (4,): B x 4 MACs, then B adds
    ("addmv", lambda s, y: torch.addmv(y[:, 0], y, y[0]), B * 4,
     lambda s, y: torch.mv(y, y[0]) + y[:, 0]),
    ("Tensor.addmv-scaled", lambda s, y: y[:, 0].addmv(y, y[0], beta=2, alpha=3), B * 4, None),
    # of a stored W (6 x 4) with a bias of its rows: the Linear of W and b, 6 x 4 MACs
    ("addmv-W", lambda s, y: torch.addmv(s.b, s.W, y[0]), 6 * 4,
     lambda s, y: F.linear(y[0], s.W, s.b)),
    # inner: (B, 4) . (B, 4) over the last dimension: B x B outputs of 4 MACs
    ("inner", lambda s, y: torch.inner(y, y), B * B * 4, lambda s, y: y @ y.t()),
    # of a stored W (6 x 4): x W^T, the Linear of W: B x 4 x 6
    ("inner-W", lambda s, y: torch.inner(y, s.W), B * 4 * 6, lambda s, y: F.linear(y, s.W)),
    ("Tensor.inner", lambda s, y: y.inner(y[:1]), B * 1 * 4, lambda s, y: y @ y[:1].t()),
    # tensordot over dims ([1], [1]): B x B outputs of 4; over 2 dims of a (B, 2, 2) and a
    # stored (2, 2, 6): B x 6 outputs of 2 x 2, the Linear of the weight as (6 x 4)
    ("tensordot", lambda s, y: torch.tensordot(y, y, dims=([1], [1])), B * B * 4,
     lambda s, y: torch.einsum("ak,bk->ab", y, y)),
    ("tensordot-W", lambda s, y: torch.tensordot(y.view(B, 2, 2), s.W3, dims=2), B * 4 * 6,
     lambda s, y: torch.einsum("aij,ijk->ak", y.view(B, 2, 2), s.W3)),
    ("tensordot-int-tensor", lambda s, y: torch.tensordot(y, y.t(), dims=ONE),
     B * 4 * B, lambda s, y: y @ y.t()),
    # addbmm: input (2, 2) + sum over the batch of (2 x 2) @ (2 x 2): B x 2 x 2 x 2 MACs
    ("addbmm", lambda s, y: torch.addbmm(y[0].view(2, 2), y.view(B, 2, 2), y.view(B, 2, 2)),
     B * 2 * 2 * 2, lambda s, y: torch.einsum("bij,bjk->ik", y.view(B, 2, 2), y.view(B, 2, 2))
     + y[0].view(2, 2)),
    ("Tensor.addbmm-W", lambda s, y: y[0].view(2, 2).addbmm(y.view(B, 2, 2), s.W3[:B, :, :2]),
     B * 2 * 2 * 2, lambda s, y: torch.einsum("bij,bjk->ik", y.view(B, 2, 2), s.W3[:B, :, :2])
     + y[0].view(2, 2)),
    # multi_dot of y (B x 4), W1 (4 x 8), W2 (8 x 2): (a c)(b + d) = 2*8*6 = 96 exceeds
    # (b d)(a + c) = 8*10 = 80, so torch computes y @ (W1 @ W2): 4 x 8 x 2 + B x 4 x 2
    ("multi_dot", lambda s, y: torch.linalg.multi_dot([y, s.W1, s.W2]), 4 * 8 * 2 + B * 4 * 2,
     lambda s, y: y @ (s.W1 @ s.W2)),
    ("chain_matmul", lambda s, y: torch.chain_matmul(y, s.W1, s.W2), 4 * 8 * 2 + B * 4 * 2,
     lambda s, y: y @ (s.W1 @ s.W2)),
    # a 1-d first operand is a row, a 1-d last a column: (1 x 4) (4 x 8) (8 x 2) (2 x 1),
    # four: the matrix chain order, ((v W1) W2) u, 4 x 8 + 8 x 2 + 2 (costs 52, 56, 50)
    ("multi_dot-vectors", lambda s, y: torch.linalg.multi_dot([y[0], s.W1, s.W2, y[1, :2]]),
     4 * 8 + 8 * 2 + 2, lambda s, y: y[0] @ s.W1 @ s.W2 @ y[1, :2]),
    # tensordot of a stored operand over its leading dimensions: the Linear of it as (6 x 4)
    ("tensordot-W-leading",
     lambda s, y: torch.tensordot(y.view(B, 2, 2), s.W3, dims=([0, 1], [0, 1])),
     2 * 2 * 2 * 6, lambda s, y: torch.einsum("abc,abf->cf", y.view(B, 2, 2), s.W3)),
    # vdot: as dot, 4 MACs
    ("vdot", lambda s, y: torch.vdot(y[0], y[1]), 4, lambda s, y: torch.dot(y[0], y[1])),
]
PARAMS = {"W": (6, 4), "b": (6,), "W3": (2, 2, 6), "W1": (4, 8), "W2": (8, 2)}


def _used(call):
    """The Parameters a forward reads (a leaf's unread 2-d weights would be refused)."""
    return {k: v for k, v in PARAMS.items() if k in call.__code__.co_names}


def _chain_macs_by_torch(mats) -> int:
    """The MACs of the mm calls torch makes for multi_dot(mats), seen by a dispatch mode."""
    class Mms(TorchDispatchMode):
        macs = 0

        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            if func.overloadpacket is torch.ops.aten.mm:
                (n, k), (_, m) = args[0].shape, args[1].shape
                Mms.macs += n * k * m
            return func(*args, **(kwargs or {}))
    with Mms():
        torch.linalg.multi_dot(mats)
    return Mms.macs


@pytest.mark.parametrize("form, call, macs, twin", BY_HAND, ids=[t[0] for t in BY_HAND])
def test_each_form_prices_its_macs_by_hand(form, call, macs, twin):
    """Its MACs as counted by hand (the Linear's besides), and every figure the same as its
    equivalent's (the form h234 prices it as) where it has one."""
    model = Net(call, **_used(call))
    assert _macs(model) == LIN_MACS + macs
    if twin is not None:
        _same_figures(model, Net(twin, **_used(twin)))


def test_addmv_and_addr_add_their_input_as_an_add_does():
    """addmv: the product, then an eltwise add of B values; beta and alpha other than 1 one
    more op a value each.  addr: torch.outer's eltwise product (one multiply an output
    value: h203's pricing of outer), then the add: 4 x 4 + 4 x 4 element ops."""
    ops = _ops(Net(lambda s, y: torch.addmv(y[:, 0], y, y[0])))
    assert [(o.type, o.macs, o.elems) for o in ops[1:]] == [("matmul", B * 4, 0),
                                                             ("eltwise", 0, B)]
    ops = _ops(Net(lambda s, y: y[:, 0].addmv(y, y[0], beta=2, alpha=3)))
    assert ops[-1].elems == 3 * B
    addr = Net(lambda s, y: torch.addr(y[0].expand(4, 4), y[0], y[1]))
    ops = _ops(addr)
    assert [(o.type, o.macs, o.elems) for o in ops[1:]] == [("eltwise", 0, 16),
                                                             ("eltwise", 0, 16)]
    _same_figures(addr, Net(lambda s, y: torch.outer(y[0], y[1]) + y[0].expand(4, 4)))
    tensor_form = Net(lambda s, y: y[0].expand(4, 4).addr(y[0], y[1], alpha=2))
    assert [o.elems for o in _ops(tensor_form)[1:]] == [16, 2 * 16]


def test_alpha_alone_is_a_multiply_a_value():
    """beta = 0 and alpha = 2: the product, then one multiply an output value (it was the
    product alone: the scale was free)."""
    ops = _ops(Net(lambda s, y: torch.addmm(y[:, :B], y, y.t(), beta=0, alpha=2)))
    assert [(o.type, o.macs, o.elems) for o in ops[1:]] == [("matmul", B * 4 * B, 0),
                                                             ("eltwise", 0, B * B)]
    ops = _ops(Net(lambda s, y: torch.addmm(y[:, :B], y, y.t(), beta=0)))
    assert [o.type for o in ops[1:]] == ["matmul"]


def test_chain_order_is_torchs():
    """The products chain_order picks are the mm's torch runs (random chains of 2 to 6
    matrices, 1-d ends too)."""
    gen = torch.Generator().manual_seed(0)
    for _ in range(60):
        n = int(torch.randint(2, 7, (1,), generator=gen))
        p = torch.randint(1, 7, (n + 1,), generator=gen).tolist()
        mats = [torch.ones(p[i], p[i + 1]) for i in range(n)]
        if p[0] == 1:
            mats[0] = torch.ones(p[1])
        if p[-1] == 1 and n > 1:
            mats[-1] = torch.ones(p[-2])
        shapes = [tuple(m.shape) if m.dim() == 2 else (1, m.shape[0]) if i == 0
                  else (m.shape[0], 1) for i, m in enumerate(mats)]
        mine = []

        def walk(node):
            if isinstance(node, int):
                return shapes[node]
            (r, k), (_, c) = walk(node[0]), walk(node[1])
            mine.append(r * k * c)
            return r, c
        walk(products.chain_order(shapes))
        assert sum(mine) == _chain_macs_by_torch(mats), shapes


def test_the_bound_before_the_forward_pass_counts_the_new_forms():
    """sample_work (one sample, on the meta device) counts each form's MACs
    (``product_macs``) as extract does: the Linear's 16, then the form's."""
    def bound(call, **params):
        return sample_work(Net(call, **params), (4,))[0] - 16
    assert bound(lambda s, y: torch.inner(y, s.W), W=(6, 4)) == 4 * 6
    assert bound(lambda s, y: torch.tensordot(y.view(2, 2), s.W3, dims=2), W3=(2, 2, 6)) \
        == 4 * 6
    assert bound(lambda s, y: torch.addmv(s.b, s.W, y[0]), W=(6, 4), b=(6,)) == 6 * 4
    assert bound(lambda s, y: torch.addbmm(y.view(2, 2), y.view(1, 2, 2), y.view(1, 2, 2))) \
        == 2 * 2 * 2
    assert bound(lambda s, y: torch.addr(y.view(2, 2), y[0, :2], y[0, 2:])) == 2 * 2
    # one sample: (1 x 4)(4 x 8)(8 x 2): cost_1 = 8 x 6 = 48 <= cost_2 = 8 x 9 = 72:
    # (y W1) W2
    assert bound(lambda s, y: torch.linalg.multi_dot([y, s.W1, s.W2]), W1=(4, 8),
                 W2=(8, 2)) == 4 * 8 + 8 * 2
    assert bound(lambda s, y: torch.vdot(y[0], y[0])) == 4


@pytest.mark.parametrize("call, named", [
    (lambda s, y: F.bilinear(y, y, s.A),
     "'bilinear()' (called outside a layer: x1^T A x2 of three operands"),
    (lambda s, y: torch.chain_matmul(y),
     "'chain_matmul()' (called outside a layer: a chain of 1 matrix"),
], ids=["F.bilinear", "chain_matmul-of-one"])
def test_what_cannot_be_priced_soundly_is_refused_in_one_line(call, named):
    with pytest.raises(UserError, match="cannot price layer") as e:
        _ops(Net(call, A=(1, 4, 4)))
    assert named in str(e.value) and "\n" not in str(e.value)


class Shared(nn.Module):
    """A Linear's weight and a buffer the forward multiplies by: halves of one flat tensor
    (``shared``) or two tensors of their own."""

    def __init__(self, shared: bool):
        super().__init__()
        flat = torch.randn(64, generator=torch.Generator().manual_seed(0))
        self.lin = nn.Linear(4, 8, bias=False)
        w, a = flat[32:].view(8, 4), flat[:32].view(8, 4)
        self.lin.weight = nn.Parameter(w if shared else w.clone())
        self.register_buffer("a", a if shared else a.clone())

    def forward(self, x):
        return self.lin(x) + x @ self.a.t()


def test_two_weights_on_one_storage_are_two_weights():
    """x @ a.t() of a buffer ``a`` sharing its storage with the Linear's weight was priced
    as that weight (the first stored tensor found on the storage), stored once: 128 weight
    bytes of 256.  Now a product's stored operand is the stored tensor holding its bytes."""
    own, shared = hwsim.price(Shared(False), (4,), batch=B), hwsim.price(Shared(True), (4,),
                                                                         batch=B)
    assert own["weight_bytes"] == shared["weight_bytes"] == 2 * 8 * 4 * 4
    assert own == shared

    class Flat(nn.Module):   # two Parameters, views of one flat tensor: both read
        def __init__(self):
            super().__init__()
            flat = torch.randn(64)
            self.a = nn.Parameter(flat[:32].view(8, 4))
            self.b = nn.Parameter(flat[32:].view(8, 4))

        def forward(self, x):
            return x @ self.a.t() + x @ self.b.t()
    got = hwsim.price(Flat(), (4,), batch=B)   # (refused before: b seemed never read)
    assert (got["macs"], got["weight_bytes"]) == (2 * B * 4 * 8, 2 * 8 * 4 * 4)


BUF = array.array("f", [0.5] * 32)
W_BUFFER = torch.frombuffer(BUF, dtype=torch.float32).view(8, 4)
W_STORAGE = torch.empty(0).set_(torch.randn(8, 4).untyped_storage(), 0, (8, 4), (4, 1))


@pytest.mark.parametrize("w", [W_BUFFER, W_STORAGE], ids=["frombuffer", "untyped_storage"])
@pytest.mark.parametrize("product", [lambda y, w: y @ w.t(), lambda y, w: F.linear(y, w),
                                     lambda y, w: torch.einsum("bi,oi->bo", y, w),
                                     lambda y, w: torch.inner(y, w)],
                         ids=["matmul", "F.linear", "einsum", "inner"])
def test_a_default_argument_weight_is_priced_not_free(w, product):
    """A weight the forward takes as a default argument (not a Parameter or buffer: made by
    torch.frombuffer or on another tensor's untyped_storage) is no stored weight: its
    product is priced as a product of two activations (its values read as an input, each
    call) or, F.linear, as the Linear of that weight; its MACs are counted either way."""
    class Default(nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = nn.Linear(4, 4)

        def forward(self, x, w=w):
            return product(self.lin(x), w)
    ops = _ops(Default())
    assert sum(o.macs for o in ops) == LIN_MACS + B * 4 * 8
    last = ops[-1]
    assert last.in_bytes + last.weight_bytes >= 8 * 4 * 4   # its values read


def test_a_product_of_two_stored_matrices_reads_both():
    """W1 @ W2 (a Linear of W2 on the input W1) read W1 too: the model was refused, W1 taken
    for a weight no product read ('cannot price layer 'Net' (Net)')."""
    model = Net(lambda s, y: y @ (s.W1 @ s.W2), W1=(4, 8), W2=(8, 2))
    assert _macs(model) == LIN_MACS + 4 * 8 * 2 + B * 4 * 2
