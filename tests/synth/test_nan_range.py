"""A NaN setting is refused with the range it should be in: 'lr must be a number, got nan'
named no range, where every other out-of-range value's message gives it."""
import pytest

from synth.config import check_range
from synth.errors import ConfigError


def test_nan_names_the_range():
    with pytest.raises(ConfigError, match=r"^lr must be a number in \(0, 10\], got nan$"):
        check_range("lr", float("nan"), 0, 10, low_open=True)
    with pytest.raises(ConfigError, match=r"^ratio must be a number in \[0, inf\), got nan$"):
        check_range("ratio", float("nan"), 0)


def test_a_wrong_type_still_says_the_type():
    with pytest.raises(ConfigError, match=r"^epochs must be an integer in \[1, 10\], got '3'$"):
        check_range("epochs", "3", 1, 10, integer=True)
