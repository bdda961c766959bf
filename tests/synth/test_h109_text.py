"""A user's text file too short for its vocabulary cutoff (h109): every word was <unk>, and a
language model of two tokens (<unk>, <eos>) trained to a near-perfect perplexity of nothing."""
import pytest

from synth.errors import UserError
from synth.text import load_text


def test_a_text_whose_every_word_is_unk_is_refused(tmp_path):
    (tmp_path / "t.txt").write_text("The cat sat on a mat. A dog ran in a park.\n" * 4)
    with pytest.raises(UserError, match="min count 10") as e:
        load_text(f"text:{tmp_path / 't.txt'}")
    assert "\n" not in str(e.value) and "--min-count" in str(e.value)


def test_a_lower_cutoff_loads_the_same_text(tmp_path):
    (tmp_path / "t.txt").write_text("The cat sat on the mat. A dog ran in the park.\n" * 4)
    data = load_text(f"text:{tmp_path / 't.txt'}", min_count=2)
    assert "the" in data.vocab and data.unk_rate("train") < 0.5
