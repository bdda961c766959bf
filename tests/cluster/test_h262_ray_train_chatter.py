"""Ray Train's stray lines are dropped, its other records kept (h262).

``nnsynth run``'s refine stage printed, between nnsynth's own lines, Ray Train's
"Checkpoint successfully created at: Checkpoint(...)" (a worker's storage logger, INFO) and
"Failed to query Ray Train Controller actor state. ..." (its detached placement-group
cleaner, WARNING, at the end of every fit).  ``cluster.connect.hide_ray_train_chatter``
filters those two messages on their loggers (in the driver and, as the local Ray's
``worker_process_setup_hook``, in every worker); the loggers' other records pass."""
import logging

from cluster.connect import RAY_TRAIN_CHATTER, RAY_WORKER_SETUP, hide_ray_train_chatter

STORAGE = "ray.train.v2._internal.execution.storage"
CLEANER = "ray.train.v2._internal.execution.controller.placement_group_cleaner"


def _passes(name: str, level: int, message: str) -> bool:
    logger = logging.getLogger(name)
    record = logger.makeRecord(name, level, __file__, 1, message, (), None)
    return bool(logger.filter(record))


def test_ray_train_chatter_is_dropped_and_its_errors_kept():
    hide_ray_train_chatter()
    hide_ray_train_chatter()   # once per process: a second call adds nothing
    assert sum(type(f).__name__ == "_NoRayTrainChatter"
               for f in logging.getLogger(STORAGE).filters) == 1
    assert set(RAY_TRAIN_CHATTER) >= {STORAGE, CLEANER}
    assert not _passes(STORAGE, logging.INFO, "Checkpoint successfully created at: "
                       "Checkpoint(filesystem=local, path=/tmp/r/ray_train/refine/"
                       "checkpoint_2026-12-06_21-30-00.000000)")
    assert not _passes(CLEANER, logging.WARNING, "Failed to query Ray Train Controller actor "
                       "state. State API may be temporarily unavailable. Continuing to "
                       "monitor.")
    # the same loggers' other records, errors above all, pass
    assert _passes(STORAGE, logging.ERROR, "Failed to persist checkpoint: disk full")
    assert _passes(CLEANER, logging.WARNING, "Failed to clean up placement group pg-1")
    assert _passes("ray.train", logging.INFO, "Checkpoint successfully created at: elsewhere")


def test_the_worker_hook_names_the_filter_function():
    import importlib
    module, _, function = RAY_WORKER_SETUP.rpartition(".")
    assert getattr(importlib.import_module(module), function) is hide_ray_train_chatter
