"""Sorts, scatters, fills, stacks, F.rms_norm, F.embedding_bag and a training-mode
F.batch_norm written in a forward are priced (h196).

After h193 these were still free on every backend: ``y.sort(1)``, ``topk``, ``median``,
``quantile``, ``argsort``; ``scatter``/``scatter_add``/``index_add``/``index_put``;
``zeros_like``/``full_like``/``fill_``; ``hstack``/``vstack``; ``F.rms_norm`` and
``F.embedding_bag`` (nn.RMSNorm was refused); and ``F.batch_norm(training=True)``, which
normalizes by the batch's statistics, was priced as an evaluation-mode BatchNorm (one op per
element).  Each now prices with ``hwsim.arithmetic``'s rules: a sort n log2 n comparisons a
row of n (topk log2 k a value), a scatter or fill the values it reads and writes (an
accumulating scatter one add per value), a stack as a cat, the functions as their modules,
batch statistics as a norm layer's (3 ops per element).  The tests fail before the change
(the models priced as the plain one; the functions extracted no op)."""
import pytest
import torch
import torch.nn.functional as F
from torch import nn

import hwsim
from hwsim import extract, gpu
from tests.hwsim.test_h193_forward_functions import Net, check_host_and_backends

BATCH, WIDTH = 4, 32
N = BATCH * WIDTH
IDX = torch.arange(WIDTH - 1, -1, -1).expand(BATCH, -1)   # a scatter's index, 128 values
IDX8 = torch.arange(8).expand(BATCH, -1)                   # 32 values
COLS = torch.arange(0, WIDTH, 4)                           # 8 columns
ROWS = torch.tensor([0, 2])                                # 2 rows: 64 values
VAL = torch.tensor(1.0)


# (id, the call, the kinds of the ops it adds before the ``+ 0 * z`` both models share)
CALLS = [
    ("sort", lambda y, z: y.sort(1)[0], ["sort"]),
    ("argsort", lambda y, z: y.argsort(1).float(), ["argsort"]),
    ("topk", lambda y, z: y.topk(4, 1)[0].repeat(1, 8), ["topk", "copy"]),
    ("median", lambda y, z: y.median(1, keepdim=True)[0].expand(-1, WIDTH), ["median"]),
    ("quantile", lambda y, z: y.quantile(0.5, 1, keepdim=True).expand(-1, WIDTH),
     ["quantile"]),
    ("scatter", lambda y, z: y.scatter(1, IDX, z), ["scatter"]),
    ("scatter_add", lambda y, z: y.scatter_add(1, IDX, z), ["scatter_add"]),
    ("scatter_add_", lambda y, z: y.clone().scatter_add_(1, IDX8, z), ["copy", "scatter_add"]),
    ("index_add", lambda y, z: y.index_add(1, COLS, z[:, :8]), ["index_add"]),
    ("index_put", lambda y, z: y.index_put((ROWS,), VAL), ["index_put"]),
    ("zeros_like", lambda y, z: torch.zeros_like(y) - y, ["fill", "sub"]),
    ("full_like", lambda y, z: torch.full_like(y, 2.0) * y, ["fill", "mul"]),
    ("fill_", lambda y, z: y.clone().fill_(1.0), ["copy", "fill"]),
    ("hstack", lambda y, z: torch.hstack([y[:, :16], z[:, 16:]]), ["cat"]),
    ("vstack", lambda y, z: torch.vstack([y[:2], z[2:]]), ["cat"]),
    ("rms_norm", lambda y, z: F.rms_norm(y, (WIDTH,)), ["rms_norm"]),
    ("batch_norm_training", lambda y, z: F.batch_norm(y, None, None, training=True),
     ["batch_norm"]),
]


def _new(ops):
    """The ops of the call (less ``0 * z``, the last op named with a '#')."""
    return [o for o in ops if "#" in o.name][:-1]


def _one(call):
    return _new(extract(Net(call), (16,), batch=BATCH))


