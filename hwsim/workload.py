"""Workload extraction: any PyTorch module + an input shape -> a list of operation records.

DESIGN contract "Workload": hwsim reads ``Op`` records (type, shapes, MACs, bytes, sparsity)
and never needs the module again.  Every op is also expressed as a GEMM
``(T x K) @ (K x N)`` repeated ``groups`` times, the form a systolic array executes
(SCALE-Sim, Samajdar et al. 2018, Sec. III: T = output pixels, K = R*S*C, N = filters).

Extraction runs one forward pass with hooks on leaf modules, so it works the same on a
dense model, a masked model (``torch.nn.utils.parametrize`` on Linear/Conv: the hook
reads the effective ``module.weight``, mask applied) and a compacted one.  Tensor
additions outside modules (ResNet shortcuts) and activations called as functions there
(``F.relu(x)``: priced as the ``nn.ReLU`` module is) are caught with a ``TorchFunctionMode``.
Weight sparsity is the measured fraction of exact zeros in the effective weight;
activation sparsity is the measured fraction of zeros in the op's input for the given
sample (real data when ``inputs`` is passed, else a seeded Gaussian sample).

Recurrent layers (``synth.models.RecurrentLayer``: the ``lstm`` and ``hlstm`` families) call
their gate Linear layers once per time step.  The T calls of one layer are one op of type
``recurrent``: the per-step GEMM ``(batch x K) @ (K x N)`` repeated ``groups = T`` times one
after another (h_t feeds step t+1), MACs = T x batch x K x N (x density where sparse
hardware skips zeros); an input projection applied to all steps at once stays one
``linear`` op with T x batch rows; the cell update (``synth.models.lstm.CELL_OPS`` = 9
element operations per unit and step) is one ``eltwise`` op.  torch's own ``nn.LSTM``, ``nn.GRU`` and ``nn.RNN``
(and their cells) are one ``lstm`` / ``gru`` / ``rnn`` op per layer, their cell work in ``elems``.
An Upsample, PixelShuffle or PixelUnshuffle (or F.interpolate / F.pixel_shuffle called in a
forward) is a ``resample`` op: its input read and output written, plus ``INTERPOLATION_OPS``
element ops per output value for an interpolating Upsample; a ChannelShuffle is one too (a
permutation).  An nn.MultiheadAttention (a TransformerEncoderLayer's too) is its GEMMs: the
q, k, v and out projections as ``linear`` ops, Q K^T and A V as ``matmul`` ops (batched GEMMs
of two activations, no weight bytes), the softmax as an ``eltwise`` op (``_attention_ops``);
F.scaled_dot_product_attention called in a forward is its products and softmax.  An LPPool
is a ``pool`` with its powers, a LocalResponseNorm a ``norm`` with its window's work.  A
module called at two places of a forward is two ops; only the per-step calls of a recurrent
layer merge (``merge_repeated``).

A layer with no cost model is refused in one line naming it (``KNOWN_LAYERS``): a leaf module
extract() has no op for and that is not free (``_FREE``), a module with weights no op prices,
or a product or convolution called in a module's own forward (``_UNPRICED_FUNCS``).  Priced
without it, the model would be cheaper than it is.
"""
from __future__ import annotations

import dataclasses
import inspect
import math
import uuid

import torch
from torch import nn
from torch.overrides import TorchFunctionMode

from synth.config import short_repr
from synth.errors import UserError
from synth.models import RecurrentLayer
from synth.models.lstm import CELL_OPS
from synth.modes import module_modes, restore_modes

FP32_BYTES = 4  # bytes per element of the model as stored (float32)

OP_TYPES = ("conv", "depthwise", "linear", "pool", "batchnorm", "norm", "eltwise", "lstm",
            "gru", "rnn", "recurrent", "embedding", "resample", "matmul")
# ops that run as GEMMs on an array
MAX_BATCH_VALUES = 1 << 26    # values in the random batch extract() runs (256 MB of fp32)
# The forward pass extract() runs is bounded by its work, not only its input: resnet18 on
# 3x224x224 is 27 G multiply-accumulates and 1e8 activation values a sample, and --batch 445
# (within MAX_BATCH_VALUES) ran for a quarter of an hour toward tens of GB (batch 32: 61 s,
# 3.8 GB here).  Counted on the meta device (shapes, no arithmetic) before it runs.
MAX_EXTRACT_MACS = 1 << 40          # ~1.1e12: a minute or two of one CPU
MAX_ACTIVATION_VALUES = 1 << 28     # the largest layer output of the batch (1 GiB of fp32)
GEMM_TYPES = ("conv", "depthwise", "linear", "lstm", "gru", "rnn", "recurrent", "matmul")
# a ``matmul`` op is a product of two activations (attention's Q K^T and A V: ``_attention``):
# ``groups`` = batch x heads GEMMs (T x K) @ (K x N), one per sample and head, and no weights:
# both operands are inputs the op reads (``in_bytes``; ``in_shape`` is the elements of both,
# flattened), ``weight_bytes`` 0 (the model stores no K or V), its act_sparsity the zeros of
# both operands together
# convolutions lowered to a GEMM (im2col): a Conv1d is a Conv2d with a height of 1, a Conv3d's
# reduction runs over its depth too (K = C * R * S * D)
_CONVS = (nn.Conv1d, nn.Conv2d, nn.Conv3d)
# transposed convolutions: a GEMM of the input, then col2im (each product added into its
# output position)
_CONVT = (nn.ConvTranspose1d, nn.ConvTranspose2d, nn.ConvTranspose3d)
# layers with matrix weights that extract() prices (an Embedding is a lookup: no MACs, one
# table row read per index, ``_embedding_op``; a MultiheadAttention is its projections and
# products, ``_attention_ops``); any other module with such weights (Bilinear...) is
# refused, not priced as free
_PRICED = _CONVS + _CONVT + (nn.Linear, nn.LSTM, nn.LSTMCell, nn.GRU, nn.GRUCell, nn.RNN,
                             nn.RNNCell, nn.Embedding, nn.EmbeddingBag, nn.MultiheadAttention)


@dataclasses.dataclass(frozen=True)
class Op:
    """One operation for one batch.  Bytes are at fp32 (the model's storage precision);
    hardware models rescale by element counts to their own precision."""
    type: str                      # one of OP_TYPES
    name: str                      # module path, e.g. "layers.0.conv1"
    in_shape: tuple                # input activation shape, batch first
    out_shape: tuple               # output activation shape, batch first
    weight_shape: tuple            # () for ops without weights
    macs: int                      # multiply-accumulates (dense count), whole batch
    weight_bytes: int              # weight elements * 4 B
    in_bytes: int                  # input activation elements * 4 B
    out_bytes: int                 # output activation elements * 4 B
    weight_sparsity: float = 0.0   # fraction of weights that are exactly zero, [0, 1]
    act_sparsity: float = 0.0      # fraction of input activations that are zero, [0, 1]
    gemm: tuple = (0, 0, 0)        # (T, K, N) per group: T output pixels, K reduction, N filters
    groups: int = 1                # independent GEMMs (depthwise: channels)
    elems: int = 0                 # element-wise work (pool/bn/eltwise/lstm gates), elements
    geometry: tuple = ()           # the layer's own settings, (name, value) pairs: kernel,
                                   # stride, padding, dilation, bias, pool/activation kind
    # which stored weight tensor the op reads: ops of one extract() that read the same
    # Parameter (a decoder tied to its embedding) have the same id, and the model stores it
    # once (``unique_weights``); '' for an op's own weights (counted always).  Not part of
    # the work (``key``) nor of equality: two extracts of one model give equal ops.
    weight_id: str = dataclasses.field(default="", compare=False)

    @property
    def activation_bytes(self) -> int:
        return self.in_bytes + self.out_bytes

    @property
    def weight_elems(self) -> int:
        return self.weight_bytes // FP32_BYTES

    @property
    def in_elems(self) -> int:
        return self.in_bytes // FP32_BYTES

    @property
    def out_elems(self) -> int:
        return self.out_bytes // FP32_BYTES

    def key(self) -> tuple:
        """Hashable identity of the work (the name excluded): equal keys cost the same."""
        return (self.type, self.in_shape, self.out_shape, self.weight_shape, self.gemm,
                self.groups, self.elems, round(self.weight_sparsity, 4),
                round(self.act_sparsity, 4), self.geometry)


def _numel(shape) -> int:
    return int(math.prod(shape)) if shape else 0


def _zero_frac(t: torch.Tensor) -> float:
    return 1.0 - int(torch.count_nonzero(t)) / t.numel() if t.numel() else 0.0


