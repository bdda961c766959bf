"""cluster.connect reaches two of Ray's private names (ray_in_own_group: the Popen Ray starts
its processes with; abandon_lost_ray: the node handle).  The dependency is ``ray>=2.60``: a Ray
that moved them must leave nnsynth as it was without them (no process group of its own, no
abandoning), not raise AttributeError from every local Ray start or from the Ctrl-C path."""
from ray._private import services, utils

from cluster.connect import abandon_lost_ray, ray_in_own_group


def test_a_ray_without_the_popen_name_starts_as_before(monkeypatch):
    monkeypatch.delattr(services, "ConsolePopen")
    with ray_in_own_group():
        assert not hasattr(services, "ConsolePopen")


def test_a_ray_without_the_fate_sharing_probe_starts_as_before(monkeypatch):
    original = services.ConsolePopen
    monkeypatch.delattr(utils, "detect_fate_sharing_support")
    with ray_in_own_group():
        assert services.ConsolePopen is original


def test_the_popen_is_put_back_after_the_block():
    original = services.ConsolePopen
    with ray_in_own_group():
        pass
    assert services.ConsolePopen is original


def test_no_local_ray_is_nothing_to_abandon():
    import ray
    assert not ray.is_initialized()
    assert abandon_lost_ray() is False
