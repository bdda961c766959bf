"""``nnsynth incremental``'s 'from scratch' row trains the dense model's architecture (h230).

A checkpoint of grow-prune is compacted by default: its spec is narrower than the dense model
it was pruned from.  With --dense-model the dense fine-tuning row trained that dense model and
the scratch row a fresh network of the compacted spec, a smaller one (wine: 941 weights for
976), so the 'cost reduction vs from scratch' compared the update with a network of another
size, and the row depended on whether the checkpoint had been compacted."""
import copy

import torch

from synth import masked
from synth.compact import compact
from synth.data import load_dataset
from synth.incremental import IncrementalConfig, compare, split_dataset
from synth.models import build, prunable_layers


def test_scratch_is_the_dense_models_architecture():
    data = load_dataset("wine")
    old, new = split_dataset(data, 0.7, seed=0)
    torch.manual_seed(0)
    dense = build({"family": "mlp", "hidden": [16]}, data.input_shape, data.num_classes)
    keep = {name: torch.ones_like(layer.weight, dtype=torch.bool)
            for name, layer in prunable_layers(dense)}
    first = prunable_layers(dense)[0][0]
    keep[first][:4] = False   # four hidden units read nothing: compaction drops them
    pruned = copy.deepcopy(dense)
    masked.attach_masks(pruned, keep)
    small = compact(pruned.eval())
    assert small.spec["hidden"] == [12]
    config = IncrementalConfig(target=0.99, max_epochs=0.3, min_steps=0, device="cpu")
    out = compare(small, old, new, config, dense_model=dense, methods=("finetune", "scratch"))
    assert out["finetune"]["connections"] == 13 * 16 + 16 * 3
    assert out["scratch"]["connections"] == out["finetune"]["connections"]
