"""`nnsynth diabdeep` end to end (tiny settings) and the one-line errors for sequence data."""
import json

import pytest
from click.testing import CliRunner

from deploy.cli.main import cli

TINY = {"server_hidden": [16], "edge_hidden": 6, "gate_hidden": 4, "growth_rounds": 1,
        "neuron_growth": 1, "growth_batches": 2, "prune_steps": 1, "retrain_epochs": 1, "latency_repeats": 2,
        "forest_trees": 5, "final_epochs": 1}


def _last_json(output):
    return json.loads(output.strip().splitlines()[-1])


def test_diabdeep_reports_both_models_and_the_baselines(tmp_path):
    report = tmp_path / "report.json"
    r = CliRunner().invoke(cli, ["diabdeep", "--dataset", "basicmotions", "--steps", "5",
                                 "--epochs", "2", "--baselines", "mlp,lstm1,forest",
                                 "--options", json.dumps(TINY), "--out", str(report), "--json"])
    assert r.exit_code == 0, r.output
    result = _last_json(r.output)
    rows = {row["model"]: row for row in result["rows"]}
    assert list(rows) == ["server_diabnn", "edge_diabnn", "mlp", "lstm1", "forest"]
    assert result["frame"] == 20 and result["steps"] == 5
    for name in ("server_diabnn", "edge_diabnn", "mlp", "lstm1"):
        row = rows[name]
        for key in ("test_accuracy", "nonzero_parameters", "flops", "latency_ms",
                    "accel_latency_ms", "accel_energy_mj"):
            assert row[key] is not None and row[key] >= 0, (name, key)
    edge = rows["edge_diabnn"]
    # CPU latency through the deployment path: the fused H-LSTM steps, plain forward for an MLP
    assert edge["latency_path"] == "infer" and rows["mlp"]["latency_path"] == "forward"
    assert edge["spec"]["family"] == "hlstm" and len(edge["spec"]["hidden"]) == 1
    assert edge["recurrent_weights"] > 0 and rows["server_diabnn"]["recurrent_weights"] == 0
    # the server DiabNN is sparse: fewer nonzero weights than the dense MLP of its widths
    assert rows["server_diabnn"]["nonzero_parameters"] < rows["mlp"]["nonzero_parameters"]
    saved = json.loads(report.read_text())
    assert [row["model"] for row in saved["rows"]] == list(rows)
    assert {h["phase"] for h in saved["histories"]["edge"]} >= {"start", "grow"}


@pytest.mark.parametrize("args,message", [
    (["train", "--dataset", "basicmotions", "--model", "lenet5", "--epochs", "1"],
     "model family 'lenet5' takes images (channels, height, width); the data has input shape "
     "(6, 100) (sequences (channels, steps))"),
    (["train", "--dataset", "digits", "--model", "lstm32", "--epochs", "1"],
     "model family 'lstm' takes sequences (channels, steps); the data has input shape (1, 8, 8)"),
    (["diabdeep", "--dataset", "digits"], "diabdeep needs a sequence data set (channels x steps);"
                                          " digits has input shape (1, 8, 8)"),
    (["diabdeep", "--dataset", "blinky"], "unknown data set 'blinky'"),
    # more steps than a window has samples was read as one sample per step without a word
    (["diabdeep", "--dataset", "basicmotions", "--steps", "100000000"],
     "steps must be in [1, 100] for basicmotions (its windows hold 100 samples), got 100000000"),
    (["diabdeep", "--dataset", "gunpoint", "--baselines", "svm"],
     "--baselines: each value must be among"),
    # wrong JSON types in --options were ValueError/TypeError tracebacks
    (["diabdeep", "--dataset", "gunpoint", "--options", '{"server_hidden": "x"}'],
     "server_hidden must be a list of widths >= 1, got 'x'"),
    (["diabdeep", "--dataset", "gunpoint", "--options", '{"server_hidden": 5}'],
     "server_hidden must be a list of widths >= 1, got 5"),
    (["diabdeep", "--dataset", "gunpoint", "--options", '{"baselines": "mlp"}'],
     "baselines must be a list of names"),
])
def test_bad_sequence_input_is_one_line(args, message, tmp_path):
    r = CliRunner().invoke(cli, args + ["--out", str(tmp_path / "x")])
    assert r.exit_code == 2, r.output
    errors = [line for line in r.output.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and message in errors[0], r.output
    assert "Traceback" not in r.output


def test_wrong_window_length_names_the_shapes(tmp_path):
    out = tmp_path / "m.pt"
    r = CliRunner().invoke(cli, ["train", "--dataset", "gunpoint", "--model",
                                 '{"family": "lstm", "hidden": [4], "frame": 10}',
                                 "--epochs", "1", "--min-steps", "0", "--out", str(out),
                                 "--json"])
    assert r.exit_code == 0, r.output
    r = CliRunner().invoke(cli, ["eval", "--model", str(out), "--dataset", "pickupgesture"])
    assert r.exit_code == 2
    assert "error: data set pickupgesture has input shape (1, 361) but the model expects " \
           "(1, 150)" in r.output


def test_report_out_never_replaces_a_file_of_the_users(tmp_path):
    """diabdeep --out notes.txt ran the whole flow, then wrote the JSON report over it."""
    notes = tmp_path / "notes.txt"
    notes.write_text("mine")
    for out, message in [(notes, "is not a DiabDeep report"),
                         (notes / "r.json", "is a file, not a directory")]:
        r = CliRunner().invoke(cli, ["diabdeep", "--dataset", "blink", "--out", str(out)])
        lines = [l for l in r.output.splitlines() if l.strip()]
        assert r.exit_code == 2 and len(lines) == 1 and message in lines[0], r.output
    assert notes.read_text() == "mine"


def test_steps_that_the_window_cannot_take_exactly_are_reported(caplog):
    """``--steps`` reads a window of T samples in frames of ceil(T / steps): T = 100 in
    30 steps is 25 steps of 4, which is logged; the default is 50 steps, or T (one sample
    a step) for a shorter window such as JapaneseVowels' 29 without an error."""
    import logging

    from synth.data import load_dataset
    from synth.diabdeep import frame_for
    motions, vowels = load_dataset("basicmotions"), load_dataset("japanesevowels")
    with caplog.at_level(logging.WARNING, logger="synth.diabdeep"):
        assert frame_for(motions, 20) == 5 and not caplog.records
        assert frame_for(motions, 30) == 4
    assert "steps 30: windows of 100 samples are read in 25 steps of 4 samples" in caplog.text
    assert frame_for(motions, None) == 2 and frame_for(vowels, None) == 1
    assert frame_for(vowels, 29) == 1
