"""GrowPruneSchedule's bounds on its count and scale fields, and the growth round of an
H-LSTM pinned to its result (the speed-up of the growth phase must not change what grows)."""
import time

import pytest
import torch

from synth.errors import ConfigError, UserError
from synth.grow_prune import GrowPruneSchedule


@pytest.mark.parametrize("field, value, message", [
    ("growth_batches", 10 ** 12, "growth_batches must be in [1, 1000], got 1000000000000"),
    ("neuron_growth", 10 ** 12, "neuron_growth must be in [0, 100000], got 1000000000000"),
    ("growth_init", 1e300, "growth_init must be in [0, 10.0], got 1e+300"),
    ("birth_strength", 1e300, "birth_strength must be in (0, 10.0], got 1e+300"),
    ("max_loss_rise", 1e300, "max_loss_rise must be in [0, 1000.0], got 1e+300"),
])
def test_schedule_count_and_scale_fields_are_bounded(field, value, message):
    """A typo of 10**12 growth batches ran for days (one forward and backward pass each);
    a growth_init or birth_strength of 1e300 made the grown weights inf and training NaN.
    Each is now a one-line error naming the field and its range, before any work."""
    start = time.monotonic()
    with pytest.raises(ConfigError) as err:
        GrowPruneSchedule(growth_rounds=1, **{field: value})
    assert time.monotonic() - start < 1.0
    assert str(err.value) == message and "\n" not in str(err.value)
    with pytest.raises(UserError, match=field):            # the dict edge (--schedule JSON)
        GrowPruneSchedule.from_dict({"growth_rounds": 1, field: value})


def test_schedule_bounds_accept_their_limits():
    GrowPruneSchedule(growth_rounds=1, growth_batches=1000, neuron_growth=100_000,
                      growth_init=10.0, birth_strength=10.0, max_loss_rise=1000.0)


# ---------------------------------------------------------------- growth of an H-LSTM, pinned
import torch.nn.functional as F   # noqa: E402

from synth import grow_prune, masked   # noqa: E402
from synth.models import build, hlstm   # noqa: E402
from synth.sequences import time_shift   # noqa: E402


def _hlstm_on_gunpoint(dormant_gates=()):
    """A small dropout H-LSTM on the bundled gunpoint set, masked at 1/4 density (every gate
    unit has connections: no dormant one) except the gates named, whose units 0 and 1 are
    made dormant (no input, no output) for neuron growth to fill."""
    from synth.data import load_dataset
    data = load_dataset("gunpoint", seed=0)
    torch.manual_seed(0)
    model = build({"family": "hlstm", "hidden": [6], "gate_hidden": 4, "dropout": 0.2,
                   "frame": 15}, data.input_shape, data.num_classes)
    masked.attach_masks(model, masked.random_masks(model, 0.25, 0))
    with torch.no_grad():
        for k in dormant_gates:
            gate = model.rnn.layers[0].gates[k]
            gate.hid.parametrizations.weight[0].mask[:2] = False
            gate.out.parametrizations.weight[0].mask[:, :2] = False
    return model, data


def _shifted(model, x, y):          # DiabDeep's loss: draws from the global generator
    return F.cross_entropy(model(time_shift(x, 0.1)), y)


def _old_grow(model, data, schedule, round_, loss_fn):
    """``grow_prune.grow`` as it was: a bridge gradient for every pair, used or not."""
    kw = dict(batches=schedule.growth_batches, batch_size=schedule.batch_size,
              seed=schedule.seed + 1000 + round_, loss_fn=loss_fn)
    x, y = data.x_train, data.y_train
    neurons = 0
    for pair in masked.linear_pairs(model):
        bridge = masked.bridge_gradients(model, x, y, pair, **kw)
        neurons += masked.grow_neurons(model, bridge, pair, schedule.neuron_growth,
                                       schedule.birth_strength)
    grads = masked.accumulate_gradients(model, x, y, **kw)
    grown = masked.grow_connections(model, grads, schedule.growth_ratio, schedule.growth_init)
    return {"grown_connections": grown, "grown_neurons": neurons}


@pytest.mark.parametrize("dormant_gates", [(), ("f", "o")])
def test_growth_round_grows_what_it_grew_before(dormant_gates):
    """A growth round skips the bridge gradients of pairs without a dormant unit (they were
    computed and thrown away: 4 of DiabDeep's 5 gradient sweeps per round) but makes their
    random draws, so the same connections and neurons grow, to the same weights, and the
    random stream ends where it did."""
    schedule = GrowPruneSchedule(growth_rounds=1, prune_steps=0, growth_batches=3,
                                 neuron_growth=2, batch_size=16, retrain_epochs=0)
    results = []
    for grow in (grow_prune.grow, _old_grow):
        model, data = _hlstm_on_gunpoint(dormant_gates)
        torch.manual_seed(7)
        info = grow(model, data, schedule, 0, loss_fn=_shifted)
        results.append((info, model.state_dict(), torch.rand(4)))
    (new, state, after), (old, old_state, old_after) = results
    assert new == old and new["grown_connections"] > 0
    assert new["grown_neurons"] == 2 * len(dormant_gates)
    assert state.keys() == old_state.keys()
    assert all(torch.equal(state[k], old_state[k]) for k in state)
    assert torch.equal(after, old_after)


