"""Output shapes on the meta device, by formula, for the shape-only forward passes
``hwsim.workload.sample_work`` runs before extract() and ``synth.models.build`` runs as its
fit check (``shape_on_meta``; here in synth, the lower of the two packages, since h212).

torch's meta kernels for the calls a model's layers make most (``meta_conv``, the
batch_norm and addmm decompositions, the relu, add and mul references) import
``torch.fx.experimental.symbolic_shapes`` (and sympy) or ``torch._dynamo``: 1-3.5 s of every
process that priced a model (each CLI call, test module and actor; extract of resnet8_w16
took 0.65 s without its bound and 4.3-6.3 s with it on a loaded machine), for shapes that
are a line of arithmetic each (torch.nn's documented output sizes):

    conv:            L_out = floor((L + 2 p - d (k - 1) - 1) / s) + 1
    transposed conv: L_out = (L - 1) s - 2 p + d (k - 1) + output_padding + 1
    max pool:        the conv's, rounded up in ceil mode (a window starting in the right
                     padding dropped); stride defaults to the kernel
    adaptive pool:   its output_size; Linear/addmm: (rows, out features);
    norm, ReLU, sigmoid, tanh: the input's; add/mul: the broadcast shape, the promoted type;
    cat/stack: the pieces' joined along ``dim``

Only a call whose arguments are plainly valid is answered here (meta tensors of one dtype,
integers or tuples of them, channels matching the weight's, every output size at least 1);
any other is passed to torch, whose kernel raises its own error, so the pass fails (or
succeeds) as it did.  tests/hwsim/test_h203_meta_shapes.py checks each answer against
torch's kernel on random calls and every registered variant's bound with and without them.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

_CONV = {F.conv1d: 1, F.conv2d: 2, F.conv3d: 3}
_CONVT = {F.conv_transpose1d: 1, F.conv_transpose2d: 2, F.conv_transpose3d: 3}
_CONV_ARGS = ("input", "weight", "bias", "stride", "padding", "dilation", "groups")
_CONVT_ARGS = ("input", "weight", "bias", "stride", "padding", "output_padding", "groups",
               "dilation")


def _ints(v, n: int) -> tuple | None:
    """``v`` as n non-negative whole numbers (one repeated, or a tuple/list of n), else None."""
    vs = tuple(v) if isinstance(v, (tuple, list)) else (v,) * n
    ok = len(vs) == n and all(isinstance(i, int) and not isinstance(i, bool) and i >= 0
                              for i in vs)
    return vs if ok else None


def _padding(p, n: int, stride: tuple, dilation: tuple, kernel: tuple) -> tuple | None:
    """The total padding of each dimension (both sides), or None where torch must decide."""
    if p == "valid":
        return (0,) * n
    if p == "same":   # stride 1 only (torch refuses others): the output is the input's size
        return tuple(d * (k - 1) for d, k in zip(dilation, kernel)) \
            if all(s == 1 for s in stride) else None
    p = _ints(p, n)
    return None if p is None else tuple(2 * i for i in p)


def shape_on_meta(func, args, kwargs):
    """A meta tensor of the output shape of ``func(*args, **kwargs)`` on meta tensors, for the
    calls answered here (convolutions, F.batch_norm, ReLU, max and adaptive average pools);
    None for any other (torch runs it)."""
    if func is F.batch_norm:
        return _batch_norm_on_meta(args, kwargs)
    if func in _RELU:
        return _relu_on_meta(func, args, kwargs)
    if func in _ADAPTIVE:
        return _adaptive_on_meta(func, args, kwargs)
    if func in _MAX_POOL:
        return _max_pool_on_meta(func, args, kwargs)
    if func is F.linear:
        return _linear_on_meta(args, kwargs)
    if func is torch.addmm:
        return _addmm_on_meta(args, kwargs)
    if func in _UNARY:   # an element-wise function of a float tensor: its shape
        x = args[0] if len(args) == 1 and not kwargs else None
        return torch.empty(x.shape, dtype=x.dtype, device="meta") \
            if _meta(x) and x.is_floating_point() else None
    if func in _BINARY:
        return _binary_on_meta(args, kwargs)
    if func in (torch.cat, torch.stack):
        return _join_on_meta(func, args, kwargs)
    return _conv_on_meta(func, args, kwargs)


_UNARY = (torch.sigmoid, torch.Tensor.sigmoid, torch.tanh, torch.Tensor.tanh)
_BINARY = (torch.add, torch.Tensor.add, torch.Tensor.__add__, torch.Tensor.__radd__,
           torch.mul, torch.Tensor.mul, torch.Tensor.__mul__, torch.Tensor.__rmul__)


def _binary_on_meta(args, kwargs):
    """An add or multiply of two meta tensors (no ``alpha``, no ``out``): their broadcast
    shape, of the type torch promotes them to."""
    if kwargs or len(args) != 2 or not (_meta(args[0]) and _meta(args[1])):
        return None
    a, b = args
    shape = []
    for i in range(1, max(a.dim(), b.dim()) + 1):   # numpy's rule, from the last dimension
        x = a.shape[-i] if i <= a.dim() else 1
        y = b.shape[-i] if i <= b.dim() else 1
        if x != y and 1 not in (x, y):
            return None
        shape.append(y if x == 1 else x)
    return torch.empty(tuple(reversed(shape)), dtype=torch.result_type(a, b), device="meta")


def _join_on_meta(func, args, kwargs):
    """torch.cat or torch.stack of meta tensors of one dtype and rank, every one non-empty
    (torch skips a 1-d empty piece of a cat) and of the same sizes but along ``dim`` (a
    stack: the same shape)."""
    c = {**dict(zip(("tensors", "dim"), args)), **kwargs}
    ts, dim = c.get("tensors"), c.get("dim", 0)
    if set(c) - {"tensors", "dim"} or not isinstance(ts, (list, tuple)) or not ts \
            or not all(_meta(t) and t.numel() > 0 for t in ts) \
            or not isinstance(dim, int) or isinstance(dim, bool) \
            or len({(t.dtype, t.dim()) for t in ts}) != 1:
        return None
    rank = ts[0].dim() + (func is torch.stack)
    if rank == 0 or not -rank <= dim < rank:
        return None
    dim %= rank
    if func is torch.stack:
        if len({tuple(t.shape) for t in ts}) != 1:
            return None
        shape = list(ts[0].shape)
        shape.insert(dim, len(ts))
    else:
        if len({tuple(t.shape[:dim]) + tuple(t.shape[dim + 1:]) for t in ts}) != 1:
            return None
        shape = list(ts[0].shape)
        shape[dim] = sum(t.shape[dim] for t in ts)
    return torch.empty(tuple(shape), dtype=ts[0].dtype, device="meta")


def _linear_on_meta(args, kwargs):
    """F.linear's output: the input's leading dimensions, then the weight's rows (a bias of
    exactly those, or none)."""
    c = {**dict(zip(("input", "weight", "bias"), args)), **kwargs}
    x, w, b = c.get("input"), c.get("weight"), c.get("bias")
    if not (_meta(x) and _meta(w)) or set(c) - {"input", "weight", "bias"} or w.dim() != 2 \
            or x.dim() < 1 or x.shape[-1] != w.shape[1] or x.dtype != w.dtype \
            or not (b is None or (_meta(b) and tuple(b.shape) == (w.shape[0],)
                                  and b.dtype == w.dtype)):
        return None
    return torch.empty(tuple(x.shape[:-1]) + (w.shape[0],), dtype=x.dtype, device="meta")


def _addmm_on_meta(args, kwargs):
    """torch.addmm(b, m1, m2) (no alpha or beta): (m1 rows, m2 columns), b of the output's
    shape, a row of it or its columns."""
    if kwargs or len(args) != 3:
        return None
    b, m1, m2 = args
    if not (_meta(b) and _meta(m1) and _meta(m2)) or m1.dim() != 2 or m2.dim() != 2 \
            or m1.shape[1] != m2.shape[0] or not (b.dtype == m1.dtype == m2.dtype):
        return None
    shape = (m1.shape[0], m2.shape[1])
    if tuple(b.shape) not in (shape, (1, shape[1]), (shape[1],)):
        return None
    return torch.empty(shape, dtype=m1.dtype, device="meta")


def _meta(x) -> bool:
    return isinstance(x, torch.Tensor) and x.device.type == "meta"


_RELU = (F.relu, torch.relu, torch.Tensor.relu)


def _relu_on_meta(func, args, kwargs):
    """A ReLU's output: its input's shape (F.relu(inplace=True): the input itself)."""
    c = {**dict(zip(("input", "inplace"), args)), **kwargs}
    x = c.get("input", c.get("self"))
    if not _meta(x) or set(c) - {"input", "self", "inplace"}:
        return None
    if c.get("inplace", False):
        return x if func is F.relu and c["inplace"] is True else None
    return torch.empty(x.shape, dtype=x.dtype, device="meta")


_ADAPTIVE = {F.adaptive_avg_pool1d: 1, torch.adaptive_avg_pool1d: 1, F.adaptive_avg_pool2d: 2}


def _adaptive_on_meta(func, args, kwargs):
    """An adaptive average pool's output: the input's leading dimensions, then its
    ``output_size`` (None: the input's size there)."""
    n = _ADAPTIVE[func]
    c = {**dict(zip(("input", "output_size"), args)), **kwargs}
    x, size = c.get("input"), c.get("output_size")
    if not _meta(x) or set(c) - {"input", "output_size"} or x.dim() not in (n + 1, n + 2) \
            or min(x.shape[-n:]) < 1 or (x.dim() == n + 2 and x.shape[-n - 1] < 1):
        return None
    sizes = tuple(size) if isinstance(size, (tuple, list)) else (size,) * n
    if len(sizes) != n or (n == 1 and size is None):
        return None
    out = tuple(i if o is None else o for o, i in zip(sizes, x.shape[-n:]))
    if not all(isinstance(o, int) and not isinstance(o, bool) and o >= 1 for o in out):
        return None
    return torch.empty(tuple(x.shape[:-n]) + out, dtype=x.dtype, device="meta")


_MAX_POOL = {F.max_pool1d: 1, F.max_pool2d: 2}
_POOL_ARGS = ("input", "kernel_size", "stride", "padding", "dilation", "ceil_mode",
              "return_indices")


def _max_pool_on_meta(func, args, kwargs):
    """A max pool's values (return_indices False): per dimension
    floor_or_ceil((L + 2 p - d (k - 1) - 1) / s) + 1, a ceil-mode window that would start in
    the right padding dropped (torch's pooling_output_shape); stride defaults to the
    kernel; padding at most half the kernel."""
    n = _MAX_POOL[func]
    c = {**dict(zip(_POOL_ARGS, args)), **kwargs}
    x = c.get("input")
    if not _meta(x) or c.get("return_indices", False) or x.dim() not in (n + 1, n + 2) \
            or min(x.shape[-n:]) < 1 or set(c) - set(_POOL_ARGS):
        return None
    kernel = _ints(c.get("kernel_size"), n)
    stride = c.get("stride")
    stride = kernel if stride is None or (isinstance(stride, (tuple, list)) and not stride) \
        else _ints(stride, n)
    pad, dilation = _ints(c.get("padding", 0), n), _ints(c.get("dilation", 1), n)
    ceil = c.get("ceil_mode", False)
    if None in (kernel, stride, pad, dilation) or not isinstance(ceil, bool) \
            or 0 in kernel or 0 in stride or 0 in dilation \
            or any(2 * p > k for p, k in zip(pad, kernel)):
        return None
    out = []
    for i, k, s, p, d in zip(x.shape[-n:], kernel, stride, pad, dilation):
        span = i + 2 * p - d * (k - 1) - 1
        o = (span + (s - 1 if ceil else 0)) // s + 1
        if ceil and (o - 1) * s >= i + p:
            o -= 1
        if o < 1:
            return None
        out.append(o)
    return torch.empty(tuple(x.shape[:-n]) + tuple(out), dtype=x.dtype, device="meta")


def _conv_on_meta(func, args, kwargs):
    """A meta tensor of the output shape of convolution call ``func(*args, **kwargs)`` on
    meta tensors; None for any other call, one not on the meta device, or one whose
    arguments are not plainly valid (torch's kernel then runs and says what is wrong)."""
    n = _CONV.get(func) or _CONVT.get(func)
    if n is None:
        return None
    transposed = func in _CONVT
    c = {**dict(zip(_CONVT_ARGS if transposed else _CONV_ARGS, args)), **kwargs}
    x, w, b = c.get("input"), c.get("weight"), c.get("bias")
    if not (_meta(x) and _meta(w)) or w.dim() != n + 2 \
            or x.dim() not in (n + 1, n + 2) or x.dtype != w.dtype \
            or not (b is None or (isinstance(b, torch.Tensor) and b.device.type == "meta"
                                  and b.dtype == w.dtype)):
        return None
    groups = c.get("groups", 1)
    kernel = tuple(w.shape[2:])
    stride, dilation = _ints(c.get("stride", 1), n), _ints(c.get("dilation", 1), n)
    if not isinstance(groups, int) or isinstance(groups, bool) or groups < 1 \
            or stride is None or dilation is None or 0 in stride or 0 in dilation:
        return None
    pad = _padding(c.get("padding", 0), n, stride, dilation, kernel)
    if pad is None or (transposed and isinstance(c.get("padding", 0), str)):
        return None
    batched = x.dim() == n + 2
    cin, sizes = x.shape[-n - 1], tuple(x.shape[-n:])
    if transposed:
        extra = _ints(c.get("output_padding", 0), n)
        if extra is None or any(e >= max(s, d) for e, s, d in zip(extra, stride, dilation)) \
                or cin != w.shape[0] or w.shape[0] % groups:
            return None
        cout = w.shape[1] * groups
        out = tuple((i - 1) * s - p + d * (k - 1) + e + 1 for i, s, p, d, k, e in
                    zip(sizes, stride, pad, dilation, kernel, extra))
    else:
        if cin != w.shape[1] * groups or w.shape[0] % groups:
            return None
        cout = w.shape[0]
        out = tuple((i + p - d * (k - 1) - 1) // s + 1 for i, s, p, d, k in
                    zip(sizes, stride, pad, dilation, kernel))
    if b is not None and tuple(b.shape) != (cout,):
        return None
    if min(out, default=1) < 1 or min(sizes, default=1) < 1:
        return None
    shape = ((x.shape[0],) if batched else ()) + (cout,) + out
    return torch.empty(shape, dtype=x.dtype, device="meta")


_BN_ARGS = ("input", "running_mean", "running_var", "weight", "bias", "training", "momentum",
            "eps")


def _batch_norm_on_meta(args, kwargs):
    """F.batch_norm's output (its input's shape) where every tensor is on the meta device and
    of the input's channels (and, training, more than one value per channel: else torch's
    own check raises)."""
    c = {**dict(zip(_BN_ARGS, args)), **kwargs}
    x = c.get("input")
    if not isinstance(x, torch.Tensor) or x.device.type != "meta" or x.dim() < 2:
        return None
    for name in ("running_mean", "running_var", "weight", "bias"):
        t = c.get(name)
        if t is not None and not (isinstance(t, torch.Tensor) and t.device.type == "meta"
                                  and tuple(t.shape) == (x.shape[1],)):
            return None
    if c.get("training", False) and x.numel() // max(x.shape[1], 1) <= 1:
        return None
    return torch.empty(x.shape, dtype=x.dtype, device="meta")
