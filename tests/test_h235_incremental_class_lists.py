"""``nnsynth incremental``'s warning that the model trained on the data the update takes as
new (h230's ``seen_new_warning``), for a set whose classes are listed in another order or in
part (h235).

A class list picks the classes of one set with its split (``Dataset.class_subset``):
``wine[2,1,0]`` holds every training sample of ``wine``, its labels in another order, which
the update maps back to the model's classes by name.  A model trained on wine and updated
with ``--old wine[2,1,0] --new wine[2,1,0]`` (or one trained on ``wine[2,1,0]`` updated with
``--old wine --new wine``) had seen every "new" sample, and nothing was said: h233 counted
only a list of every class in the set's own order as the set.  A model trained on some
classes of the set (``wine[1,2]``) has seen those classes' samples of it: the line names them.
"""
import pytest

from synth.data import load_dataset
from tests.synth.test_h230_incremental_seen_new import FAST, _checkpoint


def test_classes_trained_on_names_the_classes_seen(tmp_path):
    from synth.checkpoint import load_model
    from synth.workflows import classes_trained_on, seen_new_warning, trained_on
    wine = load_model(_checkpoint(tmp_path / "wine.pt", load_dataset("wine")))
    part = load_model(_checkpoint(tmp_path / "part.pt", load_dataset("wine[1,2]")))
    names = load_dataset("wine").class_names
    assert classes_trained_on(wine, load_dataset("wine[2,1]")) == [names[2], names[1]]
    assert classes_trained_on(part, load_dataset("wine")) == [names[1], names[2]]
    assert classes_trained_on(part, load_dataset("wine[0,1]")) == [names[1]]
    assert classes_trained_on(part, load_dataset("wine", seed=1)) == []   # another split
    assert classes_trained_on(part, load_dataset("iris")) == []
    assert trained_on(part, load_dataset("wine[2,1]")) and not trained_on(part, load_dataset("wine"))
    line = seen_new_warning([("--model", "part.pt", part)], load_dataset("wine"), True)
    assert "trained on" in line and f"its classes ['{names[1]}', '{names[2]}'], 2 of 3" in line
    assert seen_new_warning([("--model", "part.pt", part)], load_dataset("iris"), True) is None


def test_classes_in_common():
    from synth.data_registry import classes_in_common
    assert classes_in_common("wine", ["a", "b", "c"], "wine[2,0]", ["c", "a"]) == ["c", "a"]
    assert classes_in_common("wine[0,1]", ["a", "b"], "wine[1,2]", ["b", "c"]) == ["b"]
    assert classes_in_common("wine", ["a", "b", "c"], "iris", ["a", "b", "c"]) == []


def test_a_refused_update_is_not_warned_of(tmp_path, caplog):
    """A model of wine's 3 classes updated with wine[1,2] (its samples trained on) is refused
    before any training: the one line is the refusal, not a warning about the run's
    accuracies followed by it."""
    from synth.errors import UserError
    from synth.workflows import incremental_checkpoint
    path = _checkpoint(tmp_path / "m.pt", load_dataset("wine"))
    with caplog.at_level("WARNING"), pytest.raises(UserError, match="predicts 3 classes"):
        incremental_checkpoint(path, "wine[1,2]", "wine[1,2]", FAST, methods=("incremental",))
    assert not [r for r in caplog.records if "trained on" in r.getMessage()]