def plain_prices():
    """(hwsim.price_ops with SPRING, the GPU roofline) of the model without a call."""
    ops = extract(Net(lambda y, z: y), (16,), batch=BATCH)
    return hwsim.price_ops(ops, spring_cfg=True), gpu.evaluate(ops)


@pytest.fixture(scope="module")
def plain():
    return plain_prices()


def check_costs_more(plain, call, kinds):
    """The ops ``call`` adds are of ``kinds``, and the model with it costs more than
    ``plain`` (the model without it) on every backend."""
    base, base_gpu = plain
    ops = extract(Net(call), (16,), batch=BATCH)
    assert [o.name.split("#")[0] for o in _new(ops)] == kinds
    p, g = hwsim.price_ops(ops, spring_cfg=True), gpu.evaluate(ops)
    for key in ("cycles", "energy_mj", "dram_bytes", "spring_latency_ms", "spring_energy_mj"):
        assert p[key] > base[key], key
    assert g["latency_ms"] > base_gpu["latency_ms"]


@pytest.mark.parametrize("call, kinds", [c[1:] for c in CALLS], ids=[c[0] for c in CALLS])
def test_a_forward_function_costs_more_than_the_model_without_it(plain, call, kinds):
    """The accelerator (cycles, energy, DRAM bytes), SPRING (cycles, energy) and the GPU
    roofline: the model with the call costs more than without it (equal before: free).  A
    training-mode F.batch_norm costs more than the evaluation-mode one too."""
    check_costs_more(plain, call, kinds)


class Alone(nn.Module):
    """Linear(16, 32) x 2 -> the call, its result returned as it is."""

    def __init__(self, call):
        super().__init__()
        torch.manual_seed(0)
        self.a, self.b, self.call = nn.Linear(16, WIDTH), nn.Linear(16, WIDTH), call

    def forward(self, x):
        return self.call(self.a(x), self.b(x))


def _last(call):
    return extract(Alone(call), (16,), batch=BATCH)[-1]


def _counts(call):
    o = _last(call)
    return o.type, o.elems, o.in_elems, o.out_elems


def test_sorts_by_hand():
    """n log2 n comparisons a row (4 rows of 32: 4 x 32 x 5 = 640; all 128 values one row:
    128 x 7 = 896); topk log2 k a value (k = 4: 2; k = 1: 1, a max's); a quantile also two
    ops an output (lerp); every output written (values and indices)."""
    got = {name: _counts(call) for name, call in (
        ("sort", lambda y, z: y.sort(1)), ("argsort", lambda y, z: y.argsort(dim=-1)),
        ("topk4", lambda y, z: y.topk(4, 1)), ("topk1", lambda y, z: torch.topk(y, 1)),
        ("median", lambda y, z: y.median(1)), ("median_all", lambda y, z: y.median()),
        ("kthvalue", lambda y, z: y.kthvalue(3, 1)),
        ("quantile", lambda y, z: torch.quantile(y, torch.tensor([0.1, 0.5, 0.9]), dim=1)))}
    assert got == {"sort": ("eltwise", 640, N, 2 * N), "argsort": ("eltwise", 640, N, N),
                   "topk4": ("eltwise", 256, N, 2 * 16), "topk1": ("eltwise", N, N, 2 * 4),
                   "median": ("eltwise", 640, N, 8), "median_all": ("eltwise", 896, N, 1),
                   "kthvalue": ("eltwise", 640, N, 8),
                   "quantile": ("eltwise", 640 + 2 * 12, N + 3, 12)}


