"""Silent wrong answers and hostile inputs found by using diabdeep / secret / scann /
incremental / export / eval as a user would (probe 5): each test failed before its fix."""
import json

import numpy as np
import pytest
import torch

from tests._cli import one_error_line, run


def _parquet(path, input_shape, rows=60, classes=3, seed=0) -> str:
    """A Parquet set without a split column: train and val splits, no test split (what a
    synthesized set is)."""
    import pyarrow as pa
    import pyarrow.parquet as pq
    width = int(np.prod(input_shape))
    x = np.random.default_rng(seed).normal(size=(rows, width)).astype(np.float32)
    channels = input_shape[0] if len(input_shape) > 1 else width
    meta = {"input_shape": list(input_shape), "num_classes": classes,
            "mean": [0.0] * channels, "std": [1.0] * channels}
    table = pa.table({"x": pa.FixedSizeListArray.from_arrays(pa.array(x.ravel()), width),
                      "label": pa.array(np.arange(rows) % classes)})
    path.mkdir(parents=True, exist_ok=True)
    pq.write_table(table.replace_schema_metadata({b"nnsynth": json.dumps(meta).encode()}),
                   path / "part.parquet")
    return f"parquet:{path}"


def _checkpoint(path, data, spec=None) -> str:
    from synth.checkpoint import save_checkpoint
    from synth.models import build
    torch.manual_seed(0)
    model = build(spec or {"family": "mlp", "hidden": [8]}, data.input_shape, data.num_classes)
    save_checkpoint(path, model, dataset=data.metadata())
    return str(path)


# --------------------------------------------------------------------------- secret
@pytest.mark.parametrize("other", ["iris[0,1]", "iris[2,1,0]"])
def test_secret_with_a_network_refuses_a_set_of_other_classes(tmp_path, other):
    """`nnsynth secret --model iris.pt --dataset 'iris[0,1]'` raised a numpy broadcast error
    (3 outputs fused with 2 label vectors); with 'iris[2,1,0]' it printed the network's
    accuracy with its outputs read as other classes (0.2 for 0.73).  `nnsynth eval` refuses
    both; secret now does the same."""
    from synth.data import load_dataset
    path = _checkpoint(tmp_path / "iris.pt", load_dataset("iris", seed=0))
    line = one_error_line(run(["secret", "--model", path, "--dataset", other,
                               "--label-vectors", "random"]))
    assert "model's outputs are its classes [0, 1, 2]" in line


def test_secret_refuses_a_set_without_a_test_split(tmp_path):
    """A synthesized (Parquet) set has no test split: `nnsynth secret --dataset parquet:...`
    died with a numpy reshape traceback."""
    name = _parquet(tmp_path / "p", (4,))
    line = one_error_line(run(["secret", "--dataset", name, "--label-vectors", "random"]))
    assert "SECRET needs" in line and "no test split" in line


# --------------------------------------------------------------------------- scann
def test_scann_refuses_a_set_without_a_test_split(tmp_path):
    """`nnsynth scann --dataset parquet:...` (no test split) died with a torch reshape
    traceback of the empty test tensor."""
    line = one_error_line(run(["scann", "--dataset", _parquet(tmp_path / "p", (4,))]))
    assert "SCANN needs" in line and "no test split" in line


def test_scann_refuses_components_that_reduce_none_ignores(tmp_path):
    """`--reduce none --components 3` kept all 13 wine features without a word."""
    line = one_error_line(run(["scann", "--dataset", "wine", "--reduce", "none",
                               "--components", "3", "--out", str(tmp_path / "s.pt")]))
    assert "--components 3" in line and "--reduce none" in line
    assert not (tmp_path / "s.pt").exists()


# --------------------------------------------------------------------------- diabdeep
TINY = {"server_hidden": [4], "edge_hidden": 2, "gate_hidden": 2, "epochs": 1,
        "growth_rounds": 1, "growth_batches": 1, "prune_steps": 1, "retrain_epochs": 1,
        "final_epochs": 0, "latency_repeats": 1, "baselines": [], "shift_augment": 0.0,
        "device": "cpu"}


