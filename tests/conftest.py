"""Shared fixtures: small real data sets and a local Ray shared by the modules that ask."""
import atexit
import contextlib
import logging
import os
import shutil
import signal
import tempfile
from pathlib import Path

import pytest
import torch

os.environ.setdefault("RAY_DEDUP_LOGS", "1")
# pytest-xdist runs -n N workers side by side (2 on CI's 2 cores), each with torch's default
# of one intra-op thread per core: the cores are then oversubscribed, and a small model's every
# BatchNorm, loss and backward enters a parallel region that waits for a descheduled thread.
# The iris inversion of tests/synth/test_inversion_restarts took 30 s for one seed at 2
# threads beside another busy process and 1.1 s at 1.  Each worker, and the subprocesses it
# starts (`nnsynth` commands, `ray start` heads: OMP_NUM_THREADS, which Ray's workers override
# with their own CPUs), gets its share of the cores.  `-n 0` keeps torch's default.
_XDIST_WORKERS = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT") or 0)
if _XDIST_WORKERS > 1:
    _THREADS = max(1, (os.cpu_count() or 1) // _XDIST_WORKERS)
    torch.set_num_threads(_THREADS)
    os.environ.setdefault("OMP_NUM_THREADS", str(_THREADS))
# Ray starts its worker processes (tasks, actors, Tune trials, Ray Train workers) at nice 15
# by default: on a machine where benchmarks run under `nice -n 15`, the suite's own workers
# then get no more CPU than those benchmarks (a pair actor was seen at 5% of a core).  The
# tests' Rays -- in this process, in the `nnsynth` subprocesses and `ray start` heads, which
# inherit this environment -- run their workers at the suite's priority.
os.environ.setdefault("RAY_worker_niceness", "0")
# A suite started in the background of a shell without job control (`pytest ... &`, nohup)
# inherits SIGINT ignored, and so does every process it starts: the tests that send Ctrl-C
# to an `nnsynth` command then waited out their timeouts (test_h259_diabdeep_interrupt_line)
# and the one that checks Python's own handler failed (test_h206_deploy).  The suite runs
# with Python's default Ctrl-C, as a terminal gives it (children reset it to SIG_DFL at exec).
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)
# The searches the suite starts are recorded (search.trust) in a state directory of its own,
# not the user's ~/.local/state/nnsynth; subprocesses and Ray's workers inherit it, and so do
# pytest-xdist's workers (started after the main process has imported this module), which
# make none of their own.  The process that made it removes it when its run ends
# (``pytest_unconfigure``, after its workers' ends): mkdtemp at every import -- each worker's
# unused one too -- and no removal left 1,439 of them in /tmp.  A NNSYNTH_STATE_DIR given from
# outside is the caller's: kept.
_OWN_STATE_DIR = None
if not os.environ.get("NNSYNTH_STATE_DIR"):
    _OWN_STATE_DIR = (os.getpid(), tempfile.mkdtemp(prefix="nnsynth-test-state-"))
    os.environ["NNSYNTH_STATE_DIR"] = _OWN_STATE_DIR[1]


def _remove_own_state_dir() -> None:
    """This module's state directory, by the process that made it (a fork, or a process that
    inherited the variable, removes nothing), once."""
    global _OWN_STATE_DIR
    if _OWN_STATE_DIR is not None and _OWN_STATE_DIR[0] == os.getpid():
        shutil.rmtree(_OWN_STATE_DIR[1], ignore_errors=True)
        _OWN_STATE_DIR = None


# also at exit: a process that imported this module without pytest's unconfigure running
atexit.register(_remove_own_state_dir)
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


# One local Ray per pytest process, shared by consecutive modules that ask for ``ray_local``:
# a local Ray costs ~7 s of CPU to start (5 s of it in Ray's own processes) and ~2 s to stop.
# A module is handed the Ray the previous module left only if that module left it clean
# (every CPU free, no named actor: nothing it started outlives it); otherwise it gets a
# fresh one, as before.  A module that does not ask for it starts with no Ray in this
# process (``_no_ray_leaks_between_modules``), so its commands start their own as a user's
# would.  Tests that kill Ray's own processes or need other cluster options keep their own.
_SHARED_RAY = {"clean": False}
# Named actors Ray itself keeps for the cluster's life (Ray Data's, which Ray Train starts
# with every training); shared by design, never an nnsynth object.
RAYS_OWN_NAMESPACES = {"AutoscalingCoordinator"}


