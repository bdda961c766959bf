"""benchmarks/search_efficiency.py reads NAS-Bench-Graph's pickled tables with a restricted
unpickler (``_NumbersOnly``).  It allowed ``numpy.dtype`` and numpy's ``scalar`` as they are:
numpy's dtype took the pickle's state through ``__setstate__`` (its flags included), so a
table holding an object dtype with its flags cleared made ``scalar`` read 8 bytes of the
file as an object's address -- a segmentation fault (a memory-corruption primitive, not
just a refusal).  Each crafted table is loaded in a forked child, so a crash fails the
test instead of ending pytest.
"""
from __future__ import annotations

import os
import pickle
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
DT = b"cnumpy\ndtype\n"
SC = b"cnumpy._core.multiarray\nscalar\n"


def _dtype(code: bytes, state: bytes) -> bytes:
    """Opcodes of ``numpy.dtype(code, False, True)`` followed by BUILD with ``state``."""
    return DT + b"(X" + len(code).to_bytes(4, "little") + code + b"\x89\x88tR" + state + b"b"


FLAGS_CLEARED = b"(K\x03X\x01\x00\x00\x00|NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00t"
OBJECT_FIELD = (b"(K\x03X\x01\x00\x00\x00|N(X\x01\x00\x00\x00at}(X\x01\x00\x00\x00a(" + DT
                + b"(X\x01\x00\x00\x00O\x89\x88tRK\x00tuK\x08K\x01K\x00t")
HUGE_ITEM = b"(K\x03X\x01\x00\x00\x00<NNNJ\x00\x00\x00\x10K\x08K\x00t"
HOSTILE = {
    "object dtype, flags cleared": b"\x80\x02" + SC + b"(" + _dtype(b"O", FLAGS_CLEARED)
    + b"C\x08AAAAAAAAtR.",
    "struct with an object field": b"\x80\x02" + SC + b"(" + _dtype(b"V8", OBJECT_FIELD)
    + b"C\x08AAAAAAAAtR.",
    "a float claiming 256 MB items": b"\x80\x02" + SC + b"(" + _dtype(b"f8", HUGE_ITEM)
    + b"C\x08AAAAAAAAtR.",
    "os.system": b"cos\nsystem\n(S'echo pwned'\ntR.",
    "ndarray reconstruct": b"cnumpy.core.multiarray\n_reconstruct\n(cnumpy\nndarray\nK\x00"
                           b"\x85C\x01btR.",
    "object scalar": b"\x80\x02" + SC + b"(" + DT + b"(X\x01\x00\x00\x00O\x89\x88tR"
                     b"X\x03\x00\x00\x00heytR.",
}

def _numbers_only():
    sys.path[:0] = [str(ROOT), str(ROOT / "benchmarks")]
    try:
        from benchmarks.search_efficiency import _NumbersOnly
    finally:
        del sys.path[:2]
    return _NumbersOnly


def _load_in_fork(blob: bytes) -> tuple[int, str]:
    """(wait status, what happened) of loading ``blob`` in a forked child: a crash there
    fails the test instead of ending pytest."""
    import io
    unpickler = _numbers_only()
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:   # the child
        try:
            value = unpickler(io.BytesIO(blob)).load()
            said = f"loaded: {type(value).__name__} {repr(value)[:80]}"
        except pickle.UnpicklingError as e:
            said = f"refused: {e}"
        except BaseException as e:
            said = f"raised {type(e).__name__}: {e}"
        os.write(write, said.encode()[:4000])
        os._exit(0)
    os.close(write)
    with os.fdopen(read, "rb") as f:
        said = f.read().decode()
    return os.waitpid(pid, 0)[1], said


@pytest.mark.parametrize("case", HOSTILE)
def test_hostile_tables_are_refused_without_a_crash(case):
    """Before the fix the first two cases died with SIGSEGV and the third loaded."""
    status, said = _load_in_fork(HOSTILE[case])
    assert status == 0, (case, status, said)
    assert said.startswith("refused:"), (case, said)


@pytest.mark.parametrize("protocol", [2, 3, 5])
def test_plain_number_tables_still_load(protocol):
    import io
    _NumbersOnly = _numbers_only()
    table = {"a": {"valid_perf": np.float64(0.8125), "n": np.int64(-3)},
             "b": [np.float32(1.5), np.bool_(True), np.uint8(7), np.complex64(1 + 2j)],
             "c": np.dtype(">f8").type(2.25), "d": 0.5}
    got = _NumbersOnly(io.BytesIO(pickle.dumps(table, protocol=protocol))).load()
    assert got == table
    assert [type(v) for v in got["b"]] == [type(v) for v in table["b"]]


def test_cifar_batch_arrays_are_numbers_whatever_the_dtype_flags_say():
    """synth.data_builtin's CIFAR-10 unpickler checked ``dtype.hasobject``, which numpy
    reads from the dtype's flags -- and the pickle sets those (BUILD): an object dtype with
    flags 0 passed, and an array of object 'pointers' was made from the file's bytes (the
    loader's later uint8 / integer checks happened to refuse it before it was touched)."""
    import io
    from synth.data_builtin import _ArraysOnlyUnpickler
    array = (b"\x80\x02cnumpy.core.multiarray\n_reconstruct\n(cnumpy\nndarray\nK\x00\x85C\x01b"
             b"tR(K\x01K\x02\x85" + _dtype(b"O", FLAGS_CLEARED) + b"\x89C\x10AAAAAAAABBBBBBBBtb.")
    with pytest.raises(pickle.UnpicklingError, match="numbers only"):
        _ArraysOnlyUnpickler(io.BytesIO(array), encoding="bytes").load()
