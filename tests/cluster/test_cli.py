import json

from click.testing import CliRunner

from cluster.cli.main import cli


def _last_json(output):
    return json.loads(output.strip().splitlines()[-1])


def test_list_commands():
    r = CliRunner().invoke(cli, ["datasets", "--json"])
    assert r.exit_code == 0 and "mnist5k" in _last_json(r.output)["datasets"]
    r = CliRunner().invoke(cli, ["models", "--json"])
    assert r.exit_code == 0 and "lenet5_bn" in _last_json(r.output)["variants"]


def test_train_then_eval(tmp_path):
    out = tmp_path / "m.pt"
    r = CliRunner().invoke(cli, ["train", "--dataset", "digits", "--model", "convnet_small",
                                 "--epochs", "2", "--out", str(out), "--json"])
    assert r.exit_code == 0, r.output
    trained = _last_json(r.output)
    r = CliRunner().invoke(cli, ["eval", "--model", str(out), "--json"])
    assert r.exit_code == 0, r.output
    assert _last_json(r.output)["accuracy"] == trained["test_accuracy"]


def test_bad_input_one_line_no_traceback(tmp_path):
    cases = [["train", "--dataset", "nope", "--model", "lenet5", "--out", str(tmp_path / "a.pt")],
             ["train", "--dataset", "iris", "--model", "lenet5", "--out", str(tmp_path / "a.pt")],
             ["train", "--dataset", "digits", "--model", "{oops", "--out", str(tmp_path / "a.pt")],
             ["eval", "--model", str(tmp_path / "missing.pt")]]
    for args in cases:
        r = CliRunner().invoke(cli, args)
        assert r.exit_code == 2, (args, r.output)
        assert "Traceback" not in r.output
        assert r.output.strip().startswith("error:") and len(r.output.strip().splitlines()) == 1
    assert not (tmp_path / "a.pt").exists()
