"""A feature column that is one value on the training split normalizes to 0 in every training
row, so the weights that read it never train (helper 254).  A model trained on a CSV whose
column c was 1.0 throughout scored 96.7% on its own test rows and 33.3% on a file of the same
rows with c from 50 to 150 (nnsynth eval --dataset, --split all), and a CSV whose test rows
held c = 7 was scored on them, both without a word.  The loader warns of its own val/test
rows, checkpoint_dataset (eval, export, secret --model) of the rows it scores."""
import numpy as np

from tests._cli import json_result, run


def _table(path, c, split=None):
    rng = np.random.default_rng(0)
    rows = ["c,a,b,label" + (",split" if split else "")]
    for i in range(90):
        label = i % 3
        a, b = rng.normal(label, 0.3), rng.normal(-label, 0.3)
        rows.append(f"{c(i)},{a:.4f},{b:.4f},{'xyz'[label]}" + (f",{split(i)}" if split else ""))
    path.write_text("\n".join(rows) + "\n")
    return f"csv:{path}"


def _run(args):   # the JSON of a quiet command that succeeded
    return json_result(run(["-q", *args, "--json"]))


def test_a_file_varying_a_column_the_model_saw_constant_is_warned(tmp_path):
    own = _table(tmp_path / "own.csv", lambda i: 1.0)
    other = _table(tmp_path / "other.csv", lambda i: 50 + i)
    model = str(tmp_path / "m.pt")
    trained = _run(["train", "--dataset", own, "--model", "mlp_small", "--epochs", "2",
                    "--min-steps", "0",
                    "--out", model])
    assert "untrained" not in trained.get("warning", "")
    scored = _run(["eval", "--model", model, "--dataset", other, "--split", "all"])
    assert ("feature column 'c' is one value (1) in every training row" in scored["warning"]
            and "90 of the 90 rows scored hold other values (50 to 139)" in scored["warning"])
    assert "the model trained on " + own in scored["warning"]
    # its own file: nothing to say
    assert "untrained" not in _run(["eval", "--model", model]).get("warning", "")


def test_test_rows_varying_a_column_constant_in_training_are_warned(tmp_path):
    split = _table(tmp_path / "s.csv", lambda i: 7.0 if i % 5 == 0 else 1.0,
                   split=lambda i: "test" if i % 5 == 0 else "train")
    trained = _run(["train", "--dataset", split, "--model", "mlp_small", "--epochs", "1",
                    "--min-steps", "0",
                    "--out", str(tmp_path / "s.pt")])
    assert "hold other values (7)" in trained["warning"], trained


def test_values_at_the_constant_and_varying_columns_say_nothing():
    from synth.data_splits import untrained_values
    low, high = [1.0, 0.0], [1.0, 5.0]
    xn = np.array([[0.0, 3.0], [0.005, -2.0]])        # column 0 within 0.01 of its value
    assert untrained_values(xn, low, high, [1.0, 2.0], [1.0, 1.5], "d") is None
    assert "1 of the 2 rows scored" in untrained_values(xn + [[0.5, 0], [0, 0]], low, high,
                                                        [1.0, 2.0], [1.0, 1.5], "d")


def _series(path, n, second):
    """A 2-channel .ts file: channel 0 a class's sine, channel 1 ``second(i)`` (12 steps)."""
    rng = np.random.default_rng(1)
    lines = []
    for i in range(n):
        k = i % 2
        a = np.sin(np.arange(12) / 3 + 1.2 * k) + 0.1 * rng.normal(size=12)
        lines.append(",".join(f"{v:.3f}" for v in a) + ":"
                     + ",".join(f"{v:.3f}" for v in second(i, rng)) + ":" + "ab"[k])
    path.write_text("@problemName P\n@timeStamps false\n@univariate false\n@dimensions 2\n"
                    "@equalLength true\n@seriesLength 12\n@classLabel true a b\n@data\n"
                    + "\n".join(lines) + "\n")
    return f"ts:{path}"


def test_a_channel_the_model_saw_constant_is_warned_of_alike(tmp_path):
    own = _series(tmp_path / "own.ts", 60, lambda i, rng: np.full(12, 5.0))
    other = _series(tmp_path / "other.ts", 40, lambda i, rng: 5.0 + 10 * rng.normal(size=12))
    model = str(tmp_path / "c.pt")
    _run(["train", "--dataset", own, "--model", "mlp_small", "--epochs", "1", "--min-steps", "0",
          "--out", model])
    scored = _run(["eval", "--model", model, "--dataset", other, "--split", "all"])
    assert ("channel 1 is one value (5) in every training series" in scored["warning"]
            and "40 of the 40 series scored hold other values" in scored["warning"]), scored
