"""An address Ray cannot join is one line naming it (``cluster.connect.connect``).

``nnsynth run iris.yaml --address 'garbage address'`` ended in Ray's ValueError traceback
("Invalid address format"), and an http:// dashboard URL -- what Ray's docs have users put
in RAY_ADDRESS for ``ray job submit``, and what ``nnsynth submit --address`` takes -- in a
ValueError traceback that blamed RAY_ADDRESS even when it came from --address (helper 146).
connect() is the one place every command joins a cluster (run, search, invert, sweep).

No Ray starts: both addresses fail before Ray connects anywhere."""
import pytest

from cluster.connect import connect
from synth.errors import UserError


@pytest.mark.parametrize("address, why", [
    ("garbage address", "Invalid address format: garbage address"),
    ("http://127.0.0.1:8265", "that is a dashboard URL (nnsynth submit takes one)"),
])
def test_an_address_ray_cannot_join_is_one_line(address, why):
    import ray
    with pytest.raises(UserError) as e:
        connect(address)
    message = str(e.value)
    assert message.startswith(f"cannot join the Ray cluster at '{address}': {why}"), message
    assert "GCS HOST:PORT" in message and "\n" not in message
    assert not ray.is_initialized()


def test_a_dashboard_url_in_ray_address_is_named_too(monkeypatch):
    monkeypatch.setenv("RAY_ADDRESS", "http://127.0.0.1:8265")
    with pytest.raises(UserError, match="at 'http://127.0.0.1:8265': that is a dashboard URL"):
        connect(None)
