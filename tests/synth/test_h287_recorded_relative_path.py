"""Helper 287: a model trained on a set given by a RELATIVE path (``csv:t.csv``) recorded
only that path, so ``nnsynth eval --model m.pt`` (and distill/prune/continual reading the
teacher's set, ``synth.checkpoint.checkpoint_dataset``) run from another folder did not
find the file.  The checkpoint now records where the set was (``"resolved"``) beside the
name as given (name and digest unchanged: resume keys and run stamps), and the recorded set
falls back to it when the name does not resolve from here, saying so in the note line.
Each test fails before the fix."""
import pytest
import torch

from tests.test_h213_class_subset import _rows


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A model trained in ``root/a`` on ``csv:t.csv`` (relative)."""
    from synth.train import TrainConfig
    from synth.workflows import train_checkpoint
    root = tmp_path_factory.mktemp("h287")
    (root / "a").mkdir()
    (root / "b").mkdir()
    _rows(root / "a" / "t.csv", ["apple", "kiwi", "plum"])
    mp = pytest.MonkeyPatch()
    mp.chdir(root / "a")
    try:
        train_checkpoint("csv:t.csv", "mlp_small", root / "m.pt",
                         TrainConfig(epochs=2, lr=0.1, device="cpu", progress=False))
    finally:
        mp.undo()
    return root


def test_record_keeps_the_name_and_adds_where(trained):
    meta = torch.load(trained / "m.pt", weights_only=True)["dataset"]
    assert meta["name"] == "csv:t.csv"                      # as given: resume keys unchanged
    assert meta["resolved"] == f"csv:{trained / 'a' / 't.csv'}"


def test_eval_from_another_folder_finds_the_set(trained, monkeypatch):
    from synth.workflows import evaluate_checkpoint
    monkeypatch.chdir(trained / "a")
    here, _ = evaluate_checkpoint(trained / "m.pt")
    monkeypatch.chdir(trained / "b")
    there, notes = evaluate_checkpoint(trained / "m.pt")
    assert there["dataset"] == "csv:t.csv" and there["accuracy"] == here["accuracy"]
    assert there["samples"] == here["samples"]               # the same recorded split
    assert any(str(trained / "a" / "t.csv") in n and "not found from here" in n
               for n in notes), notes


def test_recorded_set_from_another_folder_is_the_teachers(trained, monkeypatch):
    """What distill/prune/continual read (``real_data_or_why``): the set, by its name."""
    from synth.checkpoint import load_model
    from synth.workflows import real_data_or_why
    monkeypatch.chdir(trained / "b")
    data, why = real_data_or_why(load_model(trained / "m.pt"), "--teacher")
    assert why is None and data.name == "csv:t.csv"


def test_rewritten_file_still_warned_from_another_folder(trained, monkeypatch, caplog):
    from synth.checkpoint import checkpoint_dataset, load_model
    model = load_model(trained / "m.pt")
    monkeypatch.chdir(trained / "b")
    with caplog.at_level("WARNING"):
        checkpoint_dataset(model)
    assert "changed since" not in caplog.text               # the same file: no warning
    _rows(trained / "a" / "t.csv", ["apple", "kiwi", "plum"], 93)
    try:
        with caplog.at_level("WARNING"):
            checkpoint_dataset(model)
        assert "changed since" in caplog.text
    finally:
        _rows(trained / "a" / "t.csv", ["apple", "kiwi", "plum"])


def test_a_name_found_here_and_older_checkpoints_read_the_name(tmp_path, monkeypatch):
    from synth.checkpoint import recorded_location
    monkeypatch.chdir(tmp_path)
    _rows(tmp_path / "t.csv", ["x", "y"])
    far = f"csv:{tmp_path / 'elsewhere.csv'}"
    assert recorded_location({"name": "csv:t.csv", "resolved": far}) == "csv:t.csv"
    assert recorded_location({"name": "csv:gone.csv"}) == "csv:gone.csv"
    # moved since: the name, with its own error
    assert recorded_location({"name": "csv:gone.csv", "resolved": far}) == "csv:gone.csv"


def test_resolved_name_of_relative_paths_only(tmp_path, monkeypatch):
    from synth.data_registry import resolved_name
    monkeypatch.chdir(tmp_path)
    _rows(tmp_path / "t.csv", ["x", "y"])
    assert resolved_name("csv:t.csv[1,0]") == f"csv:{tmp_path / 't.csv'}[1,0]"
    assert resolved_name(f"csv:{tmp_path / 't.csv'}") is None     # absolute: as it is
    assert resolved_name("csv:gone.csv") is None and resolved_name("iris") is None
