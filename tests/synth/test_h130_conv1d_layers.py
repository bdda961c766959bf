"""The convnet1d family (Conv1d -> BatchNorm1d -> ReLU over (C, L)) through the toolkit's
layer walks: MACs, prunable layers and masks, grow-and-prune's moves, compaction,
data-free filter pruning and fixed point.  Before, each walked Linear/Conv2d only: a
convnet1d_small on basicmotions counted 128 MACs (its head), masked only its classifier,
and compaction refused it for residual sums it does not have."""
import pytest
import torch
from torch import nn

from synth.models import build, count_flops, prunable_layers

SHAPE = (6, 100)    # basicmotions: 6 channels x 100 steps, 4 classes
SMALL = {"family": "convnet1d", "widths": [16, 32], "kernels": [5, 5], "strides": [1, 2],
         "bn": True, "pool": "avg", "hidden": []}


def test_count_flops_counts_conv1d_by_hand():
    model = build("convnet1d_small", SHAPE, 4)
    # Conv1d MACs = out_channels * L_out * in_channels/groups * k; head 32 x 4
    by_hand = 16 * 100 * 6 * 5 + 32 * 50 * 16 * 5 + 32 * 4
    assert by_hand == 176_128
    assert count_flops(model, SHAPE) == by_hand
    flat = build({**SMALL, "bn": False, "pool": "flatten", "hidden": [12]}, SHAPE, 4)
    assert count_flops(flat, SHAPE) == 48_000 + 128_000 + 32 * 50 * 12 + 12 * 4


@pytest.mark.parametrize("layer,shape,by_hand", [
    # Conv3d: 4 out x 3x3x3 positions x 2 in x 27 taps
    (nn.Conv3d(2, 4, 3), (2, 5, 5, 5), 4 * 27 * 2 * 27),
    # grouped Conv1d: 8 out x 10 steps x (4 in / 2 groups) x 3 taps
    (nn.Conv1d(4, 8, 3, padding=1, groups=2), (4, 10), 8 * 10 * 2 * 3),
    # transposed: each input value meets out/groups x k weights: 3 x 10 inputs x 4 x 3
    (nn.ConvTranspose1d(3, 4, 3, stride=2), (3, 10), 3 * 10 * 4 * 3),
    (nn.ConvTranspose2d(2, 6, 2, stride=2, groups=2), (2, 4, 4), 2 * 16 * 3 * 4),
])
def test_count_flops_counts_every_convolution(layer, shape, by_hand):
    assert count_flops(layer, shape) == by_hand


def test_conv1d_layers_are_prunable():
    model = build("convnet1d_small", SHAPE, 4)
    names = [n for n, _ in prunable_layers(model)]
    assert names == ["features.0", "features.3", "classifier.0"]


def test_masks_cover_conv1d_and_sparse_flops_counts_their_steps():
    from synth.masked import attach_masks, connections, masked_layers, sparse_flops
    model = build("convnet1d_small", SHAPE, 4)
    attach_masks(model)
    assert [n for n, _, _ in masked_layers(model)] == ["features.0", "features.3",
                                                        "classifier.0"]
    assert sparse_flops(model, SHAPE) == count_flops(model, SHAPE) == 176_128
    w = masked_layers(model)[1][2].mask        # features.3: (32, 16, 5)
    w[:, 8:] = False                           # half its inputs: 32 x 8 x 5 weights left
    assert connections(model) == 16 * 6 * 5 + 32 * 8 * 5 + 32 * 4
    # each remaining weight of the second conv is used at its 50 output steps
    assert sparse_flops(model, SHAPE) == 48_000 + 32 * 8 * 5 * 50 + 128


def test_fixed_point_rounds_conv1d_outputs():
    from synth.quant import QuantConfig, attach_inference
    model = build({**SMALL, "bn": False}, SHAPE, 4).eval()
    hooks = attach_inference(model, QuantConfig(int_bits=4, frac_bits=3))
    seen = []   # registered after the rounding hook: sees the output it passes on
    model.features[0].register_forward_hook(lambda m, i, o: seen.append(o))
    with torch.no_grad():
        model(torch.randn(2, *SHAPE))
    hooks.detach()
    steps = seen[0] * 2 ** 3                # on the grid of step 2^-3: whole numbers
    assert torch.equal(steps, steps.round()) and seen[0].abs().max() <= 8


