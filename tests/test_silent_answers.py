"""Figures that were printed without an error but were wrong, or ignored an option: each test
failed before its fix (see the commit that added it)."""
import pytest
import torch

from synth.checkpoint import save_checkpoint
from synth.data import load_dataset
from synth.models import build


def _wine_checkpoint(path, split_seed: int = 3):
    """An (untrained) MLP checkpoint recording wine split with ``split_seed``."""
    torch.manual_seed(0)
    data = load_dataset("wine", seed=split_seed)
    model = build("mlp_small", data.input_shape, data.num_classes)
    save_checkpoint(path, model, dataset=data.metadata())
    return path


def _recording_seeds(monkeypatch, module):
    """Records the split seed of every load_dataset call made through ``module``."""
    seeds = []

    def recording(name, seed=0, **options):   # options: recorded=, whole= pass through
        seeds.append((name, seed))
        return load_dataset(name, seed=seed, **options)
    monkeypatch.setattr(module, "load_dataset", recording)
    return seeds


def test_grow_prune_of_a_checkpoint_keeps_its_recorded_split(tmp_path, monkeypatch):
    # nnsynth grow-prune --model w3.pt (trained with --seed 3) split wine with --seed 0: 25 of
    # its 36 "test" samples were the checkpoint's training ones (dense_test_accuracy 0.92 for
    # a model whose own test accuracy is 0.89)
    import synth.workflows as workflows
    from synth.grow_prune import GrowPruneSchedule
    from synth.train import evaluate
    ckpt = _wine_checkpoint(tmp_path / "w3.pt")
    seeds = _recording_seeds(monkeypatch, workflows)
    schedule = GrowPruneSchedule(prune_steps=1, retrain_epochs=0, seed=0, device="cpu")
    result = workflows.grow_prune_checkpoint("wine", str(ckpt), tmp_path / "g.pt", schedule,
                                             distill=False, progress=False)
    assert seeds == [("wine", 3)]
    own = load_dataset("wine", seed=3)
    model = workflows.load_model(ckpt)
    assert result["dense_test_accuracy"] == evaluate(model, own.x_test, own.y_test)["accuracy"]
    saved = torch.load(tmp_path / "g.pt", weights_only=True)
    assert saved["dataset"]["split_seed"] == 3


def test_grow_prune_of_a_spec_splits_with_seed(tmp_path, monkeypatch):
    import synth.workflows as workflows
    from synth.grow_prune import GrowPruneSchedule
    seeds = _recording_seeds(monkeypatch, workflows)
    schedule = GrowPruneSchedule(prune_steps=1, retrain_epochs=0, seed=5, device="cpu")
    workflows.grow_prune_checkpoint("wine", "mlp_small", tmp_path / "g.pt", schedule,
                                    epochs=1, distill=False, progress=False)
    assert seeds == [("wine", 5)]


def test_secret_with_a_network_keeps_its_recorded_split(tmp_path, monkeypatch):
    # nnsynth secret --model w3.pt --dataset wine fitted the regressor and chose the fusion on
    # the seed-0 split (--seed's default), whose test samples were the network's training ones
    import synth.data
    from synth.secret_eval import fuse_network
    ckpt = _wine_checkpoint(tmp_path / "w3.pt")
    seeds = _recording_seeds(monkeypatch, synth.data)
    fuse_network(str(ckpt), "wine", label_vectors="random", seed=0)
    assert seeds == [("wine", 3)]


def _subset_checkpoint(path, name):
    """An untrained MLP checkpoint of the class subset ``name`` (e.g. wine[2,0,1])."""
    torch.manual_seed(0)
    data = load_dataset(name)
    model = build("mlp_small", data.input_shape, data.num_classes)
    save_checkpoint(path, model, dataset=data.metadata())
    return path


def test_a_class_list_name_loads_relabelled_in_its_order():
    whole, sub = load_dataset("wine", seed=2), load_dataset("wine[2,0]", seed=2)
    assert sub.num_classes == 2 and sub.class_names == ["class_2", "class_0"] and sub.seed == 2
    for split in ("train", "val", "test"):
        x, y = whole.split(split)
        assert torch.equal(sub.split(split)[0], x[(y == 2) | (y == 0)])
        assert torch.equal(sub.split(split)[1], (y[(y == 2) | (y == 0)] == 0).long())


@pytest.mark.parametrize("bad", ["wine[3]", "wine[1,1]", "nope[0]"])
def test_a_bad_class_list_is_a_one_line_error(bad):
    from synth.errors import UserError
    with pytest.raises(UserError):
        load_dataset(bad)


def test_eval_of_a_continual_checkpoint_scores_its_class_order(tmp_path):
    # nnsynth continual --new-classes 9,8,7,6,5 wrote a digits[0,1,2,3,4,9,8,7,6,5] model:
    # `nnsynth eval` failed (unknown data set) and `nnsynth eval --dataset digits` scored
    # output 5 as class 5: 0.439 for a model whose accuracy is 0.508
    from synth.checkpoint import checkpoint_dataset, load_model
    ckpt = _subset_checkpoint(tmp_path / "c.pt", "wine[2,0,1]")
    model = load_model(ckpt)
    for given in (None, "wine"):
        data = checkpoint_dataset(model, given)
        assert data.name == "wine[2,0,1]"
        assert torch.equal(data.y_test, load_dataset("wine[2,0,1]").y_test)


def test_continual_takes_the_old_classes_from_a_recorded_class_list(tmp_path):
    # a model of wine[1,2] (outputs: classes 1 and 2) was taken to know classes 0 and 1
    from synth.continual import ContinualConfig
    from synth.workflows import continual_checkpoint
    ckpt = _subset_checkpoint(tmp_path / "old.pt", "wine[1,2]")
    config = ContinualConfig(method="finetune", epochs=1, device="cpu", progress=False)
    result = continual_checkpoint(str(ckpt), "wine", [0], tmp_path / "new.pt", config)
    assert result["old_classes"] == [1, 2] and result["new_classes"] == [0]


def test_incremental_cost_reduction_needs_both_methods_at_the_target(digits):
    # nnsynth incremental printed 'cost reduction of the update (MACs): 7.3% vs from scratch'
    # when neither the update nor the training from scratch reached the target (both MISSED):
    # a comparison of two spent budgets, not of costs to the same accuracy
    from synth import masked
    from synth.incremental import IncrementalConfig, compare, split_dataset
    old, new = split_dataset(digits, 0.6, seed=0)
    torch.manual_seed(0)
    model = build({"family": "mlp", "hidden": [8]}, digits.input_shape, digits.num_classes)
    masked.attach_masks(model)
    config = IncrementalConfig(target=1.0, max_epochs=0.05, growth_rounds=1, growth_batches=1,
                               check_every=256, device="cpu")
    r = compare(model, old, new, config, methods=("incremental", "scratch"))
    assert not r["incremental"]["reached"] and not r["scratch"]["reached"]
    assert r["cost_reduction_vs_scratch"] is None
    # the old model was printed as 'reached' whatever its accuracy
    assert r["before"]["reached"] is (r["before"]["val_accuracy"] >= 1.0) is False
