"""Element-wise functions, reductions, copies and norms written in a forward are priced (h193).

Since h182 a forward's ``+ - * /``, ``mean``, ``sum`` and ``torch.cat`` were ops; everything
else it computed on tensors outside a layer was free on every backend: ``-x``, ``x ** 2``,
``x.exp()``, ``torch.maximum(a, b)``, ``torch.where``, ``x.amax(1)``, ``x.var(1)``,
``F.normalize``, ``x.flip(1)``, ``x[idx]``, ``F.layer_norm``...  Each is now an op with the
cost model of a residual add (``hwsim.arithmetic``): one element op per output value (two for
addcmul/lerp), a reduction's ops per value read, a copy's values read and written; views and
casts stay free.  Most tests here fail before the change (the models priced as the plain one;
the functions extracted no op)."""
import json
import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import hwsim
from hwsim import accel, extract, gpu, spring
from hwsim.accel import AcceleratorConfig
from hwsim.host_ops import op_callable
from hwsim.spring import SpringConfig
from hwsim.tables import build_table, load_table, predict, table_report

BATCH, WIDTH = 4, 32
N = BATCH * WIDTH
# (made outside the forward: torch.arange there is a fill op of its own since h203)
REVERSED = torch.arange(WIDTH - 1, -1, -1)


class Net(nn.Module):
    """Linear(16, 32) -> the forward's own call on (y, z) -> Linear(32, 4); without a call the
    head reads y.  Every call keeps y's shape, so both models have the same layers."""

    def __init__(self, call=None):
        super().__init__()
        torch.manual_seed(0)
        self.a, self.b, self.head = nn.Linear(16, WIDTH), nn.Linear(16, WIDTH), nn.Linear(WIDTH, 4)
        self.call = call

    def forward(self, x):
        y, z = self.a(x), self.b(x)
        return self.head(y if self.call is None else self.call(y, z) + 0 * z)


def _setitem(y, z):
    out = y.clone()
    out[out < 0] = 0.0          # a ReLU written as a masked assignment
    return out


# (id, the call, the kinds of the ops it adds before the ``+ 0 * z`` both models share)
CALLS = [
    ("neg", lambda y, z: -y, ["neg"]),
    ("pow", lambda y, z: y ** 2, ["pow"]),
    ("square", lambda y, z: torch.square(y), ["square"]),
    ("exp", lambda y, z: y.exp(), ["exp"]),
    ("erf", lambda y, z: torch.erf(y), ["erf"]),
    ("clamp", lambda y, z: y.clamp(-0.5, 0.5), ["clamp"]),
    ("maximum", lambda y, z: torch.maximum(y, z), ["maximum"]),
    ("max2", lambda y, z: torch.max(y, z), ["maximum"]),
    ("where", lambda y, z: torch.where(y > z, y, z), ["gt", "where"]),
    ("addcmul", lambda y, z: torch.addcmul(y, y, z), ["addcmul"]),
    ("lerp", lambda y, z: y.lerp(z, 0.3), ["lerp"]),
    ("amax", lambda y, z: y.amax(1, keepdim=True).expand(-1, WIDTH), ["amax"]),
    ("var", lambda y, z: y.var(1, keepdim=True).expand(-1, WIDTH), ["var"]),
    ("logsumexp", lambda y, z: y.logsumexp(1, keepdim=True).expand(-1, WIDTH), ["logsumexp"]),
    ("normalize", lambda y, z: F.normalize(y, dim=1), ["normalize"]),
    ("cumsum", lambda y, z: y.cumsum(1), ["cumsum"]),
    ("flip", lambda y, z: y.flip(1), ["copy"]),
    ("gather", lambda y, z: y[:, REVERSED], ["copy"]),
    ("transpose_copy", lambda y, z: y.t().contiguous().t(), ["copy"]),
    ("setitem", _setitem, ["copy", "lt", "setitem"]),
    ("layer_norm", lambda y, z: F.layer_norm(y, (WIDTH,)), ["layer_norm"]),
]


def _kinds(ops):
    return [o.name.split("#")[0] for o in _new(ops)]


def _new(ops):
    """The ops of the call (less ``0 * z``, the last op named with a '#'; ``+`` is a residual
    add, ``add0``)."""
    return [o for o in ops if "#" in o.name][:-1]


@pytest.fixture(scope="module")
def plain():
    ops = extract(Net(lambda y, z: y), (16,), batch=BATCH)
    return ops, hwsim.price_ops(ops, spring_cfg=True), gpu.evaluate(ops)