def test_diabdeep_refuses_a_set_without_a_test_split(tmp_path):
    """A sequence set without a test split ran to the end and printed test accuracy nan
    for every row, with CPU latency timed on an empty batch."""
    from synth.data import load_dataset
    from synth.diabdeep import DiabDeepConfig, run_diabdeep
    from synth.errors import UserError
    name = _parquet(tmp_path / "p", (2, 6))
    data = load_dataset(name)
    with pytest.raises(UserError, match="diabdeep needs .*no test split"):
        run_diabdeep(DiabDeepConfig.from_dict({**TINY, "dataset": name}), data=data)


@pytest.mark.parametrize("field,value,phrase", [
    ("shift_select", "false", "shift_select must be true or false"),   # ran both variants
    ("latency_repeats", 10 ** 12, "latency_repeats must be in"),       # ran for days
    ("forest_trees", 10 ** 12, "forest_trees must be in"),
    ("growth_batches", 10 ** 12, "growth_batches must be in"),
    ("growth_rounds", 0, "growth_rounds must be in"),   # said 'growth_rounds and prune_steps
])                                                      # are both 0' with prune_steps 1
def test_diabdeep_options_out_of_range_are_one_line(field, value, phrase):
    line = one_error_line(run(["diabdeep", "--dataset", "gunpoint", "--options",
                               json.dumps({field: value})]))
    assert phrase in line


def test_diabdeep_prune_steps_zero_keeps_the_grown_network():
    """prune_steps 0 (grow only) was refused as 'growth_rounds and prune_steps are both 0'
    although growth_rounds was 2; now the grown network is kept unpruned."""
    from synth.data import load_dataset
    from synth.diabdeep import DiabDeepConfig, synthesize
    data = load_dataset("gunpoint", seed=0)
    config = DiabDeepConfig.from_dict({**TINY, "dataset": "gunpoint", "prune_steps": 0})
    _, history = synthesize("server", data, config, frame=10)
    assert [r["phase"] for r in history] == ["start", "grow"]
    assert history[-1].get("final")


# --------------------------------------------------------------------------- incremental
def test_incremental_refuses_old_and_new_of_other_classes(tmp_path):
    """--old 'wine[0,1]' --new 'wine[1,2]': both relabel to 0, 1, so they were merged as if
    label 1 were one class (it is class_1 in one, class_2 in the other) and every cost and
    accuracy was of meaningless labels."""
    from synth.data import load_dataset
    path = _checkpoint(tmp_path / "w.pt", load_dataset("wine[0,1]", seed=0))
    line = one_error_line(run(["incremental", "--model", path, "--old", "wine[0,1]",
                               "--new", "wine[1,2]", "--max-epochs", "1"]))
    assert "old and new data label other classes" in line


def test_incremental_refuses_old_data_of_other_classes_than_the_model(tmp_path):
    """A wine[0,1] model with --old and --new 'wine[0,2]': its output 1 (class_1) was trained
    on class_2's samples without a word."""
    from synth.data import load_dataset
    path = _checkpoint(tmp_path / "w.pt", load_dataset("wine[0,1]", seed=0))
    line = one_error_line(run(["incremental", "--model", path, "--old", "wine[0,2]",
                               "--new", "wine[0,2]", "--max-epochs", "1"]))
    assert "the model predicts wine[0,1]'s classes" in line


def test_incremental_refuses_a_set_without_a_test_split(tmp_path):
    """Without validation and test splits every method's accuracy was nan: the target was
    never 'reached' and the table printed 'test nan' for each."""
    from synth.data import load_dataset
    name = _parquet(tmp_path / "p", (4,))
    path = _checkpoint(tmp_path / "m.pt", load_dataset(name))
    line = one_error_line(run(["incremental", "--model", path, "--old", name, "--new", name,
                               "--max-epochs", "1", "--target", "0.5"]))
    assert "incremental learning needs" in line and "no test split" in line


