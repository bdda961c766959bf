"""Follow-ups on user data sets (csv:, images:, parquet:, ts:, class subsets): a class with
held-out samples but none to train on, .ts files with a byte-order mark or a class listed
twice, an images: folder of train/ and val/ without test/, and a one-class subset name --
each loads as what it says or is a one-line UserError naming the file and what was expected."""
import numpy as np
import pytest
import torch
from PIL import Image

from synth.data import check_dataset_name, load_dataset, val_slice, write_parquet
from synth.errors import UserError


def _one_line(e) -> str:
    text = str(e.value)
    assert "\n" not in text and "\x1b" not in text and "Traceback" not in text, text
    return text


def _csv(path, rows):
    path.write_text("a,b,label,split\n" + "\n".join(",".join(map(str, r)) for r in rows) + "\n")
    return path


def _pngs(folder, classes, n=6):
    for c in classes:
        (folder / c).mkdir(parents=True, exist_ok=True)
        for i in range(n):
            Image.fromarray(np.full((4, 4), 10 * i, np.uint8)).save(folder / c / f"{i}.png")


META = dict(input_shape=[4], num_classes=3, class_names=["a", "b", "c"], mean=[0.0] * 4,
            std=[1.0] * 4)


# --------------------------------------------------------------------------- untrainable classes
@pytest.mark.parametrize("split", ["test", "val"])
def test_a_csv_class_only_in_test_or_val_rows_is_refused(tmp_path, split):
    # the model got an output it never trained on, and every accuracy counted its rows
    rows = [(i, -i, i % 2, "train") for i in range(40)] + [(i, i, i % 2, "test")
                                                           for i in range(10)]
    rows += [(i, 2 * i, 2, split) for i in range(3)]
    f = _csv(tmp_path / "t.csv", rows)
    with pytest.raises(UserError, match=f"class '2' has no training samples \\(only 3 {split}"
                       ) as e:
        load_dataset(f"csv:{f}")
    assert str(f) in _one_line(e)


def test_an_images_class_only_in_test_is_refused(tmp_path):
    _pngs(tmp_path / "train", ["a", "b"])
    _pngs(tmp_path / "test", ["a", "b", "c"])
    with pytest.raises(UserError, match="class 'c' has no training samples \\(only 6 test"
                       ) as e:
        load_dataset(f"images:{tmp_path}")
    assert str(tmp_path) in _one_line(e)


def test_a_parquet_class_only_in_test_rows_is_refused(tmp_path):
    write_parquet(tmp_path / "tr.parquet", torch.randn(40, 4), torch.arange(40) % 2, META,
                  split="train")
    write_parquet(tmp_path / "te.parquet", torch.randn(6, 4), torch.tensor([0, 1, 2, 2, 2, 0]),
                  META, split="test")
    with pytest.raises(UserError, match="class 'c' has no training samples \\(only 3 test"):
        load_dataset(f"parquet:{tmp_path}")


def test_the_validation_slice_never_takes_a_class_s_only_training_row():
    # 30 rows of class 0 and one of class 1: the unstratified slice took the class-1 row for
    # validation under some seeds (7 of 0..39), leaving class 1 nothing to train on
    y = np.array([0] * 30 + [1])
    for seed in range(40):
        tr, val = val_slice(np.arange(31), y, seed, "set")
        assert 30 in tr and 30 not in val, seed
        assert len(val) == 4 and len(set(tr) | set(val)) == 31 and not set(tr) & set(val)


def test_a_training_split_of_one_row_per_class_cannot_lend_a_validation_slice(tmp_path):
    f = _csv(tmp_path / "t.csv", [(0, 0, 0, "train"), (1, 1, 1, "train"),
                                  (2, 2, 0, "test"), (3, 3, 1, "test")])
    with pytest.raises(UserError, match="one row per class, too few to split off") as e:
        load_dataset(f"csv:{f}")
    _one_line(e)


def test_a_synthesized_set_of_one_image_per_class_still_loads(tmp_path):
    # `nnsynth invert --num-images 10` of a 10-class teacher: KD trains every output from the
    # teacher's logits, and its validation slice can only take some class's one image
    meta = dict(input_shape=[4], num_classes=10, mean=[0.0] * 4, std=[1.0] * 4)
    write_parquet(tmp_path / "s.parquet", torch.randn(10, 4), torch.arange(10), meta)
    data = load_dataset(f"parquet:{tmp_path}")
    assert (len(data.y_train), len(data.y_val), len(data.y_test)) == (9, 1, 0)
    # a synthesized set missing a class altogether loads too (it has nothing to hold out)
    write_parquet(tmp_path / "s.parquet", torch.randn(40, 4), torch.arange(40) % 5, meta)
    assert load_dataset(f"parquet:{tmp_path}").num_classes == 10


# --------------------------------------------------------------------------- .ts files
def _ts_text(declared="false"):
    lines = [f"{','.join(str(v) for v in range(i, i + 5))}:{'a' if i % 2 else 'b'}"
             for i in range(30)]
    return (f"@problemName s\n@timeStamps false\n@univariate true\n@classLabel {declared}\n"
            f"@data\n" + "\n".join(lines) + "\n")


