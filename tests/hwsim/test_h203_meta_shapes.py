"""sample_work's meta-device pass answers convolutions, norms, ReLU, pools, Linear, addmm,
adds, products and concatenations by their shape formulas (``hwsim.meta_shapes``), so
pricing a registered model imports neither sympy nor torch._dynamo (h203).

torch's own meta kernels for them (meta_conv, the batch_norm and addmm decompositions, the
relu/add references) import torch.fx.experimental.symbolic_shapes (sympy) and torch._dynamo:
1-3.5 s, 4-6 s on a loaded machine, of every process that priced a model (extract of
resnet8_w16 0.65 s without the bound, 4.3-6.3 s with it).  The subprocess test fails before
(both imported); the others check that the formulas are torch's: every registered variant's
bound is the same with and without them, and on random calls each answer has the shape and
dtype torch's kernel gives (a call it does not answer is passed to torch)."""
import random
import subprocess
import sys

import pytest
import torch
import torch.nn.functional as F

import hwsim.workload as workload
from hwsim.meta_shapes import shape_on_meta
from synth.models import build, list_variants

SHAPES = {"convnet": [(3, 32, 32), (1, 28, 28), (3, 9, 13)],
          "convnet1d": [(3, 40), (2, 17)], "lstm": [(4, 12), (1, 5)],
          "hlstm": [(4, 12), (2, 3)], "lenet5": [(1, 28, 28), (3, 32, 32)],
          "mlp": [(1, 28, 28), (20,)], "resnet": [(3, 32, 32), (3, 17, 23)]}
CASES = [(name, shape) for name, spec in list_variants().items()
         for shape in SHAPES[spec["family"]]]


@pytest.mark.parametrize("name, shape", CASES, ids=[f"{n}-{'x'.join(map(str, s))}"
                                                    for n, s in CASES])
def test_every_registered_variant_has_the_same_bound(monkeypatch, name, shape):
    """sample_work's (MACs, largest output) of each registered variant, with the formulas
    and with torch's kernels alone (``shape_on_meta`` answering nothing): equal."""
    model = build(name, shape, 10)
    new = workload.sample_work(model, shape)
    monkeypatch.setattr(workload, "shape_on_meta", lambda func, args, kwargs: None)
    assert new is not None and new == workload.sample_work(model, shape)


def test_pricing_registered_models_imports_neither_sympy_nor_dynamo():
    """A fresh process builds a model of every family as hwsim prices it (build_priced: its
    meta shell's bound, then the model's) and extracts its ops: sympy and torch._dynamo are
    never imported (both were, by the bound's meta pass)."""
    code = ("import sys, hwsim.workload as w\n"
            "from synth.models import list_variants\n"
            f"shapes = {dict((f, s[0]) for f, s in SHAPES.items())!r}\n"
            "seen = set()\n"
            "for name, spec in list_variants().items():\n"
            "    if spec['family'] in seen or name.startswith('resnet3'):\n"
            "        continue\n"
            "    seen.add(spec['family'])\n"
            "    s = shapes[spec['family']]\n"
            "    w.extract(w.build_priced(name, s, 10), s)\n"
            "print(sorted(seen), 'sympy' in sys.modules, 'torch._dynamo' in sys.modules)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split("]")[-1].split() == ["False", "False"], out.stdout


def _meta(*shape, dtype=torch.float32):
    return torch.empty(shape, dtype=dtype, device="meta")


def _torch(func, args, kwargs):
    """torch's own answer on the meta device: (shape, dtype), or None where it raises."""
    try:
        y = func(*args, **kwargs)
    except (RuntimeError, ValueError, TypeError, IndexError):
        return None
    return tuple(y.shape), y.dtype