def _op(type_, name, x, y, weight=None, macs=0, gemm=(0, 0, 0), groups=1, elems=0) -> Op:
    wshape = tuple(weight.shape) if weight is not None else ()
    return Op(type=type_, name=name, in_shape=tuple(x.shape), out_shape=tuple(y.shape),
              weight_shape=wshape, macs=int(macs), weight_bytes=_numel(wshape) * FP32_BYTES,
              in_bytes=x.numel() * FP32_BYTES, out_bytes=y.numel() * FP32_BYTES,
              weight_sparsity=_zero_frac(weight) if weight is not None else 0.0,
              act_sparsity=_zero_frac(x), gemm=tuple(int(g) for g in gemm), groups=int(groups),
              elems=int(elems))


# element-wise activations: one element op per input value on the vector unit (a GLU's
# input is two halves, a sigmoid of one and a product with the other: still one per input
# value; a softmax's or log-softmax's exp, sum and divide are counted as one, as nn.Softmax's
# always were); a PReLU also reads its per-channel slopes (its weight)
_ACTIVATIONS = (nn.ReLU, nn.ReLU6, nn.GELU, nn.SiLU, nn.Sigmoid, nn.Tanh, nn.Hardswish,
                nn.LeakyReLU, nn.ELU, nn.Softmax, nn.PReLU, nn.LogSoftmax, nn.Softmin,
                nn.Softmax2d, nn.Softplus, nn.Mish, nn.Hardsigmoid, nn.Hardtanh, nn.SELU,
                nn.CELU, nn.GLU, nn.LogSigmoid, nn.Softsign, nn.Tanhshrink, nn.Hardshrink,
                nn.Softshrink, nn.Threshold, nn.RReLU)
_POOLS = (nn.MaxPool2d, nn.AvgPool2d, nn.AdaptiveAvgPool2d, nn.AdaptiveMaxPool2d,
          nn.MaxPool1d, nn.AvgPool1d, nn.AdaptiveAvgPool1d, nn.AdaptiveMaxPool1d,
          nn.MaxPool3d, nn.AvgPool3d, nn.AdaptiveAvgPool3d, nn.AdaptiveMaxPool3d)
# power-average pools (``pool`` ops too): f(X) = (sum over the window of x^p)^(1/p)
# (torch.nn.LPPool2d's docs; F.lp_pool2d computes avg_pool(x^p) x window, then the root)
_LPPOOLS = (nn.LPPool1d, nn.LPPool2d, nn.LPPool3d)
# layers that move values without a weight (``resample`` ops): an Upsample (nearest or
# interpolating, by scale or size; UpsamplingNearest2d/UpsamplingBilinear2d are ones) and a
# PixelShuffle / PixelUnshuffle (a permutation of channels into space and back).  Their
# cost is their traffic (the input read, the output written) plus ``INTERPOLATION_OPS``
# A ChannelShuffle is one too: a permutation of the channels (ShuffleNet, Zhang et al.
# 2018), no arithmetic
_RESAMPLE = (nn.Upsample, nn.PixelShuffle, nn.PixelUnshuffle, nn.ChannelShuffle)
# element ops per output value of an Upsample, by mode: an interpolated value is a weighted
# sum of its neighbours, one multiply-add (element op) per neighbour read: linear 2
# neighbours, bilinear 4 (2 x 2), trilinear 8 (2 x 2 x 2), bicubic 16 (4 x 4); nearest (and
# nearest-exact) copies one input value: 0 element ops, data movement only.  ('area' is an
# adaptive average pool: one add per input value, as ``pool`` counts it.)
INTERPOLATION_OPS = {"nearest": 0, "nearest-exact": 0, "linear": 2, "bilinear": 4,
                     "trilinear": 8, "bicubic": 16}
# normalizations that compute their statistics at inference (a BatchNorm uses stored ones)
_NORMS = (nn.LayerNorm, nn.GroupNorm, nn.InstanceNorm1d, nn.InstanceNorm2d, nn.InstanceNorm3d)
# element-wise work of a _NORMS layer per element: its statistics (a sum and a sum of
# squares), then normalize and scale as one multiply-add (a BatchNorm's one; an
# InstanceNorm with running statistics uses them at inference: that one only)
NORM_OPS_PER_ELEMENT = 3
# element-wise work of a LocalResponseNorm per element, besides its window's sum (``size``
# adds): b_c = a_c (k + alpha / n sum_{c' in window} a_c'^2)^-beta (torch.nn.LocalResponseNorm's
# docs; F.local_response_norm: the square, the window's average over channels, then x alpha,
# + k, ^beta, and the divide): 1 square + 1 divide (the average) + 3 + 1 divide = 6
LRN_OPS_PER_ELEMENT = 6
_GEOMETRY = ("kernel_size", "stride", "padding", "dilation", "padding_mode", "ceil_mode",
             "count_include_pad", "divisor_override", "dim", "negative_slope", "alpha",
             "approximate", "min_val", "max_val", "eps", "affine", "track_running_stats",
             "normalized_shape", "elementwise_affine", "num_groups", "mode", "beta",
             "threshold", "value", "lambd", "lower", "upper", "size", "scale_factor",
             "align_corners", "recompute_scale_factor", "upscale_factor", "downscale_factor")


def geometry(m: nn.Module) -> tuple:
    """What of a layer's settings its shapes do not say, as ``(name, value)`` pairs: kernel,
    stride, padding, dilation, bias, and which pooling or activation it is.  The op a host
    CPU table times must be the layer's (an average pool was timed as a max pool, a dilated
    conv undilated, a GELU as a ReLU), and layers that differ here are different work."""
    kind = next((c.__name__ for c in type(m).__mro__
                 if c in _POOLS + _LPPOOLS + _ACTIVATIONS + _NORMS + _CONVT + _RESAMPLE
                 + (nn.LocalResponseNorm,)), None)
    out = [("kind", kind)] if kind else []
    for attr in _GEOMETRY:
        v = getattr(m, attr, None)
        if v is not None and not isinstance(v, (torch.Tensor, nn.Module)):
            out.append((attr, tuple(v) if isinstance(v, list) else v))
    if isinstance(m, _CONVT):   # (a Conv2d has one too, always 0: not in its key)
        out.append(("output_padding", tuple(m.output_padding)))
    if isinstance(m, _CONVS + _CONVT + (nn.Linear,)):
        out.append(("bias", m.bias is not None))
    # settings only these layers have (an Embedding has a norm_type too: not its work)
    if isinstance(m, _LPPOOLS):
        out.append(("norm_type", m.norm_type))
    if isinstance(m, nn.LocalResponseNorm):
        out.append(("k", m.k))
    if isinstance(m, nn.ChannelShuffle):
        out.append(("groups", m.groups))
    return tuple(out)


def _from_module(name: str, m: nn.Module, x: torch.Tensor, y, args=(), kwargs=None,
                 run: str = "") -> Op | list[Op] | None:
    """The op record of one leaf module call (None for modules that do no work; a list for
    a stacked LSTM, one op per layer, or an attention's projections and products).  ``args``
    and ``kwargs``: the call's (what the input alone does not say: an EmbeddingBag's
    per_sample_weights, an attention's key, value and masks); ``run``: the extract's, for the
    weight ids of an attention's projections."""
    if isinstance(m, nn.MultiheadAttention):
        return _attention_ops(name, m, args, kwargs or {}, y, run)
    op = _module_op(name, m, x, y)
    if isinstance(op, Op) and isinstance(m, nn.EmbeddingBag):
        psw = (kwargs or {}).get("per_sample_weights", args[2] if len(args) > 2 else None)
        if psw is not None:
            return _weighted_bag(op, m, geometry(m))
    return dataclasses.replace(op, geometry=geometry(m)) if isinstance(op, Op) else op


def _weighted_bag(op: Op, m: nn.EmbeddingBag, geo: tuple) -> Op:
    """An EmbeddingBag called with ``per_sample_weights``: each value read is multiplied by
    its index's weight before the bag's sum, one multiply per value read added to ``elems``
    (they were not counted), and the call's geometry says so (a weighted bag is other work
    than an unweighted one: a host table times it with weights)."""
    return dataclasses.replace(op, elems=op.elems + lookup_elems(op.in_elems, m.embedding_dim),
                               geometry=geo + (("per_sample_weights", True),))


