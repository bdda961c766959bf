"""hwsim actor pool sizes a user can give (search.options.pool_shards / pool_cpus) are
checked before any actor is made (helper 183)."""
import pytest

from cluster.hwsim_pool import HwsimPool
from synth.errors import ConfigError


@pytest.mark.parametrize("shards, cpus, words", [
    # Ray's ValueError traceback ('precision ... cannot go beyond 0.0001') before
    (1, 1e-9, "pool_cpus must be in [0.0001, 64], got 1e-09"),
    (2.5, 0.5, "pool_shards must be an integer"),             # made 2 actors before
    (float("nan"), 0.5, "pool_shards must be"),               # int(nan): ValueError before
    (10 ** 6, 0.5, "pool_shards must be in [1, 1024]"),       # a million named actors
    (0, 0.5, "pool_shards must be in [1, 1024], got 0"),
    (1, -1, "pool_cpus must be in [0.0001, 64], got -1"),
])
def test_a_pool_no_cluster_can_hold_is_a_config_error(shards, cpus, words):
    with pytest.raises(ConfigError) as error:
        HwsimPool(shards, cpus)
    assert words in str(error.value), str(error.value)
