"""A DSE base given as a list of [field, value] pairs is checked for a field named twice in
linear time: ``n in names[:i]`` for each name (h229's report of the same pattern in the data
loaders) took quadratic time on a long list, ~40 s for 60,000 pairs on this machine."""
import time

import pytest

from hwsim.dse import DseConfig
from synth.errors import ConfigError


def test_a_long_base_list_is_refused_in_bounded_time():
    pairs = [[f"f{i}", 1] for i in range(60_000)] + [["f7", 2]]
    start = time.perf_counter()
    with pytest.raises(ConfigError, match=r"^base lists 'f7' twice"):
        DseConfig(base=pairs)
    assert time.perf_counter() - start < 5.0
