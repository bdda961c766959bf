"""Latency-table cache: the key follows the host identity and the table parameters, a second
read does not measure, a corrupt file is measured again, writes are atomic."""
import pytest

from cluster.latency import cache_key, cached_table
from hwsim.latency import grid, host_identity, host_rows, model_rows
from synth.errors import UserError


def test_cache_key_and_reuse(tmp_path):
    ident = host_identity(1)
    assert {"host", "processor", "cpus", "torch", "threads"} <= set(ident)
    params = {"keys": [{"cell": "lstm", "width": 8}], "rounds": 3}
    key = cache_key(ident, params)
    assert key == cache_key(dict(ident), dict(params))
    assert key != cache_key({**ident, "torch": "0.0"}, params)
    assert key != cache_key({**ident, "host": "other"}, params)
    assert key != cache_key(ident, {**params, "rounds": 4})
    calls = []

    def measure():
        calls.append(1)
        return [{"best_ms": 1.0}]

    first = cached_table(tmp_path, ident, params, measure)
    second = cached_table(tmp_path, ident, params, measure)
    assert len(calls) == 1 and not first["cached"] and second["cached"]
    assert second["rows"] == first["rows"] and second["key"] == key
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"latency-{key}.json"]  # no temp left
    (tmp_path / f"latency-{key}.json").write_text("{not json")
    third = cached_table(tmp_path, ident, params, measure)
    assert len(calls) == 2 and not third["cached"]
    cached_table(tmp_path, {**ident, "threads": 2}, params, measure)
    assert len(calls) == 3


def test_host_and_accel_rows_small():
    keys = grid(["lstm", "decoder"], [8, 16], [1], [0.5])
    assert len(keys) == 2 * 2 + 2
    rows = host_rows(keys, steps=3, vocab=7, rounds=3, warmup=1, threads=1)
    assert all(r["q1_ms"] <= r["median_ms"] <= r["q3_ms"] and r["n"] == 3 for r in rows)
    assert all(r["best_ms"] == r["lo_ms"] <= r["hi_ms"] for r in rows)
    acc = model_rows(keys, "accel", steps=3, vocab=7)
    again = model_rows(keys, "accel", steps=3, vocab=7)
    assert [r["best_ms"] for r in acc] == [r["best_ms"] for r in again]   # deterministic
    by = {(r["cell"], r["width"], r["exec"]): r["best_ms"] for r in acc}
    assert by[("lstm", 16, "dense")] >= by[("lstm", 8, "dense")] > 0
    spring = model_rows(keys, "spring", steps=3, vocab=7)
    sb = {(r["cell"], r["width"], r["exec"]): r["best_ms"] for r in spring}
    assert sb[("lstm", 16, "sparse")] <= sb[("lstm", 16, "dense")]    # SPRING skips zeros


def test_host_table_on_the_serving_node_and_ray_starmap(ray_local, tmp_path):
    # on the suite's shared Ray (connect() joins it; the test started a Ray of its own, all
    # of the machine's CPUs, ~7 s of start and stop: nothing here depends on a fresh one)
    from cluster.latency import host_table, ray_starmap
    keys = grid(["lstm"], [8], [1], ())
    first = host_table(keys, cache_dir=tmp_path, steps=2, rounds=2, threads=1)
    second = host_table(keys, cache_dir=tmp_path, steps=2, rounds=2, threads=1)
    assert not first["cached"] and second["cached"] and second["rows"] == first["rows"]
    assert first["identity"]["threads"] == 1
    assert ray_starmap(pow, [(2, 3), (3, 2), (2, 3)]) == [8, 9, 8]
    # more threads than the node's CPUs: one line, not Ray's TaskUnschedulableError
    # traceback (`nnsynth symbiotic --platform host --threads 3` on 2 cores)
    cpus = int(ray_local.cluster_resources()["CPU"])
    with pytest.raises(UserError, match=rf"^threads {cpus + 1}: .* has {cpus} CPUs; "
                                        rf"give at most {cpus}$"):
        host_table(keys, cache_dir=tmp_path, steps=2, rounds=2, threads=cpus + 1)


def test_spread_of_the_best_over_blocks():
    from hwsim.latency import spread
    s = spread([5.0, 1.0, 9.0, 2.0, 8.0, 3.0, 7.0, 4.0], blocks=4)   # blocks of 2
    assert (s["best_ms"], s["lo_ms"], s["hi_ms"]) == (1.0, 1.0, 4.0)  # block minima 1, 2, 3, 4
    assert s["median_ms"] == 4.5 and s["n"] == 8


def test_a_task_gives_the_worker_its_thread_count_back():
    """ray_starmap's tasks set torch's thread count in a Ray worker that runs later tasks
    too: it stayed at the task's count."""
    import torch

    from cluster.latency import _call
    before = torch.get_num_threads()
    other = 1 if before > 1 else 2
    assert _call(torch.get_num_threads, other) == other
    assert torch.get_num_threads() == before
