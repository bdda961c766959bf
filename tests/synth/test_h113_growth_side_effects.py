"""h113: the growth passes (gradients for growth, bridges, replayed draws) read the model; they
must not move BatchNorm's running statistics (an eval output changed by 0.06 after one pass)."""
import pytest
import torch

from synth import masked
from synth.data import Dataset
from synth.grow_prune import GrowPruneSchedule, grow
from synth.models import build


def _data(n=128, d=6, c=3, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, d, generator=g) * 2 + 1   # far from BN's initial (0, 1) statistics
    y = torch.randint(0, c, (n,), generator=g)
    return Dataset("tiny", x, y, x[:32], y[:32], x[32:64], y[32:64], (d,), c,
                   [str(i) for i in range(c)], [0.0] * d, [1.0] * d)


def _bn_model(momentum=0.1):
    torch.manual_seed(0)
    model = build({"family": "mlp", "hidden": [8, 8], "bn": True, "dropout": 0.0}, (6,), 3)
    for m in model.modules():
        if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
            m.momentum = momentum
    masked.attach_masks(model, masked.random_masks(model, 0.5, 0, unit_fraction=0.75))
    return model.eval()


def _snapshot(model):
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def _assert_same(model, before, x, out_before):
    after = model.state_dict()
    assert set(after) == set(before)
    for k, v in before.items():
        assert torch.equal(after[k], v), k          # bit-identical, buffers included
    assert not model.training and all(not m.training for m in model.modules())
    with torch.no_grad():
        assert torch.equal(model(x), out_before)


@pytest.mark.parametrize("momentum", [0.1, None])   # None: cumulative average
@pytest.mark.parametrize("which", ["accumulate", "bridge", "replay"])
def test_a_gradient_pass_leaves_every_buffer_and_the_eval_output_as_they_were(which, momentum):
    data = _data()
    model = _bn_model(momentum)
    before = _snapshot(model)
    with torch.no_grad():
        out = model(data.x_test)
    kw = dict(batches=3, batch_size=32, seed=1)
    if which == "accumulate":
        grads = masked.accumulate_gradients(model, data.x_train, data.y_train, **kw)
        assert any(g.abs().sum() > 0 for g in grads.values())   # gradients were computed
    elif which == "bridge":
        pair = masked.linear_pairs(model)[0]
        g = masked.bridge_gradients(model, data.x_train, data.y_train, pair, **kw)
        assert g.abs().sum() > 0
    else:
        masked.replay_draws(model, data.x_train, data.y_train, **kw)
    _assert_same(model, before, data.x_test, out)


def test_gradients_use_batch_statistics_as_before():
    """BN stays in train mode for the gradient (NeST): G equals the gradient of the loss of
    the model in train mode, computed by hand on a copy."""
    import copy
    import torch.nn.functional as F
    data = _data()
    model = _bn_model()
    ref = copy.deepcopy(model).train()
    F.cross_entropy(ref(data.x_train), data.y_train).backward()
    # one batch of the whole training set (in another order: the same batch statistics)
    grads = masked.accumulate_gradients(model, data.x_train, data.y_train, batches=1,
                                        batch_size=len(data.y_train), seed=1)
    for name, layer, _ in masked.masked_layers(ref):
        orig = masked.original_weight(layer)
        # d/d(original) = G * mask; G itself includes the dormant entries
        assert torch.allclose(grads[name] * layer.parametrizations.weight[0].mask, orig.grad,
                              atol=1e-6)


def test_growth_round_with_no_retraining_changes_only_the_grown_weights():
    """retrain_epochs=0: a growth round's measured accuracy was that of the grown weights with
    running statistics moved by the gradient passes."""
    data = _data()
    model = _bn_model()
    before = _snapshot(model)
    schedule = GrowPruneSchedule(growth_rounds=1, prune_steps=0, neuron_growth=2,
                                 growth_batches=3, batch_size=32, retrain_epochs=0,
                                 device="cpu")
    info = grow(model, data, schedule, 0)
    assert info["grown_connections"] > 0
    after = model.state_dict()
    changed = {k for k in before if not torch.equal(before[k], after[k])}
    # only weights and masks of the masked layers (and a grown unit's bias) may move
    assert changed and all(".parametrizations.weight." in k or k.endswith(".bias")
                           for k in changed), changed
    assert not any("running_" in k or "num_batches" in k for k in changed)
