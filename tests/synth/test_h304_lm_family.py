"""h304: the language model is family ``lm`` of the model registry.  Its outputs are a
vocabulary, bounded by the words a text may hold, not by MAX_CLASSES (100,000): a model of a
larger vocabulary, which nnsynth symbiotic trains on a large enough text, was refused by
build and its checkpoint by every reader ('num_classes must be in [2, 100000]')."""
import pytest

from synth.checkpoint import load_model, save_checkpoint
from synth.errors import UserError
from synth.models import build
from synth.models.lm import MAX_VOCABULARY
from synth.text import MAX_TEXT_WORDS

TINY = {"family": "lm", "embed": 2, "hidden": [2]}


def test_a_vocabulary_beyond_max_classes_builds_saves_and_loads(tmp_path):
    model = build(TINY, (35,), 150_000)
    path = save_checkpoint(tmp_path / "lm.pt", model)
    again = load_model(path)
    assert again.num_classes == again.vocab_size == 150_000 and again.input_shape == (35,)


def test_the_bound_is_the_text_readers_and_other_families_keep_theirs():
    assert MAX_VOCABULARY == MAX_TEXT_WORDS
    with pytest.raises(UserError, match=r"num_classes must be in \[2, 100000\]"):
        build("mlp_small", (4,), 150_000)
    with pytest.raises(UserError, match="num_classes must be in"):
        build(TINY, (35,), MAX_VOCABULARY + 1)
