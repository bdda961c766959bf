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
