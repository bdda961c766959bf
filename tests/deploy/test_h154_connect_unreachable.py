"""A HOST:PORT address where nothing listens is one line, at once (helper 154).

``nnsynth run iris.yaml --address 127.0.0.1:1`` (nothing listening) had ``ray.init`` retry
the GCS without end: still retrying after 6 minutes.  ``cluster.connect`` now tries a TCP
connection to a HOST:PORT address first (a few seconds at most) and refuses it in one line
naming the address and what was expected.  ``auto`` and ``ray://`` addresses are left to
Ray, as before.  No Ray starts."""
import socket

import pytest

from cluster.connect import connect
from synth.errors import UserError


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]        # nothing listens there once it is closed


@pytest.mark.timeout(60)
@pytest.mark.parametrize("source", ["argument", "RAY_ADDRESS"])
def test_an_address_nothing_listens_at_is_refused_at_once(source, monkeypatch):
    import ray
    address = f"127.0.0.1:{_closed_port()}"
    if source == "RAY_ADDRESS":
        monkeypatch.setenv("RAY_ADDRESS", address)
    with pytest.raises(UserError) as e:
        connect(address if source == "argument" else None)
    message = str(e.value)
    assert message.startswith(f"cannot join the Ray cluster at '{address}': nothing accepts "
                              f"a connection at port {address.split(':')[1]} of 127.0.0.1"), \
        message
    assert "GCS" in message and "\n" not in message
    assert not ray.is_initialized()


def test_an_unknown_host_is_named():
    from cluster.connect import gcs_unreachable
    assert gcs_unreachable("nosuchhost.invalid:6379") == "host 'nosuchhost.invalid' is not found"


def test_addresses_that_are_not_host_port_are_left_to_ray():
    from cluster.connect import gcs_unreachable
    for address in ("auto", "ray://127.0.0.1:1", "garbage address", "127.0.0.1", "h:port",
                    ":6379", "127.0.0.1:0"):
        assert gcs_unreachable(address) is None, address


def test_a_listening_port_passes():
    from cluster.connect import gcs_unreachable
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        assert gcs_unreachable(f"127.0.0.1:{s.getsockname()[1]}") is None
