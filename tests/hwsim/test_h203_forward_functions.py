"""Masked scatters, puts, index_reduce, unique, mode, factories, random draws and more written
in a forward are priced (h203); a copy of a sparse tensor costs its stored values.

After h196 these were still free on every backend (accelerator, SPRING, GPU, host table):
``masked_scatter``, ``put_``, ``index_reduce``, ``select_scatter``/``slice_scatter``;
``torch.unique``, ``unique_consecutive``, ``mode``; ``torch.zeros``/``ones``/``full``/
``eye``/``arange``/``linspace`` called without a tensor; ``rand_like``, ``randn``,
``randint``, ``bernoulli``, ``normal_``, ``multinomial`` and ``F.dropout(training=True)``;
``heaviside``, ``logaddexp``, ``ldexp``, torch.special's ``ndtr``/``i1``..., ``outer``,
``kron``, ``aminmax``, ``diff``, ``cross``, ``bucketize``, ``nonzero``, ``histc``, losses
(``F.mse_loss``, ``cross_entropy``, ``nll_loss``, ``triplet_margin_loss``...) and
``cosine_similarity``, ``one_hot``, ``diag_embed``, the ``*_copy`` functions, ``F.unfold``,
``torch.tensor``, ``triu_indices``, ``torch.linalg.norm``, ``trace``, ``special.gammaln``,
bit shifts, ``gumbel_softmax``, ``F.grid_sample``, ``affine_grid``, ``max_unpool2d`` and
``fold``, the in-place ``multiply_``/``divide_``/``cumsum_``, gcd, Bessel functions, isin,
renorm, trapezoid, histogram, binomial and ``torch.dropout_``; matrix inverses,
determinants and decompositions, in-place products and torch-level aliases of layers
(``torch.batch_norm``, ``torch.convolution``, ``torch.lstm_cell``) are refused.  Each is priced with ``hwsim.arithmetic``'s rules (a scatter's reads and
writes, a sort's comparisons, a fill's writes, a draw's generator ops a value); products no op
records (``torch.dot``, ``cdist``, ``torch.fft``) are refused as ``torch.matmul`` is.  A clone
of a sparse tensor was a view (no storage to compare: free); it now moves its stored values
and indices.  The tests fail before the change (the models priced as the plain one; the
functions extracted no op; the products were priced free; the sparse clone had no op and
``s * 2`` on a sparse tensor failed extract as hwsim's own error)."""
import pytest
import torch
import torch.nn.functional as F

from hwsim import extract
from synth.errors import UserError
from tests.hwsim.test_h193_forward_functions import Net, check_host_and_backends
from tests.hwsim.test_h196_forward_functions import Alone, _one, check_costs_more, plain_prices

BATCH, WIDTH = 4, 32
N = BATCH * WIDTH
COLS = torch.arange(0, WIDTH, 4)                           # 8 columns
FLAT = torch.arange(0, N, 8)                               # 16 flat indices
BOUNDS = torch.tensor([-1.0, -0.5, 0.0, 0.5, 1.0, 2.0, 3.0])   # 7 boundaries: 3 compares
LABELS = torch.tensor([0, 3, 1, 2])                        # a class per sample
GRID = torch.rand(BATCH, 4, 8, 2, generator=torch.Generator().manual_seed(0)) * 2 - 1
THETA = torch.tensor([[0.9, 0.1, 0.0], [-0.1, 0.9, 0.1]]).expand(BATCH, 2, 3)
POOLED = torch.tensor([[0, 3], [9, 14]]).expand(BATCH, 2, 2, 2)   # unpooling's indices
COUNTS, PROBS = torch.full((BATCH, WIDTH), 5.0), torch.full((BATCH, WIDTH), 0.5)


def _fit(t):
    """A (BATCH, WIDTH) view of ``t``'s first value (no op)."""
    return t.float().reshape(-1)[:1].reshape(1, 1).expand(BATCH, WIDTH)


