"""Helper 115: a host table's ``repeats`` out of range is a ``check_range`` ConfigError.

hwsim.tables said 'repeats must be in [1, 10,000], got 0' as a plain UserError of its own
wording: no field, bounds or value for the CLI to read (it parsed the text instead, the one
library range check left that way), and a repeats of 2.5 or True passed the check (2.5 then
raised a TypeError traceback from range())."""
import pytest
import torch
from torch import nn

from hwsim import extract, tables
from synth.errors import ConfigError


def _ops():
    return extract(nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU()), (1, 6, 6))


def _fields(error: ConfigError) -> tuple:
    return (error.field, error.value, error.low, error.high, error.low_open, error.high_open,
            error.integer)


@pytest.mark.parametrize("repeats", [0, -3, tables.MAX_REPEATS + 1, 99_999_999_999])
def test_time_callable_repeats_out_of_range_carries_its_fields(repeats):
    with pytest.raises(ConfigError) as e:
        tables.time_callable(lambda: None, repeats)
    assert _fields(e.value) == ("repeats", repeats, 1, tables.MAX_REPEATS, False, False, True)
    assert str(e.value) == f"repeats must be in [1, {tables.MAX_REPEATS}], got {repeats}"


def test_a_cpu_table_and_a_width_sweep_raise_it_too():
    with pytest.raises(ConfigError) as e:
        tables.build_table(_ops(), "cpu", repeats=10 ** 11, threads=1)
    assert (e.value.field, e.value.low, e.value.high) == ("repeats", 1, tables.MAX_REPEATS)
    with pytest.raises(ConfigError) as e:
        tables.width_sweep("linear", [4, 8], repeats=0, threads=1)
    assert (e.value.field, e.value.value, e.value.high) == ("repeats", 0, tables.MAX_REPEATS)


@pytest.mark.parametrize("repeats", [2.5, True, "5"])
def test_a_repeats_that_is_no_integer_is_one_line(repeats):
    """2.5 passed the check and was range()'s TypeError; True timed once; '5' a TypeError."""
    with pytest.raises(ConfigError,
                       match=r"^repeats must be an integer in \[1, 10000\], got ") as e:
        tables.time_callable(lambda: None, repeats)
    assert e.value.field == "repeats" and e.value.integer


def test_repeats_in_range_still_times():
    t = tables.time_callable(lambda: torch.zeros(3), 4, warmup=1)
    assert 0 <= t["q1_ms"] <= t["median_ms"] <= t["q3_ms"]
    assert tables.build_table(_ops(), "cpu", repeats=1, threads=1)
