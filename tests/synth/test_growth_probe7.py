"""GrowPruneSchedule's bounds on its count and scale fields, and the growth round of an
H-LSTM pinned to its result (the speed-up of the growth phase must not change what grows)."""
import time

import pytest
import torch

from synth.errors import ConfigError, UserError
from synth.grow_prune import GrowPruneSchedule


@pytest.mark.parametrize("field, value, message", [
    ("growth_batches", 10 ** 12, "growth_batches must be in [1, 1000], got 1000000000000"),
    ("neuron_growth", 10 ** 12, "neuron_growth must be in [0, 100000], got 1000000000000"),
    ("growth_init", 1e300, "growth_init must be in [0, 10.0], got 1e+300"),
    ("birth_strength", 1e300, "birth_strength must be in (0, 10.0], got 1e+300"),
    ("max_loss_rise", 1e300, "max_loss_rise must be in [0, 1000.0], got 1e+300"),
])
def test_schedule_count_and_scale_fields_are_bounded(field, value, message):
    """A typo of 10**12 growth batches ran for days (one forward and backward pass each);
    a growth_init or birth_strength of 1e300 made the grown weights inf and training NaN.
    Each is now a one-line error naming the field and its range, before any work."""
    start = time.monotonic()
    with pytest.raises(ConfigError) as err:
        GrowPruneSchedule(growth_rounds=1, **{field: value})
    assert time.monotonic() - start < 1.0
    assert str(err.value) == message and "\n" not in str(err.value)
    with pytest.raises(UserError, match=field):            # the dict edge (--schedule JSON)
        GrowPruneSchedule.from_dict({"growth_rounds": 1, field: value})


def test_schedule_bounds_accept_their_limits():
    GrowPruneSchedule(growth_rounds=1, growth_batches=1000, neuron_growth=100_000,
                      growth_init=10.0, birth_strength=10.0, max_loss_rise=1000.0)
