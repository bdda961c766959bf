"""Shared fixtures: small real data sets and a Ray started once per module that asks."""
import os
import tempfile

import pytest
import torch

os.environ.setdefault("RAY_DEDUP_LOGS", "1")
# Ray starts its worker processes (tasks, actors, Tune trials, Ray Train workers) at nice 15
# by default: on a machine where benchmarks run under `nice -n 15`, the suite's own workers
# then get no more CPU than those benchmarks (a pair actor was seen at 5% of a core).  The
# tests' Rays -- in this process, in the `nnsynth` subprocesses and `ray start` heads, which
# inherit this environment -- run their workers at the suite's priority.
os.environ.setdefault("RAY_worker_niceness", "0")
# The searches the suite starts are recorded (search.trust) in a state directory of its own,
# not the user's ~/.local/state/nnsynth; subprocesses and Ray's workers inherit it.
os.environ.setdefault("NNSYNTH_STATE_DIR", tempfile.mkdtemp(prefix="nnsynth-test-state-"))
# Every Ray Train run of the suite (in this process's Ray, in `nnsynth` subprocesses, in a
# `ray start` head's jobs: all inherit this environment) polls its workers every 0.5 s, not
# Ray's 2 s (about a second lost per training), and starts no preemption watcher (a Python
# process per training, for spot nodes no test has).  The loopback clusters and heads of
# tests/deploy/raytools.py had this; a training on the modules' `ray_local` did not.
from tests.deploy.raytools import RAY_TRAIN_TEST_ENV  # noqa: E402  (no heavy imports)
for _name, _value in RAY_TRAIN_TEST_ENV.items():
    os.environ.setdefault(_name, _value)
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


# The modules that take longest (seconds, `--durations=0` of the whole suite on 2 workers at
# load ~6, 2026-12-04; test_two_node includes the headless tiny run it took over), first.
# With `--dist loadfile` xdist gives modules out in collection order (`--no-loadscope-reorder`
# in pyproject.toml: by default it sorts them by their number of tests, which put these
# one-to-five-test modules last, and a worker then ran the last of them while the other
# had finished); longest first, the many short modules at the end even out the two workers.
# A module not listed keeps its place after these.
SLOW_MODULES = {
    "tests/deploy/test_resume_search.py": 253,
    "tests/cluster/test_loopback.py": 236,
    "tests/cluster/test_pairs.py": 235,
    "tests/deploy/test_two_node.py": 215,
    "tests/deploy/test_faults.py": 187,
    "tests/deploy/test_job_submit.py": 159,
    "tests/cluster/test_train.py": 109,
    "tests/search/test_tune_run.py": 65,
    "tests/synth/test_distill_resume.py": 55,
    "tests/test_hostile_inputs.py": 51,
    "tests/search/test_searchers.py": 45,
    "tests/synth/test_models.py": 39,
    "tests/cluster/test_invert_reports.py": 35,
    "tests/cluster/test_connect_pool.py": 35,
    "tests/deploy/test_ownership.py": 35,
    "tests/cluster/test_hwsim_pool.py": 32,
    "tests/synth/test_inversion_families.py": 30,
    "tests/synth/test_secret.py": 28,
    "tests/synth/test_continual.py": 27,
}


def pytest_collection_modifyitems(config, items):
    cost = {}
    for item in items:
        path = item.nodeid.split("::", 1)[0]
        cost.setdefault(path, SLOW_MODULES.get(path, 0))
    items.sort(key=lambda item: -cost[item.nodeid.split("::", 1)[0]])   # stable
