"""Grow-and-prune on the recurrent families: hand-made growth/pruning cases, gradients over
time against torch.nn.LSTM, compaction with equal outputs, a short schedule on real data."""
import pytest
import torch
from torch import nn

from synth import masked
from synth.compact import compact
from synth.models import build


def _mask(layer):
    return layer.parametrizations.weight[0].mask


def _informative_channel_data(n=96, t=6, seed=0):
    """Channel 0 carries the label's sign, channels 1 and 2 are exactly zero."""
    gen = torch.Generator().manual_seed(seed)
    y = torch.randint(0, 2, (n,), generator=gen)
    x = torch.zeros(n, 3, t)
    x[:, 0] = (2.0 * y - 1).view(-1, 1) + 0.3 * torch.randn(n, t, generator=gen)
    return x, y


@pytest.mark.parametrize("family", ["lstm", "hlstm"])
def test_growth_picks_exactly_the_informative_input_connections(family):
    torch.manual_seed(0)
    h = 4
    spec = {"family": family, "hidden": [h]} | ({"gate_hidden": 3, "dropout": 0.0}
                                               if family == "hlstm" else {})
    model = build(spec, (3, 6), 2)
    masked.attach_masks(model)
    first = ([("rnn.layers.0.ih", model.rnn.layers[0].ih)] if family == "lstm" else
             [(f"rnn.layers.0.gates.{k}.hid", model.rnn.layers[0].gates[k].hid) for k in "ifgo"])
    with torch.no_grad():   # input connections: only the useless channel 1 is active
        for _, lin in first:
            _mask(lin)[:, :3] = False
            _mask(lin)[:, 1] = True
            if family == "hlstm":
                lin.bias.fill_(1.0)      # every gate unit's ReLU is open: gradients flow
    x, y = _informative_channel_data()
    grads = masked.accumulate_gradients(model, x, y, batches=3, batch_size=32)
    only_first = {n: grads[n] for n, _ in first}
    lin0 = first[0][1]
    ratio = lin0.out_features / int(_mask(lin0).sum())       # grow exactly one column's worth
    masked.grow_connections(model, only_first, ratio=ratio)
    for _, lin in first:
        # channel 0 (the signal) grows in every row; channel 2 (always zero: G = 0) never
        assert _mask(lin)[:, 0].all() and not _mask(lin)[:, 2].any()


def test_lstm_growth_gradient_is_the_gradient_through_time_of_torch_lstm():
    torch.manual_seed(3)
    model = build({"family": "lstm", "hidden": [5]}, (3, 7), 2)
    masked.attach_masks(model)
    layer = model.rnn.layers[0]
    with torch.no_grad():
        _mask(layer.hh)[::2] = False            # dormant recurrent connections
    x, y = _informative_channel_data(n=32, t=7)
    g = masked.accumulate_gradients(model, x, y, batches=1, batch_size=32, seed=0)
    ref = nn.LSTM(3, 5, batch_first=True)
    with torch.no_grad():
        ref.weight_ih_l0.copy_(layer.ih.weight), ref.bias_ih_l0.copy_(layer.ih.bias)
        ref.weight_hh_l0.copy_(layer.hh.weight), ref.bias_hh_l0.copy_(layer.hh.bias)
    order = torch.randperm(32, generator=torch.Generator().manual_seed(0))
    xb, yb = x[order], y[order]
    loss = nn.functional.cross_entropy(model.head(ref(xb.transpose(1, 2))[0][:, -1]), yb)
    expected = torch.autograd.grad(loss, ref.weight_hh_l0)[0]
    assert torch.allclose(g["rnn.layers.0.hh"], expected, atol=1e-6)
    assert (g["rnn.layers.0.hh"][::2] != 0).any()           # dormant ones have a gradient


def test_pruning_removes_exactly_the_smallest_gate_connections():
    torch.manual_seed(0)
    model = build({"family": "lstm", "hidden": [4]}, (3, 5), 2)
    masked.attach_masks(model)
    hh = model.rnn.layers[0].hh
    with torch.no_grad():
        for _, lin, _ in masked.masked_layers(model):
            masked.original_weight(lin).copy_(1.0 + torch.rand_like(lin.weight))
        w = masked.original_weight(hh)
        w[2:4, 1] = 1e-3           # forget-gate rows (4..7 are f; 2, 3 are i) -> tiny
        w[9, 0] = -2e-3            # a candidate-gate (g) connection
    total = masked.connections(model)
    removed = masked.prune_connections(model, 3 / total, "magnitude")
    assert removed == 3
    dead = (~_mask(hh)).nonzero().tolist()
    assert sorted(dead) == [[2, 1], [3, 1], [9, 0]]
    assert masked.connections(model) == total - 3