def _module_op(name: str, m: nn.Module, x: torch.Tensor, y) -> Op | list[Op] | None:
    if isinstance(m, _CONVS):
        # Conv2d and Conv1d alike (a Conv1d of kernel k on length L is the Conv2d of kernel
        # 1 x k on 1 x L): K = R*S*C per group, T = output pixels of the batch (an unbatched
        # input too: the output's values over its channels)
        w = m.weight.detach()  # effective weight: a parametrization (mask) is applied here
        g = m.groups
        cin_g, cout_g = m.in_channels // g, m.out_channels // g
        k = cin_g * math.prod(m.kernel_size)                     # K = R*S*C per group
        t = y.numel() // m.out_channels                          # T = output pixels (batch)
        kind = "depthwise" if g > 1 and g == m.in_channels else "conv"
        return _op(kind, name, x, y, w, macs=t * k * cout_g * g, gemm=(t, k, cout_g), groups=g)
    if isinstance(m, _CONVT):
        # a transposed conv (weight Cin x Cout/g x kernel) scatters every input value into a
        # kernel window of each output channel of its group: per group the GEMM
        # (input pixels x Cin/g) @ (Cin/g x Cout/g * R * S), MACs = input pixels x Cin x
        # Cout/g x R x S (torch.utils.flop_counter's count for a transposed conv); then col2im
        # adds each of the T x N x g products into its output value: ``elems``.  Not the conv
        # of the zero-stuffed input, which multiplies the inserted zeros too.
        w = m.weight.detach()
        g = m.groups
        cin_g, cout_g = m.in_channels // g, m.out_channels // g
        t = x.numel() // m.in_channels                           # T = input pixels (batch)
        n = cout_g * math.prod(m.kernel_size)
        kind = "depthwise" if g > 1 and g == m.in_channels else "conv"
        return _op(kind, name, x, y, w, macs=t * cin_g * n * g, gemm=(t, cin_g, n), groups=g,
                   elems=t * n * g)
    if isinstance(m, nn.Linear):
        w = m.weight.detach()
        t = x.numel() // m.in_features                           # rows (batch x leading dims)
        return _op("linear", name, x, y, w, macs=t * m.in_features * m.out_features,
                   gemm=(t, m.in_features, m.out_features))
    if isinstance(m, _POOLS):
        # each output reads its window: in_elems comparisons/additions in total
        return _op("pool", name, x, y, elems=x.numel())
    if isinstance(m, _LPPOOLS):
        return _op("pool", name, x, y, elems=lp_pool_elems(m.norm_type, x.numel(), y.numel()))
    if isinstance(m, nn.LocalResponseNorm):   # its window's sum, then LRN_OPS_PER_ELEMENT
        return _op("norm", name, x, y, elems=(m.size + LRN_OPS_PER_ELEMENT) * x.numel())
    if isinstance(m, nn.modules.batchnorm._BatchNorm):
        return _op("batchnorm", name, x, y, elems=x.numel())  # one multiply-add per element
    if isinstance(m, _NORMS):   # was no op: LayerNorm, GroupNorm, InstanceNorm priced as free
        per = 1 if getattr(m, "track_running_stats", False) else NORM_OPS_PER_ELEMENT
        return _op("norm", name, x, y, elems=per * x.numel())
    if isinstance(m, nn.PReLU):   # its slopes, one per channel (or one), are read too
        return _op("eltwise", name, x, y, m.weight.detach(), elems=x.numel())
    if isinstance(m, _ACTIVATIONS):
        return _op("eltwise", name, x, y, elems=x.numel())
    if isinstance(m, _RESAMPLE):
        return _op("resample", name, x, y, elems=resample_elems(m, x.numel(), y.numel()))
    if isinstance(m, _RNNS):
        return _rnn_ops(name, m, x, y)
    if isinstance(m, (nn.Embedding, nn.EmbeddingBag)):
        return _embedding_op(name, m, x, y)
    return None


def lp_pool_elems(p: float, in_elems: int, out_elems: int) -> int:
    """Element ops of a power-average pool (``_LPPOOLS``) of norm ``p``, as F.lp_pool2d
    computes it: one power x^p per input value, the window's sum (one add per input value, as
    any ``pool`` counts it), then per output value the sum's scale back from avg_pool's mean
    (x window size) and the root ^(1/p): 2 x in + 2 x out.  p = inf is a max pool of |x|
    (F.lp_pool2d's own case): one |x| and one comparison per input value; p = -inf the
    same and a negation per output value."""
    if p == float("inf"):
        return 2 * in_elems
    if p == -float("inf"):
        return 2 * in_elems + out_elems
    return 2 * in_elems + 2 * out_elems


def resample_elems(m: nn.Module, in_elems: int, out_elems: int) -> int:
    """Element ops of a ``_RESAMPLE`` layer: ``INTERPOLATION_OPS`` per output value of an
    Upsample (0 for nearest), one per input value of an 'area' one (a pool), 0 for a
    PixelShuffle, PixelUnshuffle or ChannelShuffle (a permutation: traffic only)."""
    if not isinstance(m, nn.Upsample):
        return 0
    if m.mode == "area":
        return in_elems
    return INTERPOLATION_OPS.get(m.mode, 0) * out_elems


def _weight_id(m: nn.Module, run: str, attr: str = "weight") -> str:
    """The identity of the Parameter a layer's ``weight`` (or ``attr``) is (under a
    parametrization such as a mask, its original): ``run`` (one extract) and the tensor's
    id, '' when it has none."""
    from torch.nn.utils import parametrize
    p = (getattr(m.parametrizations, attr).original if parametrize.is_parametrized(m, attr)
         else getattr(m, attr, None))
    return f"{run}:{id(p)}" if isinstance(p, torch.Tensor) else ""


def _embedding_op(name: str, m: nn.Module, x: torch.Tensor, y) -> Op:
    """A table lookup (``embedding``): each of the ``x.numel()`` indices reads one row of
    ``embedding_dim`` values, and no multiply-accumulate is done (it was priced as free: a
    language model's embedding cost nothing).  The op's weight is the whole table (what the
    model stores); the values a lookup reads are ``lookup_elems`` = indices x embedding_dim
    (``hwsim.accel`` reads them from DRAM where the table does not fit on chip).  An
    EmbeddingBag then reduces each bag's rows: one add (a comparison for ``max``) per value
    read into its bag's accumulator, and for ``mean`` one divide per output value: ``elems``
    (PyTorch's EmbeddingBag docs: sum, mean or max of each bag's rows; a call with
    per_sample_weights multiplies each value read by its weight first: ``_weighted_bag``,
    one multiply per value read).  The indices are addresses, not
    activations: no activation sparsity."""
    elems = 0
    if isinstance(m, nn.EmbeddingBag):
        elems = lookup_elems(x.numel(), m.embedding_dim) + (
            y.numel() if m.mode == "mean" else 0)
    op = _op("embedding", name, x, y, m.weight.detach(), elems=elems)
    return dataclasses.replace(op, act_sparsity=0.0)


def lookup_elems(indices, embedding_dim):
    """Table values an ``embedding`` op reads: one row of ``embedding_dim`` per index
    (numbers or numpy arrays alike)."""
    return indices * embedding_dim


# --- attention (Vaswani et al. 2017, Eq. 1: softmax(Q K^T / sqrt(d_k)) V, per head) -----------
def _zeros_of(*ts: torch.Tensor) -> float:
    """Fraction of exact zeros over the tensors together (a ``matmul``'s two operands)."""
    n = sum(t.numel() for t in ts)
    return sum(t.numel() - int(torch.count_nonzero(t)) for t in ts) / n if n else 0.0


def _products(name: str, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, a: torch.Tensor,
              masked_adds: int) -> list[Op]:
    """The products of scaled dot-product attention on per-head tensors q (G, L, E),
    k (G, S, E), v (G, S, Ev) and its attention weights a (G, L, S), G = batch x heads:
    ``NAME.scores`` Q K^T, G GEMMs (L x E) @ (E x S), G L E S MACs, and the 1/sqrt(E) scale as
    one multiply per query value (``elems``: applied to Q before the product, as
    nn.MultiheadAttention's math path does); ``NAME.softmax`` over the G L S scores (one
    element op per value, as nn.Softmax; ``masked_adds`` more per score where a mask is
    added); ``NAME.context`` A V, G GEMMs (L x S) @ (S x Ev), G L S Ev MACs.  Both products
    are ``matmul`` ops: their second operand is an activation, not a weight (0 weight bytes;
    its values are inputs the op reads)."""
    g, l, e = q.shape
    s, ev = k.shape[1], v.shape[2]
    f = FP32_BYTES

    def product(tag, x1, x2, t, kk, n, elems=0):
        return Op(type="matmul", name=f"{name}.{tag}", in_shape=(x1.numel() + x2.numel(),),
                  out_shape=(g, t, n), weight_shape=(), macs=g * t * kk * n, weight_bytes=0,
                  in_bytes=(x1.numel() + x2.numel()) * f, out_bytes=g * t * n * f,
                  act_sparsity=_zeros_of(x1, x2), gemm=(t, kk, n), groups=g, elems=elems,
                  geometry=(("product", tag),))
    scores = product("scores", q, k, l, e, s, elems=g * l * e)
    geo = (("kind", "Softmax"), ("dim", -1)) + ((("masked", True),) if masked_adds else ())
    soft = Op(type="eltwise", name=f"{name}.softmax", in_shape=(g, l, s), out_shape=(g, l, s),
              weight_shape=(), macs=0, weight_bytes=0, in_bytes=g * l * s * f,
              out_bytes=g * l * s * f, act_sparsity=_zeros_of(q @ k.transpose(1, 2)),
              elems=(1 + masked_adds) * g * l * s, geometry=geo)
    return [scores, soft, product("context", a, v, l, s, ev)]


