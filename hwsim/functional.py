"""Functions a forward calls on tensors, as extraction sees them: the products and
convolutions no op records (``UNPRICED_FUNCS``: refused), and the activations, pools,
resampling, padding (F.pad), normalization and lookup (F.embedding) functions priced as the
module each computes (``functional_module``).  Element-wise arithmetic, reductions,
concatenations and copies are ``hwsim.arithmetic``'s.
"""
from __future__ import annotations

import torch
from torch import nn


# products and convolutions a module's own forward may call on tensors: refused (a model
# priced without them is too cheap), except the calls ``hwsim.products`` prices as the work
# they are (F.linear, F.conv*, matmul, mm, bmm, addmm, baddbmm, dot, mv, two-operand einsum:
# its ``PRODUCT_FUNCS``, since h234; addmv, addbmm, addr, inner, tensordot, vdot,
# linalg.multi_dot, chain_matmul since h242), a form of them it cannot price still refused
# here (F.bilinear: with its reason, ``hwsim.products.REFUSED``)
UNPRICED_FUNCS = frozenset(f for f in (
    torch.matmul, torch.mm, torch.bmm, torch.einsum, torch.addmm, torch.baddbmm, torch.addbmm,
    torch.mv, torch.tensordot, torch.Tensor.__matmul__, torch.Tensor.__rmatmul__,
    torch.Tensor.matmul, torch.Tensor.mm, torch.Tensor.bmm, torch.Tensor.mv,
    torch.nn.functional.linear, torch.nn.functional.bilinear, torch.nn.functional.conv1d,
    torch.nn.functional.conv2d, torch.nn.functional.conv3d,
    torch.nn.functional.conv_transpose1d, torch.nn.functional.conv_transpose2d,
    torch.nn.functional.conv_transpose3d,
    torch.nn.functional.interpolate,
    # (an attention's projections and products: priced from an nn.MultiheadAttention's
    # call, hwsim.attention.attention_ops; called by a forward itself it was free, h126)
    torch.nn.functional.multi_head_attention_forward,
    # (h203: these products, distances and transforms were free) dot and inner products,
    # a matrix-vector or rank-1 update, the products' Tensor forms, chained products,
    # distance matrices, covariances and Fourier transforms
    torch.dot, torch.vdot, torch.inner, torch.addmv, torch.addr, torch.chain_matmul,
    torch.Tensor.dot, torch.Tensor.vdot, torch.Tensor.inner, torch.Tensor.addmv,
    torch.Tensor.addr, torch.Tensor.addmm, torch.Tensor.baddbmm, torch.Tensor.addbmm,
    torch.linalg.matmul, torch.linalg.multi_dot, torch.linalg.vecdot, torch.cdist,
    torch.nn.functional.pdist, torch.cov, torch.corrcoef,
    # matrix decompositions, inverses and solves (products throughout)
    *(getattr(torch.linalg, n, None) for n in (
        "inv", "inv_ex", "solve", "solve_ex", "det", "slogdet", "svd", "svdvals", "qr", "eig",
        "eigh", "eigvals", "eigvalsh", "cholesky", "cholesky_ex", "lstsq", "pinv",
        "matrix_power", "matrix_exp", "lu", "lu_factor", "lu_solve", "solve_triangular",
        "tensorinv", "tensorsolve", "matrix_rank", "cond")),
    torch.inverse, torch.det, torch.logdet, torch.slogdet, torch.svd, torch.pinverse,
    torch.cholesky, torch.matrix_power, torch.matrix_exp, torch.qr, torch.triangular_solve,
    torch.cholesky_solve, torch.cholesky_inverse, torch.lu_solve, torch.Tensor.inverse,
    torch.Tensor.det, torch.Tensor.logdet, torch.Tensor.svd, torch.Tensor.pinverse,
    torch.Tensor.cholesky, torch.Tensor.matrix_power, torch.Tensor.matrix_exp,
    # in-place products; low-level convolutions, recurrent layers and sparse or fused
    # products; torch-level aliases of layers whose functional forms are priced (their
    # argument orders differ: refused rather than free)
    torch.Tensor.addmm_, torch.Tensor.addbmm_, torch.Tensor.baddbmm_, torch.Tensor.addmv_,
    torch.Tensor.addr_, torch.addmv_, torch.convolution, torch.conv_tbc,
    torch.nn.functional.conv_tbc, torch.lstm, torch.gru, torch.rnn_tanh, torch.rnn_relu,
    torch.lstm_cell, torch.gru_cell, torch.rnn_tanh_cell, torch.rnn_relu_cell, torch.hsmm,
    torch.smm, torch.saddmm, torch.sspaddmm, torch.Tensor.smm, torch.Tensor.sspaddmm,
    *(getattr(torch.nn.functional, n, None) for n in (
        "grouped_mm", "scaled_mm", "scaled_grouped_mm", "linear_cross_entropy")),
    torch.batch_norm, torch.native_batch_norm, torch.layer_norm, torch.native_layer_norm,
    torch.group_norm, torch.native_group_norm, torch.instance_norm, torch.rms_norm,
    torch.embedding, torch.embedding_bag, torch.constant_pad_nd, torch.grid_sampler,
    torch.grid_sampler_2d, torch.grid_sampler_3d, torch.affine_grid_generator,
    torch.adaptive_max_pool1d, torch.max_pool1d_with_indices, torch.frobenius_norm,
    torch.nuclear_norm, torch.native_norm,
    # losses, pools and transforms with no cost model here
    torch.ctc_loss, torch.nn.functional.ctc_loss, torch.nn.functional.multilabel_margin_loss,
    torch.nn.functional.triplet_margin_with_distance_loss,
    torch.nn.functional.fractional_max_pool2d, torch.nn.functional.fractional_max_pool3d,
    torch.nn.functional.fractional_max_pool2d_with_indices,
    torch.nn.functional.fractional_max_pool3d_with_indices, torch.segment_reduce,
    torch.histogramdd, torch.lu_unpack, torch.geqrf, torch.orgqr, torch.ormqr,
    torch.linalg.householder_product, torch.lobpcg, torch.pca_lowrank, torch.svd_lowrank,
    # the Tensor forms of decompositions and solves, backend-specific kernels, quantized
    # layers, torch-level aliases of losses whose F forms are priced (a reduction as an int)
    *(getattr(torch.Tensor, n, None) for n in (
        "cholesky_inverse", "cholesky_solve", "lu_solve", "qr", "slogdet", "triangular_solve",
        "geqrf", "orgqr", "ormqr", "lstsq", "solve", "eig", "corrcoef", "cov", "stft",
        "istft",
        # (h227: free) a Python function run on each value (CPU tensors only)
        "apply_", "map_", "map2_")),
    *(getattr(torch.linalg, n, None) for n in ("ldl_factor", "ldl_factor_ex", "ldl_solve",
                                               "lu_factor_ex")),
    *(getattr(torch, n, None) for n in (
        "mkldnn_convolution", "mkldnn_rnn_layer", "mkldnn_max_pool2d", "mkldnn_max_pool3d",
        "mkldnn_adaptive_avg_pool2d", "cudnn_convolution", "cudnn_convolution_relu",
        "cudnn_convolution_add_relu", "cudnn_convolution_transpose", "cudnn_batch_norm",
        "cudnn_grid_sampler", "cudnn_affine_grid_generator", "miopen_convolution",
        "miopen_convolution_relu", "miopen_convolution_add_relu",
        "miopen_convolution_transpose", "miopen_depthwise_convolution", "miopen_batch_norm",
        "miopen_rnn", "miopen_ctc_loss", "fbgemm_linear_fp16_weight",
        "fbgemm_linear_fp16_weight_fp32_activation", "fbgemm_linear_int8_weight",
        "fbgemm_linear_int8_weight_fp32_activation", "quantized_lstm", "quantized_gru",
        "quantized_lstm_cell", "quantized_gru_cell", "quantized_rnn_relu_cell",
        "quantized_rnn_tanh_cell", "quantized_batch_norm", "quantized_max_pool1d",
        "quantized_max_pool2d", "quantized_max_pool3d",
        # (quantize_per_tensor/_channel/_dynamic and dequantize are priced since h227:
        # element-wise, hwsim.pointwise)
        "fused_moving_avg_obs_fake_quant", "kl_div", "binary_cross_entropy_with_logits",
        "hinge_embedding_loss", "margin_ranking_loss", "poisson_nll_loss",
        "cosine_embedding_loss", "triplet_margin_loss", "rrelu", "threshold",
        "embedding_renorm_")),
    *(getattr(torch.fft, n) for n in ("fft", "ifft", "rfft", "irfft", "fft2", "ifft2",
                                      "rfft2", "irfft2", "fftn", "ifftn", "rfftn", "irfftn",
                                      "hfft", "ihfft")), torch.stft, torch.istft,
    # (h227) a backward pass run in a forward (torch.enable_grad inside it): the autograd
    # engine's work no mode sees; .backward() was free, autograd.grad a call of no table
    torch.Tensor.backward, torch.autograd.backward, torch.autograd.grad,
    ) if f is not None)   # (interpolate: unless antialiased,
                                                         # priced as nn.Upsample: FUNCTIONAL;
                                                         # F.scaled_dot_product_attention:
                                                         # priced, ``sdpa_ops``)