def _sparse_trained(family, seed=0):
    torch.manual_seed(seed)
    spec = ({"family": "lstm", "hidden": [6, 5]} if family == "lstm" else
            {"family": "hlstm", "hidden": [6, 5], "gate_hidden": 4, "dropout": 0.3})
    model = build(spec, (3, 8), 3)
    masked.attach_masks(model)
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for _, lin, m in masked.masked_layers(model):
            m.mask &= torch.rand(m.mask.shape, generator=gen) < 0.5
            lin.bias.uniform_(-0.5, 0.5, generator=gen)
        layers = model.rnn.layers
        if family == "lstm":
            _mask(layers[0].hh)[:, 1] = False          # cell 1 of layer 0: nobody reads it
            _mask(layers[1].ih)[:, 1] = False
            _mask(model.head)[:, 2] = False            # cell 2 of layer 1: nobody reads it
            _mask(layers[1].hh)[:, 2] = False
        else:
            g = layers[0].gates
            _mask(g["f"].hid)[1] = False               # gate unit without inputs (folded)
            _mask(g["i"].out)[:, 2] = False            # gate unit without outputs
            for k in "ifgo":                           # cell 3 of layer 0: nobody reads it
                _mask(g[k].hid)[:, 3 + 3] = False
                _mask(layers[1].gates[k].hid)[:, 3] = False
    return model.eval()


@pytest.mark.parametrize("family", ["lstm", "hlstm"])
def test_compaction_removes_dead_units_and_keeps_outputs(family):
    model = _sparse_trained(family)
    x = torch.randn(10, 3, 8)
    small = compact(model)
    assert torch.allclose(small(x), model(x), atol=1e-5)
    if family == "lstm":
        assert small.spec["hidden"][0] <= 5 and small.spec["hidden"][1] <= 4
    else:
        assert small.spec["hidden"][0] <= 5
    if family == "hlstm":
        widths = small.spec["gate_hidden"][0]
        assert widths[1] <= 3 and widths[0] <= 3    # the folded f unit and the silent i unit
    from synth.models import count_parameters
    assert count_parameters(small) < count_parameters(model)
    assert masked.connections(small) <= masked.connections(model)


def test_neuron_growth_bridges_only_within_a_gate():
    model = build({"family": "hlstm", "hidden": [4], "gate_hidden": 3}, (2, 5), 2)
    masked.attach_masks(model)
    pairs = masked.linear_pairs(model)
    assert pairs == [(f"rnn.layers.0.gates.{k}.hid", f"rnn.layers.0.gates.{k}.out")
                     for k in "ifgo"]                 # never (gates.o.out, head)
    assert masked.linear_pairs(build("lstm32", (2, 5), 2)) == []


def test_grow_and_prune_schedule_on_a_real_sequence_set():
    from synth.data import load_dataset
    from synth.grow_prune import GrowPruneSchedule, grow_and_prune
    from synth.train import evaluate
    data = load_dataset("basicmotions", seed=0)
    torch.manual_seed(0)
    model = build({"family": "hlstm", "hidden": [8], "gate_hidden": 4, "frame": 10},
                  data.input_shape, data.num_classes)
    schedule = GrowPruneSchedule(seed_density=0.5, growth_rounds=1, growth_ratio=0.3,
                                 growth_batches=2, neuron_growth=1, prune_steps=2,
                                 prune_fraction=0.3, retrain_epochs=1, lr=0.01,
                                 optimizer="adam", batch_size=16, device="cpu",
                                 accuracy_floor=0.0)
    model, history = grow_and_prune(model, data, schedule)
    assert [r["phase"] for r in history] == ["start", "grow", "prune", "prune"]
    grow = history[1]
    assert grow["grown_connections"] > 0 and grow["connections"] > history[0]["connections"]
    assert history[-1]["connections"] < grow["connections"]
    # MACs: every step of the 10 frames reads the nonzero gate weights
    assert history[-1]["nonzero_flops"] < history[-1]["flops"]
    model.eval()
    small = compact(model)
    assert torch.allclose(small(data.x_test), model(data.x_test), atol=1e-5)
    assert evaluate(small, data.x_test, data.y_test)["accuracy"] == history[-1]["test_accuracy"]


def test_bridge_gradient_sums_over_the_steps_of_a_gate():
    """NeST's G_mn for a gate's hid -> out pair = dL/dB at B = 0 for a direct connection B
    from the gate input z_t to the gate pre-activation, shared by every step."""
    torch.manual_seed(4)
    model = build({"family": "hlstm", "hidden": [3], "gate_hidden": 2, "dropout": 0.0}, (2, 6), 2)
    masked.attach_masks(model)
    x, y = torch.randn(16, 2, 6), torch.randint(0, 2, (16,))
    pair = ("rnn.layers.0.gates.f.hid", "rnn.layers.0.gates.f.out")
    g = masked.bridge_gradients(model, x, y, pair, batches=1, batch_size=16, seed=0)
    gate = model.rnn.layers[0].gates["f"]
    direct = torch.zeros(3, 2 + 3, requires_grad=True)
    plain = gate.forward
    gate.forward = lambda z: plain(z) + nn.functional.linear(z, direct)
    order = torch.randperm(16, generator=torch.Generator().manual_seed(0))
    nn.functional.cross_entropy(model(x[order]), y[order]).backward()
    assert torch.allclose(g, direct.grad, atol=1e-6)


