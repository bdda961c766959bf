"""The element-wise functions and the losses and distances a forward may call outside its
layers, as ``hwsim.arithmetic`` prices them (its notes give the cost model): each one's kind
(the torch function ``hwsim.host_ops`` replays) and its element ops per output value
(``POINTWISE``), or per value of its largest operand (``PAIRED``).  Tables only.
"""
from __future__ import annotations

import torch
from torch import nn

from hwsim.op import tensor_forms

_T = torch.Tensor

# every other element-wise function (h193): (kind, element ops per output value, the names
# that compute it).  The kind names the torch function host_ops replays (torch.<kind>) on
# the call's own arguments in its order (``hwsim.arithmetic._describe``); its geometry is (("kind", k),
# ("args", ...), ("kwargs", ...)): each tensor argument's shape and class, each other
# argument's value (an exponent, a clamp's bounds)
_POINTWISE = (
    ("neg", 1, ("neg", "negative", "__neg__")),
    ("abs", 1, ("abs", "absolute", "__abs__")),
    ("pow", 1, ("pow", "__pow__", "__ipow__", "__rpow__")),
    ("float_power", 1, ("float_power",)),
    ("square", 1, ("square",)),
    ("sqrt", 1, ("sqrt",)), ("rsqrt", 1, ("rsqrt",)), ("reciprocal", 1, ("reciprocal",)),
    ("exp", 1, ("exp",)), ("exp2", 1, ("exp2",)), ("expm1", 1, ("expm1",)),
    ("log", 1, ("log",)), ("log2", 1, ("log2",)), ("log10", 1, ("log10",)),
    ("log1p", 1, ("log1p",)), ("logit", 1, ("logit",)),
    ("sin", 1, ("sin",)), ("cos", 1, ("cos",)), ("tan", 1, ("tan",)),
    ("asin", 1, ("asin", "arcsin")), ("acos", 1, ("acos", "arccos")),
    ("atan", 1, ("atan", "arctan")), ("sinh", 1, ("sinh",)), ("cosh", 1, ("cosh",)),
    ("asinh", 1, ("asinh", "arcsinh")), ("acosh", 1, ("acosh", "arccosh")),
    ("atanh", 1, ("atanh", "arctanh")), ("sinc", 1, ("sinc",)),
    ("erf", 1, ("erf",)), ("erfc", 1, ("erfc",)), ("erfinv", 1, ("erfinv",)),
    ("i0", 1, ("i0",)), ("lgamma", 1, ("lgamma",)), ("digamma", 1, ("digamma",)),
    ("sign", 1, ("sign",)), ("sgn", 1, ("sgn",)), ("signbit", 1, ("signbit",)),
    ("floor", 1, ("floor",)), ("ceil", 1, ("ceil",)), ("round", 1, ("round",)),
    ("trunc", 1, ("trunc", "fix")), ("frac", 1, ("frac",)),
    ("clamp", 1, ("clamp", "clip")), ("clamp_min", 1, ("clamp_min",)),
    ("clamp_max", 1, ("clamp_max",)), ("nan_to_num", 1, ("nan_to_num",)),
    ("isnan", 1, ("isnan",)), ("isinf", 1, ("isinf",)), ("isfinite", 1, ("isfinite",)),
    ("maximum", 1, ("maximum",)), ("minimum", 1, ("minimum",)),
    ("fmax", 1, ("fmax",)), ("fmin", 1, ("fmin",)),
    ("remainder", 1, ("remainder", "__mod__", "__imod__", "__rmod__")),
    ("fmod", 1, ("fmod",)),
    ("floor_divide", 1, ("floor_divide", "__floordiv__", "__ifloordiv__", "__rfloordiv__")),
    ("atan2", 1, ("atan2", "arctan2")), ("hypot", 1, ("hypot",)),
    ("copysign", 1, ("copysign",)), ("xlogy", 1, ("xlogy",)),
    ("eq", 1, ("eq", "__eq__")), ("ne", 1, ("ne", "not_equal", "__ne__")),
    ("lt", 1, ("lt", "less", "__lt__")), ("le", 1, ("le", "less_equal", "__le__")),
    ("gt", 1, ("gt", "greater", "__gt__")), ("ge", 1, ("ge", "greater_equal", "__ge__")),
    ("logical_not", 1, ("logical_not",)), ("logical_and", 1, ("logical_and",)),
    ("logical_or", 1, ("logical_or",)), ("logical_xor", 1, ("logical_xor",)),
    ("bitwise_not", 1, ("bitwise_not", "__invert__")),
    ("bitwise_and", 1, ("bitwise_and", "__and__", "__iand__", "__rand__")),
    ("bitwise_or", 1, ("bitwise_or", "__or__", "__ior__", "__ror__")),
    ("bitwise_xor", 1, ("bitwise_xor", "__xor__", "__ixor__", "__rxor__")),
    # a select: one op per output value, its condition (or mask) read too
    ("where", 1, ("where",)), ("masked_fill", 1, ("masked_fill",)),
    # a product, then a multiply-add: two ops per output value
    ("addcmul", 2, ("addcmul",)), ("addcdiv", 2, ("addcdiv",)), ("lerp", 2, ("lerp",)),
    # (h203: these were free) one op per output value as the functions above; an outer or
    # Kronecker product one multiply per output value, every value of both operands read
    ("heaviside", 1, ("heaviside",)), ("deg2rad", 1, ("deg2rad",)),
    ("rad2deg", 1, ("rad2deg",)), ("nextafter", 1, ("nextafter",)),
    ("polygamma", 1, ("polygamma",)), ("frexp", 1, ("frexp",)),
    ("erfcx", 1, ("erfcx",)), ("ndtr", 1, ("ndtr",)), ("ndtri", 1, ("ndtri",)),
    ("log_ndtr", 1, ("log_ndtr",)), ("i0e", 1, ("i0e",)), ("i1", 1, ("i1",)),
    ("i1e", 1, ("i1e",)), ("entr", 1, ("entr",)), ("xlog1py", 1, ("xlog1py",)),
    ("outer", 1, ("outer", "ger")), ("kron", 1, ("kron",)),
    # two: a power of two and a product; a difference and its softplus (log(e^a + e^b) =
    # max + log1p(e^-|a - b|)); |a - b| and its compare with atol + rtol |b|
    ("ldexp", 2, ("ldexp",)), ("logaddexp", 2, ("logaddexp",)),
    ("logaddexp2", 2, ("logaddexp2",)), ("isclose", 2, ("isclose",)),
    # a difference of neighbours (one subtract an output); a cross product (a product and a
    # multiply-subtract an output); a bucket found by binary search (``_searches``: log2
    # of the boundaries' count an output, set in ``_pointwise_op``)
    ("diff", 1, ("diff",)), ("cross", 2, ("cross",)),
    ("bucketize", 1, ("bucketize",)), ("searchsorted", 1, ("searchsorted",)),
    ("bitwise_left_shift", 1, ("bitwise_left_shift", "__lshift__", "__ilshift__",
                                "__rlshift__")),
    ("bitwise_right_shift", 1, ("bitwise_right_shift", "__rshift__", "__irshift__",
                                 "__rrshift__")),
    # p log-gammas a value (``_pointwise_op``)
    ("mvlgamma", 1, ("mvlgamma",)),
    ("gcd", 1, ("gcd",)), ("lcm", 1, ("lcm",)), ("igamma", 1, ("igamma", "gammainc")),
    ("igammac", 1, ("igammac", "gammaincc")), ("isneginf", 1, ("isneginf",)),
    ("isposinf", 1, ("isposinf",)), ("isreal", 1, ("isreal",)), ("angle", 1, ("angle",)),
    ("bessel_j0", 1, ("bessel_j0",)), ("bessel_j1", 1, ("bessel_j1",)),
    ("bessel_y0", 1, ("bessel_y0",)), ("bessel_y1", 1, ("bessel_y1",)),
    ("modified_bessel_i0", 1, ("modified_bessel_i0",)),
    ("modified_bessel_i1", 1, ("modified_bessel_i1",)),
    ("modified_bessel_k0", 1, ("modified_bessel_k0",)),
    ("modified_bessel_k1", 1, ("modified_bessel_k1",)),
    ("scaled_modified_bessel_k0", 1, ("scaled_modified_bessel_k0",)),
    ("scaled_modified_bessel_k1", 1, ("scaled_modified_bessel_k1",)),
    ("spherical_bessel_j0", 1, ("spherical_bessel_j0",)), ("airy_ai", 1, ("airy_ai",)),
    ("zeta", 1, ("zeta",)),
    # membership: a binary search among the test values (``_pointwise_op``, as bucketize);
    # a Vandermonde matrix: a product an output; renorm: each slice's norm (a multiply-add
    # a value), then a scale (3 with the compare with maxnorm)
    ("isin", 1, ("isin",)), ("vander", 1, ("vander",)), ("renorm", 3, ("renorm",)),
    # quantize-dequantize (quantization-aware training): a scale, a rounding, a clamp and
    # the scale back
    ("fake_quantize_per_tensor_affine", 4, ("fake_quantize_per_tensor_affine",)),
    ("fake_quantize_per_channel_affine", 4, ("fake_quantize_per_channel_affine",)),
    # (h227: refused before) a quantization a value: a scale, a rounding (the zero point added)
    # and a clamp; a dynamic one's range first (a min and a max compare a value); a
    # dequantization: the zero point subtracted and the scale.  The hardware models price
    # every op at their own operand width (accel's precision_bits, SPRING's fixed point):
    # the integer values a quantized tensor holds cost what a float's do there.
    ("quantize_per_tensor", 3, ("quantize_per_tensor",)),
    ("quantize_per_channel", 3, ("quantize_per_channel",)),
    ("quantize_per_tensor_dynamic", 5, ("quantize_per_tensor_dynamic",)),
    ("dequantize", 2, ("dequantize",)),
    # a complex number made of two parts (a copy a value); of a magnitude and angle (a
    # cosine and a sine, each scaled)
    ("complex", 1, ("complex",)), ("polar", 2, ("polar",)),
)
_SPECIAL = ("exp2", "expm1", "erf", "erfc", "erfinv", "logit", "log1p", "round", "sinc",
            "xlogy", "i0", "digamma", "polygamma", "erfcx", "ndtr", "ndtri", "log_ndtr", "i0e",
            "i1", "i1e", "entr", "xlog1py", "gammainc", "gammaincc", "bessel_j0", "bessel_j1",
            "bessel_y0", "bessel_y1", "modified_bessel_i0", "modified_bessel_i1",
            "modified_bessel_k0", "modified_bessel_k1", "scaled_modified_bessel_k0",
            "scaled_modified_bessel_k1", "spherical_bessel_j0", "airy_ai", "zeta")
