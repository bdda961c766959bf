"""cluster.train: synth.train.fit on Ray Train workers.  Two data-parallel workers (DDP over
gloo, each step splitting the same global batch) train an MLP (no BatchNorm: nothing
per-worker) to the same test accuracy as single-process fit, the trained weights come back
through a Ray Train checkpoint, and ray_fit trains a caller's model in place."""
import os
import threading
import time

import pytest
import torch

from tests.cluster.test_loopback import LOOPBACK, _listeners_of, _listening
from tests.deploy.raytools import descendants


@pytest.fixture(scope="module")
def ray2(ray_local):
    return ray_local


def _mlp(digits):
    from synth.models import build
    torch.manual_seed(0)
    return build({"family": "mlp", "hidden": [32]}, digits.input_shape, digits.num_classes)


def _listeners_of_this_process_tree(stop: threading.Event, seen: set) -> None:
    """Poll every listening TCP socket owned by this process or its children (the local
    Ray's GCS, raylet and workers) until ``stop``; add (address, port) to ``seen``."""
    while not stop.is_set():
        table = _listening()
        for pid in [os.getpid(), *descendants(os.getpid())]:
            try:
                seen.update(_listeners_of(pid, os.listdir(f"/proc/{pid}/fd"), table))
            except OSError:
                continue
        time.sleep(0.2)


def test_two_workers_match_single_process_and_train_in_place(ray2, digits, tmp_path):
    """fit_on_workers on two workers, through ray_fit (the drop-in for synth.train.fit that
    copies the trained weights into the caller's model: one Ray Train run serves both
    checks; they were two tests, ~14 s of the suite for the second)."""
    from cluster.train import Scaling, ray_fit
    from synth.train import TrainConfig, evaluate, fit
    config = TrainConfig(epochs=2, progress=False, device="cpu")
    local = _mlp(digits)
    expected = fit(local, digits, config)["test_accuracy"]
    model = _mlp(digits)
    before = evaluate(model, digits.x_test, digits.y_test)["accuracy"]
    stop, seen = threading.Event(), set()
    watcher = threading.Thread(target=_listeners_of_this_process_tree, args=(stop, seen))
    watcher.start()
    try:
        metrics = ray_fit(scaling=Scaling(num_workers=2, cpus_per_worker=1),
                          storage_path=tmp_path)(model, digits, config)
    finally:
        stop.set()
        watcher.join()
    # on a local (loopback-only) Ray the workers' process group listens on loopback only
    # (torch's TCPStore rendezvous listens on every interface: it must not be used here)
    assert seen and not sorted(a for a in seen if a[0] not in LOOPBACK), seen
    assert metrics["workers"] == 2 and len(metrics["nodes"]) == 2, metrics
    assert abs(metrics["test_accuracy"] - expected) <= 0.01, (metrics["test_accuracy"], expected)
    # ray_fit trained the caller's model in place, with the trained weights (rank 0's
    # checkpoint, which fit_on_workers returns as a model)
    after = evaluate(model, digits.x_test, digits.y_test)["accuracy"]
    assert after == pytest.approx(metrics["test_accuracy"]), "not the trained weights"
    assert after > before + 0.3, (before, after)


def test_a_user_error_on_a_worker_is_one_line(ray2, tmp_path):
    """A training that diverged on a Ray Train worker (fit's TrainingDiverged) reached the
    caller as Ray Train's TrainingFailedError, its message the worker's whole traceback: a
    traceback from `nnsynth run` for a learning rate too high.  Now the worker's one line."""
    from cluster.train import Scaling, fit_on_workers
    from synth.data import load_dataset
    from synth.errors import UserError
    from synth.models import build
    from synth.train import TrainConfig
    from tests.synth._tiny import diverging_set
    data = load_dataset(diverging_set(tmp_path))
    model = build({"family": "mlp", "hidden": [8]}, data.input_shape, data.num_classes)
    with pytest.raises(UserError, match="^training diverged") as error:
        fit_on_workers(model, data, TrainConfig(epochs=2, progress=False, device="cpu"),
                       scaling=Scaling(num_workers=1, max_failures=0))
    assert "\n" not in str(error.value) and "Traceback" not in str(error.value)


def _levels_task(inputs, parallel):
    """A worker's task: the levels its library loggers log at."""
    import logging
    from synth.logs import LOGGERS
    return inputs["model"], {"levels": {n: logging.getLogger(n).getEffectiveLevel()
                                        for n in LOGGERS}}


def test_workers_log_at_the_callers_levels(ray2):
    """A Ray Train worker's loggers follow the caller's -v/-q (their levels in the calling
    process): a worker logged at Ray's INFO, so fit's INFO line (the epochs a step floor
    raised) was forwarded beside the caller's own line of it (`nnsynth run`'s teacher, h315)
    at the default level, where the caller shows warnings only."""
    import logging
    from cluster.train import Scaling, train_model
    from synth.logs import LOGGERS
    from synth.models import build
    model = build({"family": "mlp", "hidden": [4]}, (2,), 2)
    before = {n: logging.getLogger(n).level for n in LOGGERS}
    try:
        for level in (logging.WARNING, logging.INFO):
            for n in LOGGERS:
                logging.getLogger(n).setLevel(level)
            _, metrics = train_model(_levels_task, {"model": model},
                                     scaling=Scaling(num_workers=1), device="cpu")
            assert metrics["levels"] == {n: level for n in LOGGERS}, (level, metrics)
    finally:
        for n, level in before.items():
            logging.getLogger(n).setLevel(level)
