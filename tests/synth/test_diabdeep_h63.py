"""DiabDeep's neuron growth: the config claims it only when units can grow, and then they do.

DiabDeep's schedule set ``neuron_growth=4``, but its seed came from ``masked.random_masks``
with every hidden unit live and at least one connection per unit, so ``masked.dormant_units``
found none in any pair (server MLP layers, H-LSTM gates) and growth grew no unit while the
config said it did.  ``synth.diabdeep.seed_masks`` now leaves ``1 - seed_units`` of the
units of every bridge pair dormant (the H-LSTM's gates too, which ``random_masks`` refuses),
and growth fills them by gradient.  Measured at equal training budget (5 sets, 4-5 seeds,
benchmarks/results/diabdeep.md, 2026-12-04) growing units was no more accurate than not,
so the default no longer grows any (``neuron_growth=0``, ``seed_units=1``)."""
import pytest
import torch

from synth import masked
from synth.data import load_dataset
from synth.diabdeep import DiabDeepConfig, frame_for, run_diabdeep, seed_masks, specs, synthesize
from synth.models import build

# DiabDeep's default schedule (seed density, seed units, growth rounds, neuron growth) on
# networks small enough for a test
TINY = dict(dataset="basicmotions", steps=10, server_hidden=(16, 8), edge_hidden=6,
            gate_hidden=8, epochs=2, growth_batches=1, prune_steps=0, final_epochs=0,
            latency_repeats=2, baselines=())


@pytest.fixture(scope="module")
def data():
    return load_dataset("basicmotions", seed=0)


def _model(kind, config, data):
    torch.manual_seed(config.seed)
    return build(specs(config, frame_for(data, config.steps))[kind], data.input_shape,
                 data.num_classes)


GROWN = dict(TINY, seed_units=0.5, neuron_growth=4)    # the measured neuron-growth variant


def test_default_config_claims_no_neuron_growth():
    """Before: neuron_growth 4 with a seed that had no dormant unit (none ever grew)."""
    config = DiabDeepConfig()
    assert config.neuron_growth == 0 and config.seed_units == 1.0
    assert config.schedule("grow").neuron_growth == 0


@pytest.mark.parametrize("kind", ["server", "edge"])
def test_neuron_growth_grows_units_from_a_seed_with_dormant_ones(kind, data):
    """Before: every growth row said grown_neurons 0 (no dormant unit in any pair), and an
    H-LSTM could not be seeded with dormant units (random_masks refuses seed_units < 1)."""
    config = DiabDeepConfig(**GROWN)
    _, history = synthesize(kind, data, config, frame_for(data, config.steps))
    grown = [r["grown_neurons"] for r in history if r["phase"] == "grow"]
    assert len(grown) == config.growth_rounds and sum(grown) > 0


def test_neuron_growth_without_dormant_units_says_so(data, caplog):
    config = DiabDeepConfig(**{**GROWN, "seed_units": 1.0})
    with caplog.at_level("WARNING", logger="synth.diabdeep"):
        _, history = synthesize("edge", data, config, frame_for(data, config.steps))
    assert sum(r["grown_neurons"] for r in history if r["phase"] == "grow") == 0
    assert "no unit will grow (set seed_units < 1)" in caplog.text


def test_report_row_says_how_many_units_grew(data):
    result = run_diabdeep(DiabDeepConfig(**GROWN), data=data)
    rows = {r["model"]: r for r in result["rows"]}
    for kind in ("server", "edge"):
        grown = sum(r["grown_neurons"] for r in result["histories"][kind] if r["phase"] == "grow")
        assert rows[f"{kind}_diabnn"]["grown_neurons"] == grown > 0


def test_hlstm_seed_has_dormant_gate_units_and_no_dangling_ones(data):
    config = DiabDeepConfig(**TINY, seed_units=0.5)
    model = _model("edge", config, data)
    masked.attach_masks(model, seed_masks(model, config))
    pairs = masked.linear_pairs(model)
    assert len(pairs) == 4                                   # one per gate: hid -> out
    named = {n: m.mask for n, _, m in masked.masked_layers(model)}
    for a, b in pairs:
        hid, out = named[a], named[b]
        dormant = masked.dormant_units(model, (a, b))
        assert len(dormant) == 4                             # half of the 8 gate units
        live = torch.ones(hid.shape[0], dtype=torch.bool)
        live[dormant] = False
        assert hid[live].any(1).all() and out[:, live].any(0).all()   # live: in and out
        assert out.any(1).all()                              # every gate output is fed
    # the input layer, the recurrent reads and the classifier keep their seed density
    assert 0 < masked.connections(model) < sum(m.numel() for m in named.values())


def test_all_units_live_is_the_plain_random_seed(data):
    """seed_units 1: the masks grow_and_prune drew before (same runs, same results)."""
    config = DiabDeepConfig(**TINY, seed_units=1.0)
    for kind in ("server", "edge"):
        model = _model(kind, config, data)
        ours = seed_masks(model, config)
        plain = masked.random_masks(model, config.seed_density, config.seed)
        assert ours.keys() == plain.keys()
        assert all(torch.equal(ours[k], plain[k]) for k in ours)


def test_seed_units_is_validated():
    from synth.errors import ConfigError
    with pytest.raises(ConfigError, match="seed_units must be in"):
        DiabDeepConfig(seed_units=0)