POINTWISE = {f: (kind, ops) for kind, ops, names in _POINTWISE
             for f in tensor_forms(names) + [getattr(torch.special, n) for n in names
                                       if n in _SPECIAL and hasattr(torch.special, n)]}
POINTWISE[torch.linalg.cross] = ("cross", 2)
POINTWISE[torch.linalg.vander] = ("vander", 1)
POINTWISE.update({torch.special.gammaln: ("lgamma", 1), torch.special.psi: ("digamma", 1),
                  torch.special.multigammaln: ("mvlgamma", 1)})
# (h209: they were free) the orthogonal polynomials of degree n, torch.special's: each value
# runs its own recurrence (ATen's native/Math.h).  (kind, element ops a step, the degree past
# which a Chebyshev one takes its closed form for x in its domain, that form's ops): the
# three-term step p_{k+1} = (a_k x + b_k) p_k - c_k p_{k-1} is a multiply and a
# multiply-subtract for the Chebyshev and Hermite ones (constant coefficients, 2), the
# coefficient's adds and a divide by k + 1 too for Laguerre and Legendre (4); n - 1 steps
# for degree n (0 and 1: one op, a constant or x).  Past the degree, cos(n acos x) is 3 ops
# (acos, a multiply, a cosine), U, V, W's sine or cosine quotient 5 (the shifted ones one
# more, x + x - 1).  x outside (-1, 1) still recurs: priced as in it (a lower bound).
_POLYNOMIALS = (
    ("chebyshev_polynomial_t", 2, 6, 3), ("chebyshev_polynomial_u", 2, 8, 5),
    ("chebyshev_polynomial_v", 2, 8, 5), ("chebyshev_polynomial_w", 2, 8, 5),
    ("shifted_chebyshev_polynomial_t", 2, 6, 4), ("shifted_chebyshev_polynomial_u", 2, 6, 6),
    ("shifted_chebyshev_polynomial_v", 2, 6, 6), ("shifted_chebyshev_polynomial_w", 2, 4, 6),
    ("hermite_polynomial_h", 2, None, 0), ("hermite_polynomial_he", 2, None, 0),
    ("laguerre_polynomial_l", 4, None, 0), ("legendre_polynomial_p", 4, None, 0))
