"""``nnsynth incremental``'s warning that the model trained on the new data (h230's
``seen_new_warning``, ``trained_on``) for a set named by a class list of every class (h233).

``wine[0,1,2]`` loads wine's samples, splits and labels unchanged (each class ``c`` relabelled
``c``), yet ``trained_on`` compared the names as written: a model trained on ``wine[0,1,2]``
updated with ``--old wine --new wine`` (or one trained on ``wine`` updated with the list) was
not warned of, and the summary said 'cost reduction 100.0% vs from scratch' without a word.
A list in another order relabels the classes and a subset holds fewer samples: neither is the
set."""
import pytest

from synth.data import load_dataset
from tests.synth.test_h230_incremental_seen_new import FAST, _checkpoint


@pytest.mark.parametrize("trained, updated", [("wine[0,1,2]", "wine"),
                                              ("wine", "wine[0,1,2]"),
                                              ("wine", "wine[2,1,0]"),     # h235: in any
                                              ("wine[2,1,0]", "wine")])    # order
def test_a_list_of_every_class_is_the_set(tmp_path, trained, updated):
    from synth.workflows import incremental_checkpoint
    path = _checkpoint(tmp_path / "m.pt", load_dataset(trained))
    r = incremental_checkpoint(path, updated, updated, FAST, methods=("incremental",))
    assert "trained on" in r.get("warning", ""), r.keys()
    assert "its classes" not in r["warning"]   # every class: none named


def test_a_subset_is_not_the_set(tmp_path):
    """A model trained on wine[0,1] updated with wine: not the data it trained on."""
    from synth.workflows import trained_on
    from synth.checkpoint import load_model
    path = _checkpoint(tmp_path / "m.pt", load_dataset("wine[0,1]"))
    model = load_model(path)
    assert not trained_on(model, load_dataset("wine"))
    assert trained_on(model, load_dataset("wine[0,1]"))
    # every class, in another order: the samples it trained on (h235; its labels differ)
    assert trained_on(model, load_dataset("wine[1,0]"))


if __name__ == "__main__":
    pytest.main([__file__, "-q"])
