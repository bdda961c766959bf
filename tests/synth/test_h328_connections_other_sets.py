"""h328: the connection-level commands (grow-prune, SCANN, incremental, prune, continual) on
sets and families they were not developed on: a user's CSV (breast_cancer and wine with named
classes, 2 and 200 features), aeon's BasicMotions and JapaneseVowels, MLPs with and without
BatchNorm, LSTM, H-LSTM, Conv1d nets, and the families that cannot take those inputs.

Every figure probed (parameters, nonzero parameters, connections, reduction, MACs, test
accuracy) matched an independent count from the saved checkpoints.  What was wrong is tested
here.
"""
import pytest

from synth.errors import UserError


@pytest.fixture(scope="module")
def table(tmp_path_factory):
    """A user's CSV: 3 numeric features and a label column of named classes."""
    import numpy as np
    rng = np.random.default_rng(0)
    path = tmp_path_factory.mktemp("h328") / "table.csv"
    rows = ["a,b,c,label"]
    for i in range(60):
        k = i % 2
        a, b, c = rng.normal(size=3) + k
        rows.append(f"{a:.4f},{b:.4f},{c:.4f},{'yes' if k else 'no'}")
    path.write_text("\n".join(rows) + "\n")
    return f"csv:{path}"


@pytest.mark.parametrize("family", ["resnet8_w16", "convnet_small", "lstm32"])
def test_grow_prune_refuses_a_family_that_cannot_take_the_set_first(table, tmp_path, family):
    """A resnet on a table was told 'compaction supports ... pass --no-compact', and with
    --no-compact that it takes images: the family's input kind is what is wrong, said first."""
    from synth.grow_prune import GrowPruneSchedule
    from synth.workflows import grow_prune_checkpoint
    schedule = GrowPruneSchedule(prune_steps=1, retrain_epochs=1, device="cpu")
    with pytest.raises(UserError) as e:
        grow_prune_checkpoint(table, family, tmp_path / "out.pt", schedule, epochs=1,
                              progress=False)
    message = str(e.value)
    assert "takes" in message and "(features,)" in message, message
    assert "--no-compact" not in message, message
    assert not (tmp_path / "out.pt").exists()


def _pruned_mlp(data, bn: bool):
    """A trained-looking MLP of ``data``'s 2 classes with half of each layer's weights exact
    zeros and no masks: what grow-prune saves by default (compacted)."""
    import torch
    from synth.models import build, prunable_layers
    torch.manual_seed(0)
    model = build({"family": "mlp", "hidden": [6], "bn": bn}, data.input_shape, 2)
    with torch.no_grad():
        for _, layer in prunable_layers(model):
            layer.weight[torch.rand(layer.weight.shape) < 0.5] = 0.0
    return model.eval()


@pytest.mark.parametrize("bn", [False, True])
def test_continual_keeps_a_compacted_models_pruned_connections(table, bn):
    """Training on new classes revived the pruned connections of a compacted grow-prune
    checkpoint (zeros, no masks): its old layers came back dense.  They stay zero now, as
    prune's fine-tuning and grow-prune keep them; the new head rows are dense."""
    from synth.continual import ContinualConfig, learn_new_classes
    from synth.data import class_subset, load_dataset
    from synth.models import prunable_layers
    data = load_dataset(table, seed=0)
    old = _pruned_mlp(data, bn)
    zeros = {n: (l.weight == 0).clone() for n, l in prunable_layers(old)}
    new = class_subset(data, [1], offset=2)   # one more class, after the model's 2
    config = ContinualConfig(method="finetune", epochs=1, min_steps=5, lr=0.5, device="cpu",
                             progress=False)
    model, _ = learn_new_classes(old, new, config)
    for name, layer in prunable_layers(model):
        w = layer.weight.detach()
        was = zeros[name]
        assert (w[:was.shape[0]][was] == 0).all(), f"{name}: pruned connections revived"
        if name == "net." + str(len(old.net) - 1):   # the head: the new class's row is dense
            assert (w[was.shape[0]:] != 0).all()


def _ts(path, channels: int = 2, steps: int = 8) -> str:
    """A user's .ts set of 2 classes: ``channels`` x ``steps`` series."""
    import numpy as np
    rng = np.random.default_rng(1)
    lines = ["@problemName user", "@timeStamps false", "@missing false",
             "@univariate false", "@equalLength true", "@classLabel true no yes", "@data"]
    for i in range(40):
        s = rng.normal(size=(channels, steps)) + i % 2
        lines.append(":".join(",".join(f"{v:.4f}" for v in ch) for ch in s)
                     + f":{'yes' if i % 2 else 'no'}")
    path.write_text("\n".join(lines) + "\n")
    return f"ts:{path}"


@pytest.fixture(scope="module")
def table_checkpoint(table, tmp_path_factory):
    """A (pruned) MLP checkpoint of ``table`` (3 features)."""
    from synth.checkpoint import save_checkpoint
    from synth.data import load_dataset
    data = load_dataset(table, seed=0)
    path = tmp_path_factory.mktemp("h328ck") / "mlp.pt"
    save_checkpoint(path, _pruned_mlp(data, bn=False), dataset=data.metadata())
    return path


