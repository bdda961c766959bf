"""A rerun of a finished ``nnsynth diabdeep --out`` (the same settings, baselines and data)
reports the report it wrote, where it trained every network again (h284): the report records
its run (``run_key``), as train's checkpoint does."""
import json
import logging
import os

from synth.data import load_dataset
from synth.diabdeep import DiabDeepConfig, run_diabdeep
from tests.synth.test_diabdeep_resume import TINY


def _config(**extra):
    return DiabDeepConfig.from_dict({"dataset": "basicmotions", "steps": 5, "epochs": 1,
                                     "baselines": ["forest"], "seed": 0, **TINY, **extra})


def test_a_finished_report_is_reported_and_other_settings_run(tmp_path, caplog):
    data = load_dataset("basicmotions", seed=0)
    report = tmp_path / "r.json"
    first = run_diabdeep(_config(), data=data, report=str(report))
    written = os.stat(report).st_mtime_ns, report.read_bytes()
    with caplog.at_level(logging.WARNING):
        again = run_diabdeep(_config(), data=data, report=str(report))
    assert (os.stat(report).st_mtime_ns, report.read_bytes()) == written   # not run again
    assert json.loads(json.dumps(again)) == json.loads(json.dumps(first))
    assert f"{report} is the finished result of this same command" in caplog.text
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        other = run_diabdeep(_config(epochs=2), data=data, report=str(report))
    assert os.stat(report).st_mtime_ns != written[0] and other["config"]["epochs"] == 2
    assert f"{report} holds the result of another DiabDeep run" in caplog.text