def _heads(t: torch.Tensor, heads: int) -> torch.Tensor:
    """(B, L, E) -> (B * heads, L, E / heads): one slice per sample and head."""
    b, l, e = t.shape
    return t.reshape(b, l, heads, e // heads).transpose(1, 2).reshape(b * heads, l, e // heads)


_MHA_CALL = inspect.signature(nn.MultiheadAttention.forward)


def _attention_ops(name: str, m: nn.MultiheadAttention, args, kwargs, out, run: str
                   ) -> list[Op]:
    """An nn.MultiheadAttention call (torch's docs: MultiHead(Q, K, V) = Concat(head_1..h) W^O,
    head_i = Attention(Q W_i^Q, K W_i^K, V W_i^V)), as its GEMMs: the projections
    ``NAME.q_proj``, ``NAME.k_proj``, ``NAME.v_proj`` (``linear`` ops of rows x E x E MACs,
    each a slice of in_proj_weight or its own q/k/v_proj_weight), the per-head products
    (``_products``: Q K^T, softmax, A V) and ``NAME.out_proj`` (``linear``, rows x E x E).
    Self-attention over L tokens of width d: 4 L d^2 + 2 L^2 d MACs a sample.  A key bias
    (add_bias_kv) and add_zero_attn each add one key and value.  Called with need_weights and
    average_attn_weights (nn's defaults), the weights it returns are the heads' mean:
    ``NAME.weights``, one add per weight and one divide per mean.  Sparsities are measured
    on the call's own tensors (the attention weights from the module itself: zero where
    masked)."""
    call = _MHA_CALL.bind(m, *args, **kwargs)
    call.apply_defaults()
    c = dict(call.arguments)
    c.pop("self")
    query, key, value = (c[n].detach() for n in ("query", "key", "value"))
    e, h = m.embed_dim, m.num_heads
    batched = query.dim() == 3

    def batch_first(t):   # the call's layout -> (B, L, width)
        return (t if m.batch_first else t.transpose(0, 1)) if batched else t.unsqueeze(0)
    if m.in_proj_weight is not None:   # packed: one (3E x E) tensor, sliced q, k, v
        w = m.in_proj_weight.detach()
        weights = [(w[i * e:(i + 1) * e], f"{_weight_id(m, run, 'in_proj_weight')}:{t}")
                   for i, t in enumerate("qkv")]
    else:
        weights = [(getattr(m, f"{t}_proj_weight").detach(), _weight_id(m, run, f"{t}_proj_weight"))
                   for t in "qkv"]
    bias = m.in_proj_bias.detach() if m.in_proj_bias is not None else None
    ops, proj = [], []
    for i, (t, x) in enumerate(zip("qkv", (query, key, value))):
        w, wid = weights[i]
        y = torch.nn.functional.linear(x, w, None if bias is None else bias[i * e:(i + 1) * e])
        op = _op("linear", f"{name}.{t}_proj", x, y, w, macs=x.numel() // x.shape[-1] * w.numel(),
                 gemm=(x.numel() // x.shape[-1], w.shape[1], e))
        ops.append(dataclasses.replace(op, weight_id=wid if run else "",
                                       geometry=(("bias", bias is not None),)))
        proj.append(batch_first(y))
    q, k, v = proj
    b = q.shape[0]
    if m.bias_k is not None:   # one more key and value: the learned biases
        k = torch.cat([k, m.bias_k.detach().expand(b, 1, e)], 1)
        v = torch.cat([v, m.bias_v.detach().expand(b, 1, e)], 1)
    if m.add_zero_attn:        # and a zero one
        k, v = torch.cat([k, k.new_zeros(b, 1, e)], 1), torch.cat([v, v.new_zeros(b, 1, e)], 1)
    # the attention weights per head, from the module itself (its masks as it applies them)
    weights_out = nn.MultiheadAttention.forward(m, **{**c, "need_weights": True,
                                                      "average_attn_weights": False})[1]
    a = weights_out.detach().reshape(b * h, q.shape[1], k.shape[1])
    masked = c["attn_mask"] is not None or c["key_padding_mask"] is not None
    ops += _products(name, _heads(q, h), _heads(k, h), _heads(v, h), a, int(masked))
    s = k.shape[1]
    if c["need_weights"] and c["average_attn_weights"]:
        ops.append(Op(type="eltwise", name=f"{name}.weights", in_shape=(b, h, q.shape[1], s),
                      out_shape=(b, q.shape[1], s), weight_shape=(), macs=0, weight_bytes=0,
                      in_bytes=a.numel() * FP32_BYTES, out_bytes=a.numel() // h * FP32_BYTES,
                      act_sparsity=_zeros_of(a), elems=a.numel() + a.numel() // h,
                      geometry=(("kind", "HeadMean"),)))
    ctx = (a @ _heads(v, h)).reshape(b, h, q.shape[1], e // h).transpose(1, 2).reshape(b, -1, e)
    ctx = (ctx if m.batch_first else ctx.transpose(0, 1)) if batched else ctx[0]
    y = out[0] if isinstance(out, tuple) else out
    w = m.out_proj.weight.detach()
    op = _op("linear", f"{name}.out_proj", ctx, y, w, macs=ctx.numel() // e * w.numel(),
             gemm=(ctx.numel() // e, e, w.shape[0]))
    ops.append(dataclasses.replace(op, weight_id=_weight_id(m.out_proj, run) if run else "",
                                   geometry=(("bias", m.out_proj.bias is not None),)))
    return ops


_SDPA = getattr(torch.nn.functional, "scaled_dot_product_attention", None)
_SDPA_ARGS = ("query", "key", "value", "attn_mask", "dropout_p", "is_causal", "scale",
              "enable_gqa")


def sdpa_ops(name: str, args, kwargs) -> list[Op]:
    """F.scaled_dot_product_attention(q, k, v, ...) called in a forward: its products
    (``_products``) on q (..., L, E), k (..., S, E), v (..., S, Ev), the leading dimensions
    (batch, heads) broadcast to G; a mask (attn_mask or is_causal) is one add per score, a
    dropout_p > 0 one multiply per weight.  The attention weights are torch's reference
    computation (its docs): softmax(Q K^T x scale + mask), grouped keys repeated over their
    query heads (enable_gqa)."""
    c = {**dict(zip(_SDPA_ARGS, args)), **kwargs}
    q, k, v = (c[n].detach() for n in ("query", "key", "value"))
    mask, causal = c.get("attn_mask"), bool(c.get("is_causal", False))
    if c.get("enable_gqa", False) and k.dim() >= 3 and k.shape[-3] != q.shape[-3]:
        k = k.repeat_interleave(q.shape[-3] // k.shape[-3], -3)
        v = v.repeat_interleave(q.shape[-3] // v.shape[-3], -3)
    lead = torch.broadcast_shapes(q.shape[:-2], k.shape[:-2], v.shape[:-2])
    l, s = q.shape[-2], k.shape[-2]
    q3, k3, v3 = (t.expand(*lead, *t.shape[-2:]).reshape(-1, *t.shape[-2:]) for t in (q, k, v))
    scale = c.get("scale") or 1 / math.sqrt(q.shape[-1])
    bias = torch.zeros(l, s, dtype=q.dtype)
    if causal:
        bias.masked_fill_(~torch.ones(l, s, dtype=torch.bool).tril(), float("-inf"))
    if mask is not None:
        mask = mask.detach()
        bias = bias.masked_fill(~mask, float("-inf")) if mask.dtype == torch.bool else bias + mask
    a = torch.softmax((q3 @ k3.transpose(1, 2)) * scale
                      + bias.expand(*lead, l, s).reshape(-1, l, s), -1)
    adds = int(mask is not None or causal) + int((c.get("dropout_p") or 0) > 0)
    return _products(name, q3, k3, v3, a, adds)


# recurrent layers of torch.nn: gates per step (the N of the gate GEMM is gates x hidden) and
# element-wise operations per hidden unit, step and direction after the gate GEMM, counted as
# the 'norm' op counts its own (one operation per value; a sigmoid or tanh is one):
# LSTM (Hochreiter & Schmidhuber 1997; torch.nn.LSTM's equations): i, f, o = sigmoid (3),
#   g = tanh (1), c' = f*c + i*g (2 products, 1 sum), h' = o*tanh(c') (1 tanh, 1 product): 9
# GRU (Cho et al. 2014; torch.nn.GRU's equations): r, z = sigmoid (2), r*(W_hn h + b_hn) (1),
#   + (W_in x + b_in) (1), n = tanh (1), h' = n + z*(h - n) (1 difference, 1 product, 1 sum): 8
#   (the n gate's two halves are separate GEMM outputs: MACs 3H x (I + H) all the same)
# RNN (Elman): h' = tanh or relu of the gate sum: 1
RNN_GATES = {nn.LSTM: 4, nn.LSTMCell: 4, nn.GRU: 3, nn.GRUCell: 3, nn.RNN: 1, nn.RNNCell: 1}
RNN_CELL_OPS = {nn.LSTM: CELL_OPS, nn.LSTMCell: CELL_OPS, nn.GRU: 8, nn.GRUCell: 8,
                nn.RNN: 1, nn.RNNCell: 1}
_RNN_TYPE = {4: "lstm", 3: "gru", 1: "rnn"}   # the op type of each (its GEMM and its cell)
_RNNS = tuple(RNN_GATES)


def _rnn_ops(name: str, m: nn.Module, x: torch.Tensor, y) -> list[Op]:
    """An LSTM, GRU or RNN layer (or cell): per step, layer and direction, the gates
    W_ih x + W_hh h (gates*H x (I+H) MACs), then ``RNN_CELL_OPS`` element-wise operations per
    hidden unit (``elems``: priced on the accelerator's vector unit and SPRING's lanes after
    the GEMM, step t+1 waiting for h_t).  Expressed as GEMMs with T = batch, K = I + H,
    N = gates*H, one per step and direction.  A stacked layer is one op per layer (``name.l1``,
    ...; the first keeps ``name``): layer 0 reduces over I + H, the others over H * dirs + H,
    and one op with the mean K is not the same work on an array (ceil(K / rows) folds: 2-layer
    I=4, H=32 on 16x16 ws was 18,036 cycles for SCALE-Sim's 15,780).  Layers after the first
    read the output sequence's shape and sparsity (the hidden sequence between layers is not
    hooked).  An LSTM with ``proj_size`` P carries h of P values (K = I + P) and projects each
    step's H values to P: one more per-step GEMM (batch x H) @ (H x P), a ``recurrent`` op
    ``NAME.proj``."""
    out = y[0] if isinstance(y, tuple) else y
    kind = next(c for c in type(m).__mro__ if c in RNN_GATES)
    gates, cell_ops = RNN_GATES[kind], RNN_CELL_OPS[kind]
    hidden = m.hidden_size
    proj = getattr(m, "proj_size", 0) or hidden      # the size of h fed back
    layers = getattr(m, "num_layers", 1)
    dirs = 2 if getattr(m, "bidirectional", False) else 1
    cell = not isinstance(m, nn.RNNBase)
    # rows per step = batch; steps run one after another (h_t feeds step t+1), so each step
    # of each direction is its own GEMM: groups = steps * dirs
    if cell:
        batch, steps = (x.shape[0] if x.dim() > 1 else 1), 1
    elif x.dim() == 3:
        batch, steps = (x.shape[0], x.shape[1]) if m.batch_first else (x.shape[1], x.shape[0])
    else:
        batch, steps = 1, x.shape[0]
    # what the shapes do not say (a host table times the layer's own op: hwsim.tables)
    geo = (("kind", kind.__name__),
           ("bias", bool(m.bias)), ("bidirectional", dirs == 2),
           ("batch_first", bool(getattr(m, "batch_first", False))))
    if kind in (nn.RNN, nn.RNNCell):
        geo += (("nonlinearity", m.nonlinearity),)
    if proj != hidden:
        geo += (("proj_size", proj),)
    ops = []
    for layer in range(layers):
        suffix = "" if cell else f"_l{layer}"
        params = {n: p.detach() for n, p in m.named_parameters()
                  if n.startswith("weight") and (cell or n.endswith(suffix)
                                                 or n.endswith(suffix + "_reverse"))}
        w_all = torch.cat([w.flatten() for n, w in params.items()
                           if not n.startswith("weight_hr")])
        k = (m.input_size if layer == 0 else proj * dirs) + proj
        lname = name if layer == 0 else f"{name}.l{layer}"
        op = _op(_RNN_TYPE[gates], lname, x if layer == 0 else out, out,
                 macs=batch * steps * dirs * gates * hidden * k,
                 gemm=(batch, k, gates * hidden), groups=steps * dirs,
                 elems=batch * steps * dirs * cell_ops * hidden)
        ops.append(dataclasses.replace(op, weight_shape=(w_all.numel(),),
                                       weight_bytes=w_all.numel() * FP32_BYTES,
                                       weight_sparsity=_zero_frac(w_all), geometry=geo))
        if proj != hidden:   # h_t = W_hr (o * tanh(c_t)), every step and direction
            w_hr = [w for n, w in params.items() if n.startswith("weight_hr")]
            per_step = out.new_zeros((batch, hidden)), out.new_zeros((batch, proj))
            p_op = _op("recurrent", f"{lname}.proj", *per_step, w_hr[0],
                       macs=batch * steps * dirs * hidden * proj, gemm=(batch, hidden, proj),
                       groups=steps * dirs)
            w_cat = torch.cat([w.flatten() for w in w_hr])
            ops.append(dataclasses.replace(
                p_op, weight_bytes=w_cat.numel() * FP32_BYTES,   # both directions' W_hr
                in_bytes=steps * dirs * batch * hidden * FP32_BYTES,
                out_bytes=steps * dirs * batch * proj * FP32_BYTES,
                weight_sparsity=_zero_frac(w_cat), act_sparsity=0.0,
                geometry=(("kind", "projection"), ("bias", False))))
    return ops


def merge_repeated(records: list[tuple[int, Op]], stepped: set[int]
                   ) -> list[tuple[int, Op]]:
    """The calls of one Linear (or element-wise module) inside a recurrent layer, one per
    step, become one op: a ``recurrent`` GEMM repeated ``groups`` = steps times (MACs and
    activation bytes summed, activation sparsity averaged over the steps).  ``stepped``: the
    orders of the records made inside a recurrent layer's steps; only those merge.  A module
    called at several places of a forward (a Linear applied to two inputs, a ReLU module
    used twice) is an op per call: merged, the calls were one GEMM of the first call's
    rows repeated (a Linear on 1 then 40 rows: 2 x 1 row's cycles), its weights read once
    (SPRING: 0.0047 for 0.0070 mJ), one kernel launch on the GPU."""
    by_name: dict[str, list[tuple[int, Op]]] = {}
    out = []
    for order, op in records:
        if order in stepped:
            by_name.setdefault(op.name, []).append((order, op))
        else:
            out.append((order, op))
    for calls in by_name.values():
        order, first = calls[0]
        if len(calls) == 1 or first.type not in ("linear", "eltwise"):
            out.extend(calls)
            continue
        ops = [op for _, op in calls]
        n = len(ops)
        merged = dataclasses.replace(
            first, macs=sum(o.macs for o in ops), in_bytes=sum(o.in_bytes for o in ops),
            out_bytes=sum(o.out_bytes for o in ops), elems=sum(o.elems for o in ops),
            act_sparsity=sum(o.act_sparsity for o in ops) / n)
        if first.type == "linear":
            merged = dataclasses.replace(merged, type="recurrent", groups=n)
        else:   # element-wise: one op over all steps' elements
            merged = dataclasses.replace(merged, in_shape=(n,) + first.in_shape,
                                         out_shape=(n,) + first.out_shape)
        out.append((order, merged))
    return out


def _cell_op(name: str, m: RecurrentLayer, x: torch.Tensor, y) -> Op:
    """Element-wise work of a recurrent cell over all steps: batch x T x cell_elems.  Its
    geometry says it is a cell and how many gate-network ReLU units (H-LSTM) it applies per
    step besides the LSTM cell update (``CELL_OPS`` x H)."""
    out = y[0] if isinstance(y, tuple) else y
    op = _op("eltwise", f"{name}.cell", x, out, elems=x.shape[0] * x.shape[1] * m.cell_elems)
    relu = max(0, m.cell_elems - CELL_OPS * m.hidden_size)
    return dataclasses.replace(op, geometry=(("kind", "cell"), ("hidden", m.hidden_size),
                                             ("relu", relu)))


# products and convolutions a module's own forward may call on tensors (attention's Q K^T, a
# functional conv): no op records them, and a model priced without them is too cheap
_UNPRICED_FUNCS = frozenset(f for f in (
    torch.matmul, torch.mm, torch.bmm, torch.einsum, torch.addmm, torch.baddbmm, torch.addbmm,
    torch.mv, torch.tensordot, torch.Tensor.__matmul__, torch.Tensor.__rmatmul__,
    torch.Tensor.matmul, torch.Tensor.mm, torch.Tensor.bmm, torch.Tensor.mv,
    torch.nn.functional.linear, torch.nn.functional.bilinear, torch.nn.functional.conv1d,
    torch.nn.functional.conv2d, torch.nn.functional.conv3d,
    torch.nn.functional.conv_transpose1d, torch.nn.functional.conv_transpose2d,
    torch.nn.functional.conv_transpose3d,
    torch.nn.functional.interpolate) if f is not None)   # (interpolate: unless antialiased,
                                                         # priced as nn.Upsample: _FUNCTIONAL;
                                                         # F.scaled_dot_product_attention:
                                                         # priced, ``sdpa_ops``)
# leaf modules that do no arithmetic at inference (a reshape, the identity, a dropout); any
# other leaf module extract() has no op for is refused (a user's own layer,
# synth.sparse_exec.CSRLinear were left out of the price silently; Upsample, PixelShuffle,
# 3-d pools and activations such as PReLU, LogSoftmax, Softplus are priced)
# (a Sequential without layers, a ResNet's identity shortcut, is a leaf: the identity)
# (nn.Dropout was priced as an activation: a pass over its input at inference, where it is
# the identity, while Dropout1d/2d/3d were free)
_FREE = (nn.Identity, nn.Sequential, nn.Flatten, nn.Unflatten, nn.Dropout, nn.Dropout1d,
         nn.Dropout2d, nn.Dropout3d, nn.AlphaDropout, nn.FeatureAlphaDropout)
KNOWN_LAYERS = ("Conv1d/2d/3d, ConvTranspose1d/2d/3d, Linear, LSTM, GRU, RNN and their cells, "
                "H-LSTM, Embedding, EmbeddingBag, MultiheadAttention, "
                "scaled_dot_product_attention, 1-d, 2-d and 3-d pooling (LPPool too), "
                "BatchNorm, LayerNorm, GroupNorm, InstanceNorm, LocalResponseNorm, "
                "activations, Upsample, PixelShuffle, PixelUnshuffle, ChannelShuffle, tensor "
                "adds; Flatten, Identity, Dropout are free")


_F = torch.nn.functional
# activations a module's own forward may call as functions (F.relu(x), torch.sigmoid(x),
# x.softmax(1)), resampling functions (F.interpolate, F.pixel_shuffle) and pools
# (F.max_pool2d): each is the ``_ACTIVATIONS``, ``_RESAMPLE`` or ``_POOLS`` module it
# computes and the names of that module's settings in the function's argument order after
# the input.  Called outside a leaf module, one is
# priced as that module is (the same op and geometry); they were free (activations) or
# refused (F.interpolate), while the module equivalent was priced.
_SOFTMAX_DIM = ("dim",)
_MAX_POOL = ("kernel_size", "stride", "padding", "dilation", "ceil_mode", "return_indices")
_AVG_POOL = ("kernel_size", "stride", "padding", "ceil_mode", "count_include_pad",
             "divisor_override")     # (avg_pool1d: without divisor_override)
_FUNCTIONAL = {
    **{f: (nn.ReLU, ()) for f in (_F.relu, _F.relu_, torch.relu, torch.relu_, torch.Tensor.relu,
                                  torch.Tensor.relu_)},
    _F.relu6: (nn.ReLU6, ()), _F.gelu: (nn.GELU, ("approximate",)), _F.silu: (nn.SiLU, ()),
    **{f: (nn.Sigmoid, ()) for f in (_F.sigmoid, torch.sigmoid, torch.sigmoid_,
                                     torch.Tensor.sigmoid, torch.Tensor.sigmoid_)},
    **{f: (nn.Tanh, ()) for f in (_F.tanh, torch.tanh, torch.tanh_, torch.Tensor.tanh,
                                  torch.Tensor.tanh_)},
    _F.hardswish: (nn.Hardswish, ()),
    _F.leaky_relu: (nn.LeakyReLU, ("negative_slope",)),
    _F.leaky_relu_: (nn.LeakyReLU, ("negative_slope",)),
    _F.elu: (nn.ELU, ("alpha",)), _F.elu_: (nn.ELU, ("alpha",)),
    **{f: (nn.Softmax, _SOFTMAX_DIM) for f in (_F.softmax, torch.softmax,
                                               torch.Tensor.softmax)},
    **{f: (nn.LogSoftmax, _SOFTMAX_DIM) for f in (_F.log_softmax, torch.log_softmax,
                                                  torch.Tensor.log_softmax)},
    _F.softmin: (nn.Softmin, _SOFTMAX_DIM),
    **{f: (nn.PReLU, ()) for f in (torch.prelu, _F.prelu, torch.Tensor.prelu)},
    _F.softplus: (nn.Softplus, ("beta", "threshold")),
    _F.mish: (nn.Mish, ()), _F.hardsigmoid: (nn.Hardsigmoid, ()),
    _F.hardtanh: (nn.Hardtanh, ("min_val", "max_val")),
    _F.hardtanh_: (nn.Hardtanh, ("min_val", "max_val")),
    **{f: (nn.SELU, ()) for f in (_F.selu, torch.selu, torch.selu_)},
    **{f: (nn.CELU, ("alpha",)) for f in (_F.celu, torch.celu, torch.celu_)},
    _F.glu: (nn.GLU, ("dim",)), _F.logsigmoid: (nn.LogSigmoid, ()),
    _F.softsign: (nn.Softsign, ()), _F.tanhshrink: (nn.Tanhshrink, ()),
    **{f: (nn.Hardshrink, ("lambd",)) for f in (_F.hardshrink, torch.Tensor.hardshrink)},
    _F.softshrink: (nn.Softshrink, ("lambd",)),
    _F.threshold: (nn.Threshold, ("threshold", "value")),
    _F.threshold_: (nn.Threshold, ("threshold", "value")),
    _F.rrelu: (nn.RReLU, ("lower", "upper")), _F.rrelu_: (nn.RReLU, ("lower", "upper")),
    _F.interpolate: (nn.Upsample, ("size", "scale_factor", "mode", "align_corners",
                                   "recompute_scale_factor")),
    # pools (F.max_pool2d(x, 2) in a forward was free); with return_indices the output is
    # (values, indices): priced on the values, as the module is
    **{f: (cls, _MAX_POOL) for fs, cls in (
        ((_F.max_pool1d, _F.max_pool1d_with_indices, torch.max_pool1d), nn.MaxPool1d),
        ((_F.max_pool2d, _F.max_pool2d_with_indices, torch.max_pool2d), nn.MaxPool2d),
        ((_F.max_pool3d, _F.max_pool3d_with_indices, torch.max_pool3d), nn.MaxPool3d))
       for f in fs},
    **{f: (nn.AvgPool1d, _AVG_POOL[:-1]) for f in (_F.avg_pool1d, torch.avg_pool1d)},
    _F.avg_pool2d: (nn.AvgPool2d, _AVG_POOL), _F.avg_pool3d: (nn.AvgPool3d, _AVG_POOL),
    **{f: (cls, ("output_size",)) for fs, cls in (
        ((_F.adaptive_avg_pool1d, torch.adaptive_avg_pool1d), nn.AdaptiveAvgPool1d),
        ((_F.adaptive_avg_pool2d,), nn.AdaptiveAvgPool2d),
        ((_F.adaptive_avg_pool3d,), nn.AdaptiveAvgPool3d)) for f in fs},
    **{f: (cls, ("output_size", "return_indices")) for fs, cls in (
        ((_F.adaptive_max_pool1d, _F.adaptive_max_pool1d_with_indices), nn.AdaptiveMaxPool1d),
        ((_F.adaptive_max_pool2d, _F.adaptive_max_pool2d_with_indices), nn.AdaptiveMaxPool2d),
        ((_F.adaptive_max_pool3d, _F.adaptive_max_pool3d_with_indices), nn.AdaptiveMaxPool3d))
       for f in fs},
    **{f: (nn.PixelShuffle, ("upscale_factor",)) for f in (_F.pixel_shuffle,
                                                           torch.pixel_shuffle)},
    **{f: (nn.PixelUnshuffle, ("downscale_factor",)) for f in (_F.pixel_unshuffle,
                                                               torch.pixel_unshuffle)},
    # (these three were free as functions, or priced as the avg_pool inside them only)
    **{f: (cls, ("norm_type", "kernel_size", "stride", "ceil_mode"))
       for f, cls in ((_F.lp_pool1d, nn.LPPool1d), (_F.lp_pool2d, nn.LPPool2d),
                      (_F.lp_pool3d, nn.LPPool3d))},
    _F.local_response_norm: (nn.LocalResponseNorm, ("size", "alpha", "beta", "k")),
    **{f: (nn.ChannelShuffle, ("groups",)) for f in (_F.channel_shuffle, torch.channel_shuffle,
                                                     torch.native_channel_shuffle)},
}


def _functional_module(func, args, kwargs) -> nn.Module | None:
    """The module a functional call computes (``_FUNCTIONAL``), with the call's settings;
    None when ``func`` is not one, its input is not a tensor, or it is no such module's work
    (an antialiased F.interpolate: nn.Upsample has no such setting)."""
    form = _FUNCTIONAL.get(func)
    if form is None or not args or not isinstance(args[0], torch.Tensor):
        return None
    cls, names = form
    if cls is nn.PReLU:   # F.prelu(x, weight): the slopes are the call's tensor
        w = args[1] if len(args) > 1 else kwargs.get("weight")
        if not isinstance(w, torch.Tensor):
            return None
        act = nn.PReLU(num_parameters=w.numel())
        act.weight = nn.Parameter(w.detach().reshape(-1), requires_grad=False)
        return act
    if cls is nn.Upsample and (kwargs.get("antialias") or (len(args) > 6 and args[6])):
        return None
    settings = {n: v for n, v in zip(names, args[1:])}
    settings.update({n: kwargs[n] for n in names if n in kwargs})
    # a list of sizes or factors (F.interpolate(x, scale_factor=[2, 3])) as the tuple the
    # module takes (nn.Upsample refuses a list: the call was refused as unpriced)
    settings = {n: tuple(v) if isinstance(v, list) else v for n, v in settings.items()}
    try:
        return cls(**settings)
    except (TypeError, ValueError):   # settings no module takes: the call itself will say
        return None


class _AddCatcher(TorchFunctionMode):
    """Records tensor additions that happen outside leaf modules (residual adds), and
    functional activations and resampling there (``_FUNCTIONAL``), and attention
    (F.scaled_dot_product_attention: ``sdpa_ops``)."""

    def __init__(self, state):
        super().__init__()
        self.state = state

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        act = (_functional_module(func, args, kwargs)
               if self.state["depth"] == 0 and not self.state["cells"] else None)
        if act is not None:   # measured before the call: an in-place one overwrites its input
            sparsity = _zero_frac(args[0].detach())
        out = func(*args, **kwargs)
        if func is _SDPA and self.state["depth"] == 0 and not self.state["cells"]:
            name = f"{func.__name__}#{len(self.state['acts'])}"
            for op in sdpa_ops(name, args, kwargs):
                self.state["acts"].append((self.state["order"], op))
                self.state["order"] += 1
        y = out[0] if isinstance(out, tuple) and out else out   # a pool's (values, indices)
        if act is not None and isinstance(y, torch.Tensor):
            # the module's op on the call's input (its shape: an in-place form overwrote
            # only its values) and output, the sparsity measured before the call
            name = f"{getattr(func, '__name__', 'activation')}#{len(self.state['acts'])}"
            op = _module_op(name, act, args[0].detach(), y.detach())
            op = dataclasses.replace(op, act_sparsity=sparsity, geometry=geometry(act))
            if op.weight_shape:   # F.prelu's slopes: the Parameter the caller passed
                w = args[1] if len(args) > 1 else kwargs["weight"]
                op = dataclasses.replace(op, weight_id=f"{self.state['run']}:{id(w)}")
            self.state["acts"].append((self.state["order"], op))
            self.state["order"] += 1
        if self.state["depth"] == 0 and not self.state["cells"] and func in _UNPRICED_FUNCS \
                and act is None:
            self.state["unpriced"].setdefault(f"{getattr(func, '__name__', func)}()",
                                              "called outside a layer")
        if (self.state["depth"] == 0 and not self.state["cells"] and func in (torch.add, torch.Tensor.add, torch.Tensor.__add__,
                                                   torch.Tensor.__iadd__, torch.Tensor.add_)
                and len(args) >= 2 and all(isinstance(a, torch.Tensor) for a in args[:2])
                and args[0].shape == args[1].shape):
            self.state["adds"].append((self.state["order"], out, args[0]))
            self.state["order"] += 1
        return out


def _layer_input(args: tuple, kwargs: dict):
    """A layer call's input: its first argument, or its first keyword argument when it was
    called by keyword (lin(input=x) was left out of the price)."""
    return args[0] if args else next(iter((kwargs or {}).values()), None)


def extract(model: nn.Module, input_shape, *, batch: int = 1, inputs: torch.Tensor | None = None,
            seed: int = 0) -> list[Op]:
    """The model's operations for one batch of ``batch`` samples of ``input_shape``.

    ``inputs`` (a real batch, e.g. validation images) makes activation sparsity a
    measurement on data; without it a seeded N(0, 1) batch is used."""
    input_shape = tuple(int(s) for s in input_shape)
    if inputs is None:
        if batch < 1:
            raise UserError(f"batch must be >= 1, got {batch}")
        if batch * math.prod(input_shape) > MAX_BATCH_VALUES:
            raise UserError(f"batch {batch:,} of {input_shape} samples is "
                            f"{batch * math.prod(input_shape):,} input values; the limit is "
                            f"{MAX_BATCH_VALUES:,} (batch at most "
                            f"{MAX_BATCH_VALUES // math.prod(input_shape):,} here)")
        gen = torch.Generator().manual_seed(seed)
        inputs = torch.randn((batch,) + input_shape, generator=gen)
    elif tuple(inputs.shape[1:]) != input_shape:
        raise UserError(f"inputs have sample shape {tuple(inputs.shape[1:])}, expected {input_shape}")
    _check_work(model, input_shape, int(inputs.shape[0]))
    records: list[tuple[int, Op]] = []
    stepped: set[int] = set()   # the records of calls inside a recurrent layer's steps
    run = uuid.uuid4().hex[:12]   # this extract's: weight ids of two models never collide
    state = {"depth": 0, "order": 0, "adds": [], "acts": [], "cells": 0, "unpriced": {},
             "run": run, "inplace": {}}
    hooks = []

    def pre(m, args, kwargs):
        # an in-place layer (nn.ReLU(inplace=True)) overwrites its input with its output:
        # its input's sparsity is measured before the call (it was the output's)
        x = _layer_input(args, kwargs)
        if state["depth"] == 0 and getattr(m, "inplace", False) is True \
                and isinstance(x, torch.Tensor):
            state["inplace"][id(m)] = _zero_frac(x.detach())
        state["depth"] += 1

    def post(name):
        def hook(m, args, kwargs, out):
            state["depth"] -= 1
            seen = state["inplace"].pop(id(m), None)   # an in-place layer's input sparsity
            x = _layer_input(args, kwargs)
            if state["depth"] == 0 and isinstance(m, _PRICED) and x is not None \
                    and not isinstance(x, torch.Tensor):   # an LSTM on a PackedSequence
                state["unpriced"].setdefault(name, f"{type(m).__name__} on a "
                                                   f"{type(x).__name__}")   # was free
            if state["depth"] == 0 and isinstance(x, torch.Tensor):
                state["depth"] += 1   # the op's own arithmetic (an attention's) is no layer's
                try:
                    op = _from_module(name, m, x.detach(), out, args, kwargs, run)
                finally:
                    state["depth"] -= 1
                if seen is not None and isinstance(op, Op):
                    op = dataclasses.replace(op, act_sparsity=seen)
                if isinstance(op, Op) and op.weight_shape:
                    op = dataclasses.replace(op, weight_id=_weight_id(m, run))
                if op is None and not isinstance(m, _FREE + _PRICED):
                    state["unpriced"].setdefault(name, type(m).__name__)
                for one in ([op] if isinstance(op, Op) else op or []):
                    if state["cells"]:   # a step of a recurrent layer (``merge_repeated``)
                        stepped.add(state["order"])
                    records.append((state["order"], one))
                    state["order"] += 1
        return hook

    def unpriced(name):   # a layer with weights that no op record prices: its work is lost
        def hook(m, args, out):
            state["unpriced"].setdefault(name, type(m).__name__)
        return hook

    def enter_cell(m, args):   # the cell's own sums are part of its eltwise op
        state["cells"] += 1

    def cell(name):
        def hook(m, args, out):
            state["cells"] -= 1
            if state["depth"] == 0 and args and isinstance(args[0], torch.Tensor):
                records.append((state["order"], _cell_op(name, m, args[0].detach(), out)))
                state["order"] += 1
        return hook

    for name, m in model.named_modules():
        if isinstance(m, RecurrentLayer):
            hooks.append(m.register_forward_pre_hook(enter_cell))
            hooks.append(m.register_forward_hook(cell(name)))
        # a parametrized layer (e.g. a masked Linear) has a "parametrizations" child but is
        # still one op; the parametrization modules themselves are not ops.  The root is
        # hooked too when it is itself a layer (a bare nn.Conv2d), named by its class.
        real_children = [n for n, _ in m.named_children() if n != "parametrizations"]
        # (an attention's out_proj is no call of its own: F.multi_head_attention_forward
        # reads its weight)
        is_leaf = not real_children or isinstance(m, (nn.RNNBase, nn.MultiheadAttention))
        if ".parametrizations." in f".{name}.":
            continue
        if is_leaf:
            hooks.append(m.register_forward_pre_hook(pre, with_kwargs=True))
            hooks.append(m.register_forward_hook(post(name or type(m).__name__),
                                                 with_kwargs=True))
        if not isinstance(m, _PRICED + _NORMS) and any(p.dim() >= 2
                                                       for p in m.parameters(recurse=False)):
            hooks.append(m.register_forward_hook(unpriced(name or type(m).__name__)))
    modes = module_modes(model)
    device = next((p.device for p in model.parameters()), torch.device("cpu"))
    model.eval()
    try:
        with torch.no_grad(), _AddCatcher(state):
            model(inputs.to(device))
    except (RuntimeError, ValueError) as e:   # an LSTM's wrong rank is a ValueError
        raise UserError(f"model does not accept input shape {input_shape}: "
                        f"{str(e).splitlines()[0]}") from None
    finally:
        for h in hooks:
            h.remove()
        restore_modes(modes)
    if state["unpriced"]:   # priced without them, the total was silently too small
        name, kind = next(iter(state["unpriced"].items()))
        raise UserError(f"hwsim cannot price layer {short_repr(name)} ({kind}): no cost model, "
                        f"and the model priced without it would be too cheap (known: "
                        f"{KNOWN_LAYERS})")
    records.extend(state["acts"])
    for i, (order, out, a) in enumerate(state["adds"]):
        records.append((order, _op("eltwise", f"add{i}", a.detach(), out.detach(),
                                   elems=out.numel())))
    if not records:  # pricing it as free would be a wrong answer, not a cheap model
        raise UserError(f"{type(model).__name__} has no operation hwsim can price (known: "
                        f"{KNOWN_LAYERS})")
    return [op for _, op in sorted(merge_repeated(records, stepped), key=lambda r: r[0])]


def _attention_work(m: nn.MultiheadAttention, args, kwargs) -> tuple[int, int]:
    """(MACs, attention weights) of an nn.MultiheadAttention call (``_attention_ops``'s
    count, from the shapes alone)."""
    c = _MHA_CALL.bind(m, *args, **kwargs).arguments
    q, k, v = c["query"], c["key"], c["value"]
    e = m.embed_dim
    b = (q.shape[0] if m.batch_first else q.shape[1]) if q.dim() == 3 else 1
    rows_q, rows_k = q.numel() // q.shape[-1], k.numel() // k.shape[-1]
    s = rows_k // b + (m.bias_k is not None) + bool(m.add_zero_attn)
    proj = e * (rows_q * q.shape[-1] + rows_k * (k.shape[-1] + v.shape[-1]) + rows_q * e)
    return proj + 2 * rows_q * s * e, m.num_heads * rows_q * s


def _on_meta(model: nn.Module) -> list:
    """Every parameter and buffer of ``model`` replaced by a meta tensor of its shape, in
    place (a tensor two layers share: one meta tensor for both); returns what undoes it
    (``_off_meta``).  torch.func.functional_call left a module registered under two names
    (one Linear applied at two places) on the meta device: the user's weights were gone
    and the model could not be priced ('Tensor.item() cannot be called on meta tensors')."""
    metas, undo = {}, []
    for m in model.modules():     # each module once, however many names it has
        for slots in (m._parameters, m._buffers):
            for n, t in list(slots.items()):
                if t is None:
                    continue
                if id(t) not in metas:
                    meta = t.detach().to("meta")
                    metas[id(t)] = (nn.Parameter(meta, t.requires_grad)
                                    if isinstance(t, nn.Parameter) else meta)
                undo.append((slots, n, t))
                slots[n] = metas[id(t)]
    return undo


def _off_meta(undo: list) -> None:
    for slots, n, t in reversed(undo):
        slots[n] = t


def sample_work(model: nn.Module, input_shape) -> tuple[int, int] | None:
    """(multiply-accumulates of Linear, Conv2d, Conv1d and attention layers, values of the
    largest layer output or attention weights) of one sample, from a forward pass on the
    meta device: shapes only, no arithmetic and no copy of the weights.  None where the
    model does not run on meta tensors."""
    work = [0, 0]

    def hook(m, args, kwargs, out):
        # the layer's input as extract() reads it: a layer called by keyword (lin(input=x))
        # counted no work here while extract() priced it
        x = _layer_input(args, kwargs)
        if isinstance(out, torch.Tensor):
            work[1] = max(work[1], out.numel())
        if isinstance(m, _CONVS) and isinstance(out, torch.Tensor):
            work[0] += out.numel() * math.prod(m.weight.shape[1:])
        elif isinstance(m, _CONVT) and isinstance(x, torch.Tensor):
            work[0] += x.numel() * math.prod(m.weight.shape[1:])
        elif isinstance(m, nn.Linear) and isinstance(x, torch.Tensor):
            work[0] += x.numel() // m.in_features * m.in_features * m.out_features
        elif isinstance(m, nn.MultiheadAttention):
            macs, weights = _attention_work(m, args, kwargs)
            work[0] += macs
            work[1] = max(work[1], weights)

    hooks = [m.register_forward_hook(hook, with_kwargs=True) for m in model.modules()]
    modes = module_modes(model)
    model.eval()
    undo = _on_meta(model)
    try:
        with torch.no_grad():
            model(torch.empty((1, *input_shape), device="meta"))
    except Exception:   # data-dependent code (.item() on a value): no bound, as before
        return None
    finally:
        _off_meta(undo)
        for h in hooks:
            h.remove()
        restore_modes(modes)
    return work[0], work[1]


def _check_work(model: nn.Module, input_shape: tuple, batch: int) -> None:
    """A one-line error when extract()'s forward pass of ``batch`` samples would exceed
    MAX_EXTRACT_MACS or MAX_ACTIVATION_VALUES (``sample_work``)."""
    work = sample_work(model, input_shape)
    if work is None:
        return
    macs, largest = work
    for what, per, limit in (("multiply-accumulates", macs, MAX_EXTRACT_MACS),
                             ("values in its largest layer output", largest,
                              MAX_ACTIVATION_VALUES)):
        if per and batch * per > limit:
            raise UserError(f"pricing a batch of {batch:,} samples of {input_shape} runs "
                            f"{batch * per:,} {what}; the limit is {limit:,} (batch at most "
                            f"{limit // per:,} here, or a smaller input shape)")


def unique_weights(ops: list[Op]) -> list[Op]:
    """The ops whose weights the model stores, each stored tensor once: of ops that read the
    same Parameter (``Op.weight_id``: a language model's decoder tied to its embedding) the
    first.  The model's weight bytes are these ops' (both ops still read the tensor: their
    prices keep the reads)."""
    seen: set = set()
    out = []
    for o in ops:
        if o.weight_id and o.weight_id in seen:
            continue
        seen.add(o.weight_id)
        out.append(o)
    return out


def summary(ops: list[Op]) -> dict:
    """Totals over a workload: MACs, weight and activation bytes, nonzero weights; a weight
    tensor two ops read (tied) counts once (it counted twice in weight_bytes)."""
    stored = unique_weights(ops)
    return {"ops": len(ops), "macs": sum(o.macs for o in ops),
            "weight_bytes": sum(o.weight_bytes for o in stored),
            "activation_bytes": sum(o.activation_bytes for o in ops),
            "nonzero_weights": int(sum(o.weight_elems * (1 - o.weight_sparsity)
                                       for o in stored))}


# The seed a spec's model (not a checkpoint) is built from before it is priced: activation
# sparsity, and with it SPRING's zero-skipping, follows the initial weights, so two builds of
# the same spec from different random states priced differently (a SPRING op 7.085e-05 vs
# 7.065e-05 mJ between two runs of one command).
PRICING_SEED = 0


def build_priced(spec, input_shape, num_classes: int) -> nn.Module:
    """The model hwsim prices for ``spec`` (a variant name or spec dict): built from
    ``PRICING_SEED``, the caller's random stream left where it was.  Every place that prices
    a spec (the CLI, the search's cost model, the hwsim actor pool) builds it here, so each
    prices the same weights."""
    from synth.models import build
    with torch.random.fork_rng():
        torch.manual_seed(PRICING_SEED)
        return build(spec, input_shape, num_classes)
