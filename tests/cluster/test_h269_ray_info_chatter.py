"""Ray's own info lines are not shown unless nnsynth's are (-v) (h269).

``nnsynth run tiny`` (progress on, no -v) printed between its stage lines Ray's driver INFO
("Started a local Ray instance.", and in Ray Train's local mode "Running in local mode. ..."
and "Reported metrics: {'rank': 0}"), its note that token authentication is enabled, and
from each training worker "Moving model to device: cpu" and "Reporting training result 1:
TrainingReport(checkpoint=Checkpoint(...), metrics={'rank': 0}, ...) from rank 0".
``connect`` now starts Ray's driver logger at WARNING (INFO with -v, ERROR with -q:
``ray_log_level``); the token note shows only with -v; the two worker messages are dropped
by the filters the workers' setup hook installs (``hide_ray_train_chatter``), their loggers'
errors kept.  The local start itself is checked in test_h171_ray_auth_message.py (one Ray
start there)."""
import importlib
import logging
import sys

import pytest

from cluster.connect import (RAY_AUTH_LOGGER, RAY_TRAIN_FILE_CHATTER, hide_auth_opt_out,
                             hide_ray_train_chatter, ray_log_level)

connect_module = sys.modules["cluster.connect"]
TORCH_UTILS = "ray.train.v2.torch.train_loop_utils"
CONTEXT = "ray.train.v2._internal.execution.context"


@pytest.fixture
def cluster_level():
    """Sets the level of nnsynth's ``cluster`` logger (as -v/-q do) for one test."""
    logger = logging.getLogger("cluster")
    before = logger.level
    yield logger.setLevel
    logger.setLevel(before)


def test_rays_driver_level_follows_nnsynths_verbosity(cluster_level):
    cluster_level(logging.WARNING)             # nnsynth run: progress, no -v
    assert ray_log_level(quiet=False) == "WARNING"
    assert ray_log_level(quiet=True) == "ERROR"
    cluster_level(logging.INFO)                # nnsynth -v run
    assert ray_log_level(quiet=False) == "INFO"
    assert ray_log_level(quiet=True) == "ERROR"


def _passes(logger: logging.Logger, level: int, message: str) -> bool:
    record = logger.makeRecord(logger.name, level, __file__, 1, message, (), None)
    return bool(logger.filter(record))


def test_a_training_workers_reports_are_dropped_and_errors_kept():
    hide_ray_train_chatter()
    moving = logging.getLogger(TORCH_UTILS)
    report = logging.getLogger(importlib.import_module(CONTEXT).logger.name)
    assert not _passes(moving, logging.INFO, "Moving model to device: cpu")
    assert not _passes(report, logging.INFO, (
        "Reporting training result 1: TrainingReport(checkpoint=Checkpoint(filesystem=local, "
        "path=/tmp/r/ray_train/teacher/checkpoint_2026-12-06_23-51-49.441194), "
        "metrics={'rank': 0}, validation=False) from rank 0"))
    assert _passes(report, logging.ERROR, "Reporting training result 1 failed")
    assert _passes(report, logging.WARNING, "Checkpoint upload slow")
    assert _passes(moving, logging.WARNING, "Moving model to device cuda:1 failed")


def test_the_file_named_loggers_are_ray_trains_own():
    """Ray Train names these loggers by their module's file: the name found without importing
    the module is the one the module uses."""
    for module in RAY_TRAIN_FILE_CHATTER:
        found = connect_module._module_file(module)
        assert found and importlib.import_module(module).logger.name == found
    assert connect_module._module_file("ray.no_such_module") is None


class _Collect(logging.Handler):
    def __init__(self):
        super().__init__(logging.DEBUG)
        self.lines = []

    def emit(self, record):
        self.lines.append(record.getMessage())


