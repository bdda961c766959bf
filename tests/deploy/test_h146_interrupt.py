"""A Ctrl-C in a stage after a Ray Train training interrupts the run.

Ray Train's ``trainer.fit`` (ray.train.v2 ``DataParallelTrainer``) installs a SIGINT handler
that aborts its training run and leaves it installed after ``fit`` returns.  The teacher
stage trains on Ray Train, so a Ctrl-C in a later stage went to that handler of a finished
training: it logged "Received SIGINT. Gracefully aborting the training run" and the run went
on (seen in-process, helper 146: after ``cluster.train.fit_on_workers`` returned,
``signal.getsignal(SIGINT)`` was Ray's ``sigint_handler``, and a SIGINT during a sleep raised
nothing).  ``deploy.pipeline.run_stage`` puts the handler back after every stage.

No Ray: the teacher comes from a teacher cache filled here; what ``fit`` does to the handler
is done by the teacher stage's wrapper below (the real stage runs inside it), and the export
stage's wrapper sends SIGINT to this process as a user's Ctrl-C would, then runs the real
export."""
import dataclasses
import json
import os
import signal

import pytest

from deploy import stages as stage_impl
from deploy.ledger import Ledger
from deploy.pipeline import run_pipeline
from deploy.run_config import RunConfig
from tests.deploy.teachers import seed_teacher_cache

TEACHER = {"dataset": "iris", "model": '{"family": "mlp", "hidden": [8], "bn": true}',
           "epochs": 1}
BASE = {"name": "ctrl-c", "scaling": {"num_workers": 0}, "teacher": TEACHER,
        "synthesis": {"enabled": False}, "search": {"enabled": False},
        "refine": {"enabled": False}, "export": {"onnx": False, "price": False}}


def _wrap(monkeypatch, stage, before=None, after=None):
    real = stage_impl.STAGE_REGISTRY[stage].run

    def run(ctx):
        if before:
            before()
        out = real(ctx)
        if after:
            after()
        return out
    monkeypatch.setitem(stage_impl.STAGE_REGISTRY, stage,
                        dataclasses.replace(stage_impl.STAGE_REGISTRY[stage], run=run))


def test_ctrl_c_after_a_stage_that_left_its_own_handler_interrupts_the_run(tmp_path,
                                                                          monkeypatch):
    values = json.loads(json.dumps(BASE))
    values["teacher"]["cache"] = str(tmp_path / "teachers")
    config = RunConfig.from_dict(values)
    seed_teacher_cache(config, tmp_path / "teachers")
    swallowed = []

    def training_handler(signum, frame):   # what Ray Train's fit leaves behind
        swallowed.append(signum)

    original = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        _wrap(monkeypatch, "teacher",
              after=lambda: signal.signal(signal.SIGINT, training_handler))
        _wrap(monkeypatch, "export", before=lambda: os.kill(os.getpid(), signal.SIGINT))
        run = tmp_path / "run"
        with pytest.raises(KeyboardInterrupt):
            run_pipeline(config, run, progress=False, log=lambda m: None)
        assert swallowed == []
        ledger = Ledger(run)
        assert set(ledger.stages) == {"teacher"}
        assert ledger.failed["stage"] == "export"
        assert ledger.failed["error"] == "KeyboardInterrupt"
        assert not (run / "summary.md").exists() and not (run / "final.pt").exists()
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    finally:
        signal.signal(signal.SIGINT, original)
