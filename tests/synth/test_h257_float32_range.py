"""A training value beyond float32's range is refused when the set loads (helper h257).

A CSV whose column a held 1e39 in a training row (or a .ts series with it) trained and
wrote a checkpoint that every command then refused: "checkpoint x.pt: dataset: value_range
must be [low, high], two lists of 2 finite numbers with low <= high, got [[-2.25, -2.204],
[1e+39, 2.002]]".  The training split's min and max are recorded in float32's range, so the
loader now says which column or channel holds such a value.
"""
import numpy as np
import pytest

from synth.data import load_dataset
from synth.errors import UserError
from tests._cli import json_result, one_error_line, run


def _csv(path, big):
    rng = np.random.default_rng(0)
    rows = [f"{rng.normal():.3f},{rng.normal():.3f},{c}" for c in "xyz" * 20]
    for i in range(10):   # some of them in the training split
        rows[i] = f"{big},{rows[i].split(',', 1)[1]}"
    path.write_text("a,b,label\n" + "\n".join(rows) + "\n")
    return f"csv:{path}"


def _ts(path, big):
    rng = np.random.default_rng(0)
    rows = [",".join(f"{v:.3f}" for v in rng.normal(size=5)) + f":{c}" for c in "ab" * 20]
    rows[:10] = [f"{big},1,1,1,1:{c}" for c in "ab" * 5]
    path.write_text("@problemName p\n@timeStamps false\n@missing false\n@univariate true\n"
                    "@equalLength true\n@seriesLength 5\n@classLabel true a b\n@data\n"
                    + "\n".join(rows) + "\n")
    return f"ts:{path}"


def test_a_training_value_beyond_float32_is_refused(tmp_path):
    with pytest.raises(UserError, match=r"feature 0 \(column 'a'\) holds 1e\+39 in the "
                                        r"training split; values must be within float32"):
        load_dataset(_csv(tmp_path / "t.csv", "1e39"))
    with pytest.raises(UserError, match=r"channel 0 holds -1e\+39 in the training split"):
        load_dataset(_ts(tmp_path / "t.ts", "-1e39"))
    line = one_error_line(run(["train", "--dataset", _csv(tmp_path / "t.csv", "1e39"),
                               "--model", "mlp_small", "--epochs", "1", "--min-steps", "0",
                               "--out", str(tmp_path / "m.pt")]))
    assert "float32's range" in line
    assert not (tmp_path / "m.pt").exists()


def test_large_values_within_float32_still_train_and_evaluate(tmp_path):
    out = tmp_path / "m.pt"
    json_result(run(["train", "--dataset", _csv(tmp_path / "t.csv", "1e38"), "--model",
                     "mlp_small", "--epochs", "1", "--min-steps", "0",
                     "--out", str(out), "--json"]))
    assert json_result(run(["eval", "--model", str(out), "--json"]))["samples"] == 12
    assert load_dataset(_ts(tmp_path / "t.ts", "1e38")).num_classes == 2
