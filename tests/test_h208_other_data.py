"""The algorithms on a user's own data of unusual shapes (h208).

- ``nnsynth continual --new-classes 7`` on a table of labels 3, 7, 42 (numbered 0, 1, 2 by
  the loader) was 'new classes must be in [0, 3), got 7': the number was taken as a class
  number, so the class labelled 7 could be named only by the number the loader gave it,
  which nothing printed; on labels 0, 2, 5, ``--new-classes 2`` took the class labelled 5
  without a word.  A number that is a class's label is now that class, and the result
  names the classes (``old_class_names``, ``new_class_names``).
"""
import numpy as np
import pytest
import torch

from synth.checkpoint import save_checkpoint
from synth.continual import classes_by_name
from synth.data_registry import load_dataset
from synth.models import build
from synth.train import TrainConfig, fit
from tests._cli import json_result, run


def _table(path, labels, seed=0, rows=30):
    """A CSV of 3 features; rows of ``labels[i]`` around center i."""
    rng = np.random.default_rng(seed)
    centers = np.random.default_rng(1).normal(size=(len(labels), 3)) * 4
    lines = ["a,b,c,label"]
    for center, label in zip(centers, labels):
        for x in center + rng.normal(size=(rows, 3)):
            lines.append(",".join(f"{v:.4f}" for v in x) + f",{label}")
    path.write_text("\n".join(lines) + "\n")
    return f"csv:{path}"


def test_a_number_that_is_a_label_is_that_class():
    # labels 3, 7, 42 are classes 0, 1, 2; 1 is no label: a class number
    assert classes_by_name([7, 42], ["3", "7", "42"], "--new-classes", "d") == [1, 2]
    assert classes_by_name([1], ["3", "7", "42"], "--new-classes", "d") == [1]
    # labels 0, 2, 5: 2 is the class labelled 2 (class number 1), not the one labelled 5
    assert classes_by_name([2, "5"], ["0", "2", "5"], "--new-classes", "d") == [1, 2]
    # digits' names are their numbers: unchanged
    assert classes_by_name([5, 6], [str(i) for i in range(10)], "--x", "d") == [5, 6]
    # text labels: a number is a class number, as before
    assert classes_by_name([1], ["cat", "dog"], "--x", "d") == [1]
    assert classes_by_name(None, ["3"], "--x", "d") is None


@pytest.mark.parametrize("labels,new,name", [(("3", "42", "7"), "7", "7"),
                                             (("0", "5", "2"), "2", "2")])
def test_continual_takes_a_numeric_label(tmp_path, labels, new, name):
    old_labels = [lab for lab in labels if lab != name]
    old = load_dataset(_table(tmp_path / "old.csv", old_labels))
    torch.manual_seed(0)
    model = build({"family": "mlp", "hidden": [8]}, old.input_shape, old.num_classes)
    fit(model, old, TrainConfig(epochs=1, progress=False))
    path = save_checkpoint(tmp_path / "old.pt", model.eval(), dataset=old.metadata())
    new_set = _table(tmp_path / "new.csv", labels)
    result = json_result(run(["-q", "continual", "--model", str(path), "--new-dataset", new_set,
                              "--new-classes", new, "--method", "finetune", "--epochs", "1",
                              "--min-steps", "0", "--out", str(tmp_path / "new.pt"),
                              "--json"]))
    assert result["new_class_names"] == [name]
    assert sorted(result["old_class_names"]) == sorted(old_labels)
    saved = torch.load(tmp_path / "new.pt", weights_only=True)
    assert saved["dataset"]["class_names"] == result["old_class_names"] + [name]


def test_scann_out_saves_the_connections_it_reports(tmp_path, monkeypatch):
    """`nnsynth scann --out` saved the masked MLP: units that read or feed nothing kept their
    weights in the file (breast_cancer, scheme C: checkpoint_connections 127, 158 nonzero
    weights that `nnsynth eval` counted as nonzero_flops).  It saves the compacted model."""
    import functools
    import synth.scann
    from synth.scann import ScannConfig
    fast = functools.partial(ScannConfig, epochs=3, prune_steps=3, retrain_epochs=1)
    monkeypatch.setattr(synth.scann, "ScannConfig", fast)
    out = tmp_path / "m.pt"
    scann = json_result(run(["-q", "scann", "--dataset", "breast_cancer", "--scheme", "C",
                             "--hidden", "16,8", "--out", str(out), "--json"]))
    from synth.checkpoint import load_model
    from synth.models import prunable_layers
    weights = sum(int((layer.weight != 0).sum())   # the effective (masked) weights
                  for _, layer in prunable_layers(load_model(out)))
    assert weights == scann["checkpoint_connections"]
    scored = json_result(run(["-q", "eval", "--model", str(out), "--json"]))
    assert scored["nonzero_flops"] == scann["checkpoint_connections"]
    assert scored["accuracy"] == pytest.approx(scann["test_accuracy"], abs=1e-9)