# (id, the call, the kinds of the ops it adds before the ``+ 0 * z`` both models share)
CALLS = [
    ("masked_scatter", lambda y, z: y.masked_scatter(y > 0, z), ["gt", "masked_scatter"]),
    ("masked_scatter_", lambda y, z: y.masked_scatter_(y > 0, z), ["gt", "masked_scatter"]),
    ("put_", lambda y, z: y.put_(FLAT, z[0, :16]), ["put"]),
    ("put_acc", lambda y, z: torch.put(y, FLAT, z[0, :16], accumulate=True), ["put"]),
    ("index_reduce", lambda y, z: y.index_reduce(1, COLS, z[:, :8], "amax"), ["index_reduce"]),
    ("select_scatter", lambda y, z: torch.select_scatter(y, z[:, 0], 1, 0), ["select_scatter"]),
    ("slice_scatter", lambda y, z: y.slice_scatter(z[:, :8], 1, 0, 8), ["slice_scatter"]),
    ("unique", lambda y, z: _fit(torch.unique(y)), ["unique"]),
    ("unique_method", lambda y, z: _fit(y.unique(return_counts=True)[1]), ["unique"]),
    ("unique_consecutive", lambda y, z: _fit(torch.unique_consecutive(y)),
     ["unique_consecutive"]),
    ("mode", lambda y, z: y.mode(1, keepdim=True)[0].expand(-1, WIDTH), ["mode"]),
    # (a residual ``+ y``, so that the head's input is not the fill's zeros: SPRING skips
    # the products of zeros)
    ("zeros", lambda y, z: torch.zeros(BATCH, WIDTH) + y, ["fill"]),
    ("ones", lambda y, z: torch.ones(BATCH, WIDTH) * y, ["fill", "mul"]),
    ("full", lambda y, z: torch.full((BATCH, WIDTH), 2.0) + y, ["fill"]),
    ("eye", lambda y, z: torch.eye(BATCH, WIDTH) + y, ["fill"]),
    ("arange", lambda y, z: torch.arange(N, dtype=torch.float32).view(BATCH, WIDTH) + y,
     ["fill"]),
    ("linspace", lambda y, z: torch.linspace(0, 1, N).view(BATCH, WIDTH) + y, ["fill"]),
    ("rand_like", lambda y, z: torch.rand_like(y), ["random"]),
    ("randn_like", lambda y, z: torch.randn_like(y), ["random"]),
    ("randn", lambda y, z: torch.randn(BATCH, WIDTH), ["random"]),
    ("randint", lambda y, z: torch.randint(0, 9, (BATCH, WIDTH), dtype=torch.float32),
     ["random"]),
    ("bernoulli", lambda y, z: torch.bernoulli(torch.full_like(y, 0.5)), ["fill", "random"]),
    ("normal_", lambda y, z: y.normal_(), ["random"]),
    ("multinomial", lambda y, z: _fit(torch.multinomial(y.softmax(1), 2)),
     ["softmax", "random"]),
    ("dropout_train", lambda y, z: F.dropout(y, 0.5), ["random"]),
    ("heaviside", lambda y, z: torch.heaviside(y, z), ["heaviside"]),
    ("logaddexp", lambda y, z: torch.logaddexp(y, z), ["logaddexp"]),
    ("ldexp", lambda y, z: y.ldexp(z), ["ldexp"]),
    ("ndtr", lambda y, z: torch.special.ndtr(y), ["ndtr"]),
    ("i1", lambda y, z: torch.special.i1(y), ["i1"]),
    ("polygamma", lambda y, z: y.polygamma(1), ["polygamma"]),
    ("outer", lambda y, z: torch.outer(y[0, :BATCH], z[0]), ["outer"]),
    ("kron", lambda y, z: torch.kron(y[:1, :8], z[:, :4]), ["kron"]),
    ("aminmax", lambda y, z: torch.aminmax(y, dim=1, keepdim=True)[0].expand(-1, WIDTH),
     ["aminmax"]),
    ("diff", lambda y, z: torch.diff(y, dim=1, append=z[:, :1]), ["diff"]),
    ("cross", lambda y, z: torch.linalg.cross(y[:, :3], z[:, :3]).repeat(1, 11)[:, :WIDTH],
     ["cross", "copy"]),
    ("bucketize", lambda y, z: torch.bucketize(y, BOUNDS).float(), ["bucketize"]),
    ("searchsorted", lambda y, z: torch.searchsorted(BOUNDS, y).float(), ["searchsorted"]),
    ("nonzero", lambda y, z: _fit(torch.nonzero(y)), ["nonzero", "copy"]),   # (its indices
    # are stored column by column: the flat view copies)
    ("histc", lambda y, z: _fit(torch.histc(y, 8)), ["histc"]),
    ("bincount", lambda y, z: _fit(torch.bincount(LABELS)), ["bincount"]),
    ("special_logsumexp", lambda y, z: torch.special.logsumexp(y, 1, True).expand(-1, WIDTH),
     ["logsumexp"]),
    ("mse_loss", lambda y, z: F.mse_loss(y, z) * y, ["mse_loss", "mul"]),
    ("cosine_similarity", lambda y, z: F.cosine_similarity(y, z)[:, None] * y,
     ["cosine_similarity", "mul"]),
    ("cross_entropy", lambda y, z: F.cross_entropy(y, LABELS) * y, ["cross_entropy", "mul"]),
    ("nll_loss", lambda y, z: F.nll_loss(y, LABELS) * y, ["nll_loss", "mul"]),
    ("triplet", lambda y, z: F.triplet_margin_loss(y, z, -y) * y,
     ["neg", "triplet_margin_loss", "mul"]),
    ("one_hot", lambda y, z: F.one_hot(LABELS, WIDTH) * y, ["copy", "mul"]),
    ("diag_embed", lambda y, z: torch.diag_embed(y[0, :BATCH])[:, :1] + y, ["copy", "add"]),
    ("expand_copy", lambda y, z: torch.expand_copy(y[:1], (BATCH, WIDTH)), ["copy"]),
    ("unfold", lambda y, z: _fit(F.unfold(y.view(BATCH, 1, 4, 8), 2)), ["copy"]),
    ("tensor", lambda y, z: torch.tensor([2.0]) * y, ["fill", "mul"]),
    ("triu_indices", lambda y, z: _fit(torch.triu_indices(8, 8)[1, 1:]), ["fill"]),
    ("linalg.norm", lambda y, z: torch.linalg.norm(y, dim=1, keepdim=True) * y, ["norm", "mul"]),
    ("matrix_norm", lambda y, z: torch.linalg.matrix_norm(y) * y, ["norm", "mul"]),
    ("trace", lambda y, z: torch.trace(y) * y, ["trace", "mul"]),
    ("gammaln", lambda y, z: torch.special.gammaln(y), ["lgamma"]),
    ("psi", lambda y, z: torch.special.psi(y), ["digamma"]),
    ("mvlgamma", lambda y, z: torch.mvlgamma(y.exp() + 1, 2), ["exp", "add", "mvlgamma"]),
    ("lshift", lambda y, z: (LABELS[:, None] << 2) * y, ["bitwise_left_shift", "mul"]),
    ("gumbel_softmax", lambda y, z: F.gumbel_softmax(y), ["random"]),
    ("grid_sample", lambda y, z: F.grid_sample(y.view(BATCH, 1, 4, 8), GRID,
                                               align_corners=False).view(BATCH, WIDTH),
     ["copy"]),
    ("affine_grid", lambda y, z: F.affine_grid(THETA, (BATCH, 1, 4, 4), align_corners=False
                                               ).view(BATCH, WIDTH) + y, ["copy"]),
    ("max_unpool2d", lambda y, z: F.max_unpool2d(y.view(BATCH, 2, 4, 4)[:, :, :2, :2], POOLED,
                                                 2).reshape(BATCH, WIDTH) + y, ["copy"]),
    ("fold", lambda y, z: F.fold(y.view(BATCH, 8, 4), (4, 4), 2, stride=2).view(BATCH, WIDTH),
     ["copy"]),
    ("multiply_", lambda y, z: y.multiply_(z), ["mul"]),
    ("divide_", lambda y, z: y.divide_(2.0), ["div"]),
    ("cumsum_", lambda y, z: y.cumsum_(1), ["cumsum"]),
    ("gcd", lambda y, z: torch.gcd(LABELS, LABELS + 2)[:, None] * y, ["add", "gcd", "mul"]),
    ("bessel_j0", lambda y, z: torch.special.bessel_j0(y), ["bessel_j0"]),
    ("isin", lambda y, z: torch.isin(y, BOUNDS) * y, ["isin", "mul"]),
    ("renorm", lambda y, z: y.renorm(2, 0, 1.0), ["renorm"]),
    ("trapezoid", lambda y, z: torch.trapezoid(y, dim=1)[:, None] * y, ["trapezoid", "mul"]),
    ("histogram", lambda y, z: _fit(torch.histogram(y, 8)[0]), ["histc"]),
    ("binomial", lambda y, z: torch.binomial(COUNTS, PROBS) * y, ["random", "mul"]),
    ("dropout_", lambda y, z: torch.dropout_(y, 0.5, True), ["random"]),
    ("hann_window", lambda y, z: torch.hann_window(WIDTH) + y, ["fill", "add"]),
    ("fake_quantize", lambda y, z: torch.fake_quantize_per_tensor_affine(y, 0.1, 0, -128, 127),
     ["fake_quantize_per_tensor_affine"]),
    ("block_diag", lambda y, z: torch.block_diag(y[:2, :16], z[2:, 16:]) + y, ["copy"]),
    ("polar", lambda y, z: torch.view_as_real(torch.polar(y.abs(), z))[..., 0],
     ["abs", "polar"]),
    ("gradient", lambda y, z: torch.gradient(y, dim=1)[0], ["gradient"]),
]


