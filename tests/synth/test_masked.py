"""Masked layers: growth picks the highest-|G| dormant connections, pruning the smallest, masks
survive a checkpoint round trip."""
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from synth import masked
from synth.checkpoint import load_model, save_checkpoint
from synth.errors import UserError
from synth.models import build


def _mlp(hidden=(5,), inputs=4, classes=3, seed=0):
    torch.manual_seed(seed)
    return build({"family": "mlp", "hidden": list(hidden)}, (inputs,), classes)


def test_attach_masks_keeps_function_and_counts_nonzero():
    model = _mlp()
    x = torch.randn(7, 4)
    before = model(x)
    masked.attach_masks(model)
    assert torch.allclose(model(x), before)
    assert set(masked.masks_of(model)) == {"net.1", "net.3"}
    assert masked.sparsity(model)["total"] == 0.0
    masked.attach_masks(model, {"net.1": torch.zeros(5, 4, dtype=torch.bool)})
    assert masked.sparsity(model)["net.1"] == 1.0
    assert masked.connections(model) == 3 * 5


def test_attach_masks_rejects_unknown_layer_and_wrong_shape():
    model = _mlp()
    with pytest.raises(UserError, match="unknown layer 'net.9'"):
        masked.attach_masks(model, {"net.9": torch.ones(5, 4, dtype=torch.bool)})
    with pytest.raises(UserError, match=r"shape \(4, 4\)"):
        masked.attach_masks(model, {"net.1": torch.ones(4, 4, dtype=torch.bool)})


def _growth_case():
    """A 4-3 layer with 4 active connections and a hand-made gradient."""
    model = _mlp(hidden=(3,), inputs=4)
    mask = torch.tensor([[1, 1, 0, 0], [0, 0, 0, 0], [1, 0, 0, 1]], dtype=torch.bool)
    masked.attach_masks(model, {"net.1": mask})
    g = torch.tensor([[9.0, 9.0, 0.5, -0.2],     # active 9s must be ignored
                      [0.1, -3.0, 0.3, 2.0],
                      [9.0, 1.0, -0.7, 9.0]])
    return model, mask, g


def test_growth_picks_exactly_the_highest_gradient_dormant_connections():
    model, mask, g = _growth_case()
    # 4 active connections, ratio 0.5 -> the 2 dormant ones with the largest |G|: -3.0 and 2.0
    grown = masked.grow_connections(model, {"net.1": g}, ratio=0.5, init_scale=0.1)
    assert grown == 2
    new = masked.masks_of(model)["net.1"] & ~mask
    assert new.nonzero().tolist() == [[1, 1], [1, 3]]
    w = model.net[1].weight
    assert w[1, 1].item() == pytest.approx(0.3) and w[1, 3].item() == pytest.approx(-0.2)


def test_accumulated_gradient_of_dormant_connection_is_the_dense_gradient():
    model = _mlp(hidden=(3,), inputs=4)
    dense = _mlp(hidden=(3,), inputs=4)
    mask = torch.tensor([[1, 0, 1, 0], [0, 1, 1, 1], [1, 1, 0, 1]], dtype=torch.bool)
    masked.attach_masks(model, {"net.1": mask})
    with torch.no_grad():
        dense.net[1].weight.copy_(model.net[1].weight)   # same effective weights, zeros dormant
    x, y = torch.randn(32, 4), torch.randint(0, 3, (32,))
    g = masked.accumulate_gradients(model, x, y, batches=1, batch_size=32)["net.1"]
    F.cross_entropy(dense(x), y).backward()
    assert torch.allclose(g, dense.net[1].weight.grad, atol=1e-6)
    assert (g[~mask] != 0).any()                        # dormant entries are measured too
    assert model.net[1].parametrizations.weight.original.grad is None   # no step was taken


def test_pruning_removes_exactly_the_smallest_magnitudes_globally():
    model = _mlp(hidden=(2,), inputs=3, classes=2)
    masked.attach_masks(model)
    with torch.no_grad():
        model.net[1].parametrizations.weight.original.copy_(
            torch.tensor([[0.5, -0.01, 3.0], [-0.2, 0.04, 1.0]]))
        model.net[3].parametrizations.weight.original.copy_(torch.tensor([[0.03, -2.0], [0.3, 0.1]]))
    removed = masked.prune_connections(model, 0.4, "magnitude")   # 4 of 10
    assert removed == 4
    m = masked.masks_of(model)
    assert (~m["net.1"]).nonzero().tolist() == [[0, 1], [1, 1]]
    assert (~m["net.3"]).nonzero().tolist() == [[0, 0], [1, 1]]
    assert model.net[1].weight[0, 1].item() == 0.0
    # layer-wise: the same fraction in each layer, smallest first
    masked.prune_connections(model, 0.5, "layerwise")
    m = masked.masks_of(model)
    assert m["net.1"].sum() == 2 and m["net.3"].sum() == 1
    assert m["net.1"][0, 2] and m["net.1"][1, 2] and m["net.3"][0, 1]


