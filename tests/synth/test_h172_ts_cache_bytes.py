"""The .ts pairs kept in memory are bounded by their bytes, not their count: kept by count
(functools.lru_cache(maxsize=8)), a process that loaded sets near the 1 GiB limit could hold
8 of them (16 GiB as float64 series).  ``PairCache(max_bytes)`` drops the least recently
used pairs to stay within its bound; the process's own cache is bounded by
MAX_TS_CACHE_BYTES."""
import numpy as np
import pytest

from synth import sequences
from synth.data import load_dataset
from synth.sequences import MAX_TS_CACHE_BYTES, PairCache


def _write_pair(folder, problem: str, steps: int, value: float = 0.0) -> None:
    """``problem``_TRAIN.ts and _TEST.ts in ``folder``: 6 series of classes a and b each,
    one channel of ``steps`` values."""
    folder.mkdir(parents=True, exist_ok=True)
    for split in ("TRAIN", "TEST"):
        rows = "".join(",".join(f"{value + i + t / steps:.3f}" for t in range(steps))
                       + f":{'ab'[i % 2]}\n" for i in range(6))
        (folder / f"{problem}_{split}.ts").write_text(
            f"@problemName {problem}\n@univariate true\n@equalLength true\n"
            f"@classLabel true a b\n@data\n{rows}")


def _kept(cache: PairCache) -> int:
    """Bytes of the series arrays the cache holds now (what the bound is for)."""
    return sum(sum(s.nbytes for s in pair[0]) for pair, _ in cache._pairs.values())


def test_the_cache_holds_no_more_bytes_than_its_bound(tmp_path):
    for k in range(6):
        _write_pair(tmp_path, f"p{k}", steps=400, value=k)
    one = sum(s.nbytes for s in sequences._read_pair_uncached(str(tmp_path), "p0")[0])
    assert one == 12 * 400 * 8                       # 12 series of 400 float64 values
    cache = PairCache(max_bytes=3 * one + 4096)      # room for two pairs, not three
    for k in range(6):
        series, labels, declared = cache.read(str(tmp_path), f"p{k}")
        assert len(series) == 12 and declared == ["a", "b"]
        assert cache.nbytes <= cache.max_bytes and _kept(cache) <= cache.max_bytes
    assert len(cache) == 2                           # p4 and p5, the last two read

    # least recently used first: p4, read again, stays while p0 and p1 come in
    cache.read(str(tmp_path), "p4")
    first = cache.read(str(tmp_path), "p0")
    assert cache.read(str(tmp_path), "p0") is first          # kept: served, not read again
    keep = cache.read(str(tmp_path), "p4")
    cache.read(str(tmp_path), "p1")
    assert cache.read(str(tmp_path), "p4") is keep
    assert cache.nbytes <= cache.max_bytes


def test_a_pair_larger_than_the_bound_is_read_but_not_kept(tmp_path):
    _write_pair(tmp_path, "big", steps=300)
    cache = PairCache(max_bytes=1000)
    series, _, _ = cache.read(str(tmp_path), "big")
    assert len(series) == 12 and len(cache) == 0 and cache.nbytes == 0
    with pytest.raises(ValueError, match="max_bytes must be an integer >= 0"):
        PairCache(max_bytes=-1)


def test_a_rewritten_pair_replaces_its_old_state(tmp_path):
    _write_pair(tmp_path, "p", steps=50)
    cache = PairCache(max_bytes=1 << 20)
    before = cache.read(str(tmp_path), "p")[0][0].copy()
    _write_pair(tmp_path, "p", steps=60, value=100.0)   # other size: another stamp
    after = cache.read(str(tmp_path), "p")[0][0]
    assert after.shape == (1, 60) and not np.array_equal(before[:, :50], after[:, :50])
    assert len(cache) == 1                              # the old state is not kept beside it


def test_the_process_cache_is_bounded_by_max_ts_cache_bytes(tmp_path):
    assert sequences._PAIRS.max_bytes == MAX_TS_CACHE_BYTES <= 1 << 30
    for k in range(3):
        _write_pair(tmp_path / f"d{k}", "p", steps=40, value=k)
        data = load_dataset(f"ts:{tmp_path / f'd{k}'}")
        assert data.input_shape == (1, 40) and data.num_classes == 2
    assert sequences._PAIRS.nbytes <= MAX_TS_CACHE_BYTES