def _randomized(model, seed=0):
    """Non-trivial BatchNorm statistics and affine terms (a trained model's, not 0/1)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.BatchNorm1d):
                m.running_mean.copy_(torch.randn(m.num_features, generator=g) * 0.3)
                m.running_var.copy_(torch.rand(m.num_features, generator=g) + 0.5)
                m.weight.copy_(torch.rand(m.num_features, generator=g) + 0.5)
                m.bias.copy_(torch.randn(m.num_features, generator=g) * 0.3)
    return model.eval()


@pytest.mark.parametrize("change", [
    {},                                                            # BN, avg pool
    {"bn": False, "pool": "flatten", "hidden": [12]},              # biases, flattened steps
    {"pool": "max", "kernels": [3, 1]},                            # a 1-tap conv: folds
])
def test_compact_shrinks_a_masked_convnet1d_to_the_same_function(change):
    from synth.compact import compact
    from synth.masked import attach_masks, masked_layers
    model = _randomized(build({**SMALL, **change}, SHAPE, 4))
    attach_masks(model)
    first, second, _ = [m.mask for _, _, m in masked_layers(model)][:3]
    first[:4] = False               # 4 filters of the first conv read nothing,
    second[:, 12:] = False          # 4 more are read by nobody,
    second[:8] = False              # and 8 filters of the second conv read nothing
    x = torch.randn(5, *SHAPE)
    with torch.no_grad():
        want = model(x)
        small = compact(model)
        got = small(x)
    assert small.spec["family"] == "convnet1d"
    assert small.spec["widths"][0] <= 12 and small.spec["widths"][1] <= 32
    assert sum(small.spec["widths"]) < sum(model.spec["widths"])
    assert len(small.spec["kernels"]) == len(small.spec["widths"])
    torch.testing.assert_close(got, want, rtol=1e-4, atol=1e-5)


def test_only_resnet_is_refused_for_residual_sums():
    from synth.compact import check_compactable
    from synth.errors import UserError
    check_compactable("convnet1d")
    with pytest.raises(UserError, match=r"'resnet' \(residual sums tie layer widths\)"):
        check_compactable("resnet")
    with pytest.raises(UserError) as e:
        check_compactable("transformer")
    assert "residual" not in str(e.value)


def test_dfprune_removes_conv1d_filters_exactly():
    """A filter of a Conv1d is an output channel, as for a Conv2d: removing a set of them
    computes what the full model computes with those channels silenced (BN scale and
    shift 0: ReLU(0) = 0 reaches the next layer)."""
    from synth.dfprune import prunable_groups, remove_channels
    model = _randomized(build(SMALL, SHAPE, 4))
    groups = prunable_groups(model)
    assert [(g.name, g.size, g.consumers) for g in groups] == [
        ("features.0", 16, ["features.3"]), ("features.3", 32, ["classifier.0"])]
    keep = {"features.0": torch.arange(0, 16, 2), "features.3": torch.arange(5, 29)}
    small = remove_channels(model, groups, keep).eval()
    assert small.spec["widths"] == [8, 24] and small.spec["kernels"] == [5, 5]
    silenced = build(SMALL, SHAPE, 4)
    silenced.load_state_dict(model.state_dict())
    silenced.eval()
    with torch.no_grad():
        for name, g in zip(("features.1", "features.4"), groups):
            gone = torch.ones(g.size, dtype=torch.bool)
            gone[keep[g.name]] = False
            bn = dict(silenced.named_modules())[name]
            bn.weight[gone] = 0.0
            bn.bias[gone] = 0.0
        x = torch.randn(5, *SHAPE)
        torch.testing.assert_close(small(x), silenced(x), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("importance", ["magnitude", "taylor"])
def test_dfprune_prunes_a_convnet1d(importance):
    from synth.dfprune import PruneConfig, prune
    model = _randomized(build(SMALL, SHAPE, 4))
    x = torch.randn(16, *SHAPE)
    y = torch.arange(16) % 4
    result = prune(model, x, y, PruneConfig(ratio=0.5, importance=importance, device="cpu",
                                            progress=False))
    assert result.spec_after["widths"] == [8, 16]
    # MACs: 8 x 100 x 6 x 5 + 16 x 50 x 8 x 5 + 16 x 4 (Conv1d counted)
    assert result.flops_after == 24_000 + 32_000 + 64
    assert result.model(x).shape == (16, 4)


def test_grow_and_prune_masks_grows_and_prunes_conv1d_weights():
    from synth.grow_prune import GrowPruneSchedule, grow_and_prune
    from synth.masked import masked_layers
    from tests.synth.test_h116_sequence_inversion import SHAPE as SEQ, sequence_set
    torch.manual_seed(0)
    data = sequence_set()
    model = build({**SMALL, "widths": [8, 16]}, SEQ, 3)
    schedule = GrowPruneSchedule(seed_density=0.5, seed_units=0.75, growth_rounds=1,
                                 growth_ratio=0.2, growth_batches=2, prune_steps=1,
                                 prune_fraction=0.3, criterion="magnitude",
                                 regrow_fraction=0.1, retrain_epochs=0, device="cpu")
    model, history = grow_and_prune(model, data, schedule)
    layers = {n: (layer, m) for n, layer, m in masked_layers(model)}
    assert list(layers) == ["features.0", "features.3", "classifier.0"]
    start, grown, pruned = history
    assert grown["grown_connections"] > 0 and pruned["pruned"] > 0
    conv0, conv1 = layers["features.0"][1].mask, layers["features.3"][1].mask
    assert conv0.shape == (8, 3, 5) and conv1.shape == (16, 8, 5)
    dense = 8 * 3 * 5 + 16 * 8 * 5 + 16 * 3
    assert start["connections"] < 0.6 * dense
    assert pruned["connections"] < grown["connections"]
    # every masked weight is zero, in the conv layers too
    for layer, m in layers.values():
        assert not layer.weight[~m.mask].any()
    assert pruned["nonzero_flops"] < pruned["flops"] == count_flops(model, SEQ)
