"""An iteration cap (``--iterations`` of invert, prune and continual: ``settings_for``'s
``iterations``) bounds the generator's path too, where ``settings_for`` picks it: it did
nothing there (100 warm-up steps, adaptation up to 160 and refinement up to 300 per batch
whatever the cap), and nothing said so."""
import logging

import torch

from synth import amortized
from synth.amortized import AmortizedConfig, sample, synthesize_amortized, train_generator
from synth.inversion import AMORTIZED_REFINE, balanced_labels, settings_for
from synth.models import build
from tests.synth._tiny import TINY_SPEC

SHAPE = (1, 16, 16)
RANGE = (torch.tensor([0.0]), torch.tensor([1.0]))
CAP = 6
PHASES = ("steps", "adapt_steps", "adapt_max_steps", "refine_iterations")
SMALL = {"batch_size": 16, "adapt_batch": 10, "width": 4, "latent_dim": 8}   # not phases


def _teachers():
    """16 px, untrained: a convnet with global pooling and BatchNorm2d only (refined generator
    samples) and an MLP with BatchNorm1d (a generator alone)."""
    torch.manual_seed(0)
    return [build(TINY_SPEC, SHAPE, 10).eval(), build("lenet300_100_bn", SHAPE, 10).eval()]


def test_a_cap_bounds_every_generator_phase_and_the_run():
    for teacher in _teachers():
        inv = settings_for(teacher, value_range=RANGE, iterations=CAP, device="cpu")
        assert inv.method == "amortized"
        config = AmortizedConfig.from_inversion(inv)
        assert all(getattr(config, k) <= CAP for k in PHASES), config
        assert config.warmup_steps <= config.steps and config.min_steps <= CAP
    # a real run within it: the warm-up and every batch's adaptation took at most CAP steps
    inv = settings_for(_teachers()[0], value_range=RANGE, iterations=CAP, device="cpu")
    config = AmortizedConfig.from_inversion(inv, **SMALL)
    teacher = _teachers()[0]
    generator, stats = train_generator(teacher, config, pixel_range=RANGE, seed=0)
    assert stats["steps"] <= CAP
    result = sample(generator, teacher, balanced_labels(20, 10), config, seed=1)
    assert result.stats["iterations"] and max(result.stats["iterations"]) <= CAP
    whole = synthesize_amortized(teacher, balanced_labels(10, 10), config, pixel_range=RANGE)
    report = whole.stats["iteration_cap"]   # the result says what the cap bounded
    assert report == config.iteration_report() and set(amortized.CAPPED_PHASES) == set(PHASES)
    assert report["iterations"] == CAP and report["above_cap"] == []
    assert all(v <= CAP for v in report["bounds"].values())


def test_without_a_cap_the_generator_settings_are_unchanged():
    """No cap given: settings_for's generator settings as before (the presets' 2,000 are
    above every phase), only the cap recorded."""
    for teacher in _teachers():
        inv = settings_for(teacher, value_range=RANGE, device="cpu")
        before = AmortizedConfig.from_dict({**{k: getattr(inv, k) for k in (
            "ce_weight", "bn_weight", "first_bn_multiplier", "tv_l1_weight", "tv_l2_weight",
            "l2_weight", "adi_weight", "adi_temperature", "jitter", "flip", "check_every",
            "stop_fidelity", "stop_tolerance", "min_fidelity", "early_stop", "device")},
            **(inv.amortized or {})})
        now = AmortizedConfig.from_inversion(inv)
        assert now.iteration_cap == inv.iterations == 2000
        assert now.replace(iteration_cap=0) == before
    assert settings_for(_teachers()[0], value_range=RANGE).amortized == AMORTIZED_REFINE


def test_a_phase_set_explicitly_is_kept_and_named(caplog):
    teacher = _teachers()[1]
    inv = settings_for(teacher, value_range=RANGE, iterations=CAP, device="cpu",
                       amortized={"steps": 9, **SMALL})
    config = AmortizedConfig.from_inversion(inv)
    assert config.steps == 9 and config.adapt_steps <= CAP
    report = config.iteration_report()
    assert report["above_cap"] == ["steps"]
    assert "does not bound the generator's steps 9" in amortized.iteration_note(report)
    with caplog.at_level(logging.INFO, logger="synth.amortized"):
        result = synthesize_amortized(teacher, balanced_labels(10, 10), config,
                                      pixel_range=RANGE)
    assert result.stats["generator"]["steps"] <= 9
    assert sum("does not bound" in r.getMessage() for r in caplog.records) == 1