def test_a_checkpoint_given_a_set_of_other_inputs_is_one_line(table, table_checkpoint,
                                                              tmp_path):
    """grow-prune of a checkpoint, and incremental, on a set of other inputs (a wine MLP
    given basicmotions) ran the model on it first: a 'mat1 and mat2 shapes cannot be
    multiplied' traceback.  One line, as eval says it, naming the checkpoint."""
    from synth.grow_prune import GrowPruneSchedule
    from synth.incremental import IncrementalConfig
    from synth.workflows import grow_prune_checkpoint, incremental_checkpoint
    other = _ts(tmp_path / "series.ts")
    expected = f"has input shape (2, 8) but checkpoint {table_checkpoint} expects (3,)"
    with pytest.raises(UserError) as e:
        grow_prune_checkpoint(other, str(table_checkpoint), tmp_path / "gp.pt",
                              GrowPruneSchedule(prune_steps=1, device="cpu"), progress=False)
    assert expected in str(e.value), str(e.value)
    with pytest.raises(UserError) as e:
        incremental_checkpoint(str(table_checkpoint), table, other,
                               IncrementalConfig(device="cpu"))
    assert expected in str(e.value), str(e.value)
    assert not (tmp_path / "gp.pt").exists()


def test_incremental_and_continual_refuse_a_language_model_in_one_line(table, tmp_path):
    """A language model (family lm) given to incremental was told, on its own text set,
    'use it with a language model'; to continual, that DeepInversion needs BatchNorm (and
    with --method lwf, that a table has another input shape).  The family is named, as
    grow-prune names it."""
    from synth.checkpoint import save_checkpoint
    from synth.continual import ContinualConfig
    from synth.incremental import IncrementalConfig
    from synth.models import build
    from synth.workflows import continual_checkpoint, incremental_checkpoint
    path = tmp_path / "lm.pt"
    save_checkpoint(path, build({"family": "lm", "embed": 8, "hidden": [8]}, (4,), 20),
                    dataset={"name": "enwiki"})
    with pytest.raises(UserError, match=r"is a language model \(family 'lm'\): nnsynth "
                                        r"incremental grows and prunes classifiers"):
        incremental_checkpoint(str(path), "enwiki", "enwiki", IncrementalConfig(device="cpu"))
    for method in ("lwf", "deepinversion"):
        with pytest.raises(UserError, match=r"is a language model \(family 'lm'\): nnsynth "
                                            r"continual adds classes to classifiers"):
            continual_checkpoint(str(path), table, [1], tmp_path / "out.pt",
                                 ContinualConfig(method=method, device="cpu", progress=False))
    assert not (tmp_path / "out.pt").exists()


def test_growth_grows_only_connections_with_a_gradient():
    """A network dead on the batches (every ReLU off: a Conv1d net of a tiny series set
    after its dense epoch) has G = 0 on every dormant connection; growth 'grew' as many as
    its ratio asked, by index, at weight -0.1 * 0 = 0, and the history row said 36 grown
    where no weight had changed.  Only connections with a gradient are grown."""
    import torch
    from torch import nn
    from synth import masked
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(6, 4), nn.ReLU(), nn.Linear(4, 3))
    with torch.no_grad():
        model[0].bias.fill_(-100.0)          # unit outputs 0 for these inputs: dead
        model[0].bias[0] = 100.0             # but unit 0, alive
    masked.attach_masks(model, {"0": torch.rand(4, 6) < 0.5, "2": torch.rand(3, 4) < 0.5})
    before = {n: m.mask.clone() for n, _, m in masked.masked_layers(model)}
    x, y = torch.randn(64, 6), torch.randint(0, 3, (64,))
    grads = masked.accumulate_gradients(model, x, y, batches=2, batch_size=32, seed=0)
    with_gradient = sum(int((~before[n] & (grads[n] != 0)).sum()) for n in before)
    assert 0 < with_gradient < sum(int((~m).sum()) for m in before.values())   # the case
    grown = masked.grow_connections(model, grads, ratio=10.0)   # more than there are
    assert grown == with_gradient
    for name, layer, m in masked.masked_layers(model):
        new = m.mask & ~before[name]
        assert (grads[name][new] != 0).all(), name
        assert (layer.weight[new] != 0).all(), name
    # RigL's regrowth (grow-prune's regrow_fraction) chooses the same way
    for name, _, m in masked.masked_layers(model):
        m.mask.copy_(before[name])
    regrown = masked.regrow_connections(model, grads, {n: 100 for n in before})
    assert regrown == with_gradient


def test_scann_says_below_chance_for_a_minority_class():
    """SCANN on japanesevowels predicted 'speaker 9' (9.4% of the test split) for every
    sample, and its line said 0.0938 was 'at chance (0.1797, the largest class's share)'."""
    import torch
    from synth.scann import ScannConfig, shortfall_warning
    y = torch.tensor([0] * 6 + [1] * 3 + [2] * 1)    # chance: 0.6
    config = ScannConfig(scheme="C")
    line = shortfall_warning(config, 0.1, 0.8, y, ("two", 1.0))
    assert "is that class's share of the test split, below chance (0.6000" in line, line
    line = shortfall_warning(config, 0.6, 0.8, y, ("zero", 1.0))
    assert "share of the test split, at chance (0.6000" in line, line
    assert "0.3000 is below chance (0.6000" in shortfall_warning(config, 0.3, 0.8, y)
    assert "0.6000 is at chance (0.6000" in shortfall_warning(config, 0.6, 0.8, y)
