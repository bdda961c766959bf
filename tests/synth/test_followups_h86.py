"""Helper 86's follow-ups (synth side): incremental learning matches a model's class names
to a set's as every other workflow does (``synth.data.spelled_as``: case ignored where that
is unambiguous).  Each test failed before its fix."""
import pytest

from synth.errors import UserError
from tests.synth.test_followups_h83 import _animals, cat_dog_model


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A model trained on a file of 'Cat', 'dog' (its outputs: sorted, 'Cat' then 'dog')."""
    return cat_dog_model(tmp_path_factory.mktemp("h86"))


def _config():
    from synth.incremental import IncrementalConfig
    return IncrementalConfig(target=0.5, max_epochs=1, plateau_epochs=1, device="cpu")


def test_incremental_on_its_own_file_respelled_scores_by_name(trained):
    """The model's own file, re-spelled 'cat', 'Dog' (sorted: 'Dog' then 'cat', the other
    order): "the model predicts csv:...'s classes ['Cat', 'dog']; the data ... has ['cat',
    'Dog']: give the data set it was trained on"."""
    from synth.workflows import incremental_checkpoint
    model, own = trained
    original = own.read_text()
    try:
        _animals(own, ["cat", "Dog"])
        result = incremental_checkpoint(model, f"csv:{own}", f"csv:{own}", _config(),
                                        methods=["finetune"])
    finally:
        own.write_text(original)
    assert result["before"]["test_accuracy"] > 0.9      # output i scored as its class by name
    assert result["finetune"]["test_accuracy"] > 0.9


def test_incremental_old_and_new_spelled_otherwise_are_one_set_of_classes(trained, tmp_path):
    """Old data spelled 'Cat', 'dog' and new 'CAT', 'DOG': "old and new data label other
    classes ... (... lacks ['Cat', 'dog']; ... adds ['CAT', 'DOG'])"."""
    from synth.workflows import incremental_checkpoint
    model, own = trained
    new = _animals(tmp_path / "new.csv", ["CAT", "DOG"], shift=0.01)
    result = incremental_checkpoint(model, f"csv:{own}", f"csv:{new}", _config(),
                                    methods=["finetune"])
    assert result["before"]["test_accuracy"] > 0.9
    assert result["before"]["test_accuracy_new"] > 0.9


def test_incremental_still_refuses_other_classes(trained, tmp_path):
    from synth.workflows import incremental_checkpoint
    model, own = trained
    new = _animals(tmp_path / "new.csv", ["Cat", "cow"], shift=0.01)
    with pytest.raises(UserError, match=r"lacks \['dog'\]; .* adds \['cow'\]"):
        incremental_checkpoint(model, f"csv:{own}", f"csv:{new}", _config(),
                               methods=["finetune"])