def test_the_token_auth_note_shows_with_v_only(cluster_level):
    """Ray's own warning function, through the filter connect installs."""
    from ray._private.authentication import authentication_token_setup as setup
    hide_auth_opt_out()
    logger = logging.getLogger(RAY_AUTH_LOGGER)
    handler, level = _Collect(), logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.WARNING)
    try:
        cluster_level(logging.WARNING)
        setup._warn_token_auth_enabled()
        assert handler.lines == []
        setup._warn_token_auth_disabled()      # advice to turn it on: always shown
        assert handler.lines[-1].startswith("Token authentication is disabled")
        cluster_level(logging.INFO)
        setup._warn_token_auth_enabled()
        assert handler.lines[-1].startswith("Token authentication is enabled for this Ray")
        assert "RAY_AUTH_MODE=disabled" not in handler.lines[-1]
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


def test_a_local_rays_workers_start_no_preemption_watcher():
    """Ray Train's PreemptionWatcher (one actor per fit, polling for drained nodes) made its
    controller print a C++ error line ("core_worker.cc:2465: Actor with class name:
    'PreemptionWatcher' ... max_restarts > 0 ..."); a local Ray's workers get Ray Train's
    switch off, unless the user set it (environment or runtime_env)."""
    from cluster.connect import PREEMPTION_WATCHER, RAY_WORKER_SETUP, local_runtime_env
    from ray.train.v2._internal.constants import ENABLE_PREEMPTION_WATCHER_ENV_VAR
    assert PREEMPTION_WATCHER == ENABLE_PREEMPTION_WATCHER_ENV_VAR   # Ray Train's own name
    env = local_runtime_env(None, environ={})
    assert env == {"worker_process_setup_hook": RAY_WORKER_SETUP,
                   "env_vars": {PREEMPTION_WATCHER: "0"}}
    mine = {"env_vars": {"A": "1"}, "worker_process_setup_hook": "my.hook"}
    assert local_runtime_env(mine, environ={}) == {
        "worker_process_setup_hook": "my.hook", "env_vars": {"A": "1", PREEMPTION_WATCHER: "0"}}
    assert mine == {"env_vars": {"A": "1"}, "worker_process_setup_hook": "my.hook"}
    assert "env_vars" not in local_runtime_env(None, environ={PREEMPTION_WATCHER: "1"})
    kept = local_runtime_env({"env_vars": {PREEMPTION_WATCHER: "1"}}, environ={})
    assert kept["env_vars"] == {PREEMPTION_WATCHER: "1"}


def test_a_pairs_shard_leaves_its_low_fidelity_to_the_driver(digits, tmp_path, caplog):
    """Each PairActor logged its shard's "inversion reached fidelity ..." warning, which Ray
    forwarded to the terminal ("(PairActor pid=...) inversion reached fidelity 0.812 ...", one
    a stage late) beside the driver's line for the whole set; the shard's stats keep it."""
    from cluster.pairs import PairActor
    from synth.checkpoint import read_checkpoint
    from synth.distill import DistillConfig
    from synth.inversion import InversionConfig
    from tests.synth._tiny import one_thread_teacher_checkpoint
    payload = read_checkpoint(one_thread_teacher_checkpoint(digits, tmp_path))
    config = InversionConfig.preset("mnist28", iterations=2, batch_size=10, jitter=1,
                                    early_stop=False, device="cpu", min_fidelity=0.999)
    kd = {**DistillConfig(kd_steps_per_round=1, batch_size=10, device="cpu").to_dict(),
          "total_steps": 4}
    shard = {"index": 0, "seed": 0, "labels": list(range(10)) * 2}
    with caplog.at_level(logging.WARNING):
        plain = PairActor(payload).synthesize_shard({**shard, "config": config.to_dict()})
        adi = PairActor(payload, {"family": "mlp", "hidden": [8]}, kd=kd).synthesize_shard(
            {**shard, "config": config.replace(adi_weight=1.0).to_dict()})
    for res in (plain, adi):
        assert res["stats"]["warning"].startswith("inversion reached fidelity"), res["stats"]
    said = [r.getMessage() for r in caplog.records
            if "inversion reached fidelity" in r.getMessage()]
    assert said == [], said