def _ray_left_clean(ray, wait: float = 5.0) -> bool:
    """Every CPU of this Ray free again (actors of the module may take a moment to die)
    and no named actor left (a pool a later module's get_pool would find)."""
    import time
    deadline = time.monotonic() + wait
    named = [a for a in ray.util.list_named_actors(all_namespaces=True)
             if a["namespace"] not in RAYS_OWN_NAMESPACES]
    if named:
        return False
    while ray.available_resources().get("CPU", 0) != ray.cluster_resources().get("CPU", 0):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


@pytest.fixture(scope="module")
def ray_local():
    """A local Ray with 2 CPUs for one test module: the one the previous module of this
    process left clean, else a new one (start-up ~5 s)."""
    import ray
    from cluster.connect import connect
    if not (ray.is_initialized() and _SHARED_RAY["clean"]):
        ray.shutdown()
        # from the project's directory: Ray's workers import the tests' functions from
        # the driver's working directory (a test that had changed it broke them)
        with contextlib.chdir(Path(__file__).resolve().parents[1]):
            connect(num_cpus=2)
    _SHARED_RAY["clean"] = False
    yield ray
    _SHARED_RAY["clean"] = ray.is_initialized() and _ray_left_clean(ray)
    if not _SHARED_RAY["clean"]:
        ray.shutdown()


def _uses_ray_local(module) -> bool:
    return any("ray_local" in getattr(item, "fixturenames", ())
               for item in module.session.items if item.module is module.obj) \
        if hasattr(module, "obj") else False


LIBRARY_LOGGERS = ("synth", "hwsim", "cluster", "search", "deploy")
# the suite's own settings, as this process starts: what every test begins with
_BASELINE_LEVELS = {name: logging.getLogger(name).level for name in LIBRARY_LOGGERS}
_BASELINE_TQDM = os.environ.get("TQDM_DISABLE")


def _restore_cli_output_settings() -> None:
    for name, level in _BASELINE_LEVELS.items():
        logging.getLogger(name).setLevel(level)
    if _BASELINE_TQDM is None:
        os.environ.pop("TQDM_DISABLE", None)
    else:
        os.environ["TQDM_DISABLE"] = _BASELINE_TQDM


@pytest.fixture(autouse=True)
def _cli_output_settings_restored():
    """A CLI command run in this process (CliRunner) sets the library loggers' levels and,
    with -q, TQDM_DISABLE (``deploy.cli.options.configure_output``: right for a process
    that runs one command); every test starts from the suite's own settings and they are
    put back after it.  Before, a ``-q`` command left 'synth' at ERROR for every later test
    of the worker, and a test reading a warning through caplog (test_resume_more's
    'resuming grow-prune') failed or passed by the order xdist gave the modules out.  The
    baseline is this process's start, not each test's: a module fixture's own ``-q``
    command (run before its first test) was taken as the level to restore."""
    _restore_cli_output_settings()
    yield
    _restore_cli_output_settings()


# the signals whose handlers a library may install and leave behind
_RESTORED_SIGNALS = tuple(getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGUSR1")
                          if hasattr(signal, name))


@pytest.fixture(autouse=True)
def _signal_handlers_restored():
    """Ray Tune's ``Tuner.fit`` installs its own SIGINT/SIGUSR1 handler and never puts the
    previous one back (``ray.tune.tune._setup_signal_catching``); nnsynth's own calls do
    (``search.run``, ``cluster.train``), but a test that runs a Tuner directly left Tune's
    handler for every later test of its xdist worker, and test_h206's Ctrl-C test failed or
    passed by the order the modules were given out (the clean-clone CI of 51a32d9).  Every
    test starts from, and is left with, the handlers the worker had before it."""
    before = {number: signal.getsignal(number) for number in _RESTORED_SIGNALS}
    yield
    for number, handler in before.items():
        if handler is not None and signal.getsignal(number) is not handler:
            signal.signal(number, handler)