POLYNOMIALS = {kind: (step, limit, closed) for kind, step, limit, closed in _POLYNOMIALS
               if hasattr(torch.special, kind)}
POINTWISE.update({getattr(torch.special, kind): (kind, 1) for kind in POLYNOMIALS})


def polynomial_ops(kind: str, n: int) -> int:
    """Element ops of one value of the ``POLYNOMIALS`` ``kind`` of degree ``n``."""
    step, limit, closed = POLYNOMIALS[kind]
    if n < 2:
        return 1
    if limit is not None and n > limit:
        return closed
    return step * (n - 1)


# the function host_ops replays for each kind (torch's, else torch.special's)
POINTWISE_FUNCS = {kind: getattr(torch, kind, None) or getattr(torch.special, kind)
                   for kind in [*(k for k, _, _ in _POINTWISE), *POLYNOMIALS]}
# reflected operators: ``a.__rpow__(b)`` is ``b ** a``, replayed as torch.pow(b, a); a
# tensor's ``x.polygamma(n)`` is torch.polygamma(n, x)
REFLECTED = frozenset(f for f in (getattr(_T, n, None) for n in (
    "__rpow__", "__rmod__", "__rfloordiv__", "__rlshift__", "__rrshift__", "polygamma",
    "polygamma_")) if f is not None)