@pytest.fixture(scope="module")
def plain():
    return plain_prices()


@pytest.mark.parametrize("call, kinds", [c[1:] for c in CALLS], ids=[c[0] for c in CALLS])
def test_a_forward_function_costs_more_than_the_model_without_it(plain, call, kinds):
    """The accelerator (cycles, energy, DRAM bytes), SPRING (cycles, energy) and the GPU
    roofline: the model with the call costs more than without it (equal before: free)."""
    check_costs_more(plain, call, kinds)


def _counts(call):
    o = extract(Alone(call), (16,), batch=BATCH)[-1]
    return o.type, o.elems, o.in_elems, o.out_elems


def _positive():
    """How many of the first layer's outputs are positive on extract's batch (seed 0)."""
    x = torch.randn((BATCH, 16), generator=torch.Generator().manual_seed(0))
    return int((Alone(None).a(x) > 0).sum())


def test_scatters_by_hand():
    """A masked scatter writes one source value per true mask value (p of them) and reads
    its mask and those values (not in place: its target copied first); put_ writes its 16
    indices' values (accumulating: one add each, reading the 16 it adds to); index_reduce
    one reduce per source value; a select/slice scatter writes its src into a copy."""
    p = _positive()
    assert 0 < p < N
    got = {name: _counts(call) for name, call in (
        ("masked_scatter", lambda y, z: y.masked_scatter(y > 0, z)),
        ("masked_scatter_", lambda y, z: y.masked_scatter_(y > 0, z)),
        ("put_", lambda y, z: y.put_(FLAT, z[0, :16])),
        ("put_acc_", lambda y, z: y.put_(FLAT, z[0, :16], accumulate=True)),
        ("index_reduce", lambda y, z: y.index_reduce(1, COLS, z[:, :8], "prod")),
        ("select_scatter", lambda y, z: torch.select_scatter(y, z[:, 0], 1, 0)),
        ("slice_scatter", lambda y, z: y.slice_scatter(z[:, :8], 1, 0, 8)))}
    assert got == {"masked_scatter": ("resample", 0, N + N + p, N),
                   "masked_scatter_": ("resample", 0, N + p, p),
                   "put_": ("resample", 0, 16 + 16, 16),
                   "put_acc_": ("resample", 16, 16 + 16 + 16, 16),
                   "index_reduce": ("resample", 32, N + 8 + 32, N),
                   "select_scatter": ("resample", 0, N + BATCH, N),
                   "slice_scatter": ("resample", 0, N + 32, N)}


