"""``nnsynth diabdeep`` says when a model predicts one class for every test window.

On gunpoint (2 classes, 20 test windows of each) a short run's edge DiabNN scored 0.5000 by
predicting 'point' for every window, and the table showed it as any other accuracy.  Each
row now carries ``synth.grow_prune.one_class_warning``'s line (logged, in the report's row,
and under the table), the random forest's too."""
import torch

from synth.data import load_dataset
from synth.diabdeep import DiabDeepConfig, forest_row, measure, table
from synth.models import build


def _one_class_model(data):
    torch.manual_seed(0)
    model = build({"family": "mlp", "hidden": [8]}, data.input_shape, data.num_classes)
    last = [m for m in model.modules() if isinstance(m, torch.nn.Linear)][-1]
    with torch.no_grad():
        last.weight.zero_()
        last.bias.copy_(torch.tensor([0.0, 5.0]))   # class 1 for every input
    return model


def test_a_model_predicting_one_class_is_warned_in_its_row_and_the_table(caplog):
    data = load_dataset("gunpoint", seed=0)
    config = DiabDeepConfig(dataset="gunpoint", latency_repeats=2)
    row = measure("edge_diabnn", _one_class_model(data), data, config)
    share = float((data.y_test == 1).float().mean())
    assert row["test_accuracy"] == share
    assert "predicts class" in row["warning"] and f"{share:.4f}" in row["warning"]
    assert "predicts class" in caplog.text
    text = table({"rows": [row]})
    assert f"warning: edge_diabnn: {row['warning']}" in text
    torch.manual_seed(0)
    fine = build({"family": "mlp", "hidden": [8]}, data.input_shape, data.num_classes)
    if len(torch.unique(fine(data.x_test).argmax(1))) > 1:   # an untrained net of 2 classes
        assert "warning" not in measure("mlp", fine, data, config)


def test_a_forest_predicting_one_class_is_warned(monkeypatch):
    from sklearn.ensemble import RandomForestClassifier
    data = load_dataset("gunpoint", seed=0)
    config = DiabDeepConfig(dataset="gunpoint", latency_repeats=2, forest_trees=2)
    assert "warning" not in forest_row(data, config)
    monkeypatch.setattr(RandomForestClassifier, "predict",
                        lambda self, x: self.classes_[[0] * len(x)])
    assert "predicts class" in forest_row(data, config)["warning"]
