"""Probe h144: the compression commands' figures against independent recomputation.

``nnsynth prune`` of a compacted grow-and-prune checkpoint (grow-prune's default output: a
dense model of smaller widths whose pruned connections are zeros, saved without masks) KD
fine-tuned every weight, so the zeros came back: on basicmotions a convnet1d grow-pruned to
368 nonzero parameters (13,218 nonzero MACs) was pruned by 25% of its filters to 727
nonzero parameters and 36,135 nonzero MACs -- more than before pruning -- while the same
model saved masked (--no-compact) went to 271 and 9,591; the summary's dense counts
(1,268 -> 784) showed neither.
"""
import torch

from synth import masked
from synth.compact import compact
from synth.dfprune import PruneConfig, finetune_kd, kd_defaults, prune
from synth.distill import DistillConfig
from synth.models import build, count_parameters


def _sparse_compacted():
    torch.manual_seed(0)
    model = build({"family": "mlp", "hidden": [16, 12], "bn": True}, (1, 8, 8), 4)
    masked.attach_masks(model, masked.random_masks(model, 0.3, 0))
    return compact(model.eval())   # dense, smaller, the pruned connections as zeros


def test_prune_of_a_compacted_sparse_model_keeps_its_zeros_through_kd():
    sparse = _sparse_compacted()
    assert not masked.masked_layers(sparse)
    before = masked.connections(sparse)
    assert before < 0.5 * sum(layer.weight.numel() for _, layer in sparse.prunable_layers())
    x, y = torch.randn(32, 1, 8, 8), torch.randint(0, 4, (32,))
    res = prune(sparse, x, y, PruneConfig(ratio=0.25, importance="magnitude", progress=False,
                                          device="cpu"))
    pruned_zeros = masked.connections(res.model)
    kd = DistillConfig(**kd_defaults(sparse.input_shape), epochs=1, min_steps=0, seed=0,
                       device="cpu", progress=False)
    finetune_kd(res.model, sparse, x, kd, steps=5)
    after = masked.connections(res.model)
    # KD fine-tuning moved only the connections the sparse model has: none came back
    assert after == pruned_zeros <= before, (before, pruned_zeros, after)
    # the summary's nonzero figures are the checkpoints' (what nnsynth eval counts)
    summary = res.summary()
    assert summary["nonzero_parameters_before"] == count_parameters(sparse, nonzero=True)
    assert summary["nonzero_parameters_after"] == count_parameters(res.model, nonzero=True)
    assert summary["nonzero_flops_before"] == masked.sparse_flops(sparse, sparse.input_shape)
    assert summary["nonzero_flops_after"] == masked.sparse_flops(res.model, (1, 8, 8))
    assert summary["nonzero_parameters_after"] < summary["nonzero_parameters_before"]


def test_prune_of_a_dense_model_stays_unmasked():
    torch.manual_seed(0)
    model = build({"family": "mlp", "hidden": [16, 12]}, (1, 8, 8), 4).eval()
    res = prune(model, None, None, PruneConfig(ratio=0.25, importance="magnitude",
                                               progress=False, device="cpu"))
    assert not masked.masked_layers(res.model)
    summary = res.summary()
    assert summary["nonzero_parameters_after"] == summary["parameters_after"]
    assert summary["nonzero_flops_after"] == summary["flops_after"]