def test_a_ts_file_with_a_utf8_byte_order_mark_loads(tmp_path):
    f = tmp_path / "s.ts"
    f.write_bytes(b"\xef\xbb\xbf" + _ts_text().encode())
    data = load_dataset(f"ts:{f}")
    assert data.class_names == ["a", "b"] and data.input_shape == (1, 5)


def test_a_ts_class_label_listed_twice_is_refused(tmp_path):
    f = tmp_path / "s.ts"
    f.write_text(_ts_text("true a a b"))
    with pytest.raises(UserError, match="lists class 'a' twice") as e:
        load_dataset(f"ts:{f}")
    assert str(f) in _one_line(e)


# --------------------------------------------------------------------------- images: layouts
def test_images_train_and_val_without_test_are_splits(tmp_path):
    # read as one folder of classes 'train' and 'val' holding no images: "found 0 classes"
    _pngs(tmp_path / "train", ["a", "b"], n=10)
    _pngs(tmp_path / "val", ["a", "b"], n=3)
    data = load_dataset(f"images:{tmp_path}")
    assert data.class_names == ["a", "b"]
    assert (len(data.y_train), len(data.y_val), len(data.y_test)) == (20, 6, 0)
    assert data.held_out() == "val"


def test_images_train_alone_holds_out_a_validation_slice(tmp_path):
    _pngs(tmp_path / "train", ["a", "b"], n=20)
    data = load_dataset(f"images:{tmp_path}")
    assert len(data.y_test) == 0 and len(data.y_val) == 4 and len(data.y_train) == 36


def test_images_split_folders_without_train_or_with_a_stray_class_are_refused(tmp_path):
    _pngs(tmp_path / "val", ["a", "b"])
    _pngs(tmp_path / "test", ["a", "b"])
    with pytest.raises(UserError, match="has val/ and test/ but no train/ folder") as e:
        load_dataset(f"images:{tmp_path}")
    _one_line(e)
    _pngs(tmp_path / "train", ["a", "b"])
    _pngs(tmp_path, ["c"])           # a class folder beside the splits was ignored
    with pytest.raises(UserError, match="and also 'c/'") as e:
        load_dataset(f"images:{tmp_path}")
    _one_line(e)


def test_a_flat_folder_with_a_class_named_train_is_still_classes(tmp_path):
    _pngs(tmp_path, ["train", "other"])
    assert load_dataset(f"images:{tmp_path}").class_names == ["other", "train"]


# --------------------------------------------------------------------------- class subsets
@pytest.mark.parametrize("name", ["digits[0]", "iris[2]"])
def test_a_one_class_subset_is_refused_when_the_name_is_read(name):
    # it loaded, and was refused only when a model of one output was built
    with pytest.raises(UserError, match="a class subset needs at least 2 classes") as e:
        check_dataset_name(name, "teacher.dataset")
    assert _one_line(e).startswith("teacher.dataset: ")
    with pytest.raises(UserError, match="at least 2 classes"):
        load_dataset(name)
    assert load_dataset("iris[2,0]").num_classes == 2


# --------------------------------------------------------------------------- the pipeline's grid
def test_the_pipeline_s_image_grid_decodes_x_with_the_checked_decode(tmp_path):
    # deploy.stages drew its grid from its own copy of the decode: rows of 5 and 3 values
    # where input_shape says 4 were flattened and re-cut into rows of 4, silently
    import json
    from types import SimpleNamespace

    import pyarrow as pa
    import pyarrow.parquet as pq

    from deploy.stages import _image_grid
    meta = dict(input_shape=[1, 2, 2], num_classes=2, mean=[0.0], std=[1.0])
    rows = [[0.0] * 4 for _ in range(8)]
    rows[0], rows[1] = rows[0] + [1.0], rows[1][:3]
    t = pa.table({"x": pa.array(rows, pa.list_(pa.float32())),
                  "label": pa.array(np.arange(8) % 2)})
    (tmp_path / "synthetic").mkdir()
    pq.write_table(t.replace_schema_metadata({b"nnsynth": json.dumps(meta).encode()}),
                   tmp_path / "synthetic" / "s.parquet")
    ctx = SimpleNamespace(path=lambda name: tmp_path / name)
    with pytest.raises(UserError, match="row 0 holds 5 values") as e:
        _image_grid(ctx, "synthetic")
    _one_line(e)
    rows[0], rows[1] = rows[0][:4], rows[1] + [1.0]
    t = pa.table({"x": pa.array(rows, pa.list_(pa.float32())),
                  "label": pa.array(np.arange(8) % 2)})
    pq.write_table(t.replace_schema_metadata({b"nnsynth": json.dumps(meta).encode()}),
                   tmp_path / "synthetic" / "s.parquet")
    grid, x = _image_grid(ctx, "synthetic")
    assert grid == "images.png" and x.shape == (8, 1, 2, 2) and (tmp_path / "images.png").is_file()
