"""--json carries every warning the command printed (helper 254).  A warning logged by the
library reached stderr only unless the command had chosen to keep it in its result: nnsynth
train --dataset csv:dup.csv --json (copies of rows on both sides of the split) printed
'warning: CSV data set dup.csv: 12 of its 12 test rows repeat a training row ...' on stderr
while its JSON gave test_accuracy without a 'warning'; continual's raised epochs ('running 50
epochs (50 steps, min_steps 50)') the same.  ``deploy.cli.options.said_in`` adds the lines
the result does not hold to its 'warning'; a line it holds is not repeated."""
import json

from click.testing import CliRunner

from deploy.cli.main import cli

ROWS = [(i, (i * 7) % 5, "xy"[i % 2]) for i in range(30)]


def _csv(path, rows, split=None):
    head = "a,b,label" + (",split" if split else "")
    body = "".join(f"{a},{b},{c}" + (f",{split(i, c)}" if split else "") + "\n"
                   for i, (a, b, c) in enumerate(rows))
    path.write_text(head + "\n" + body)
    return f"csv:{path}"


def _train(tmp_path, dataset, name):
    done = CliRunner().invoke(cli, ["-q", "train", "--dataset", dataset, "--model", "mlp_small",
                                    "--epochs", "1", "--min-steps", "0",
                                    "--out", str(tmp_path / name), "--json"])
    assert done.exit_code == 0, done.output
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_a_logged_data_warning_is_in_the_json(tmp_path):
    dup = _csv(tmp_path / "dup.csv", ROWS * 3)
    result = _train(tmp_path, dup, "d.pt")
    assert "repeat a training row" in result.get("warning", ""), result
    # the next command in this process says only its own
    clean = _train(tmp_path, _csv(tmp_path / "clean.csv", ROWS), "c.pt")
    assert "warning" not in clean, clean["warning"]


def test_a_warning_the_result_holds_is_not_repeated(tmp_path):
    """train's own warning of a test split lacking a class (logged and kept by add_warning)
    is in the JSON once."""
    lacking = _csv(tmp_path / "lack.csv", ROWS,
                   split=lambda i, c: "test" if i % 6 == 0 and c == "x" else "train")
    result = _train(tmp_path, lacking, "l.pt")
    assert result["warning"].count("holds no sample of class") == 1, result["warning"]
    parts = result["warning"].split("; ")
    assert len(parts) == len(set(parts)), parts


def test_the_models_own_set_read_for_comparison_says_nothing(tmp_path):
    """eval of another file reads the model's own set to count the samples it trained on
    (workflows.trained_samples): that set's loader warnings (its test rows repeating training
    rows) were printed, and with said_in in the JSON, as if of the set scored."""
    _train(tmp_path, _csv(tmp_path / "dup.csv", ROWS * 3), "d.pt")
    other = _csv(tmp_path / "other.csv", [(a + 100, b, c) for a, b, c in ROWS])
    done = CliRunner().invoke(cli, ["-q", "eval", "--model", str(tmp_path / "d.pt"),
                                    "--dataset", other, "--json"])
    assert done.exit_code == 0, done.output
    # dup.csv's own loader lines; other.csv (a + 100) is named as on another scale than the
    # model's training set, dup.csv (h265: synth.checkpoint.scale_warning), which is of it
    assert "data set csv:" + str(tmp_path / "dup.csv") not in done.output, done.output
    assert "repeat a training row" not in done.output, done.output