def _calls(rng: random.Random):
    """Random calls of every function ``shape_on_meta`` answers, valid or not."""
    pick = rng.choice
    for _ in range(300):
        n = pick((1, 2, 3))
        cin, groups = pick((1, 2, 4, 6)), pick((1, 2))
        sizes = [pick((1, 2, 3, 5, 8, 13)) for _ in range(n)]
        x = _meta(*((pick((1, 3)),) if rng.random() < 0.8 else ()), cin, *sizes)
        k = [pick((1, 2, 3, 5)) for _ in range(n)]
        kw = {"stride": pick((1, 2, 3, [1] * n, [2] * n)),
              "padding": pick((0, 1, 2, "same", "valid", [1] * n)),
              "dilation": pick((1, 2))}
        conv = (F.conv1d, F.conv2d, F.conv3d)[n - 1]
        convt = (F.conv_transpose1d, F.conv_transpose2d, F.conv_transpose3d)[n - 1]
        w = _meta(pick((2, 4, 6)), max(cin // groups, 1) + pick((0, 0, 0, 1)), *k)
        b = pick((None, _meta(w.shape[0]), _meta(w.shape[0] + 1)))
        yield conv, (x, w, b), {**kw, "groups": groups}
        wt = _meta(cin + pick((0, 0, 1)), pick((1, 2, 3)), *k)
        yield convt, (x, wt), {"stride": pick((1, 2)), "padding": pick((0, 1)),
                               "output_padding": pick((0, 1)), "groups": pick((1, 1, 2)),
                               "dilation": pick((1, 2))}
        if n == 3:   # (3-d pools: torch's kernels)
            continue
        pool = (F.max_pool1d, F.max_pool2d)[n - 1]
        yield pool, (x, pick((1, 2, 3, [2] * n))), {
            "stride": pick((None, 1, 2, 3)), "padding": pick((0, 1, 2)),
            "dilation": pick((1, 2)), "ceil_mode": pick((False, True))}
        adaptive = (F.adaptive_avg_pool1d, F.adaptive_avg_pool2d)[n - 1]
        yield adaptive, (x, pick((1, 2, 3, (None, 2)[:n] if n == 2 else 4))), {}
        yield F.batch_norm, (x, _meta(cin), _meta(cin + pick((0, 0, 1)))), {
            "training": pick((False, True))}
        yield pick((F.relu, torch.relu, torch.sigmoid, torch.tanh)), (x,), {}
        lin = _meta(pick((1, 3)), pick((4, 5)))
        yield F.linear, (lin, _meta(pick((2, 7)), pick((4, 5))),
                         pick((None, _meta(2), _meta(7)))), {}
        yield torch.addmm, (_meta(*pick(((2,), (1, 2), (3, 2), (4,)))), _meta(3, 4),
                            _meta(pick((4, 5)), 2)), {}
        a = _meta(*pick(((3, 4), (1, 4), (4,), (3, 1), (2, 4))))
        yield pick((torch.add, torch.Tensor.__add__, torch.Tensor.__mul__, torch.mul)), (
            a, _meta(*pick(((3, 4), (4,), (1,), (3, 1))),
                     dtype=pick((torch.float32, torch.float64, torch.int64)))), {}
        yield pick((torch.cat, torch.stack)), (
            [_meta(3, 4), _meta(pick((3, 2)), 4), _meta(3, pick((4, 1)))],), {
            "dim": pick((0, 1, -1, 2, -3))}


def test_each_answer_is_torchs():
    """On 3,000 random calls, valid and not: wherever ``shape_on_meta`` answers, torch's
    own meta kernel gives the same shape and dtype (and does not raise); where it does not
    answer, torch decides.  It answers most valid calls (the pass needs them)."""
    answered = valid = 0
    for func, args, kwargs in _calls(random.Random(0)):
        mine, theirs = shape_on_meta(func, args, kwargs), _torch(func, args, kwargs)
        valid += theirs is not None
        if mine is not None:
            answered += 1
            assert (tuple(mine.shape), mine.dtype) == theirs, (func, args, kwargs)
    assert answered > 0.5 * valid
