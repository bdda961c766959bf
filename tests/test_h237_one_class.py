"""A model that predicts one class for every test sample is said so by train, prune and
distill, as grow-prune and scann say it (``synth.grow_prune.one_class_warning``).

Found with ``nnsynth train --dataset basicmotions --model hlstm32 --epochs 2``: test
accuracy 0.25, the share of the class it predicted for all 16 test windows, with no word;
``nnsynth grow-prune`` of that checkpoint then warned 'the model predicts class 'standing'
for every test sample'.  Here a table whose every feature is constant: any model of it
computes one output for every row."""
import torch

from synth.distill import DistillConfig
from synth.dfprune import PruneConfig
from synth.train import TrainConfig
from synth.workflows import distill_checkpoint, prune_checkpoint
from tests._cli import json_result, run

LINE = "for every test sample: its test accuracy"


def _table(path):
    """60 rows; the val and test ones alike but for their labels: a model computes one output
    for all of them (the first training row differs, or there would be nothing to learn)."""
    split = ["train"] * 40 + ["val"] * 8 + ["test"] * 12
    rows = ["f0,f1,label,split"] + [f"{9 if i == 0 else 1.5},2,{'a' if i % 4 else 'b'},{s}"
                                    for i, s in enumerate(split)]
    path.write_text("\n".join(rows) + "\n")
    return f"csv:{path}"


def test_train_prune_and_distill_say_a_model_predicts_one_class(tmp_path, caplog):
    data = _table(tmp_path / "flat.csv")
    result = json_result(run(["-q", "train", "--dataset", data, "--model", "mlp_small",
                              "--epochs", "1", "--min-steps", "0",
                              "--out", str(tmp_path / "m.pt"), "--json"]))
    assert LINE in result["warning"], result
    share = result["test_accuracy"]
    assert f"accuracy {share:.4f} is that class's share" in result["warning"]
    assert share in (0.25, 0.75)   # 3 of the 12 test rows are of class 'b'
    assert "the model predicts class '" in result["warning"]
    assert LINE in caplog.text
    recorded = torch.load(tmp_path / "m.pt", weights_only=True)["metrics"]
    assert LINE in recorded["warning"]

    pruned = prune_checkpoint(tmp_path / "m.pt", tmp_path / "p.pt",
                              PruneConfig(ratio=0.5, importance="magnitude", device="cpu"),
                              kd_steps=0)
    assert LINE in pruned["warning"], pruned

    synth = tmp_path / "inputs.csv"   # inputs for KD (a table of the model's columns)
    synth.write_text("f0,f1,label\n" + "".join(f"{i % 5},{i % 3},{'a' if i % 2 else 'b'}\n"
                                               for i in range(16)))
    import pyarrow.csv
    import pyarrow.parquet as pq
    pq.write_table(pyarrow.csv.read_csv(synth), tmp_path / "inputs.parquet")
    student = distill_checkpoint(tmp_path / "m.pt", "mlp_small", tmp_path / "s.pt",
                                 DistillConfig(epochs=1, min_steps=0, device="cpu"),
                                 synth_dir=tmp_path / "inputs.parquet")
    assert LINE in student["warning"], student


def test_a_model_of_several_classes_is_not_warned(tmp_path):
    import synth.workflows
    data = synth.workflows.load_dataset("iris")
    torch.manual_seed(0)
    from synth.models import build
    model = build("mlp_small", data.input_shape, data.num_classes)
    from synth.train import fit
    fit(model, data, TrainConfig(epochs=3, device="cpu"))
    metrics = {}
    synth.workflows.warn_one_class(model, data, metrics)
    assert metrics == {}
