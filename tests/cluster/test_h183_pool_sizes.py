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


POOL_FIRST = """
import json, ray
from cluster.hwsim_pool import HwsimPool
pool = HwsimPool(1, 0.5)
node = ray._private.worker._global_node
print(json.dumps({"namespace": ray.get_runtime_context().namespace,
                  "dashboard": node.webui_url,
                  "gcs": ray.get_runtime_context().gcs_address}))
pool.shutdown()
ray.shutdown()
"""


def test_a_pool_made_before_ray_starts_ray_through_connect():
    """A pool made in a process without Ray (a notebook, a script) started Ray's default
    local instance at its first actor: Ray's dashboard on, and a random namespace, so a later
    get_pool did not find its named shards.  Now it goes through cluster.connect."""
    import json
    import subprocess
    import sys
    from pathlib import Path
    root = Path(__file__).resolve().parents[2]
    res = subprocess.run([sys.executable, "-c", POOL_FIRST], cwd=root, capture_output=True,
                         text=True, timeout=180)
    assert res.returncode == 0, res.stderr[-2000:]
    facts = json.loads(res.stdout.strip().splitlines()[-1])
    assert facts["namespace"] == "nnsynth", facts
    assert not facts["dashboard"], facts          # was 127.0.0.1:8265
    assert facts["gcs"].startswith("127.0.0.1:"), facts