@pytest.fixture(autouse=True)
def _torch_threads_restored():
    """Every test starts from, and is left with, the torch thread count its process had
    before it.  A test that builds an actor's class in this process (test_pairs'
    ``PairActor(...)``: ``cluster.connect.match_torch_threads``, which gives a process with
    no Ray assignment all the machine's cores) left 2 threads for every later test of its
    xdist worker, about half the suite, on 2 cores shared by two workers: the iris
    inversions of test_h255_inputs_restarted took 21-38 s in clean-clone CI runs; after
    test_pairs' tabular and ADI-protocol tests on one pytest (-n 0, load ~6.6) 113.3 s with
    the leak, 8.3 s without."""
    before = torch.get_num_threads()
    yield
    if torch.get_num_threads() != before:
        torch.set_num_threads(before)


@pytest.fixture(scope="module", autouse=True)
def _torch_threads_restored_after_the_module():
    """The same for a module's fixtures (torn down before this one): its next module starts
    from the count this one began with."""
    before = torch.get_num_threads()
    yield
    if torch.get_num_threads() != before:
        torch.set_num_threads(before)


@pytest.fixture(scope="module", autouse=True)
def _no_ray_leaks_between_modules(request):
    """A module whose tests joined Ray in-process (a CLI command run through CliRunner
    does) leaves it up; the next module's commands would then use that Ray.  A module
    starts with no Ray in this process unless it asks for ``ray_local`` and the previous
    module left the shared one clean; each module ends with Ray shut down unless it is
    that shared, clean one."""
    import sys
    ray = sys.modules.get("ray")
    shared = _SHARED_RAY["clean"] and _uses_ray_local(request.node)
    if ray is not None and ray.is_initialized() and not shared:
        ray.shutdown()
    if not shared:
        _SHARED_RAY["clean"] = False
    yield
    ray = sys.modules.get("ray")
    if ray is not None and ray.is_initialized() and not _SHARED_RAY["clean"]:
        ray.shutdown()