def test_sorts_by_hand():
    """unique sorts all 128 values as one row and counts its runs: 128 x (7 + 1); with a
    dim, its 4 slices of 32 values (128 x (2 + 1)); unique_consecutive one compare a value;
    a mode sorts each row of 32 and counts its runs: 128 x (5 + 1)."""
    got = {name: _counts(call)[:3] for name, call in (
        ("unique", lambda y, z: torch.unique(y)),
        ("unique_dim", lambda y, z: torch.unique(y, dim=0)),
        ("unique_consecutive", lambda y, z: y.unique_consecutive()),
        ("mode", lambda y, z: y.mode(1)))}
    assert got == {"unique": ("eltwise", N * 8, N), "unique_dim": ("eltwise", N * 3, N),
                   "unique_consecutive": ("eltwise", N, N), "mode": ("eltwise", N * 6, N)}


def test_fills_and_draws_by_hand():
    """A factory fill writes its output and reads nothing (a range one op a value, logspace
    two); a draw its generator's ops a value (uniform 1, normal 2, bernoulli 2, reading its
    probabilities), a *_like draw nothing of its input; multinomial sums each row of 32
    probabilities and draws each of its 2 x 4 samples with a 5-step search; a training
    dropout draws and applies a mask (3 a value), reading its input; in eval it is free."""
    got = {name: _counts(call) for name, call in (
        ("zeros", lambda y, z: torch.zeros(BATCH, WIDTH)),
        ("arange", lambda y, z: torch.arange(N)),
        ("logspace", lambda y, z: torch.logspace(0, 1, N)),
        ("rand_like", lambda y, z: torch.rand_like(y)),
        ("randn", lambda y, z: torch.randn(BATCH, WIDTH)),
        ("bernoulli", lambda y, z: torch.bernoulli(y.sigmoid())),
        ("uniform_", lambda y, z: y.uniform_()),
        ("multinomial", lambda y, z: torch.multinomial(y.softmax(1), 2)),
        ("dropout", lambda y, z: F.dropout(y, 0.1)))}
    assert got == {"zeros": ("resample", 0, 0, N), "arange": ("resample", N, 0, N),
                   "logspace": ("resample", 2 * N, 0, N),
                   "rand_like": ("resample", N, 0, N), "randn": ("resample", 2 * N, 0, N),
                   "bernoulli": ("resample", 2 * N, N, N), "uniform_": ("resample", N, 0, N),
                   "multinomial": ("resample", N + 8 * 6, N, 8),
                   "dropout": ("resample", 3 * N, N, N)}
    assert _one(lambda y, z: F.dropout(y, 0.1, training=False)) == []