def _tiny_sequence_set(n=64, t=6):
    from synth.data import Dataset
    x, y = _informative_channel_data(n=n + 32, t=t)
    return Dataset("tiny", x[:n], y[:n], x[n:n + 16], y[n:n + 16], x[n + 16:], y[n + 16:],
                   (3, t), 2, ["a", "b"], [0.0] * 3, [1.0] * 3)


def test_pruning_stops_when_validation_loss_rises():
    """Accuracy stays perfect on this easy set, so only ``max_loss_rise`` (nats) can stop
    pruning 80% of the connections of a network trained to a low loss."""
    import copy

    from synth.grow_prune import GrowPruneSchedule, grow_and_prune
    from synth.train import TrainConfig, fit
    data = _tiny_sequence_set()
    torch.manual_seed(0)
    trained = build({"family": "lstm", "hidden": [6]}, data.input_shape, 2)
    fit(trained, data, TrainConfig(epochs=10, lr=0.05, optimizer="adam", batch_size=32,
                                   device="cpu", progress=False))
    for rise, phases in [(0.0, ["start", "prune"]), (1e-9, ["start", "reverted"])]:
        schedule = GrowPruneSchedule(prune_steps=1, prune_fraction=0.8, retrain_epochs=0,
                                     max_accuracy_drop=1.0, max_loss_rise=rise, device="cpu",
                                     criterion="magnitude")
        model, history = grow_and_prune(copy.deepcopy(trained), data, schedule)
        assert [r["phase"] for r in history] == phases
        assert history[0]["val_accuracy"] == history[1]["val_accuracy"] == 1.0
        assert history[1]["val_loss"] > history[0]["val_loss"]   # pruning did raise the loss
    # undone: the network computes what it computed before the step
    model.eval(), trained.eval()
    assert torch.equal(model(data.x_val), trained(data.x_val))


def test_time_shift_moves_each_window_within_the_bound():
    from synth.sequences import time_shift
    x = torch.arange(20.0).view(1, 1, 20).repeat(50, 2, 1)
    x[:, 1] *= -1
    out = time_shift(x, 0.1, generator=torch.Generator().manual_seed(0))
    assert out.shape == x.shape and torch.equal(time_shift(x, 0.0), x)
    shifts = set()
    for row in out:                       # one shift per window, the same in every channel
        s = int(row[0, 10] - 10)
        shifts.add(s)
        assert abs(s) <= 2 and torch.equal(row[1], -row[0])
        assert torch.equal(row[0], (torch.arange(20.0) + s).clamp(0, 19))   # edges repeat
    assert len(shifts) > 1


def test_shift_select_keeps_the_variant_with_the_lower_validation_loss():
    """``shift_select`` trains each neural model with and without the time shift and keeps
    the one with the lower validation cross-entropy; every row records both and the choice."""
    from synth.diabdeep import DiabDeepConfig, run_diabdeep
    data = _tiny_sequence_set(t=10)
    tiny = dict(dataset="tiny", steps=5, server_hidden=(8,), edge_hidden=4, gate_hidden=3,
                epochs=2, batch_size=16, growth_rounds=1, neuron_growth=1, growth_batches=2,
                prune_steps=1, retrain_epochs=1, final_epochs=1, latency_repeats=1,
                baselines=("mlp", "lstm1"), shift_augment=0.3)
    result = run_diabdeep(DiabDeepConfig(shift_select=True, **tiny), data=data)
    for row in result["rows"]:
        variants = row["shift_variants"]
        assert [v["shift_augment"] for v in variants] == [0.3, 0.0], row["model"]
        assert variants[0]["val_loss"] != variants[1]["val_loss"]   # the shift changed training
        kept = min(variants, key=lambda v: (v["val_loss"], -v["val_accuracy"]))
        assert row["shift_augment"] == kept["shift_augment"]
        assert row["val_accuracy"] == kept["val_accuracy"]           # the kept model is measured
    # both choices occur on this set, so the selection is not a constant
    assert {row["shift_augment"] for row in result["rows"]} == {0.3, 0.0}
    # without the flag: one variant, the configured shift
    plain = run_diabdeep(DiabDeepConfig(**{**tiny, "baselines": ()}), data=data)
    assert all([v["shift_augment"] for v in row["shift_variants"]] == [0.3]
               for row in plain["rows"])
