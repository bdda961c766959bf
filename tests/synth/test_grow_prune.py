"""The grow-and-prune schedule and entry point on a tiny MLP and the digits set."""
import pytest
import torch

from synth import masked
from synth.errors import ConfigError
from synth.grow_prune import GrowPruneSchedule, grow_and_prune
from synth.models import build


@pytest.mark.parametrize("values,message", [
    ({"prune_fraction": 1.5}, r"prune_fraction must be in \(0, 1\), got 1.5"),
    ({"prune_fraction": 0}, r"prune_fraction must be in \(0, 1\), got 0"),
    ({"growth_ratio": -0.1}, r"growth_ratio must be in \(0, 100\], got -0.1"),
    ({"seed_density": 0.0}, r"seed_density must be in \(0, 1\], got 0.0"),
    ({"criterion": "random"}, "criterion must be one of magnitude, layerwise, lamp, got 'random'"),
    ({"retrain_epochs": 1.5}, r"retrain_epochs must be an integer in \[0, 10000\], got 1.5"),
    ({"growth_rounds": 0, "prune_steps": 0}, "both 0"),
    ({"prune_every": 3}, "unknown config key 'prune_every'"),
])
def test_schedule_validation_names_the_value(values, message):
    with pytest.raises(ConfigError, match=message):
        GrowPruneSchedule.from_dict(values)


def _model(data, hidden=(32,)):
    torch.manual_seed(0)
    return build({"family": "mlp", "hidden": list(hidden)}, data.input_shape, data.num_classes)


def test_pruning_phase_history_and_exact_fractions(digits):
    model = _model(digits)
    schedule = GrowPruneSchedule(prune_steps=3, prune_fraction=0.5, retrain_epochs=1,
                                 criterion="magnitude", device="cpu")
    model, history = grow_and_prune(model, digits, schedule)
    assert [r["phase"] for r in history] == ["start", "prune", "prune", "prune"]
    conns = [r["connections"] for r in history]
    total = 64 * 32 + 32 * 10
    assert conns[0] == total
    for a, b in zip(conns, conns[1:]):
        assert b == a - round(0.5 * a)
    assert all(r["nonzero_flops"] == r["connections"] for r in history)  # MLP: 1 MAC/weight
    assert all(r["flops"] == total for r in history)   # the architecture's MACs, all weights
    assert history[-1]["nonzero_parameters"] < history[0]["nonzero_parameters"]
    assert 0.0 <= history[-1]["test_accuracy"] <= 1.0 and history[-1].get("final")
    assert masked.sparsity(model)["total"] == pytest.approx(1 - conns[-1] / total)


def test_accuracy_floor_reverts_the_failing_step(digits):
    model = _model(digits)
    schedule = GrowPruneSchedule(prune_steps=3, prune_fraction=0.9, retrain_epochs=0,
                                 accuracy_floor=0.99, device="cpu")
    masked.attach_masks(model)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    model, history = grow_and_prune(model, digits, schedule)
    assert [r["phase"] for r in history] == ["start", "reverted"]
    for k, v in model.state_dict().items():
        assert torch.equal(v, before[k])


def test_seed_has_dormant_units_and_no_dangling_inputs(digits):
    model = _model(digits, hidden=(24, 12))
    masks = masked.random_masks(model, 0.3, seed=1, unit_fraction=0.5)
    live1 = masks["net.1"].any(1)
    assert int(live1.sum()) == 12
    assert not masks["net.3"][:, ~live1].any()          # no input from a dormant unit
    assert masks["net.5"].any(1).all()                  # every class keeps an input


def test_growth_from_a_sparse_seed_adds_connections_and_neurons(digits):
    model = _model(digits, hidden=(24, 12))
    schedule = GrowPruneSchedule(seed_density=0.05, seed_units=0.5, growth_rounds=2, growth_ratio=0.5,
                                 growth_batches=3, neuron_growth=2, prune_steps=1,
                                 prune_fraction=0.2, retrain_epochs=1, device="cpu")
    model, history = grow_and_prune(model, digits, schedule)
    grow_rows = [r for r in history if r["phase"] == "grow"]
    assert len(grow_rows) == 2
    assert grow_rows[0]["connections"] > history[0]["connections"]
    assert grow_rows[1]["connections"] > grow_rows[0]["connections"]
    assert all(r["grown_connections"] > 0 for r in grow_rows)
    assert grow_rows[0]["grown_neurons"] == 4      # 2 per Linear pair, 2 pairs
    assert history[-1]["phase"] == "prune"


def test_prune_and_regrow_keeps_the_net_fraction_and_removes_dead_weights(digits):
    model = _model(digits)
    schedule = GrowPruneSchedule(prune_steps=2, prune_fraction=0.5, regrow_fraction=0.1,
                                 remove_dead=True, retrain_epochs=1, device="cpu")
    model, history = grow_and_prune(model, digits, schedule)
    conns = [r["connections"] for r in history]
    for row, a, b in zip(history[1:], conns, conns[1:]):
        assert row["regrown"] > 0
        assert b == a - row["pruned"] + row["regrown"] - row["dead"]
        assert b <= a - round(0.5 * a) + 1        # rounding of the per-layer regrowth share
    with pytest.raises(ConfigError, match="regrow_fraction must be in"):
        GrowPruneSchedule(prune_fraction=0.6, regrow_fraction=0.5)
