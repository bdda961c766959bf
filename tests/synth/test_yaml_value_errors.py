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


def test_a_list_where_a_number_is_due_is_shown_as_the_file_has_it():
    """from_dict made every list a tuple: 'max_parallel must be an integer, got (2,)' for a
    file that says max_parallel: [2] (h183).  A field that takes a sequence still gets one."""
    from deploy.sweep import SweepConfig
    with pytest.raises(ConfigError,
                       match=r"max_parallel must be an integer in \[1, 1024\], got \[2\]$"):
        SweepConfig.from_dict({"max_parallel": [2]})
    assert SweepConfig.from_dict({"runs": [{"name": "a"}]}).runs == ({"name": "a"},)
