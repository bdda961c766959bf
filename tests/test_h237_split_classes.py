"""train, grow-prune, prune and distill name a class their scored val or test split lacks,
as nnsynth eval does (``synth.workflows.split_lacks``).

Found with a CSV of 100 rows, 49 'a', 49 'b' and 2 'c': the stratified split put both 'c'
rows in train, and ``nnsynth train`` reported val_accuracy 0.625 and test_accuracy 0.55
(its best epoch chosen on that val split) with no word that neither split holds a 'c';
``nnsynth eval`` of the checkpoint said 'the test split ... holds no sample of class ['c']'."""
from synth.dfprune import PruneConfig
from synth.distill import DistillConfig
from synth.workflows import distill_checkpoint, prune_checkpoint
from tests._cli import json_result, run

VAL = "the val split of csv:{} holds no sample of class ['c']"
TEST = "the test split of csv:{} holds no sample of class ['c']: the accuracy is over the 2 of"


def _table(path):
    """A split column: class 'c' in train only."""
    rows = ["f0,f1,label,split"]
    for i in range(60):
        label, split = "ab"[i % 2], ("train", "train", "train", "val", "test")[i % 5]
        rows.append(f"{i % 7 + (3 if label == 'b' else 0)},{i % 3},{label},{split}")
    rows += ["9,9,c,train", "9,8,c,train"]
    path.write_text("\n".join(rows) + "\n")
    return path


def test_train_and_grow_prune_name_the_class_their_splits_lack(tmp_path):
    table = _table(tmp_path / "t.csv")
    result = json_result(run(["-q", "train", "--dataset", f"csv:{table}", "--model",
                              "mlp_small", "--epochs", "1", "--min-steps", "0",
                              "--out", str(tmp_path / "m.pt"),
                              "--json"]))
    assert VAL.format(table) in result["warning"], result
    assert TEST.format(table) in result["warning"], result
    result = json_result(run(["-q", "grow-prune", "--dataset", f"csv:{table}", "--model",
                              str(tmp_path / "m.pt"), "--prune-steps", "1", "--retrain-epochs",
                              "1", "--retrain-min-steps", "0", "--out", str(tmp_path / "g.pt"),
                              "--json"]))
    assert VAL.format(table) in result["warning"], result
    assert TEST.format(table) in result["warning"], result
    pruned = prune_checkpoint(tmp_path / "m.pt", tmp_path / "p.pt",
                              PruneConfig(ratio=0.5, importance="magnitude", device="cpu"),
                              kd_steps=0)
    assert TEST.format(table) in pruned["warning"], pruned
    assert VAL.format(table) not in pruned["warning"]   # prune scores no val split
    student = distill_checkpoint(tmp_path / "m.pt", "mlp_small", tmp_path / "s.pt",
                                 DistillConfig(epochs=1, min_steps=0, device="cpu"),
                                 synth_dir=_inputs(tmp_path))
    assert TEST.format(table) in student["warning"], student


def _inputs(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq
    path = tmp_path / "inputs.parquet"
    pq.write_table(pa.table({"f0": [float(i % 5) for i in range(16)],
                             "f1": [float(i % 3) for i in range(16)],
                             "label": ["abc"[i % 3] for i in range(16)]}), path)
    return path


def test_a_set_whose_splits_hold_every_class_is_not_warned(tmp_path):
    result = json_result(run(["-q", "train", "--dataset", "iris", "--model", "mlp_small",
                              "--epochs", "2", "--min-steps", "0",
                              "--out", str(tmp_path / "m.pt"), "--json"]))
    assert "warning" not in result, result