def _checkpoint(tmp_path, labels, name="old"):
    data = load_dataset(_table(tmp_path / f"{name}.csv", labels))
    torch.manual_seed(0)
    model = build({"family": "mlp", "hidden": [8]}, data.input_shape, data.num_classes)
    fit(model, data, TrainConfig(epochs=1, progress=False))
    return save_checkpoint(tmp_path / f"{name}.pt", model.eval(), dataset=data.metadata())


def _grow_prune(model, dataset, out):
    return run(["-q", "grow-prune", "--dataset", dataset, "--model", str(model),
                "--prune-steps", "1", "--retrain-epochs", "0", "--out", str(out), "--json"])


def test_grow_prune_refuses_a_set_of_another_number_of_classes(tmp_path):
    """A 3-class checkpoint grown and pruned on a file of 2 of its classes ran: label 0
    ('dog') was scored as output 0 ('cat'), and the checkpoint it saved recorded 2 classes
    for 3 outputs, which `nnsynth eval` refused."""
    from tests._cli import one_error_line
    model = _checkpoint(tmp_path, ["cat", "dog", "emu"])
    line = one_error_line(_grow_prune(model, _table(tmp_path / "two.csv", ["dog", "emu"]),
                                      tmp_path / "gp.pt"))
    assert "has 2 classes ['dog', 'emu']" in line and "predicts 3" in line, line
    assert not (tmp_path / "gp.pt").exists()


def test_grow_prune_warns_of_a_set_of_other_class_names(tmp_path):
    model = _checkpoint(tmp_path, ["cat", "dog", "emu"])
    result = json_result(_grow_prune(model, _table(tmp_path / "abc.csv", ["ant", "bee", "cow"]),
                                     tmp_path / "gp.pt"))
    assert "not the model's ['cat', 'dog', 'emu']" in result["warning"]
    # the same classes in another file: no warning
    result = json_result(_grow_prune(model, _table(tmp_path / "same.csv", ["cat", "dog", "emu"],
                                                   seed=5), tmp_path / "gp2.pt"))
    assert "warning" not in result


def test_a_model_that_predicts_one_class_is_warned(tmp_path, monkeypatch):
    """SCANN on 190 rows of one class and 10 of another pruned to 3 connections and reported
    test accuracy 0.95 and 768x fewer connections without a word: the model predicted the
    majority class for every row.  grow-prune and scann now say so (the result's
    'warning')."""
    import functools
    import synth.scann
    from synth.grow_prune import one_class_warning
    from synth.scann import ScannConfig
    model = _checkpoint(tmp_path, ["cat", "dog", "emu"])
    from synth.checkpoint import load_model
    m = load_model(model)
    data = load_dataset(_table(tmp_path / "old.csv", ["cat", "dog", "emu"]))
    assert one_class_warning(m, data) is None
    with torch.no_grad():   # output 'dog' for every input
        m.net[-1].weight.zero_()
        m.net[-1].bias.copy_(torch.tensor([0.0, 5.0, 0.0]))
    line = one_class_warning(m, data)
    assert "predicts class 'dog' for every test sample" in line and "0.3333" in line, line
    saved = save_checkpoint(tmp_path / "dog.pt", m, dataset=data.metadata())
    result = json_result(_grow_prune(saved, _table(tmp_path / "old.csv", ["cat", "dog", "emu"]),
                                     tmp_path / "gp.pt"))
    assert "predicts class 'dog' for every test sample" in result["warning"]
    # SCANN: an MLP cut to nothing predicts one class (its biases)
    fast = functools.partial(ScannConfig, epochs=1, prune_steps=0, retrain_epochs=0)
    monkeypatch.setattr(synth.scann, "ScannConfig", fast)
    monkeypatch.setattr(synth.scann, "connections", lambda model: 1)
    monkeypatch.setattr(synth.scann, "synthesize", _one_class_synthesis)
    result = json_result(run(["-q", "scann", "--dataset", "iris", "--hidden", "4", "--json"]))
    assert "for every test sample" in result["warning"], result


def _one_class_synthesis(model, data, config, floor=0.0, **_):
    from synth.grow_prune import measure
    with torch.no_grad():
        for p in model.parameters():
            p.zero_()
        model.net[-1].bias[0] = 1.0
    return model, [measure(model, data, step=0, phase="start", final=True)]


def test_secret_names_a_class_without_a_vector_by_its_name():
    """`nnsynth secret` on a table of labels c0..c34 said "class '16' (name 'c23'): the word
    'c23' has no GloVe vector": the data has no class 16 (16 is the number c23 is fitted
    as)."""
    from synth.errors import UserError
    from synth.secret import SecretClassifier
    x = np.random.default_rng(0).normal(size=(12, 2))
    y = np.arange(12) % 2
    with pytest.raises(UserError) as err:
        SecretClassifier(class_names=["cat", "zqxjvw"]).fit(x, y)
    assert str(err.value).startswith("class 'zqxjvw': the word 'zqxjvw' has no GloVe"), err.value
    # the vectors are those of the words as before
    fitted = SecretClassifier(class_names=["cat", "dog"]).fit(x, y)
    mapped = SecretClassifier(class_names={0: "cat", 1: "dog"}).fit(x, y)
    assert np.array_equal(fitted.label_vectors_, mapped.label_vectors_)
