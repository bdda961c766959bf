"""h184: the incremental update's ``growth_rounds`` counted its training rounds, growth or
none: an update with growth off (``growth_rounds=0``, or a model already at the target, which
``compare`` updates with growth off) said ``growth_rounds: 1, grown: 0``, and the benchmark's
no-growth ablation (``growth_ratio=0``) said 3 rounds.  It now counts the growth passes run;
``training_rounds`` the rounds of training."""
import pytest
import torch

from synth import masked
from synth.incremental import IncrementalConfig, compare, incremental_update, split_dataset
from synth.models import build


@pytest.fixture(scope="module")
def parts(digits):
    return split_dataset(digits, 0.6, seed=0)


def sparse_mlp(data, keep=0.5):
    torch.manual_seed(0)
    model = build({"family": "mlp", "hidden": [16]}, data.input_shape, data.num_classes)
    masked.attach_masks(model)
    masked.prune_connections(model, 1 - keep, "lamp")
    return model


def test_an_update_without_growth_reports_no_growth_round(parts):
    old, new = parts
    model = sparse_mlp(old, keep=0.2)
    config = IncrementalConfig(growth_ratio=0.5, growth_batches=1, growth_rounds=0,
                               max_epochs=0.05, replay_ratio=0.0, device="cpu")
    _, s = incremental_update(model, old, new, config, target=1.0)     # out of reach
    assert s["grown"] == 0 and s["growth_macs"] == 0
    assert s["growth_rounds"] == 0 and s["training_rounds"] == 1
    # growth_ratio 0 (benchmarks/incremental.py's no-growth ablation): rounds of training,
    # no growth pass
    _, s = incremental_update(model, old, new, config.replace(growth_rounds=3, growth_ratio=0.0,
                                                              round_epochs=0.01), target=1.0)
    assert s["grown"] == 0 and s["growth_rounds"] == 0 and s["training_rounds"] == 3
    # growth on: one pass per round, each paid for
    _, s = incremental_update(model, old, new, config.replace(growth_rounds=2,
                                                              round_epochs=0.01), target=1.0)
    assert s["growth_rounds"] == 2 == s["training_rounds"] and s["grown"] > 0
    assert s["growth_macs"] > 0


def test_a_model_at_the_target_reports_no_growth_round(parts):
    old, new = parts
    r = compare(sparse_mlp(old), old, new,
                IncrementalConfig(target=0.01, growth_batches=2, device="cpu"),
                methods=("incremental",))
    s = r["incremental"]
    assert s["grown"] == 0 and s["growth_rounds"] == 0 and s["training_rounds"] == 1
