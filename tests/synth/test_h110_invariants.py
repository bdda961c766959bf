"""h110: invariants of the connection-level methods (masks, growth, compaction, counts,
sparse execution, fixed point), checked on tiny models and random data."""
import copy

import pytest
import torch
from torch import nn

from synth import masked
from synth.compact import compact
from synth.data import Dataset
from synth.models import build, count_parameters, prunable_layers
from synth.quant import grid_range, quantize, quantize_per_tensor
from synth.sparse_exec import sparse_copy
from synth.train import TrainConfig, fit


def _tiny(n=96, d=6, c=3, seed=0):
    g = torch.Generator().manual_seed(seed)
    x, y = torch.randn(n, d, generator=g), torch.randint(0, c, (n,), generator=g)
    return Dataset("tiny", x, y, x[:20], y[:20], x[20:40], y[20:40], (d,), c,
                   [str(i) for i in range(c)], [0.0] * d, [1.0] * d)


# --- fixed point ---------------------------------------------------------------------------

@pytest.mark.parametrize("fmt,value", [((8, 16), 100.0), ((8, 16), -100.0), ((4, 20), 7.5),
                                       ((1, 23), 0.75), ((4, 16), 3.0)])
def test_stochastic_rounding_leaves_a_value_on_the_grid_where_it_is(fmt, value):
    # floor(y + u) in float32 rounded y + u to y's precision: 100.0 at 8.16 moved up a step
    # one time in four, and after_step (weights rounded after every step) made them drift
    x = torch.full((20000,), value)
    q = quantize(x, *fmt, "stochastic", torch.Generator().manual_seed(0))
    assert torch.equal(q, x)


def test_stochastic_rounding_is_unbiased_and_within_one_step():
    g = torch.Generator().manual_seed(0)
    for int_bits, frac_bits in ((4, 16), (8, 16), (2, 3)):
        lo, hi = grid_range(int_bits, frac_bits)
        step = 2.0 ** -frac_bits
        x = torch.rand(4000, generator=g) * (hi - lo - 2 * step) + lo + step
        q = quantize(x.repeat(50), int_bits, frac_bits, "stochastic", g).view(50, -1)
        assert ((q - x).abs() < step).all()
        assert torch.equal(q * 2 ** frac_bits, torch.round(q * 2 ** frac_bits))
        assert abs(float((q.mean(0) - x).mean())) < 0.01 * step   # E[Q(x)] = x
        n = quantize(x, int_bits, frac_bits, "nearest")
        assert ((n - x).abs() <= step / 2).all() and n.min() >= lo and n.max() <= hi


@pytest.mark.parametrize("tiny", [1e-38, 1e-39, 1e-44])
def test_per_tensor_scale_of_a_tiny_tensor_stays_finite(tiny):
    # 2^floor(log2(top / 1e-39)) = 2^136 is inf in float32; 0 * inf made the zeros NaN
    x = torch.tensor([0.0, tiny, -tiny / 2])
    q = quantize_per_tensor(x, 4, 16, "nearest")
    assert torch.isfinite(q).all() and q[0] == 0
    # the scale is capped at 2^127: half a step of 2^-16 / 2^127 is the error floor
    assert (q - x).abs().max() <= max(x.abs().max() * 2.0 ** -14, 2.0 ** -144)


def test_per_tensor_of_zeros_is_zeros():
    for rounding in ("nearest", "stochastic"):
        assert torch.equal(quantize_per_tensor(torch.zeros(5), 4, 16, rounding), torch.zeros(5))


# --- masks ----------------------------------------------------------------------------------

@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_pruned_weights_stay_zero_through_momentum_decay_and_adam(optimizer):
    data = _tiny()
    torch.manual_seed(0)
    model = build({"family": "mlp", "hidden": [8], "bn": True, "dropout": 0.0}, (6,), 3)
    masked.attach_masks(model, masked.random_masks(model, 0.5, 0))
    fit(model, data, TrainConfig(epochs=3, batch_size=16, lr=0.1, optimizer=optimizer,
                                 weight_decay=0.1, seed=0, device="cpu", progress=False))
    for _, layer, m in masked.masked_layers(model):
        assert (layer.weight[~m.mask] == 0).all()


