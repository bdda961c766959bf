"""Class names as GloVe words (helper 73): names as users' files spell them."""
import unicodedata

import numpy as np
import pytest

from synth.errors import UserError
from synth.labels import glove_vectors, label_embeddings, name_words


def test_a_decomposed_or_full_width_name_is_the_word_glove_has():
    # a macOS folder name is NFD: "café" was refused as "the word 'café' has no GloVe vector"
    # though GloVe has it (the message showed the same word); full-width "ＣＡＴ" too
    words, missing = glove_vectors(["café", "cat"])
    assert not missing
    got = label_embeddings([unicodedata.normalize("NFD", "Café"), "ＣＡＴ"])
    np.testing.assert_allclose(got, words)


def test_a_compatibility_digit_is_its_number_word_not_a_traceback():
    # "²".isdigit() is True and int("²") a ValueError: a traceback from nnsynth secret
    assert name_words("²") == ["two"]
    assert name_words("9" * 5000) == ["9" * 5000]     # no int() of 5,000 digits


def test_negative_labels_keep_their_sign():
    # a .ts file's classes "-1" and "1" were the words "1" and "one" (near-synonyms); a
    # "+1" beside "1" is the same class name and refused as such
    assert name_words("-1") == ["minus", "one"] and name_words("1") == ["one"]
    assert name_words("-21") == ["minus", "21"] and name_words("-0") == ["zero"]
    from synth.secret import label_vectors_for
    with pytest.raises(UserError, match="same label vector"):
        label_vectors_for(["+1", "1"])


def test_punctuation_around_words_is_not_part_of_them():
    # "Ankle boot." and "Shirt (men)" were refused: no vector for 'boot.' / '(men)'
    assert name_words("Ankle boot.") == ["ankle", "boot"]
    assert name_words("Shirt (men)") == ["shirt", "men"]
    assert name_words("dog, cat") == ["dog", "cat"] and name_words("'quoted'") == ["quoted"]
    assert name_words("U.S. army") == ["u.s.", "army"] and name_words("c++") == ["c++"]
    assert name_words("Gun-Draw") == ["gun", "draw"]       # as before
    label_embeddings(["Ankle boot.", "Shirt (men)"])
