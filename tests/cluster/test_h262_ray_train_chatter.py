"""Ray Train's stray lines are dropped, its other records kept (h262).

``nnsynth run``'s refine stage printed, between nnsynth's own lines, Ray Train's
"Checkpoint successfully created at: Checkpoint(...)" (a worker's storage logger, INFO) and
"Failed to query Ray Train Controller actor state. ..." (its detached placement-group
cleaner, WARNING, at the end of every fit).  ``cluster.connect.hide_ray_train_chatter``
filters those two messages on their loggers (in the driver and, as the local Ray's
``worker_process_setup_hook``, in every worker); the loggers' other records pass."""
import logging

from cluster.connect import (RAY_TRAIN_CHATTER, RAY_WORKER_SETUP, hide_ray_train_chatter,
                             setup_local_worker)

STORAGE = "ray.train.v2._internal.execution.storage"
CLEANER = "ray.train.v2._internal.execution.controller.placement_group_cleaner"
GROUP = "ray.train.v2._internal.execution.worker_group.worker_group"
SCALING = "ray.train.v2._internal.execution.scaling_policy.scaling_policy"


def _passes(name: str, level: int, message: str) -> bool:
    logger = logging.getLogger(name)
    record = logger.makeRecord(name, level, __file__, 1, message, (), None)
    return bool(logger.filter(record))


def test_ray_train_chatter_is_dropped_and_its_errors_kept():
    hide_ray_train_chatter()
    hide_ray_train_chatter()   # once per process: a second call adds nothing
    assert sum(type(f).__name__ == "_NoRayTrainChatter"
               for f in logging.getLogger(STORAGE).filters) == 1
    assert set(RAY_TRAIN_CHATTER) >= {STORAGE, CLEANER, GROUP, SCALING}
    assert not _passes(STORAGE, logging.INFO, "Checkpoint successfully created at: "
                       "Checkpoint(filesystem=local, path=/tmp/r/ray_train/refine/"
                       "checkpoint_2026-12-06_21-30-00.000000)")
    assert not _passes(CLEANER, logging.WARNING, "Failed to query Ray Train Controller actor "
                       "state. State API may be temporarily unavailable. Continuing to "
                       "monitor.")
    assert not _passes(SCALING, logging.INFO, "Requesting resources: {'CPU': 2.0} * 1")
    assert not _passes(GROUP, logging.INFO, "Attempting to start training worker group of "
                       "size 1 with the following resources: [{'CPU': 2.0}] * 1")
    assert not _passes(GROUP, logging.INFO, "Started training worker group of size 1: \n"
                       "- (ip=127.0.0.1, pid=686) world_rank=0, local_rank=0, node_rank=0")
    # the same loggers' other records, errors above all, pass
    assert _passes(GROUP, logging.ERROR, "Started training worker group ... then failed")
    assert _passes(STORAGE, logging.ERROR, "Failed to persist checkpoint: disk full")
    assert _passes(CLEANER, logging.WARNING, "Failed to clean up placement group pg-1")
    assert _passes("ray.train", logging.INFO, "Checkpoint successfully created at: elsewhere")


def test_the_worker_hook_names_the_filter_function():
    """The hook is setup_local_worker (h264), which installs the filters first."""
    import importlib
    import inspect
    module, _, function = RAY_WORKER_SETUP.rpartition(".")
    assert getattr(importlib.import_module(module), function) is setup_local_worker
    assert "hide_ray_train_chatter()" in inspect.getsource(setup_local_worker)


def test_the_loggers_are_ray_trains_own():
    """Each name is the logger of the Ray Train module that logs the message (a rename in a
    Ray upgrade would leave a filter on a logger nothing uses)."""
    import importlib
    for name in RAY_TRAIN_CHATTER:
        assert importlib.import_module(name).logger.name == name