def test_growth_is_the_brute_force_top_gradients_of_dormant_connections():
    data = _tiny()
    torch.manual_seed(0)
    model = build({"family": "mlp", "hidden": [8], "bn": False, "dropout": 0.0}, (6,), 3)
    masked.attach_masks(model, masked.random_masks(model, 0.3, 0))
    grads = masked.accumulate_gradients(model, data.x_train, data.y_train, batches=3,
                                        batch_size=16)
    before = {n: m.mask.clone() for n, _, m in masked.masked_layers(model)}
    grown = masked.grow_connections(model, grads, 0.5, init_scale=0.1)
    total = 0
    for name, layer, m in masked.masked_layers(model):
        k = min(int((~before[name]).sum()), round(0.5 * int(before[name].sum())))
        score = torch.where(before[name], torch.tensor(-1.0), grads[name].abs()).flatten()
        want = torch.zeros(score.numel(), dtype=torch.bool)
        want[torch.sort(score, descending=True, stable=True).indices[:k]] = True
        new = (m.mask & ~before[name]).flatten()
        assert torch.equal(new, want) and not (before[name] & ~m.mask).any()
        assert torch.equal(layer.weight.flatten()[new], -0.1 * grads[name].flatten()[new])
        total += k
    assert grown == total


# --- compaction -----------------------------------------------------------------------------

def _random_bn_and_bias(model):
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.modules.batchnorm._BatchNorm):
                m.running_mean.uniform_(-1, 1)
                m.running_var.uniform_(0.5, 2)
                m.weight.uniform_(-1, 1)
                m.bias.uniform_(-1, 1)
            elif isinstance(m, (nn.Linear, nn.Conv2d)) and m.bias is not None:
                m.bias.uniform_(-1, 1)   # a unit without inputs still outputs relu(b)


@pytest.mark.parametrize("spec,shape", [
    ({"family": "mlp", "hidden": [12, 10], "bn": False, "dropout": 0.0}, (6,)),
    ({"family": "mlp", "hidden": [12, 10], "bn": True, "dropout": 0.0}, (6,)),
    ({"family": "convnet", "widths": [6, 8], "kernels": [3, 1], "strides": [1, 2], "bn": True,
      "pool": "avg", "hidden": [7]}, (2, 6, 6)),
    ({"family": "convnet", "widths": [6, 8], "kernels": [3, 1], "strides": [1, 2], "bn": False,
      "pool": "flatten", "hidden": [7]}, (2, 6, 6)),
    ({"family": "lenet5", "channels": [4, 6], "hidden": [10, 8], "bn": True}, (1, 28, 28))])
def test_compaction_with_dead_units_biases_and_bn_keeps_the_function(spec, shape):
    torch.manual_seed(1)
    model = build(spec, shape, 5)
    _random_bn_and_bias(model)
    layers = prunable_layers(model)
    masks = {n: torch.rand(layer.weight.shape) < 0.6 for n, layer in layers}
    for i in range(len(layers) - 1):
        masks[layers[i][0]][i % 2] = False                  # no inputs (a constant)
        nxt = masks[layers[i + 1][0]]
        nxt.view(nxt.shape[0], layers[i][1].weight.shape[0], -1)[:, 3] = False   # no outputs
    masked.attach_masks(model, masks)
    model.eval()
    x = torch.randn(7, *shape)
    with torch.no_grad():
        small = compact(model)
        torch.testing.assert_close(small(x), model(x), rtol=0, atol=1e-5)
    assert masked.connections(small) <= masked.connections(model)
    assert all(a.weight.shape[0] < b.weight.shape[0] for (_, a), (_, b)
               in zip(prunable_layers(small)[:-1], layers[:-1]))


