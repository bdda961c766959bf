"""A label vector of zeros carries no meaning: SECRET refuses it, naming the class (h291).
SecretClassifier(label_vectors={0: [0.0] * 50}) fitted without a word, and the centring made
the class's target minus the mean of the others' vectors: a meaning nobody gave."""
import numpy as np
import pytest

from synth.errors import UserError
from synth.secret import SecretClassifier, label_vectors_for


@pytest.mark.parametrize("vectors", [np.array([[0.0, 0], [1, 0], [0, 1]]), {0: [0.0] * 50}])
def test_a_zero_label_vector_is_refused(vectors):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(30, 3))
    y = np.repeat([0, 1, 2], 10)
    with pytest.raises(UserError, match=r"the label vector of class '0' \(words 'up'\) is all "
                                        r"zeros"):
        SecretClassifier(label_vectors=vectors, class_names=["up", "down", "flat"]).fit(x, y)


def test_vectors_with_a_zero_entry_are_kept():
    e = label_vectors_for([0, 1], None, np.array([[0.0, 1.0], [1.0, 0.0]]))
    assert e.shape == (2, 2)
