"""cluster.connect starts a local Ray again when its raylet misses Ray's start-up window."""
import pytest
import ray

from cluster.connect import STARTUP_ATTEMPTS, connect

STARTUP = ("The current node timed out during startup. This could happen because some of the "
           "raylet failed to startup or the GCS has become overloaded.")


class _Started(Exception):
    pass


def _fake_ray(monkeypatch, failures: int, message: str = STARTUP) -> list[str]:
    """ray.init fails ``failures`` times with ``message``, then reports a start (no real Ray
    is started); the calls to ray.init and ray.shutdown are recorded in order."""
    calls = []

    def init(**kwargs):
        calls.append("init")
        if calls.count("init") <= failures:
            raise Exception(message)
        raise _Started()
    monkeypatch.setattr(ray, "is_initialized", lambda: False)
    monkeypatch.setattr(ray, "init", init)
    monkeypatch.setattr(ray, "shutdown", lambda: calls.append("shutdown"))
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    monkeypatch.delenv("RAY_AUTH_MODE", raising=False)
    return calls


def test_a_raylet_start_timeout_is_retried_after_a_shutdown(monkeypatch):
    calls = _fake_ray(monkeypatch, failures=2)
    with pytest.raises(_Started):
        connect(num_cpus=1)
    assert calls == ["init", "shutdown", "init", "shutdown", "init"]


def test_the_retries_are_bounded_and_other_errors_are_not_retried(monkeypatch):
    calls = _fake_ray(monkeypatch, failures=99)
    with pytest.raises(Exception, match="timed out during startup"):
        connect(num_cpus=1)
    assert calls.count("init") == STARTUP_ATTEMPTS
    calls = _fake_ray(monkeypatch, failures=1, message="some other failure")
    with pytest.raises(Exception, match="some other failure"):
        connect(num_cpus=1)
    assert calls == ["init"]