def test_scatters_by_hand():
    """Not in place: the target copied (N read, N written) plus the indices and the source
    values written; in place: the w values written, their indices and sources read, and an
    accumulating one the w targets it adds to; one element op per value added."""
    got = {name: _counts(call) for name, call in (
        ("scatter", lambda y, z: y.scatter(1, IDX, z)),
        ("scatter_value", lambda y, z: y.scatter(1, IDX8, 0.5)),
        ("scatter_add", lambda y, z: y.scatter_add(1, IDX, z)),
        ("scatter_add_", lambda y, z: y.clone().scatter_add_(1, IDX8, z)),
        ("index_add", lambda y, z: y.index_add(1, COLS, z[:, :8])),
        ("index_copy_", lambda y, z: y.clone().index_copy_(1, COLS, z[:, :8])),
        ("index_fill", lambda y, z: y.index_fill(1, COLS, 0.0)),
        ("index_put", lambda y, z: y.index_put((ROWS,), VAL)),
        ("index_put_acc", lambda y, z: y.index_put((ROWS,), VAL, accumulate=True)))}
    assert got == {"scatter": ("resample", 0, 3 * N, N),
                   "scatter_value": ("resample", 0, N + 32, N),
                   "scatter_add": ("resample", N, 3 * N, N),
                   "scatter_add_": ("resample", 32, 32 + 32 + 32, 32),
                   "index_add": ("resample", 32, N + 8 + 32, N),
                   "index_copy_": ("resample", 0, 8 + 32, 32),
                   "index_fill": ("resample", 0, N + 8, N),
                   "index_put": ("resample", 0, N + 2 + 1, N),
                   "index_put_acc": ("resample", 64, N + 2 + 1, N)}


def test_fills_and_stacks_by_hand():
    """A fill writes its output and reads nothing (a 0-d tensor value: one); a stack is a
    cat: its pieces' values read and written, joined along its own dimension."""
    got = {name: _one(call)[0] for name, call in (
        ("zeros_like", lambda y, z: torch.zeros_like(y)),
        ("new_ones", lambda y, z: y.new_ones(BATCH, WIDTH)),
        ("fill_", lambda y, z: y.fill_(VAL)),
        ("hstack", lambda y, z: torch.hstack([y[:, :16], z[:, 16:]])),
        ("vstack1d", lambda y, z: torch.vstack([y[0], z[1]]).repeat(2, 1)),
        ("dstack", lambda y, z: torch.dstack([y, z]).sum(2)))}
    assert {k: (o.type, o.elems, o.in_elems, o.out_elems) for k, o in got.items()} == {
        "zeros_like": ("resample", 0, 0, N), "new_ones": ("resample", 0, 0, N),
        "fill_": ("resample", 0, 1, N), "hstack": ("resample", 0, N, N),
        "vstack1d": ("resample", 0, 64, 64), "dstack": ("resample", 0, 2 * N, 2 * N)}
    geo = {k: dict(o.geometry) for k, o in got.items() if k in ("hstack", "vstack1d", "dstack")}
    assert [(g["kind"], g["dim"], g["sizes"]) for g in geo.values()] == [
        ("cat", 1, (16, 16)), ("cat", 0, (1, 1)), ("cat", 2, (1, 1))]


def _func_vs_layer(call, layer):
    class Func(nn.Module):
        def __init__(self):
            super().__init__()
            self.a = nn.Linear(16, WIDTH)

        def forward(self, x):
            return call(self.a(x))
    torch.manual_seed(1)
    f = extract(Func(), (16,), batch=BATCH)
    torch.manual_seed(1)
    m = extract(nn.Sequential(nn.Linear(16, WIDTH), layer), (16,), batch=BATCH)
    assert len(f) == len(m) == 2 and f[1].key() == m[1].key()
    return f[1]


def test_rms_norm_as_its_layer():
    """F.rms_norm is nn.RMSNorm's op (refused before as a layer with no cost model): a sum of
    squares and a scale, 2 ops per element."""
    op = _func_vs_layer(lambda y: F.rms_norm(y, (WIDTH,)),
                        nn.RMSNorm(WIDTH, elementwise_affine=False))
    assert (op.type, op.elems, op.in_elems, op.out_elems) == ("norm", 2 * N, N, N)
    ones = torch.ones(WIDTH)   # (outside the forward: a fill op there since h203)
    op = _func_vs_layer(lambda y: F.rms_norm(y, (WIDTH,), ones, 1e-6),
                        nn.RMSNorm(WIDTH, 1e-6))
    assert dict(op.geometry)["eps"] == 1e-6


