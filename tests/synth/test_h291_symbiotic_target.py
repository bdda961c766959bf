"""Symbiotic training with a latency target (h291): the choice is sized so that its table
latency meets the target, one no candidate can meet is refused before any training, and a
target met only by giving up perplexity is said.  There was no target at all: a user with a
budget of X ms had to read the table and hope."""
import pytest

from synth.config import ConfigError
from synth.symbiotic import LatencyTable, SymbioticConfig, check_latency_target, choose_width


def row(width, best, cell="lstm"):
    return {"platform": "accel", "cell": cell, "width": width, "batch": 1, "sparsity": 0.0,
            "exec": "dense", "best_ms": best, "median_ms": best, "q1_ms": best, "q3_ms": best}


TABLE = LatencyTable([row(32, 3.0), row(64, 1.0), row(96, 4.0), row(32, 0.5, "decoder"),
                      row(64, 0.7, "decoder"), row(96, 0.9, "decoder")])
RESULTS = {("lstm", 32): {"val_perplexity": 100.5, "parameters": 10},
           ("lstm", 64): {"val_perplexity": 100.0, "parameters": 20},
           ("lstm", 96): {"val_perplexity": 99.0, "parameters": 30}}


def config(target, tolerance=0.01, layers=1):
    return SymbioticConfig(cells=("lstm",), widths=(32, 64, 96), target_perplexity=100.0,
                           tolerance=tolerance, latency_target=target, layers=layers)


def test_an_impossible_target_is_refused_naming_the_fastest_candidate():
    with pytest.raises(ConfigError) as e:
        check_latency_target(TABLE, config(1.5))   # fastest: lstm 64 + decoder = 1.7 ms
    assert e.value.field == "latency_target" and e.value.value == 1.5
    assert "lstm 64, takes 1.7 ms per 35-token sequence" in str(e.value)
    assert "accel table" in str(e.value)
    check_latency_target(TABLE, config(1.7))      # met exactly
    check_latency_target(TABLE, config(0.0))      # none


def test_the_choice_meets_the_target_when_priced_again():
    for target in (1.7, 3.5, 10.0):
        choice = choose_width(RESULTS, TABLE, config(target))
        cell, width = choice["symbiotic"]
        assert TABLE.model(cell, [width])["best_ms"] <= target
        assert choice["meets_target"] is True and not choice["target_forced"]
        assert choice["within_tolerance"] is True


def test_a_target_met_only_by_losing_perplexity_is_said():
    # tolerance 0: only lstm 96 and 64 keep perplexity (<= 100); 64 meets 1.7 ms
    choice = choose_width(RESULTS, TABLE, config(1.7, tolerance=0.0))
    assert choice["symbiotic"] == ("lstm", 64) and not choice["target_forced"]
    # perplexity 99.5 (target_perplexity 100 x 0.995): only lstm 96 keeps it, and it
    # takes 4.9 ms; the best within 3.5 ms is lstm 64, at a loss of perplexity, said
    results = dict(RESULTS)
    results[("lstm", 64)] = {"val_perplexity": 100.2, "parameters": 20}
    choice = choose_width(results, TABLE, SymbioticConfig(
        cells=("lstm",), widths=(32, 64, 96), target_perplexity=99.5, tolerance=0.0,
        latency_target=3.5))
    assert choice["symbiotic"] == ("lstm", 64)
    assert choice["target_forced"] and not choice["within_tolerance"]
    assert choice["plain"] == ("lstm", 96)   # hardware-agnostic: the target is not its


@pytest.mark.parametrize("bad", [-1.0, float("inf"), float("nan")])
def test_a_target_out_of_range_is_a_config_error(bad):
    with pytest.raises(ConfigError, match="latency_target"):
        config(bad)
