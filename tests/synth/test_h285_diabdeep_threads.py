"""A finished ``nnsynth diabdeep --out`` report is reported to a rerun only at the torch
thread count its rows' CPU latencies were timed at (h285): a report timed at 1 thread was
reported to a rerun with --threads 2 as that run's own, its summary saying threads 2 beside
rows of latency_threads 1."""
import logging
import os

import torch

from synth.data import load_dataset
from synth.diabdeep import run_diabdeep
from tests.synth.test_h284_diabdeep_rerun import _config


def test_a_rerun_at_another_thread_count_times_the_rows_again(tmp_path, caplog):
    data = load_dataset("basicmotions", seed=0)
    report = tmp_path / "r.json"
    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        first = run_diabdeep(_config(), data=data, report=str(report))
        written = os.stat(report).st_mtime_ns
        assert {r["latency_threads"] for r in first["rows"]} == {1}
        torch.set_num_threads(2)
        with caplog.at_level(logging.WARNING):
            again = run_diabdeep(_config(), data=data, report=str(report))
    finally:
        torch.set_num_threads(threads)
    assert "is the finished result of this same command" not in caplog.text
    assert f"{report} holds the result of another DiabDeep run" in caplog.text
    assert os.stat(report).st_mtime_ns != written
    assert {r["latency_threads"] for r in again["rows"]} == {2}