def test_secret_refuses_class_names_that_random_vectors_ignore():
    """`--label-vectors random --class-names a,b,c` drew the same random vectors as without
    the words, and printed the words as if they were used."""
    line = one_error_line(run(["secret", "--dataset", "iris", "--label-vectors", "random",
                               "--class-names", "small,blue,large"]))
    assert "--class-names" in line and "--label-vectors random" in line


# --------------------------------------------------------------------------- .ts folders
def _ts(path, labels, channels=1, declare=None, seed=0):
    rng = np.random.default_rng(seed)
    lines = ["@problemName P", "@timeStamps false", "@univariate " + str(channels == 1).lower()]
    if declare:
        lines.append("@classLabel true " + " ".join(declare))
    lines.append("@data")
    for lab in labels:
        lines.append(":".join(",".join(f"{v:.3f}" for v in rng.normal(size=8))
                              for _ in range(channels)) + ":" + lab)
    path.write_text("\n".join(lines) + "\n")


def test_ts_folder_whose_test_file_lacks_a_class_loads(tmp_path):
    """TRAIN and TEST are pooled and split again, so a TEST file without a rare class is
    valid; with no @classLabel in either it was refused as 'TRAIN and TEST declare
    different classes ['a', 'b', 'c'] and ['a', 'b']'."""
    from synth.data import load_dataset
    _ts(tmp_path / "P_TRAIN.ts", ["a", "b", "c"] * 5)
    _ts(tmp_path / "P_TEST.ts", ["a", "b"] * 3, seed=1)
    data = load_dataset(f"ts:{tmp_path}")
    assert data.class_names == ["a", "b", "c"] and len(data.y_train) + len(data.y_val) + len(
        data.y_test) == 21


def test_ts_folder_of_other_channel_counts_is_one_line(tmp_path):
    """A TEST file of 2 channels beside a TRAIN file of 1 raised a numpy broadcast error."""
    _ts(tmp_path / "P_TRAIN.ts", ["a", "b"] * 6)
    _ts(tmp_path / "P_TEST.ts", ["a", "b"] * 3, channels=2, seed=1)
    from synth.data import load_dataset
    from synth.errors import UserError
    with pytest.raises(UserError, match="TRAIN series have 1 channels, TEST series 2"):
        load_dataset(f"ts:{tmp_path}")


def test_ts_file_without_class_labels_reads_its_labels_sorted(tmp_path):
    """read_ts of a file without @classLabel gives the labels seen, sorted."""
    from synth.sequences import read_ts
    _ts(tmp_path / "one.ts", ["b", "a", "b"])
    assert read_ts(tmp_path / "one.ts")[2] == ["a", "b"]


def test_a_text_set_given_to_scann_is_the_text_set_error():
    """run_scann reads Dataset.require first: a text set has none (an AttributeError)."""
    from synth.errors import UserError
    from synth.scann import ScannConfig, run_scann
    from synth.text import load_text
    with pytest.raises(UserError, match="is a text set"):
        run_scann(load_text("enwiki"), ScannConfig())


@pytest.mark.parametrize("fraction,phrase", [("0.001", "no old"), ("0.999", "no new")])
def test_an_old_fraction_that_leaves_a_part_empty_says_so(tmp_path, fraction, phrase):
    """--old-fraction 0.001 of iris's 108 training samples left no old ones: the error said
    'data set iris has no train split'."""
    from synth.data import load_dataset
    path = _checkpoint(tmp_path / "i.pt", load_dataset("iris", seed=0))
    line = one_error_line(run(["incremental", "--model", path, "--old", "iris", "--new", "iris",
                               "--old-fraction", fraction, "--max-epochs", "1"]))
    assert f"old_fraction {fraction.rstrip('0')}" in line and phrase in line