@pytest.mark.parametrize("family", ["lstm", "hlstm"])
def test_recurrent_compaction_removes_unread_cells_and_keeps_the_function(family):
    torch.manual_seed(2)
    spec = {"family": family, "hidden": [6, 5]}
    if family == "hlstm":
        spec["gate_hidden"] = 4
    model = build(spec, (3, 5), 4)
    _random_bn_and_bias(model)
    masks = {n: torch.rand(layer.weight.shape) < 0.7 for n, layer in prunable_layers(model)}
    if family == "lstm":
        masks["rnn.layers.0.hh"][:, 2] = masks["rnn.layers.1.ih"][:, 2] = False
        masks["rnn.layers.1.hh"][:, 4] = masks["head"][:, 4] = False
    else:
        for k in "ifgo":
            masks[f"rnn.layers.0.gates.{k}.hid"][:, 3 + 2] = False
            masks[f"rnn.layers.1.gates.{k}.hid"][:, 2] = False
            masks[f"rnn.layers.1.gates.{k}.hid"][:, 6 + 4] = False
        masks["head"][:, 4] = False
        masks["rnn.layers.0.gates.f.hid"][1] = False       # a gate unit without inputs
        masks["rnn.layers.1.gates.o.out"][:, 0] = False    # one without outputs
    masked.attach_masks(model, masks)
    model.eval()
    x = torch.randn(4, 3, 5)
    with torch.no_grad():
        small = compact(model)
        torch.testing.assert_close(small(x), model(x), rtol=0, atol=1e-5)
    assert small.spec["hidden"] == [5, 4]


# --- counts, save/load, sparse execution ----------------------------------------------------

@pytest.mark.parametrize("spec,shape", [
    ({"family": "mlp", "hidden": [12, 10], "bn": True, "dropout": 0.1}, (6,)),
    ({"family": "lstm", "hidden": [6]}, (3, 5)),
    ({"family": "hlstm", "hidden": [6], "gate_hidden": 4}, (3, 5)),
    ({"family": "convnet", "widths": [4], "kernels": [3], "strides": [1], "bn": True,
      "pool": "avg", "hidden": [7]}, (2, 6, 6))])
def test_counts_saved_masks_and_sparse_execution_agree_with_the_weights(spec, shape, tmp_path):
    from synth.checkpoint import load_model, save_checkpoint
    torch.manual_seed(0)
    model = build(spec, shape, 4)
    masked.attach_masks(model, masked.random_masks(model, 0.4, 0))
    model.eval()
    weights = [layer.weight for _, layer in prunable_layers(model)]
    nnz = sum(int((w != 0).sum()) for w in weights)
    assert masked.connections(model) == nnz
    assert masked.sparsity(model)["total"] == pytest.approx(1 - nnz / sum(w.numel()
                                                                       for w in weights))
    others = sum(int((p != 0).sum()) for n, p in model.named_parameters()
                 if not n.endswith(".original"))   # biases, BN affine
    assert count_parameters(model, nonzero=True) == nnz + others
    x = torch.randn(5, *shape)
    with torch.no_grad():
        dense = model(x)
        torch.testing.assert_close(sparse_copy(model)(x), dense, rtol=0, atol=1e-6)
    save_checkpoint(tmp_path / "m.pt", model, dataset={"name": "tiny"})
    loaded = load_model(tmp_path / "m.pt")
    assert masked.masks_of(loaded).keys() == masked.masks_of(model).keys()
    assert all(torch.equal(a, masked.masks_of(loaded)[k]) for k, a in masked.masks_of(model).items())
    assert masked.connections(loaded) == nnz
    with torch.no_grad():
        torch.testing.assert_close(loaded(x), dense, rtol=0, atol=0)
    copy.deepcopy(loaded)   # still a plain module