def test_losses_and_searches_by_hand():
    """A loss's or distance's ops per value of its largest operand (mse 2, cosine 3, cross
    entropy 2), every operand read (cross entropy: its 4 targets too), its output written;
    nll_loss one op a target; a bucket's binary search ceil(log2(7 + 1)) = 3 compares a
    value; a one-hot reads its indices and writes its rows; nonzero compares every value
    and writes the indices of the p positive ones (2 each)."""
    p = _positive()
    got = {name: _counts(call) for name, call in (
        ("mse_loss", lambda y, z: F.mse_loss(y, z)),
        ("cosine_similarity", lambda y, z: F.cosine_similarity(y, z)),
        ("cross_entropy", lambda y, z: F.cross_entropy(y, LABELS)),
        ("nll_loss", lambda y, z: F.nll_loss(y, LABELS, reduction="none")),
        ("bucketize", lambda y, z: torch.bucketize(y, BOUNDS)),
        ("one_hot", lambda y, z: F.one_hot(LABELS, WIDTH)),
        ("nonzero", lambda y, z: (y > 0).nonzero()))}
    assert got == {"mse_loss": ("eltwise", 2 * N, 2 * N, 1),
                   "cosine_similarity": ("eltwise", 3 * N, 2 * N, BATCH),
                   "cross_entropy": ("eltwise", 2 * N, N + BATCH, 1),
                   "nll_loss": ("eltwise", BATCH, N + BATCH, BATCH),
                   "bucketize": ("eltwise", 3 * N, N + 7, N),
                   "one_hot": ("resample", 0, BATCH, N),
                   "nonzero": ("eltwise", N, N, 2 * p)}


