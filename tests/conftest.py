"""Shared fixtures: small real data sets and a Ray started once per module that asks."""
import os

import pytest
import torch

os.environ.setdefault("RAY_DEDUP_LOGS", "1")
torch.set_num_threads(2)


@pytest.fixture(scope="session")
def mnist():
    from synth.data import load_dataset
    return load_dataset("mnist5k")


@pytest.fixture(scope="session")
def digits():
    from synth.data import load_dataset
    return load_dataset("digits")


@pytest.fixture(scope="module")
def ray_local():
    """A local Ray with 2 CPUs for one test module (start-up costs ~5 s)."""
    import ray
    from cluster.connect import connect
    connect(num_cpus=2)
    yield ray
    ray.shutdown()


@pytest.fixture(scope="module", autouse=True)
def _no_ray_leaks_between_modules():
    """A module whose tests joined Ray in-process (a CLI command run through CliRunner
    does) leaves it up; the next module's cluster fixture would then talk to that Ray.
    Each module ends with Ray shut down, whoever started it."""
    yield
    import sys
    ray = sys.modules.get("ray")
    if ray is not None and ray.is_initialized():
        ray.shutdown()