_F = torch.nn.functional
# activations a module's own forward may call as functions (F.relu(x), torch.sigmoid(x),
# x.softmax(1)), resampling functions (F.interpolate, F.pixel_shuffle) and pools
# (F.max_pool2d): each is the ``ACTIVATIONS``, ``RESAMPLE`` or ``POOLS`` module it
# computes and the names of that module's settings in the function's argument order after
# the input.  Called outside a leaf module, one is
# priced as that module is (the same op and geometry); they were free (activations) or
# refused (F.interpolate), while the module equivalent was priced.
_SOFTMAX_DIM = ("dim",)
_MAX_POOL = ("kernel_size", "stride", "padding", "dilation", "ceil_mode", "return_indices")
_AVG_POOL = ("kernel_size", "stride", "padding", "ceil_mode", "count_include_pad",
             "divisor_override")     # (avg_pool1d: without divisor_override)
FUNCTIONAL = {
    **{f: (nn.ReLU, ()) for f in (_F.relu, _F.relu_, torch.relu, torch.relu_, torch.Tensor.relu,
                                  torch.Tensor.relu_)},
    _F.relu6: (nn.ReLU6, ()), _F.gelu: (nn.GELU, ("approximate",)), _F.silu: (nn.SiLU, ()),
    **{f: (nn.Sigmoid, ()) for f in (_F.sigmoid, torch.sigmoid, torch.sigmoid_,
                                     torch.Tensor.sigmoid, torch.Tensor.sigmoid_,
                                     torch.special.expit)},
    **{f: (nn.Tanh, ()) for f in (_F.tanh, torch.tanh, torch.tanh_, torch.Tensor.tanh,
                                  torch.Tensor.tanh_)},
    _F.hardswish: (nn.Hardswish, ()),
    _F.leaky_relu: (nn.LeakyReLU, ("negative_slope",)),
    _F.leaky_relu_: (nn.LeakyReLU, ("negative_slope",)),
    _F.elu: (nn.ELU, ("alpha",)), _F.elu_: (nn.ELU, ("alpha",)),
    **{f: (nn.Softmax, _SOFTMAX_DIM) for f in (_F.softmax, torch.softmax,
                                               torch.Tensor.softmax, torch.special.softmax)},
    **{f: (nn.LogSoftmax, _SOFTMAX_DIM) for f in (_F.log_softmax, torch.log_softmax,
                                                  torch.Tensor.log_softmax,
                                                  torch.special.log_softmax)},
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


# F.pad(x, pad, mode, value) in a forward: the padding layer it computes (``hwsim.layers.PADS``:
# a ``resample`` op, its input read and its larger output written, the traffic of a copy
# into the padded tensor; no arithmetic), by its mode and the dimensions it pads
# (len(pad) / 2).  It was free, while nn.ZeroPad2d doing the same was priced.  Constant
# padding of more than 3 dimensions has no layer: it is priced as ConstantPad3d with the
# call's padding (the same copy; ``hwsim.host_ops`` pads with the recorded padding).
_PAD_LAYERS = {"constant": "ConstantPad", "reflect": "ReflectionPad",
               "replicate": "ReplicationPad", "circular": "CircularPad"}
PAD_FUNCS = (_F.pad,)


def _pad_module(args, kwargs) -> nn.Module | None:
    """The padding layer an F.pad call computes; None where the call is none (a pad that is
    not whole numbers, an unknown mode: the call itself will say)."""
    c = {**dict(zip(("input", "pad", "mode", "value"), args)), **kwargs}
    pad, mode = c.get("pad"), c.get("mode") or "constant"
    if not isinstance(pad, (tuple, list, torch.Size)) or not pad or len(pad) % 2 \
            or not all(isinstance(p, int) and not isinstance(p, bool) for p in pad) \
            or mode not in _PAD_LAYERS:
        return None
    dims = min(len(pad) // 2, 3)
    cls = getattr(nn, f"{_PAD_LAYERS[mode]}{dims}d", None)
    if cls is None:   # (CircularPad: torch 2.1 on)
        return None
    try:
        if mode == "constant":
            value = c.get("value")
            return cls(tuple(pad), 0.0 if value is None else value)
        return cls(tuple(pad))
    except (TypeError, ValueError):
        return None


# normalizations and lookups called as functions (h193: they were free, while their modules
# were priced; F.rms_norm and F.embedding_bag since h196): each is priced as the module it
# computes, with the call's settings (``_norm_module``; the norms' affine parameters are not
# read by their op, as the modules' are not; F.embedding and F.embedding_bag read the call's
# table, as F.prelu its slopes, and a bag its per_sample_weights: ``module_call``).
# F.batch_norm(training=True) normalizes by the batch's statistics: the BatchNorm without
# running statistics it computes (``hwsim.layers.module_op``: their sums too, h196)
_BN = {2: nn.BatchNorm1d, 3: nn.BatchNorm1d, 4: nn.BatchNorm2d, 5: nn.BatchNorm3d}
_IN = {3: nn.InstanceNorm1d, 4: nn.InstanceNorm2d, 5: nn.InstanceNorm3d}
NORM_FUNCS = {
    _F.layer_norm: ("normalized_shape", "weight", "bias", "eps"),
    _F.group_norm: ("num_groups", "weight", "bias", "eps"),
    _F.batch_norm: ("running_mean", "running_var", "weight", "bias", "training", "momentum",
                    "eps"),
    _F.instance_norm: ("running_mean", "running_var", "weight", "bias", "use_input_stats",
                       "momentum", "eps"),
    _F.rms_norm: ("normalized_shape", "weight", "eps"),
    _F.embedding: ("weight",),
    _F.embedding_bag: ("weight", "offsets", "max_norm", "norm_type", "scale_grad_by_freq",
                       "mode", "sparse", "per_sample_weights", "include_last_offset",
                       "padding_idx"),
}


def _norm_module(func, x: torch.Tensor, args, kwargs) -> nn.Module | None:
    """The layer a ``NORM_FUNCS`` call computes on ``x``; None where there is none (the call
    itself will say)."""
    c = {**dict(zip(NORM_FUNCS[func], args[1:])), **kwargs}
    eps = c.get("eps", 1e-5)
    affine = c.get("weight") is not None
    try:
        if func in (_F.layer_norm, _F.rms_norm):
            shape = c["normalized_shape"]
            shape = tuple(shape) if isinstance(shape, (list, tuple, torch.Size)) else shape
            if func is _F.rms_norm:   # (eps None: torch's default)
                return nn.RMSNorm(shape, c.get("eps"), elementwise_affine=affine)
            return nn.LayerNorm(shape, eps, elementwise_affine=affine)
        if func is _F.group_norm:
            return nn.GroupNorm(c["num_groups"], x.shape[1], eps, affine)
        if func is _F.batch_norm:
            stats = c.get("running_mean") is not None and not c.get("training", False)
            return _BN[x.dim()](x.shape[1], eps, affine=affine, track_running_stats=stats)
        if func is _F.instance_norm:
            stats = c.get("running_mean") is not None and not c.get("use_input_stats", True)
            return _IN[x.dim()](x.shape[1], eps, affine=affine, track_running_stats=stats)
        w = c.get("weight")   # F.embedding(indices, weight): the call's table
        if not isinstance(w, torch.Tensor) or w.dim() != 2:
            return None
        table = (nn.EmbeddingBag(*w.shape, mode=c.get("mode", "mean"))
                 if func is _F.embedding_bag else nn.Embedding(*w.shape))
        table.weight = nn.Parameter(w.detach(), requires_grad=False)
        return table
    except (TypeError, ValueError, KeyError, IndexError, RuntimeError):
        return None


def module_call(func, args, kwargs) -> dict:
    """The keyword arguments the module a functional call computes would be called with
    besides its input, where they change its op (``hwsim.layers.op_from_module``): an
    F.embedding_bag's ``per_sample_weights``; {} for any other call."""
    if func is not _F.embedding_bag:
        return {}
    c = {**dict(zip(NORM_FUNCS[func], args[1:])), **kwargs}
    psw = c.get("per_sample_weights")
    return {"per_sample_weights": psw} if isinstance(psw, torch.Tensor) else {}


def functional_module(func, args, kwargs) -> nn.Module | None:
    """The module a functional call computes (``FUNCTIONAL``; F.pad: ``_pad_module``), with
    the call's settings; None when ``func`` is not one, its input is not a tensor, or it is
    no such module's work (an antialiased F.interpolate: nn.Upsample has no such setting)."""
    if func in PAD_FUNCS:
        return _pad_module(args, kwargs) if args and isinstance(args[0], torch.Tensor) \
            else None
    if func in NORM_FUNCS:
        return _norm_module(func, args[0], args, kwargs) if args \
            and isinstance(args[0], torch.Tensor) else None
    form = FUNCTIONAL.get(func)
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
