"""A local Ray that never starts ends nnsynth in one line, not Ray's traceback (h250).

On a loaded machine ``nnsynth run tdig.yaml`` retried the local Ray's start three times
(cluster.connect.STARTUP_ATTEMPTS) and then printed a 40-line traceback ending in Ray's
'Exception: The current node timed out during startup ...'.  connect now raises a UserError
(the CLI's one 'error:' line, exit 2) that says what happened and what to do, and the
half-started Ray is stopped."""
import pytest
import ray

from cluster.connect import STARTUP_ATTEMPTS, connect
from synth.errors import UserError

STARTUP = ("The current node timed out during startup. This could happen because some of the "
           "raylet failed to startup or the GCS has become overloaded.")


def test_a_local_ray_that_never_starts_is_a_user_error(monkeypatch):
    calls = []

    def init(**kwargs):
        calls.append("init")
        raise Exception(STARTUP)
    monkeypatch.setattr(ray, "is_initialized", lambda: False)
    monkeypatch.setattr(ray, "init", init)
    monkeypatch.setattr(ray, "shutdown", lambda: calls.append("shutdown"))
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    monkeypatch.delenv("RAY_AUTH_MODE", raising=False)
    with pytest.raises(UserError) as err:
        connect(num_cpus=1)
    line = str(err.value)
    assert "\n" not in line and "did not start" in line, line
    assert "timed out during startup" in line and "--address" in line, line
    assert calls.count("init") == STARTUP_ATTEMPTS
    assert calls[-1] == "shutdown"    # the last half-started Ray is stopped too
