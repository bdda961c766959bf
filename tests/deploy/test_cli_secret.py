"""``nnsynth secret``: a scikit-learn base, an nnsynth checkpoint as the base, and bad input."""
import json

import pytest
from click.testing import CliRunner

from deploy.cli.main import cli


def _run(*args):
    return CliRunner().invoke(cli, ["secret", *args])


def _error_line(r):
    assert r.exit_code == 2, r.output
    lines = [l for l in r.output.strip().splitlines() if l]
    assert len(lines) == 1 and lines[0].startswith("error: "), r.output
    return lines[0]


def test_secret_against_its_base_json():
    r = _run("--dataset", "breast_cancer", "--base", "lr", "--json")
    assert r.exit_code == 0, r.output
    out = json.loads(r.output.strip().splitlines()[-1])
    assert out["class_names"] == ["malignant", "benign"] and out["test_samples"] == 114
    assert 0.0 <= out["weight"] <= 1.0
    for key in ("base_scores", "semantic_scores", "secret_scores"):
        assert 0.85 < out[key]["accuracy"] <= 1.0 and 0 < out[key]["macro_f1"] <= 1.0


def test_checkpoint_as_the_base(tmp_path):
    from synth.data import load_dataset
    from tests.synth._tiny import tiny_teacher_checkpoint
    digits = load_dataset("digits")
    path = tiny_teacher_checkpoint(digits, tmp_path / "t.pt")
    r = _run("--model", str(path), "--json")
    assert r.exit_code == 0, r.output
    out = json.loads(r.output.strip().splitlines()[-1])
    assert out["base"] == "network" and out["dataset"] == "digits"
    assert out["class_names"][:3] == ["zero", "one", "two"]
    from synth.checkpoint import read_checkpoint   # the base column is the network itself
    assert out["base_scores"]["accuracy"] == pytest.approx(
        read_checkpoint(path)["metrics"]["test_accuracy"])
    assert 0.0 <= out["weight"] <= 1.0 and out["secret_scores"]["accuracy"] > 0.5


@pytest.mark.parametrize("args, expected", [
    (("--dataset", "nope"), "unknown data set 'nope'"),
    (("--dataset", "iris"), "'setosa' has no GloVe vector"),
    (("--dataset", "breast_cancer", "--class-names", "bad,good,ugly"), "3 names"),
    ((), "--dataset is required"),
    (("--model", "/nonexistent/m.pt"), "checkpoint not found"),
    # two classes with one meaning: the semantic space merged them and was scored anyway
    (("--dataset", "iris", "--class-names", "small,small,large"),
     "--class-names gives 'small' twice (positions 1 and 2 of 3)"),
    (("--dataset", "iris", "--class-names", "blue iris,iris blue,large"),
     "--class-names gives 'blue iris' and 'iris blue', the same words (positions 1 and 2"),
])
def test_bad_input_is_one_error_line(args, expected):
    line = _error_line(_run(*args))
    assert expected in line
    if "setosa" in expected:
        assert "--class-names" in line


def test_iris_with_words_given_runs():
    r = _run("--dataset", "iris", "--class-names", "small iris,blue iris,large iris", "--json")
    assert r.exit_code == 0, r.output


def test_unknown_base_is_a_usage_error():
    r = _run("--dataset", "digits", "--base", "knn")
    assert r.exit_code == 2 and "'knn' is not one of" in r.output