def test_batch_statistics_cost_a_norms_sums():
    """F.batch_norm(training=True), with or without running statistics, and a BatchNorm that
    keeps none (torch normalizes by the batch's statistics at inference too) compute a sum
    and a sum of squares first: 3 ops per element (as LayerNorm); with stored statistics 1
    (it was 1 for all)."""
    mean, var = torch.zeros(WIDTH), torch.ones(WIDTH)
    stats = nn.BatchNorm1d(WIDTH, affine=False, track_running_stats=False)
    for call in (lambda y: F.batch_norm(y, None, None, training=True),
                 lambda y: F.batch_norm(y, mean, var, training=True)):
        op = _func_vs_layer(call, stats)
        assert (op.type, op.elems) == ("batchnorm", 3 * N)
    stored = _func_vs_layer(lambda y: F.batch_norm(y, mean, var),
                            nn.BatchNorm1d(WIDTH, affine=False).eval())
    assert stored.elems == N


class Bag(nn.Module):
    """F.embedding_bag on a table that is a Linear's weight (a tied decoder's)."""

    def __init__(self, weighted=False):
        super().__init__()
        torch.manual_seed(0)
        self.out, self.weighted = nn.Linear(8, 50), weighted
        # the weights of a batch of 2 x 6 indices, made here (torch.ones(idx.shape) in the
        # forward is a fill op of its own since h203)
        self.psw = torch.ones(2, 6) if weighted else None

    def forward(self, idx):
        return self.out(F.embedding_bag(idx, self.out.weight, mode="sum",
                                        per_sample_weights=self.psw))


@pytest.mark.parametrize("weighted", [False, True])
def test_embedding_bag_as_its_layer(weighted):
    """F.embedding_bag is the nn.EmbeddingBag op of its table (its rows read, one add a value
    read; per_sample_weights: a multiply a value too), the table stored once."""
    idx = torch.randint(0, 50, (2, 6), generator=torch.Generator().manual_seed(0))
    ops = extract(Bag(weighted), (6,), inputs=idx)
    assert [o.type for o in ops] == ["embedding", "linear"]
    layer = nn.EmbeddingBag(50, 8, mode="sum")
    kw = {"per_sample_weights": torch.ones(idx.shape)} if weighted else {}

    class Call(nn.Module):
        def __init__(self):
            super().__init__()
            self.bag = layer

        def forward(self, i):
            return self.bag(i, **kw)
    ref = extract(Call(), (6,), inputs=idx)[0]
    assert ops[0].key() == ref.key()
    assert ops[0].elems == (2 if weighted else 1) * 12 * 8
    assert ops[0].weight_id == ops[1].weight_id != ""
    assert hwsim.workload.summary(ops)["weight_bytes"] == 50 * 8 * 4


def test_each_new_op_prices_on_every_backend_and_times_on_the_host():
    """Every op above runs as its own call on the host (``hwsim.host_ops``), and a CPU table
    predicts the model as its rows' sum, its keys surviving a saved table's round trip."""
    ops = []
    for _, call, _ in CALLS:
        ops += _one(call)
    ops.append(_last(lambda y, z: torch.quantile(y, torch.tensor([0.1, 0.9]), dim=1)))
    ops.append(_last(lambda y, z: y.index_put((ROWS,), VAL, accumulate=True)))
    ops.append(extract(Bag(True), (6,), inputs=torch.randint(0, 50, (2, 6)))[0])
    assert len(ops) == sum(len(kinds) for _, _, kinds in CALLS) + 3   # (free before: fewer)
    check_host_and_backends(ops)
