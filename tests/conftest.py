"""Shared fixtures: small real data sets and a Ray started once per module that asks."""
import os

import pytest
import torch

os.environ.setdefault("RAY_DEDUP_LOGS", "1")
# Ray starts its worker processes (tasks, actors, Tune trials, Ray Train workers) at nice 15
# by default: on a machine where benchmarks run under `nice -n 15`, the suite's own workers
# then get no more CPU than those benchmarks (a pair actor was seen at 5% of a core).  The
# tests' Rays -- in this process, in the `nnsynth` subprocesses and `ray start` heads, which
# inherit this environment -- run their workers at the suite's priority.
os.environ.setdefault("RAY_worker_niceness", "0")
# One torch thread in the test process: on tiny tensors a second thread only adds
# contention (test_cli + test_grow_prune + test_distill: 37 s with 2 threads, 19 s with 1,
# on the 2 cores this suite shares with other work).
torch.set_num_threads(1)


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