def test_lamp_scores_rank_within_layer_and_keep_each_layers_largest():
    w = torch.tensor([1.0, -2.0, 3.0])
    s = masked._scores(w, "lamp")          # w^2 / sum of squares of weights at least as large
    assert torch.allclose(s, torch.tensor([1 / 14, 4 / 13, 1.0]))
    model = _mlp(hidden=(4,), inputs=6)
    masked.attach_masks(model)
    masked.prune_connections(model, 0.9, "lamp")
    assert all(m.any() for m in masked.masks_of(model).values())


def test_neuron_growth_bridges_the_highest_gradient_pair():
    model = _mlp(hidden=(3,), inputs=4, classes=2)
    m1 = torch.ones(3, 4, dtype=torch.bool)
    m1[2] = False                                            # unit 2 is dormant
    m2 = torch.ones(2, 3, dtype=torch.bool)
    m2[:, 2] = False
    masked.attach_masks(model, {"net.1": m1, "net.3": m2})
    pair = masked.linear_pairs(model)[0]
    assert masked.dormant_units(model, pair).tolist() == [2]
    bridge = torch.zeros(2, 4)
    bridge[1, 3] = -0.4
    assert masked.grow_neurons(model, bridge, pair, count=5, birth_strength=0.1) == 1
    masks = masked.masks_of(model)
    assert masks["net.1"][2].nonzero().tolist() == [[3]]
    assert masks["net.3"][:, 2].nonzero().tolist() == [[1]]
    assert model.net[1].weight[2, 3].item() == pytest.approx(0.2)      # sqrt(0.1 * 0.4)
    assert model.net[3].weight[1, 2].item() == pytest.approx(0.2)      # -sign(G) sqrt(...)


def test_masks_survive_save_and_load(tmp_path):
    torch.manual_seed(1)
    model = build("lenet5_half", (1, 28, 28), 10)
    masked.attach_masks(model)
    masked.prune_connections(model, 0.7, "lamp")
    model.eval()
    path = save_checkpoint(tmp_path / "m.pt", model, masks=masked.masks_of(model))
    loaded = load_model(path)
    x = torch.randn(3, 1, 28, 28)
    assert torch.equal(loaded(x), model(x))
    for (name, mask), (name2, mask2) in zip(masked.masks_of(model).items(),
                                            masked.masks_of(loaded).items()):
        assert name == name2 and torch.equal(mask, mask2)
    # the loaded model is still masked: training cannot revive a pruned connection
    opt = torch.optim.SGD(loaded.parameters(), lr=0.1)
    loaded.train()
    F.cross_entropy(loaded(x), torch.tensor([1, 2, 3])).backward()
    opt.step()
    assert masked.sparsity(loaded)["total"] == pytest.approx(masked.sparsity(model)["total"])


def test_sparse_flops_count_nonzero_macs():
    model = build({"family": "convnet", "widths": [2], "kernels": [3], "strides": [1],
                   "bn": False, "pool": "avg", "hidden": []}, (1, 4, 4), 2)
    masked.attach_masks(model, {"features.0": torch.tensor([1, 0] * 9, dtype=torch.bool)
                                .view(2, 1, 3, 3)})
    nnz_conv = 9          # 18 taps, every other one kept
    assert masked.sparse_flops(model, (1, 4, 4)) == nnz_conv * 16 + 4
    assert isinstance(model.features[0], nn.Conv2d)


def test_regrowth_picks_the_highest_gradient_dormant_connections_per_layer():
    model, mask, g = _growth_case()
    out_before = masked.masks_of(model)["net.3"].clone()
    grown = masked.regrow_connections(model, {"net.1": g, "net.3": torch.ones(3, 3)},
                                      {"net.1": 3}, init_scale=0.5)
    assert grown == 3
    new = masked.masks_of(model)["net.1"] & ~mask
    assert new.nonzero().tolist() == [[1, 1], [1, 3], [2, 1]]     # |G| 3.0, 2.0, 1.0
    assert model.net[1].weight[1, 1].item() == pytest.approx(1.5)
    assert torch.equal(masked.masks_of(model)["net.3"], out_before)   # no count: untouched


def test_remove_dead_keeps_outputs_and_drops_unused_and_constant_inputs():
    model = _mlp(hidden=(4,), inputs=5)
    m1 = torch.ones(4, 5, dtype=torch.bool)
    m1[2] = False                    # unit 2 has no inputs: its output is relu(bias), a constant
    m2 = torch.ones(3, 4, dtype=torch.bool)
    m2[:, 1] = False                 # unit 1 is read by nobody: its 5 inputs are dead
    masked.attach_masks(model, {"net.1": m1, "net.3": m2})
    x = torch.randn(64, 5)
    x[:, 4] = 0.7                    # a constant input feature (an always-black pixel)
    before = model(x)
    removed = masked.remove_dead(model, x)
    masks = masked.masks_of(model)
    assert not masks["net.1"][1].any()              # rule 1
    assert not masks["net.1"][:, 4].any()           # rule 2 on the input
    assert not masks["net.3"][:, 2].any()           # rule 2 on the input-less unit
    assert removed == 5 + 2 + 3        # unit 1's row; column 4 of units 0 and 3; unit 2's outputs
    assert torch.allclose(model(x), before, atol=1e-5)
    assert masked.remove_dead(model, x) == 0        # a fixed point
