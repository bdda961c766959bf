"""Values PyYAML's safe constructors raise a plain ValueError for (h183's finding): an integer
of more than 4,300 digits (Python's int conversion limit) in a run config or sweep file was a
ValueError traceback; a date that does not exist the same.  Now one ConfigError line."""
import pytest

from synth.errors import ConfigError
from synth.files import load_yaml_text


def test_a_huge_integer_is_one_line():
    with pytest.raises(ConfigError, match=r"s.yaml holds an integer of more than 4,300 digits"):
        load_yaml_text("seed: [" + "9" * 5000 + "]", "s.yaml")


def test_an_impossible_date_is_one_line():
    with pytest.raises(ConfigError, match=r"s.yaml holds a value that cannot be read"):
        load_yaml_text("when: 2020-13-45", "s.yaml")
