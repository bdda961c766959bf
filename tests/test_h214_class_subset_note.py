"""Helper 214: ``nnsynth eval`` / ``nnsynth export`` of a labelled file holding only some of
the model's classes (scored by name since helper 213, ``synth.checkpoint.in_model_subset``)
said nothing about the classes the file lacks; now one warning line names them, on stderr
beside the commands' other warnings (neither command's --json has a warnings field, so its
stdout stays the one JSON object).  Each test failed before the fix (no such line)."""
import json

import pytest
from click.testing import CliRunner

from tests.test_h213_class_subset import _rows as _rows_of


def _rows(path, names, n=90):
    """test_h213's well separated fruit table, 90 rows."""
    return _rows_of(path, names, n)


@pytest.fixture(scope="module")
def fruit(tmp_path_factory):
    from synth.train import TrainConfig
    from synth.workflows import train_checkpoint
    root = tmp_path_factory.mktemp("h214")
    model = root / "m.pt"
    train_checkpoint(f"csv:{_rows(root / 'own.csv', ['apple', 'kiwi', 'plum'])}", "mlp_small",
                     model, TrainConfig(epochs=5, lr=0.1, device="cpu", progress=False))
    return root, model


def _note(text):
    lines = [l for l in text.splitlines() if "holds no sample of the model's class" in l]
    assert len(lines) == 1, text
    return lines[0]


def test_eval_names_the_models_classes_a_file_lacks(fruit):
    from deploy.cli.main import cli
    root, model = fruit
    held = _rows(root / "held.csv", ["apple", "plum"])
    r = CliRunner().invoke(cli, ["eval", "--model", str(model), "--dataset",
                                                 f"csv:{held}", "--split", "all", "--json"])
    assert r.exit_code == 0, r.output + r.stderr
    json.loads(r.stdout)                                     # stdout: the JSON object alone
    line = _note(r.stderr)
    assert line.startswith("warning: ") and "['kiwi']" in line
    assert "apple" not in line and "plum" not in line
    # the model's own set lacks none: no such line
    r = CliRunner().invoke(cli, ["eval", "--model", str(model)])
    assert r.exit_code == 0 and "holds no sample" not in r.stderr


def test_export_names_the_models_classes_a_file_lacks(fruit, tmp_path):
    pytest.importorskip("onnx")
    from deploy.onnx_export import export_checkpoint
    root, model = fruit
    held = _rows(root / "held2.csv", ["kiwi", "plum"])
    _, notes = export_checkpoint(model, tmp_path / "m.onnx", dataset=f"csv:{held}")
    assert "['apple']" in _note("\n".join(notes))


def test_secret_with_the_network_names_the_classes_a_file_lacks(fruit):
    """`nnsynth secret --model` scores such a file too (helper 213); its --json has a
    warning field, which now holds the line beside its log warning."""
    from synth.secret_eval import fuse_network
    root, model = fruit
    held = _rows(root / "held3.csv", ["kiwi", "plum"], n=120)
    result = fuse_network(str(model), f"csv:{held}", label_vectors="random")
    assert "['apple']" in _note(result.get("warning", ""))