@pytest.mark.parametrize("call, kinds", [c[1:] for c in CALLS], ids=[c[0] for c in CALLS])
def test_a_forward_function_costs_more_than_the_model_without_it(plain, call, kinds):
    """On the accelerator (cycles, energy, DRAM bytes), SPRING (cycles, energy) and the GPU
    roofline (latency): the model with the call costs more than the same model without it.
    Before, the call was free: every figure equal."""
    base_ops, base, base_gpu = plain
    ops = extract(Net(call), (16,), batch=BATCH)
    assert _kinds(ops) == kinds
    layers = lambda ops: [(o.in_shape, o.weight_shape, o.macs) for o in ops   # noqa: E731
                          if o.type == "linear"]
    assert layers(ops) == layers(base_ops)
    p, g = hwsim.price_ops(ops, spring_cfg=True), gpu.evaluate(ops)
    for key in ("cycles", "energy_mj", "dram_bytes", "spring_latency_ms", "spring_energy_mj"):
        assert p[key] > base[key], key
    assert g["latency_ms"] > base_gpu["latency_ms"]


def _one(call):
    """The ops a call adds (``+ 0 * z`` left out)."""
    return _new(extract(Net(call), (16,), batch=BATCH))


def test_element_ops_and_operands_by_hand():
    """One element op per output value (addcmul, lerp: two); every tensor operand read:
    torch.where reads its condition and both sides (3 N), y ** 2 y alone (the exponent is a
    number); torch.max of two tensors is the element-wise maximum (2 N read)."""
    counts = {}
    for name, call in (("pow", lambda y, z: y ** 2), ("max2", lambda y, z: torch.max(y, z)),
                       ("where", lambda y, z: torch.where(y > z, y, z)),
                       ("addcmul", lambda y, z: torch.addcmul(y, y, z)),
                       ("lerp", lambda y, z: y.lerp(z, 0.3))):
        o = _one(call)[-1]
        counts[name] = (o.type, o.elems, o.in_elems, o.out_elems)
    assert counts == {"pow": ("eltwise", N, N, N), "max2": ("eltwise", N, 2 * N, N),
                      "where": ("eltwise", N, 3 * N, N), "addcmul": ("eltwise", 2 * N, 3 * N, N),
                      "lerp": ("eltwise", 2 * N, 2 * N, N)}


def test_reductions_by_hand():
    """Ops per value read: a max 1, a variance 2 (a sum and a sum of squares), a 2-norm 1 (a
    multiply-add), a 1-norm 2, logsumexp 2, F.normalize its norm's and a divide; a max over a
    dimension writes its values and its indices (2 x BATCH)."""
    got = {}
    for name, call in (("max", lambda y, z: y.max(1)), ("var", lambda y, z: y.var(1)),
                       ("norm2", lambda y, z: y.norm(dim=1)),
                       ("norm1", lambda y, z: torch.norm(y, 1, 1)),
                       ("logsumexp", lambda y, z: y.logsumexp(1)),
                       ("normalize", lambda y, z: F.normalize(y, dim=1))):
        class Red(nn.Module):
            def __init__(self, c=call):
                super().__init__()
                self.a, self.c = nn.Linear(16, WIDTH), c

            def forward(self, x):
                return self.c(self.a(x), None)
        o = extract(Red(), (16,), batch=BATCH)[-1]
        got[name] = (o.elems, o.in_elems, o.out_elems)
    assert got == {"max": (N, N, 2 * BATCH), "var": (2 * N, N, BATCH), "norm2": (N, N, BATCH),
                   "norm1": (2 * N, N, BATCH), "logsumexp": (2 * N, N, BATCH),
                   "normalize": (2 * N, N, N)}


def test_copies_read_their_source_once_and_write_their_output():
    """A repeat reads its input once and writes twice its values; a gather of 8 columns reads
    the 8 x BATCH values it picks and its 8 indices; a masked assignment reads its mask and
    writes the values it selects; a copy does no arithmetic."""
    idx = torch.arange(8)
    rep = _one(lambda y, z: y.repeat(1, 2)[:, :WIDTH])[0]
    gat = _one(lambda y, z: y.index_select(1, idx).repeat(1, 4))[0]
    assert (rep.type, rep.elems, rep.in_elems, rep.out_elems) == ("resample", 0, N, 2 * N)
    assert (gat.type, gat.elems, gat.in_elems, gat.out_elems) == ("resample", 0, 8 * BATCH + 8,
                                                                  8 * BATCH)
    ops = _one(_setitem)
    assert [o.type for o in ops] == ["resample", "eltwise", "resample"]   # clone, <, put
    put = ops[2]
    x = torch.randn((BATCH, 16), generator=torch.Generator().manual_seed(0))   # extract's
    negative = int((Net().a(x) < 0).sum())
    assert 0 < negative < N
    assert (put.elems, put.in_elems, put.out_elems) == (0, N, negative)   # the mask read


def test_views_and_casts_stay_free():
    """A reshape of a contiguous tensor, a permute, a slice, an expand, contiguous() of a
    contiguous tensor and a dtype cast move no value: no op (they pass before too)."""
    for call in (lambda y, z: y.reshape(BATCH, 2, -1).reshape(BATCH, WIDTH),
                 lambda y, z: y.t().t(), lambda y, z: y[:, :WIDTH],
                 lambda y, z: y[:, :1].expand(-1, WIDTH), lambda y, z: y.contiguous(),
                 lambda y, z: y.float(), lambda y, z: y.flatten(1)):
        assert _one(call) == []


