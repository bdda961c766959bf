"""DiabDeep's CPU latencies of a resumed run say when they were timed at other thread
counts (h230).

``nnsynth diabdeep --out r.json --threads 1``, interrupted after the server DiabNN, then
rerun without --threads (torch's 2 here) kept the server's row timed at 1 thread beside the
edge's timed at 2, and the summary said ``threads: 2``: the table's 'CPU ms' compared
latencies timed at different thread counts without a word.  Each row now records the count
it was timed at (``latency_threads``), and mixed counts are a warning."""
import pytest
import torch

from synth.diabdeep import DiabDeepConfig, run_diabdeep

TINY = dict(dataset="basicmotions", steps=5, epochs=1, prune_steps=1, retrain_epochs=1,
            final_epochs=0, latency_repeats=1, server_hidden=(8,), edge_hidden=4,
            gate_hidden=2, baselines=(), device="cpu")


def test_a_resume_at_another_thread_count_is_said(tmp_path):
    from hwsim.latency import torch_threads
    config = DiabDeepConfig.from_dict(TINY)
    report = str(tmp_path / "r.json")
    calls = []

    def interrupt_second(model):   # the edge DiabNN's pricing: after the server's row is kept
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return {"latency_ms": 0.0, "energy_mj": 0.0}

    with torch_threads(1), pytest.raises(KeyboardInterrupt):
        run_diabdeep(config, cost_fn=interrupt_second, report=report)
    with torch_threads(2):
        r = run_diabdeep(config, cost_fn=lambda m: {"latency_ms": 0.0, "energy_mj": 0.0},
                         report=report)
    assert [row["latency_threads"] for row in r["rows"]] == [1, 2]
    assert "different torch thread counts" in r["warning"]
    assert "server_diabnn 1" in r["warning"] and "edge_diabnn 2" in r["warning"]


def test_one_thread_count_is_not_warned_of():
    from synth.diabdeep import mixed_threads
    rows = [{"model": "a", "latency_threads": 2}, {"model": "b", "latency_threads": 2},
            {"model": "old", "latency_ms": 1.0}]   # a row kept before the count was recorded
    assert mixed_threads(rows) is None
    assert torch.get_num_threads() >= 1
