"""Ray Train's failed autoscaler hints are dropped, its other records kept (h267).

On a busy machine ``nnsynth distill --synth ...``, ``nnsynth run``'s refine stage and
``nnsynth train --workers N`` printed, without -q, a WARNING with a GetTimeoutError
traceback from Ray Train's controller: "Failed to send resource request for train-<id>. If
this only happens transiently during network partition or CPU being overloaded, it's safe
to ignore this error. ..." (Ray 2.60's TrainAutoscalingCoordinatorClient: its 5 s ray.get
of the AutoscalingCoordinator actor timed out), and "Failed to cancel resource request ..."
likewise as a fit ends.  Those requests only tell an autoscaler what the training will ask
for (resent every 20 s, expired after 180 s; the training's placement group is requested
on its own), so ``hide_ray_train_chatter`` drops both; the logger's errors still pass.

The records are made by Ray's own client, whose coordinator actor is one that times out
(no Ray starts)."""
import importlib
import logging

import pytest

from cluster.connect import RAY_TRAIN_CHATTER, hide_ray_train_chatter

CLIENT = "ray.train.v2._internal.execution.scaling_policy.autoscaling_coordinator_client"


class _Kept(logging.Handler):
    def __init__(self):
        super().__init__()
        self.records = []

    def emit(self, record):
        self.records.append(record)


class _BusyCoordinator:
    """The AutoscalingCoordinator actor's handle as Ray's client meets it on a loaded
    CPU: each call's ray.get times out."""

    def __getattr__(self, name):
        from ray.exceptions import GetTimeoutError
        raise GetTimeoutError("Get timed out: some object(s) not ready.")


@pytest.fixture
def kept():
    logger = logging.getLogger(CLIENT)
    handler = _Kept()
    logger.addHandler(handler)
    propagate, logger.propagate = logger.propagate, False   # Ray's stderr handler: quiet
    # its own level: an earlier test of the worker may have left 'ray' at ERROR (a -q
    # command), and the WARNING this test keeps was then never made (failed in a full run)
    level = logger.level
    logger.setLevel(logging.DEBUG)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)
        logger.propagate = propagate
        logger.setLevel(level)


def test_a_timed_out_resource_request_is_not_shown(kept):
    hide_ray_train_chatter()
    module = importlib.import_module(CLIENT)
    from ray.train.v2.api.config import ScalingConfig
    client = module.TrainAutoscalingCoordinatorClient("train-h267")
    client.__dict__["_autoscaling_coordinator"] = _BusyCoordinator()   # its cached_property
    client.send_resource_request(ScalingConfig(num_workers=2), 2)
    client.cancel_resource_request()
    assert [r.getMessage()[:40] for r in kept.records] == []
    # the same logger's errors, and its other warnings, pass
    logger = logging.getLogger(CLIENT)
    logger.error("Failed to send resource request for train-h267: coordinator died")
    logger.warning("Resource request rejected for train-h267")
    assert [r.levelno for r in kept.records] == [logging.ERROR, logging.WARNING]


def test_the_logger_is_the_clients_own():
    """The name is the logger of the Ray module that logs the messages (a rename in a Ray
    upgrade would leave the filter on a logger nothing uses)."""
    assert CLIENT in RAY_TRAIN_CHATTER
    assert importlib.import_module(CLIENT).logger.name == CLIENT