def test_functional_norms_and_lookups_price_as_their_layers():
    """F.layer_norm, F.group_norm and F.batch_norm (running statistics) in a forward are the
    nn.LayerNorm, nn.GroupNorm and nn.BatchNorm1d ops; F.embedding the nn.Embedding op (no
    activation sparsity: its input is indices).  They were free."""
    torch.manual_seed(0)
    mean, var = torch.zeros(WIDTH), torch.ones(WIDTH)
    for call, layer in ((lambda y: F.layer_norm(y, (WIDTH,)),
                         nn.LayerNorm(WIDTH, elementwise_affine=False)),
                        (lambda y: F.group_norm(y, 4), nn.GroupNorm(4, WIDTH, affine=False)),
                        (lambda y: F.batch_norm(y, mean, var),
                         nn.BatchNorm1d(WIDTH, affine=False).eval())):
        class Func(nn.Module):
            def __init__(self, c=call):
                super().__init__()
                self.a, self.c = nn.Linear(16, WIDTH), c

            def forward(self, x):
                return self.c(self.a(x))
        torch.manual_seed(1)
        f = extract(Func(), (16,), batch=BATCH)
        torch.manual_seed(1)
        m = extract(nn.Sequential(nn.Linear(16, WIDTH), layer), (16,), batch=BATCH)
        assert len(f) == 2 and f[1].key() == m[1].key()

    class TiedLookup(nn.Module):
        """A language model's decoder whose weight is also its input table."""

        def __init__(self):
            super().__init__()
            torch.manual_seed(0)
            self.out = nn.Linear(8, 50)

        def forward(self, idx):
            return self.out(F.embedding(idx, self.out.weight))
    idx = torch.randint(0, 50, (2, 6), generator=torch.Generator().manual_seed(0))
    ops = extract(TiedLookup(), (6,), inputs=idx)
    assert [o.type for o in ops] == ["embedding", "linear"]
    torch.manual_seed(0)
    ref = extract(nn.Embedding(50, 8), (6,), inputs=idx)[0]
    assert (ops[0].in_shape, ops[0].out_shape, ops[0].weight_shape, ops[0].act_sparsity) == (
        ref.in_shape, ref.out_shape, ref.weight_shape, 0.0)
    assert ops[0].weight_id == ops[1].weight_id != ""           # one stored table
    assert hwsim.workload.summary(ops)["weight_bytes"] == 50 * 8 * 4


def test_each_new_op_prices_on_every_backend_and_times_on_the_host():
    """Every op above runs as its own call on the host (``hwsim.host_ops``: torch.<kind> on
    tensors of its recorded shapes), and a CPU table predicts the model as its rows' sum."""
    ops = []
    for _, call, _ in CALLS:
        ops += _one(call)
    check_host_and_backends(ops)


def check_host_and_backends(ops) -> None:
    """Each of ``ops`` runs as its own call on the host, a CPU table of them predicts with no
    row missing, its keys (arguments, dtypes, a clamp's bounds) survive a saved table's round
    trip, and the accelerator and SPRING price them at a finite, positive energy."""
    gen = torch.Generator().manual_seed(0)
    for o in ops:
        op_callable(o, gen)()
    table = build_table(ops, "cpu", repeats=1)
    pred = predict(table, ops)
    assert pred["missing"] == []
    report = json.loads(json.dumps(table_report("net", "cpu", table, pred)[0]))
    again = predict(load_table(report), ops)
    assert again["missing"] == [] and again["latency_ms"] == pytest.approx(pred["latency_ms"])
    for r in (accel.evaluate(ops, AcceleratorConfig()), spring.evaluate(ops, SpringConfig())):
        assert math.isfinite(r["energy_mj"]) and r["energy_mj"] > 0


def test_torch_modules_own_mask_work_is_not_the_models():
    """nn.TransformerEncoder given a boolean mask turns it into a float one (masked_fill)
    and checks whether it is causal (triu, eq, all): torch's machinery, as inside a plain
    nn.MultiheadAttention, not arithmetic of the model: the same ops as without the mask
    but for the masked softmax."""
    mask = torch.ones(5, 5, dtype=torch.bool).triu(1)

    class Enc(nn.Module):
        def __init__(self, m):
            super().__init__()
            torch.manual_seed(0)
            self.enc = nn.TransformerEncoder(nn.TransformerEncoderLayer(16, 2, 32,
                                                                        batch_first=True), 2,
                                             enable_nested_tensor=False)
            self.m = m

        def forward(self, x):
            return self.enc(x, mask=self.m)
    a, b = extract(Enc(mask), (5, 16), batch=2), extract(Enc(None), (5, 16), batch=2)
    assert [o.name for o in a] == [o.name for o in b]