# The modules that take longest (seconds: setup + call + teardown of their tests, summed from
# `--durations=0` of the whole suite on 2 workers at load ~7, 2026-12-06; the order matters,
# not the figures, which are ~2.6x the quiet CI's), first.  With `--dist loadfile` xdist
# gives modules out in collection order (`--no-loadscope-reorder` in pyproject.toml: by
# default it sorts them by their number of tests, which put these one-to-five-test modules
# last, and a worker then ran the last of them while the other had finished); longest
# first, the many short modules at the end even out the two workers.  A module not listed
# keeps its place after these.  In-process torch modules vary most with the other worker's
# load (test_guide: 10-30 s in quiet CI runs, 116 s in one, 319 s here): listed, they start
# early instead of ending one worker's run alone.  Replayed through a model of xdist's
# loadfile scheduler (a worker is sent the next module once 2 or fewer of its tests are
# left) with that run's durations, the 2026-12-04 table ends the two workers 67 s apart
# (1838 s), this one 3 s (1806 s): ~1.7% of the wall time, a balance, not a cut in work.
SLOW_MODULES = {
    "tests/test_guide.py": 319,
    "tests/deploy/test_job_submit.py": 178,
    "tests/synth/test_continual.py": 178,
    "tests/deploy/test_faults.py": 155,
    "tests/deploy/test_resume_search.py": 137,
    "tests/deploy/test_two_node.py": 135,
    "tests/cluster/test_pairs.py": 116,
    "tests/deploy/test_iterations_default_h104.py": 78,
    "tests/synth/test_h133_temporal_generator.py": 74,
    "tests/cluster/test_loopback.py": 66,
    "tests/cluster/test_train.py": 64,
    "tests/search/test_wide_ranges_h93.py": 61,
    "tests/search/test_h223_search_progress.py": 58,
    "tests/deploy/test_onnx_export.py": 56,
    "tests/search/test_space_h70.py": 55,
    "tests/search/test_h205_reuse_actors.py": 54,
    "tests/cluster/test_h154_ship_models.py": 48,
    "tests/cluster/test_latency_cache.py": 47,
    "tests/deploy/test_cli_output.py": 46,
    "tests/test_h181_state_dir_cleanup.py": 44,
    "tests/test_probe6_h65.py": 41,
    "tests/search/test_searchers.py": 40,
    "tests/synth/test_secret.py": 40,
    "tests/synth/test_generator_fallback.py": 36,
    "tests/synth/test_growth_probe7.py": 35,
    "tests/test_hostile_inputs.py": 34,
    "tests/cluster/test_hwsim_pool.py": 32,      # 16 in that run, where its tests failed early
    "tests/cluster/test_h180_unfinished_set.py": 32,
    "tests/deploy/test_pipeline.py": 30,
    "tests/deploy/test_cli_symbiotic.py": 29,
    "tests/cluster/test_connect_pool.py": 28,
    "tests/search/test_tune_run.py": 26,
    "tests/deploy/test_ownership.py": 26,
    "tests/deploy/test_h149_sweep_constraints.py": 26,
    "tests/test_security_probe.py": 26,
    "tests/synth/test_amortized.py": 24,
    "tests/cluster/test_h183_pool_sizes.py": 24,
    "tests/search/test_h149_infeasible.py": 23,
    "tests/synth/test_h173_secret.py": 23,
    "tests/cluster/test_h180_adi_reproducible.py": 23,
    "tests/hwsim/test_h203_meta_shapes.py": 22,
    "tests/cluster/test_pool_sessions.py": 21,
    "tests/test_layers.py": 20,
    # longer than 20 s in a `--durations=0` run of 2026-12-07 (load ~5, x1.5 to this table's
    # units) and not listed above: without a place here they ran after every listed module
    "tests/search/test_h245_tune_state_digest.py": 81,
    "tests/cluster/test_h180_rerun_unstarted.py": 52,
    "tests/cluster/test_h255_inputs_restarted.py": 44,
    "tests/search/test_h267_tune_state_reads.py": 38,
    "tests/cluster/test_h195_adi_pairs_reproducible.py": 36,
    "tests/cluster/test_invert_reports.py": 33,
    "tests/synth/test_h116_sequence_inversion.py": 28,
    "tests/cluster/test_h258_restarts_resumed.py": 24,
    "tests/cluster/test_adi_generator_h102.py": 24,
}


def pytest_collection_modifyitems(config, items):
    """Longest modules first; the modules that share ``ray_local`` one after another (at the
    place of the longest of them), so that a pytest worker takes them in a row and starts
    their Ray once rather than once per module."""
    cost, shared = {}, set()
    for item in items:
        path = item.nodeid.split("::", 1)[0]
        cost.setdefault(path, SLOW_MODULES.get(path, 0))
        if "ray_local" in getattr(item, "fixturenames", ()):
            shared.add(path)
    group = max((cost[p] for p in shared), default=0)
    key = {p: (-(group if p in shared else c), p not in shared, -c) for p, c in cost.items()}
    items.sort(key=lambda item: key[item.nodeid.split("::", 1)[0]])   # stable


def pytest_collection_finish(session):
    """What exists once the tests are collected (torch, Ray, scikit-learn, every test module
    and its parameters: objects that live as long as the session) is moved out of the
    garbage collector's view (``gc.freeze``, after a collection of what is already garbage):
    every full collection of a test process otherwise walks those millions of objects again.
    No object a test makes is frozen; each pytest worker (xdist) collects, so each freezes its
    own.  Measured (user CPU, -n 0, back to back, twice): tests/hwsim 26.96/27.47 ->
    26.12/24.87 s; test_searchers + test_wide_ranges_h93 + synth/test_secret 23.17/22.19 ->
    20.39/20.35 s."""
    import gc
    gc.collect()
    gc.freeze()


def pytest_sessionfinish(session, exitstatus):
    """The shared Ray of the last module that kept it, stopped with the session."""
    import sys
    ray = sys.modules.get("ray")
    if ray is not None and ray.is_initialized():
        ray.shutdown()


def pytest_unconfigure(config):
    """The state directory this process made (``_OWN_STATE_DIR``), removed at the end of its
    run: in the main process after its xdist workers have ended."""
    _remove_own_state_dir()
