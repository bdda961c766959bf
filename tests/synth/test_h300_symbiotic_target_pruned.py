"""A latency target is judged on the model a user may get, pruned where the table says
pruning pays (h300): on SPRING, whose sparse rows are faster than dense, a target met only
by the pruned model was refused before any training ('cannot be met ... (dense, with the
decoder)', h291), and no candidate was eligible for it."""
import pytest

from synth.config import ConfigError
from synth.symbiotic import LatencyTable, SymbioticConfig, check_latency_target, choose_width


def row(width, best, cell="lstm", sparsity=0.0):
    return {"platform": "spring", "cell": cell, "width": width, "batch": 1,
            "sparsity": sparsity, "exec": "sparse" if sparsity else "dense", "best_ms": best,
            "median_ms": best, "q1_ms": best, "q3_ms": best}


# lstm 32: dense 3.0, at 0.5 sparsity 1.0 (faster); lstm 64: dense 4.0, sparse 3.9
TABLE = LatencyTable([row(32, 3.0), row(32, 1.0, sparsity=0.5), row(64, 4.0),
                      row(64, 3.9, sparsity=0.5), row(32, 0.5, "decoder"),
                      row(64, 0.7, "decoder")])
RESULTS = {("lstm", 32): {"val_perplexity": 100.0, "parameters": 10},
           ("lstm", 64): {"val_perplexity": 99.0, "parameters": 20}}


def config(target, sparsities=(0.5,)):
    return SymbioticConfig(cells=("lstm",), widths=(32, 64), target_perplexity=100.0,
                           tolerance=0.01, latency_target=target, sparsities=sparsities)


def test_a_target_met_by_the_pruned_model_is_taken():
    check_latency_target(TABLE, config(1.5))          # lstm 32 pruned: 1.0 + 0.5
    choice = choose_width(RESULTS, TABLE, config(1.5))
    assert choice["symbiotic"] == ("lstm", 32) and choice["meets_target"]
    assert not choice["target_forced"]


def test_pruning_is_counted_only_at_the_sparsities_searched():
    with pytest.raises(ConfigError) as e:              # 0.5 is not a step: dense, 3.5 ms
        check_latency_target(TABLE, config(1.5, sparsities=(0.9,)))
    assert "lstm 32, takes 3.5 ms" in str(e.value)
    with pytest.raises(ConfigError) as e:
        check_latency_target(TABLE, config(1.4))      # below even the pruned 1.5 ms
    assert "lstm 32, takes 1.5 ms" in str(e.value) and "pruned where the table" in str(e.value)