def test_samplers_and_norms_by_hand():
    """A bilinear grid sample: 4 ops an output, its grid (2 a point) and at most its output's
    values read; an affine grid 3 an output, its 6 parameters a sample read; a fold an add a
    value it reads; torch.linalg.norm one multiply-add a value (a 2-norm); trace its
    diagonal's 4 values, read and added."""
    got = {name: _counts(call) for name, call in (
        ("grid_sample", lambda y, z: F.grid_sample(y.view(BATCH, 1, 4, 8), GRID,
                                                   align_corners=False)),
        ("affine_grid", lambda y, z: F.affine_grid(THETA, (BATCH, 1, 4, 4),
                                                   align_corners=False)),
        ("fold", lambda y, z: F.fold(y.view(BATCH, 8, 4), (4, 4), 2, stride=2)),
        ("linalg.norm", lambda y, z: torch.linalg.norm(y, dim=1)),
        ("trace", lambda y, z: torch.trace(y)))}
    assert got == {"grid_sample": ("resample", 4 * N, N + 2 * N, N),
                   "affine_grid": ("resample", 3 * 2 * 16 * BATCH, 6 * BATCH, 2 * 16 * BATCH),
                   "fold": ("resample", N, N, N),
                   "linalg.norm": ("eltwise", N, N, BATCH),
                   "trace": ("eltwise", BATCH, BATCH, 1)}


def test_element_functions_by_hand():
    """One op per output value (ldexp, logaddexp: two), every tensor operand read; an outer
    product one multiply per output value, both vectors read; aminmax two compares a value,
    its two outputs written."""
    got = {name: _counts(call) for name, call in (
        ("heaviside", lambda y, z: torch.heaviside(y, z)),
        ("ldexp", lambda y, z: torch.ldexp(y, z)),
        ("logaddexp", lambda y, z: torch.logaddexp(y, z)),
        ("erfcx", lambda y, z: torch.special.erfcx(y)),
        ("outer", lambda y, z: torch.outer(y[0], z[0])),
        ("aminmax", lambda y, z: y.aminmax(dim=1)))}
    assert got == {"heaviside": ("eltwise", N, 2 * N, N), "ldexp": ("eltwise", 2 * N, 2 * N, N),
                   "logaddexp": ("eltwise", 2 * N, 2 * N, N), "erfcx": ("eltwise", N, N, N),
                   "outer": ("eltwise", WIDTH * WIDTH, 2 * WIDTH, WIDTH * WIDTH),
                   "aminmax": ("eltwise", 2 * N, N, 2 * BATCH)}


@pytest.mark.parametrize("call", [
    # (torch.dot and Tensor.addmm were here: priced since h234, hwsim.products; torch.inner
    # and Tensor.addr since h242: a bilinear form and an in-place rank-1 update are not)
    lambda y, z: F.bilinear(y, z, y.new_ones(1, WIDTH, WIDTH)).expand(BATCH, WIDTH),
    lambda y, z: y.clone().addr_(y[:, 0], z[0]),
    lambda y, z: torch.cdist(y, z)[:, :1].expand(BATCH, WIDTH),
    lambda y, z: torch.fft.fft(y).real,
    lambda y, z: torch.linalg.vecdot(y, z)[:, None].expand(BATCH, WIDTH),
    lambda y, z: torch.linalg.inv(y[:, :BATCH]).repeat(1, 8),
    lambda y, z: torch.det(y[:, :BATCH]).expand(BATCH, WIDTH),
    lambda y, z: torch.linalg.svd(y)[1][:1].expand(BATCH, WIDTH),
    lambda y, z: y.addmm_(y[:, :BATCH].t(), z[:BATCH]),
    lambda y, z: torch.batch_norm(y, None, None, None, None, True, 0.1, 1e-5, False),
    lambda y, z: torch.convolution(y[:, None], z[:1, None, :3], None, [1], [1], [1], False,
                                   [0], 1)[:, 0],
    lambda y, z: torch.lstm_cell(y, (z, z), y.new_ones(4 * WIDTH, WIDTH),
                                 y.new_ones(4 * WIDTH, WIDTH))[0],
    lambda y, z: F.fractional_max_pool2d(y.view(BATCH, 1, 4, 8), 2, output_size=(2, 4)
                                         ).repeat(1, 4, 1, 1).view(BATCH, WIDTH),
    lambda y, z: y.qr()[0].repeat(1, 8),
    lambda y, z: torch.kl_div(y, z, 1) * y,
    # (quantize_per_tensor and dequantize are priced since h227; a quantized kernel is not)
    lambda y, z: torch.ops.quantized.add(torch.quantize_per_tensor(y, 0.1, 0, torch.quint8),
                                         torch.quantize_per_tensor(z, 0.1, 0, torch.quint8),
                                         0.2, 0).dequantize(),
], ids=["bilinear", "Tensor.addr_", "cdist", "fft", "vecdot", "inv", "det", "svd", "addmm_",
        "torch.batch_norm", "torch.convolution", "lstm_cell", "fractional_max_pool2d",
        "Tensor.qr", "torch.kl_div", "quantized.add"])