# losses and distances (h203: they were free)
# (kind, element ops per value of its largest operand, the function): a difference and its
# square or |.| added (mse, l1, a distance), a piecewise one more (smooth l1, huber), a
# product and a softplus or log and an add (soft margin, kl_div), a cosine's three
# multiply-adds (x.y, |x|^2, |y|^2), logits' sigmoid and log terms (4); every operand read,
# the output (reduced or not) written.  host_ops replays the function on the call's arguments
_PAIRED = (
    ("mse_loss", 2, nn.functional.mse_loss), ("l1_loss", 2, nn.functional.l1_loss),
    ("smooth_l1_loss", 3, nn.functional.smooth_l1_loss),
    ("huber_loss", 3, nn.functional.huber_loss),
    ("soft_margin_loss", 3, nn.functional.soft_margin_loss),
    ("kl_div", 3, nn.functional.kl_div),
    ("hinge_embedding_loss", 2, nn.functional.hinge_embedding_loss),
    ("binary_cross_entropy_with_logits", 4, nn.functional.binary_cross_entropy_with_logits),
    ("cosine_similarity", 3, nn.functional.cosine_similarity),
    ("pairwise_distance", 2, nn.functional.pairwise_distance), ("dist", 2, torch.dist),
    # the trapezoid rule: neighbours added, scaled and summed (or scanned)
    ("trapezoid", 2, torch.trapezoid), ("trapz", 2, torch.trapz),
    ("cumulative_trapezoid", 2, torch.cumulative_trapezoid),
    # central differences along one dimension (a subtract and a scale a value)
    ("gradient", 2, torch.gradient),
    # a log-softmax (one op a value, as nn.LogSoftmax) and its sum into the loss; a
    # probability's two logs and multiply-adds; a margin (a difference, a product, a max);
    # a Gaussian's log variance and scaled square; a triplet's two distances
    ("cross_entropy", 2, nn.functional.cross_entropy),
    ("binary_cross_entropy", 4, nn.functional.binary_cross_entropy),
    ("margin_ranking_loss", 3, nn.functional.margin_ranking_loss),
    ("multi_margin_loss", 3, nn.functional.multi_margin_loss),
    ("multilabel_soft_margin_loss", 3, nn.functional.multilabel_soft_margin_loss),
    ("cosine_embedding_loss", 4, nn.functional.cosine_embedding_loss),
    ("poisson_nll_loss", 3, nn.functional.poisson_nll_loss),
    ("gaussian_nll_loss", 4, nn.functional.gaussian_nll_loss),
    ("triplet_margin_loss", 4, nn.functional.triplet_margin_loss),
    # a pick of each target's value and its sum: one op a target (``_pointwise_op``)
    ("nll_loss", 1, nn.functional.nll_loss),
)
PAIRED = {f: (kind, ops) for kind, ops, f in _PAIRED}
PAIRED[_T.dist] = ("dist", 2)
PAIRED_FUNCS = {kind: f for kind, _, f in _PAIRED}