def test_growth_round_without_dormant_units_runs_one_gradient_sweep():
    """Backward passes of a growth round whose pairs have no dormant unit: growth_batches
    (the connection gradient), not 5 x growth_batches as before (4 thrown-away bridges)."""
    schedule = GrowPruneSchedule(growth_rounds=1, prune_steps=0, growth_batches=3,
                                 neuron_growth=2, batch_size=16, retrain_epochs=0)
    model, data = _hlstm_on_gunpoint()
    with_grad = []

    def counting(m, x, y):
        with_grad.append(torch.is_grad_enabled())
        return _shifted(m, x, y)

    info = grow_prune.grow(model, data, schedule, 0, loss_fn=counting)
    assert info["grown_neurons"] == 0
    assert sum(with_grad) == 3 and len(with_grad) == 15


def test_hlstm_step_skips_module_calls_and_computes_the_same_bits(monkeypatch):
    """Without hooks, an H-LSTM step calls its gates' operations on weights read once per
    sequence instead of 4 x 3 module calls per step; outputs, gradients (masked weights
    included) and random draws equal the module path's (taken when a hook watches a gate,
    as bridge gradients and FLOP counting need) bit for bit, in training and evaluation."""
    import copy
    model, data = _hlstm_on_gunpoint()
    x, y = data.x_train[:16], data.y_train[:16]
    calls = []
    forward = hlstm.GateNet.forward
    monkeypatch.setattr(hlstm.GateNet, "forward",
                        lambda self, z: calls.append(1) or forward(self, z))

    def run(hooked):
        m = copy.deepcopy(model)
        for k in hlstm.GATES if hooked else ():
            m.rnn.layers[0].gates[k].hid.register_forward_hook(lambda *a: None)
        torch.manual_seed(3)
        m.train()
        out = m(x)
        F.cross_entropy(out, y).backward()
        grads = [p.grad.clone() for p in m.parameters()]
        m.eval()
        return out.detach(), grads, m(x).detach(), torch.rand(4)

    fast = run(hooked=False)
    assert calls == []                                  # no GateNet module call at all
    slow = run(hooked=True)
    assert len(calls) == 2 * 4 * 10                     # 2 passes x 4 gates x 150/15 steps
    assert torch.equal(fast[0], slow[0]) and torch.equal(fast[2], slow[2])
    assert all(torch.equal(a, b) for a, b in zip(fast[1], slow[1]))
    assert torch.equal(fast[3], slow[3])


def test_lstm_step_skips_the_hh_module_call_and_computes_the_same_bits(monkeypatch):
    """The LSTM's per-step W_hh product is ``addmm`` on the transposed weight read once per
    sequence (no module call per step) unless a hook watches ``hh``; same bits either way."""
    import copy
    torch.manual_seed(1)
    model = build({"family": "lstm", "hidden": [5, 4], "frame": 2}, (3, 12), 3)
    masked.attach_masks(model, masked.random_masks(model, 0.5, 0))
    x, y = torch.randn(8, 3, 12), torch.randint(0, 3, (8,))
    calls = []
    forward = torch.nn.Linear.forward
    monkeypatch.setattr(torch.nn.Linear, "forward",
                        lambda self, z: calls.append(1) or forward(self, z))

    def run(hooked):
        m = copy.deepcopy(model)
        for layer in m.rnn.layers if hooked else ():
            layer.hh.register_forward_hook(lambda *a: None)
        out = m(x)
        F.cross_entropy(out, y).backward()
        return out.detach(), [p.grad.clone() for p in m.parameters()]

    fast = run(hooked=False)
    assert len(calls) == 3                    # ih of each layer and the head, no hh
    slow = run(hooked=True)
    assert len(calls) == 3 + 3 + 2 * 6        # and hh at each of 12 / 2 steps, per layer
    assert torch.equal(fast[0], slow[0])
    assert all(torch.equal(a, b) for a, b in zip(fast[1], slow[1]))


def test_growth_phase_with_retraining_equals_the_old_path(monkeypatch):
    """Two growth rounds with their retraining, as DiabDeep's edge growth runs them: the new
    path (bridges skipped, H-LSTM steps without module calls) ends with the very weights,
    masks and history of the old one (every bridge computed, module calls: a hook on each
    gate forces them)."""
    schedule = GrowPruneSchedule(seed_density=0.25, growth_rounds=2, neuron_growth=2,
                                 growth_batches=2, prune_steps=0, retrain_epochs=1,
                                 lr=3e-3, optimizer="adam", batch_size=32, device="cpu")
    results = []
    for old in (False, True):
        from synth.data import load_dataset
        data = load_dataset("gunpoint", seed=0)
        torch.manual_seed(0)
        model = build({"family": "hlstm", "hidden": [6], "gate_hidden": 4, "dropout": 0.2,
                       "frame": 15}, data.input_shape, data.num_classes)
        if old:
            monkeypatch.setattr(grow_prune, "grow", _old_grow_with_train_xy)
            for gate in model.rnn.layers[0].gates.values():
                gate.register_forward_hook(lambda *a: None)
        model, history = grow_prune.grow_and_prune(model, data, schedule, loss_fn=_shifted)
        results.append((model.state_dict(), history))
    (state, history), (old_state, old_history) = results
    assert history == old_history and history[-1]["grown_connections"] > 0
    assert all(torch.equal(state[k], old_state[k]) for k in state)


def _old_grow_with_train_xy(model, data, schedule, round_, *, loss_fn=None, train_xy=None):
    assert train_xy is None
    return _old_grow(model, data, schedule, round_, loss_fn)