def test_products_no_op_records_are_refused(call):
    """A product, distance matrix or transform called in a forward is refused in one line,
    as torch.matmul is (it was priced free)."""
    with pytest.raises(UserError, match=r"\(\)' \(called outside a layer[:)]"):
        extract(Net(call), (16,), batch=BATCH)


def test_a_sparse_copy_moves_its_stored_values():
    """A clone of a sparse COO tensor reads and writes its stored values and their indices
    (nnz x (1 + 2) for a 2-d tensor); a CSR one its values, column indices and row
    pointers.  It was taken for a view (a sparse tensor has no storage to compare) and was
    free.  A conversion reads all its source stores and writes all its output stores (to
    sparse: every dense value read; to dense: every value written); they were free too.
    Arithmetic on a sparse tensor prices as on the dense one, its zeros measured (it failed
    extract as an error of hwsim's own)."""
    nnz = _positive()
    coo = extract(Alone(lambda y, z: y.relu().to_sparse().clone()), (16,), batch=BATCH)[-1]
    assert (coo.name.split("#")[0], coo.in_elems, coo.out_elems) == ("copy", 3 * nnz, 3 * nnz)
    assert coo.in_shape == coo.out_shape == (BATCH, WIDTH)
    csr = extract(Alone(lambda y, z: y.relu().to_sparse_csr().clone()), (16,), batch=BATCH)[-1]
    assert (csr.in_elems, csr.out_elems) == (2 * nnz + BATCH + 1, 2 * nnz + BATCH + 1)
    csc = extract(Alone(lambda y, z: y.relu().to_sparse_csc().clone()), (16,), batch=BATCH)[-1]
    assert (csc.in_elems, csc.out_elems) == (2 * nnz + WIDTH + 1, 2 * nnz + WIDTH + 1)
    conv = extract(Alone(lambda y, z: y.relu().to_sparse().to_dense()), (16,), batch=BATCH)
    assert [(o.in_elems, o.out_elems) for o in conv[-2:]] == [(N, 3 * nnz), (3 * nnz, N)]
    mul = extract(Alone(lambda y, z: y.relu().to_sparse() * 2), (16,), batch=BATCH)[-1]
    assert (mul.name.split("#")[0], mul.elems) == ("mul", N)
    assert mul.act_sparsity == pytest.approx(1 - nnz / N)
    check_host_and_backends([coo, csr, csc, *conv[-2:]])


def test_each_new_op_prices_on_every_backend_and_times_on_the_host():
    """Every op above runs as its own call on the host (``hwsim.host_ops``), and a CPU table
    predicts the model as its rows' sum, its keys surviving a saved table's round trip."""
    ops = []
    for _, call, _ in CALLS:
        ops += _one(call)
    assert len(ops) == sum(len(kinds) for _, _, kinds in CALLS)
    check_host_and_backends(ops)
