"""Hostile and absurd inputs (issue 13, items 12-15): crafted YAML, specs, checkpoints,
Parquet and CIFAR files fed to the commands.  Each must end in exit status 2 with exactly
one line ``error: ...`` and no traceback, within a time bound, in a process whose address
space is capped (``resource.setrlimit(RLIMIT_AS)``): a 400-byte file may not cost gigabytes.

All cases run in one child process (one import of torch and Ray, a few seconds) whose
address space is capped at ``MEMORY_LIMIT``; each case has its own alarm of ``TIME_LIMIT``
seconds.  Two cases also run as real ``nnsynth`` processes to check the exit path itself.
"""
from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]
MEMORY_LIMIT = 2 << 30    # bytes of address space; a normal `nnsynth train` needs about 1.3 GiB
TIME_LIMIT = 20           # seconds per case (each is under one second on an idle machine)

BOMB = "\n".join(["a: &a [x, x, x, x, x, x, x, x, x]"] +
                 [f"{c}: &{c} [{', '.join(['*' + p] * 9)}]"
                  for p, c in zip("abcdefgh", "bcdefghi")] + ["name: *i"]) + "\n"


def _checkpoint(path: Path, **changes) -> str:
    """A real checkpoint of a small MLP, with payload entries replaced by ``changes``."""
    from synth.checkpoint import save_checkpoint
    from synth.models import build
    model = build({"family": "mlp", "hidden": [8]}, (4,), 3)
    meta = {"name": "iris", "input_shape": [4], "num_classes": 3, "class_names": ["a", "b", "c"],
            "mean": [0.0] * 4, "std": [1.0] * 4}
    save_checkpoint(path, model, dataset=meta)
    payload = torch.load(path, weights_only=True)
    payload.update(changes)
    torch.save(payload, path)
    return str(path)


def _zip_bomb(path: Path, source: str, mib: int = 256) -> str:
    """``source`` (a checkpoint) with its first storage deflated and ``mib`` MiB long: a
    file of about ``mib / 4`` MB (what torch.save writes stored, a zip tool may compress)."""
    import zipfile
    with zipfile.ZipFile(source) as src, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for info in src.infolist():
            if info.filename.endswith("/data/0"):
                with z.open(info.filename, "w", force_zip64=True) as f:
                    for _ in range(mib):
                        f.write(bytes(1 << 20))
            else:
                z.writestr(info.filename, src.read(info.filename))
    return str(path)


def _parquet(path: Path, meta: dict | None = None, x=None) -> str:
    import pyarrow as pa
    import pyarrow.parquet as pq
    if not isinstance(meta, bytes):
        meta = {"input_shape": [4], "num_classes": 3, "mean": [0.0] * 4, "std": [1.0] * 4,
                **(meta or {})}
    x = x if x is not None else pa.FixedSizeListArray.from_arrays(
        pa.array(np.zeros(40, np.float32)), 4)
    table = pa.table({"x": x, "label": pa.array(np.arange(10) % 3)})
    path.mkdir(parents=True, exist_ok=True)
    pq.write_table(table.replace_schema_metadata({b"nnsynth": meta if isinstance(meta, bytes)
                                                  else json.dumps(meta).encode()}),
                   path / "part.parquet")
    return f"parquet:{path}"


# NO_STATISTICS: the bombs are written without Parquet's column statistics (min/max per
# page and row group), which no reader of nnsynth's uses: the same rows, encodings and
# declared sizes.  The min/max of every 25 MiB string row took the notes and split bombs
# 3.0 s each (0.3 s without); the module 13.2 s of CPU, now 11 s (idle machine).


def _parquet_zeros(path: Path, rows: int = 200_000, width: int = 784) -> str:
    """A few kB of zstd-compressed zeros that declare ``rows x width`` float32 values (600 MiB
    at the defaults), written in chunks so that making it costs little memory."""
    import pyarrow as pa
    import pyarrow.parquet as pq
    meta = {"input_shape": [width], "num_classes": 3, "mean": [0.0] * width,
            "std": [1.0] * width}
    schema = pa.schema([("x", pa.list_(pa.float32(), width)), ("label", pa.int64())])
    schema = schema.with_metadata({b"nnsynth": json.dumps(meta).encode()})
    path.mkdir(parents=True, exist_ok=True)
    chunk = 10_000
    zeros = pa.FixedSizeListArray.from_arrays(pa.array(np.zeros(chunk * width, np.float32)),
                                              width)
    labels = pa.array(np.arange(chunk) % 3, type=pa.int64())
    with pq.ParquetWriter(path / "part.parquet", schema, compression="zstd",
                          write_statistics=False) as w:     # NO_STATISTICS
        for _ in range(rows // chunk):
            w.write_table(pa.table({"x": zeros, "label": labels}, schema=schema))
    return f"parquet:{path}"


def _parquet_packed(path: Path, column: str, mib: int = 768) -> str:
    """30 rows of a 2x2 set where ``column`` is ``mib`` MiB of zeros or repeated text that
    zstd packs into a few kB: "notes", a column no data set uses; "x", rows that are lists far
    longer than input_shape says; "split", one huge string a row."""
    import pyarrow as pa
    import pyarrow.parquet as pq
    rows = 30
    meta = {"input_shape": [2, 2], "num_classes": 3, "mean": [0.0] * 2, "std": [1.0] * 2}
    schema = pa.schema([("x", pa.list_(pa.float32())), ("label", pa.int64()),
                        ("split", pa.large_string()), ("notes", pa.large_string())])
    schema = schema.with_metadata({b"nnsynth": json.dumps(meta).encode()})
    big = (mib << 20) // rows
    x = (np.zeros(big // 4, np.float32) if column == "x" else
         np.random.default_rng(0).random(4, dtype=np.float32))
    text = {k: pa.array(["t" * big if k == column else "train"], type=pa.large_string())
            for k in ("split", "notes")}
    path.mkdir(parents=True, exist_ok=True)
    with pq.ParquetWriter(path / "part.parquet", schema, compression="zstd",
                          write_statistics=False) as w:     # NO_STATISTICS
        for i in range(rows):
            w.write_table(pa.table({"x": pa.array([x], type=pa.list_(pa.float32())),
                                    "label": pa.array([i % 3], type=pa.int64()), **text},
                                   schema=schema))
    return f"parquet:{path}"


class _Reduce:
    def __init__(self, fn, args):
        self.fn, self.args = fn, args

    def __reduce__(self):
        return self.fn, self.args


def _cifar(path: Path, data, labels=()) -> str:
    path.mkdir(parents=True, exist_ok=True)
    blob = pickle.dumps({b"data": data, b"labels": labels or []}, protocol=2)
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        (path / name).write_bytes(blob)
    return f"cifar10:{path}"


def _cases(tmp: Path) -> list[tuple[str, list[str], str]]:
    """(case id, nnsynth arguments, a phrase the error line must contain)."""
    (tmp / "bomb.yaml").write_text(BOMB)
    (tmp / "deep.yaml").write_text("x: " + "[" * 50_000 + "\n")
    (tmp / "huge.yaml").write_text("name: tiny\n" + "#" * (2 << 20) + "\n")
    (tmp / "dotdot.yaml").write_text("name: ..\n")
    (tmp / "sweep.yaml").write_text("base: tiny\nruns:\n  - {name: '..'}\n")
    (tmp / "seed.yaml").write_text("name: tiny\nseed: 4294967296\n")
    (tmp / "grid.yaml").write_text("base: tiny\ngrid:\n" + "".join(
        f"  k{i}: [{', '.join(map(str, range(20)))}]\n" for i in range(20)))
    out = str(tmp / "out.pt")
    train = ["train", "--dataset", "iris", "--model", "mlp_small", "--out", out]
    from cluster.connect import connect  # noqa: F401  (the real module, for the reconstruct path)
    import numpy.core.multiarray as multiarray
    # numpy's pickle calls _reconstruct(ndarray, shape, dtype): a ~150-byte file whose shape
    # asks for 100,000 images (and as many labels) that it does not hold
    huge_data = _Reduce(multiarray._reconstruct, (np.ndarray, (100_000, 3072), b"B"))
    huge_labels = _Reduce(multiarray._reconstruct, (np.ndarray, (100_000,), b"q"))
    return [
        ("yaml-alias-bomb", ["run", str(tmp / "bomb.yaml"), "--check"], "expands to more than"),
        ("sweep-alias-bomb", ["sweep", str(tmp / "bomb.yaml"), "--check"], "expands to more than"),
        ("space-alias-bomb", ["search", "--space", str(tmp / "bomb.yaml"), "--out",
                              str(tmp / "s")], "expands to more than"),
        ("yaml-deep", ["run", str(tmp / "deep.yaml"), "--check"], "deep.yaml"),
        ("yaml-huge", ["run", str(tmp / "huge.yaml"), "--check"], "the limit is"),
        ("run-name-dotdot", ["run", str(tmp / "dotdot.yaml"), "--check"], "must be a file name"),
        ("sweep-name-dotdot", ["sweep", str(tmp / "sweep.yaml"), "--check"], "must be a file name"),
        ("sweep-grid-explosion", ["sweep", str(tmp / "grid.yaml"), "--check"], "at most"),
        ("spec-10M-hidden", ["train", "--dataset", "iris", "--model",
                             '{"family": "mlp", "hidden": [10000000, 10000000]}', "--out", out],
         "the limit is"),
        ("spec-negative", ["train", "--dataset", "iris", "--model",
                           '{"family": "mlp", "hidden": [-5]}', "--out", out],
         "'hidden' values must each be in [1, 100000000], got [-5]"),   # the family's range (h218)
        ("spec-deep-json", ["train", "--dataset", "iris", "--model", '{"a":' * 100_000,
                            "--out", out], "nested too deep"),
        ("ckpt-huge-spec", ["eval", "--model", _checkpoint(
            tmp / "c1.pt", spec={"family": "mlp", "hidden": [10_000_000, 10_000_000]})],
         "the limit is"),
        ("ckpt-spec-vs-weights", ["eval", "--model", _checkpoint(
            tmp / "c2.pt", spec={"family": "mlp", "hidden": [4096, 4096]})],
         "do not match its spec"),
        ("ckpt-input-shape", ["eval", "--model", _checkpoint(tmp / "c3.pt",
                                                             input_shape=[10 ** 12])],
         "input_shape"),
        ("ckpt-num-classes", ["eval", "--model", _checkpoint(tmp / "c4.pt",
                                                             num_classes=10 ** 9)],
         "num_classes"),
        ("ckpt-state-not-dict", ["eval", "--model", _checkpoint(tmp / "c5.pt",
                                                                state_dict=[1, 2])],
         "state_dict"),
        ("ckpt-garbage", ["eval", "--model", str(tmp / "garbage.pt")], "corrupt or unsafe"),
        ("parquet-1e9-classes", train[:2] + [_parquet(tmp / "p1", {"num_classes": 10 ** 9})]
         + train[3:], "num_classes"),
        ("parquet-shape-overflow", train[:2] + [_parquet(tmp / "p2", {"input_shape": [2 ** 40,
                                                                                   2 ** 40]})]
         + train[3:], "input_shape"),
        ("parquet-shape-negative", train[:2] + [_parquet(tmp / "p3", {"input_shape": [-1, 4]})]
         + train[3:], "input_shape"),
        ("parquet-meta-not-json", train[:2] + [_parquet(tmp / "p4", b"{not json")] + train[3:],
         "not valid JSON"),
        ("parquet-class-names", train[:2] + [_parquet(tmp / "p5", {"class_names": ["a"]})]
         + train[3:], "class_names"),
        ("parquet-x-strings", train[:2] + [_parquet(tmp / "p6", x=__import__("pyarrow").array(
            ["a"] * 10))] + train[3:], "column x"),
        # 600 MiB of float32 zeros in a file of a few kB: loaded (several GB) before any check
        ("parquet-zeros-bomb", train[:2] + [_parquet_zeros(tmp / "pbomb")] + train[3:],
         "refused unread"),
        # 768 MiB of text in a column no data set uses (a few kB in the file): it was read
        # (then refused for its shape, (2, 2) against the model's (4,), once it is loaded)
        ("parquet-extra-column-bomb", ["eval", "--model", _checkpoint(tmp / "c_ok.pt"),
                                       "--dataset", _parquet_packed(tmp / "pnotes", "notes")],
         "has input shape (2, 2)"),
        # x rows far longer than input_shape, a huge split string: decoded, then refused
        ("parquet-long-x-bomb", ["eval", "--model", _checkpoint(tmp / "c_ok.pt"), "--dataset",
                                 _parquet_packed(tmp / "plongx", "x")], "column x holds"),
        ("parquet-split-bomb", ["eval", "--model", _checkpoint(tmp / "c_ok.pt"), "--dataset",
                                _parquet_packed(tmp / "psplit", "split")], "column split"),
        ("cifar-reconstruct-3.6GB", ["train", "--dataset", _cifar(tmp / "c10a", huge_data, huge_labels),
                                     "--model", "lenet5", "--out", out], "corrupt CIFAR-10"),
        ("cifar-forbidden-global", ["train", "--dataset", _cifar(
            tmp / "c10b", _Reduce(os.getcwd, ())), "--model", "lenet5", "--out", out],
         "forbidden global"),
        ("device-tpu-train", train + ["--device", "tpu"], "--device must be"),
        ("device-tpu-search", ["search", "--dataset", "iris", "--space", "mlp", "--out",
                               str(tmp / "s2"), "--device", "tpu"], "--device must be"),
        # scikit-learn's splits take seeds below 2^32: a traceback after --check said valid
        ("seed-2^32-train", train + ["--seed", str(2 ** 32)], "--seed"),
        ("seed-2^32-config", ["run", str(tmp / "seed.yaml"), "--check"], "seed must be in"),
        ("ckpt-split-seed", ["eval", "--model", _checkpoint(tmp / "c6.pt", dataset={
            "name": "iris", "input_shape": [4], "num_classes": 3, "mean": [0.0] * 4,
            "std": [1.0] * 4, "split_seed": 2 ** 40})], "split_seed"),
        # a checkpoint's data-set metadata shapes every inverted input (input_range): prune,
        # invert and distill --data-free raised TypeError/RuntimeError/AttributeError on these
        ("ckpt-meta-mean", ["prune", "--model", _checkpoint(tmp / "c7.pt", dataset={
            "name": "iris", "input_shape": [4], "num_classes": 3, "mean": "abc",
            "std": [1.0] * 4}), "--ratio", "0.5", "--out", str(tmp / "p.pt")], "mean must be"),
        ("ckpt-meta-value-range", ["prune", "--model", _checkpoint(tmp / "c8.pt", dataset={
            "name": "iris", "input_shape": [4], "num_classes": 3, "mean": [0.0] * 4,
            "std": [1.0] * 4, "value_range": [[0.0], [1.0] * 9]}), "--ratio", "0.5",
            "--out", str(tmp / "p.pt")], "value_range must be"),
        ("ckpt-meta-name", ["eval", "--model", _checkpoint(tmp / "c9.pt", dataset={"name": 5})],
         "name must be"),
        ("parquet-value-range", train[:2] + [_parquet(tmp / "p7", {"value_range": 5})]
         + train[3:], "value_range must be"),
        # a 1 MB file made torch.load allocate 1 GiB before it failed
        ("ckpt-zip-bomb", ["eval", "--model", _zip_bomb(tmp / "bomb.pt", str(tmp / "c1.pt"))],
         "unpack to"),
        ("num-images-1e8", ["invert", "--teacher", str(tmp / "c1.pt"), "--num-images",
                            "100000000", "--out", str(tmp / "inv")], "--num-images"),
    ]


HARNESS = r"""
import json, resource, signal, sys, time
resource.setrlimit(resource.RLIMIT_AS, ({limit}, {limit}))
from click.testing import CliRunner
from deploy.cli.main import cli
import sklearn.datasets, sklearn.model_selection, synth.data, synth.train, search.run  # imports are not what is timed
def alarm(signum, frame):
    raise TimeoutError("time limit")
signal.signal(signal.SIGALRM, alarm)
report = []
for case_id, args in json.load(open(sys.argv[1])):
    start = time.perf_counter()
    signal.alarm({seconds})
    try:
        r = CliRunner().invoke(cli, args)
        exc = type(r.exception).__name__ if r.exception is not None else None
        row = dict(exit=r.exit_code, stderr=r.stderr, stdout=r.stdout, exception=exc)
    except BaseException as e:
        row = dict(exit=None, stderr="", stdout="", exception=type(e).__name__)
    finally:
        signal.alarm(0)
    row.update(id=case_id, seconds=round(time.perf_counter() - start, 2))
    print(case_id, row["seconds"], row["exit"], row["exception"], file=sys.__stderr__, flush=True)
    report.append(row)
json.dump(report, open(sys.argv[2], "w"))
"""


def _env() -> dict:
    # one BLAS/OpenMP thread: each thread's arena counts against the address-space cap
    return {**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{os.environ.get('PYTHONPATH', '')}",
            "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("hostile")
    (tmp / "garbage.pt").write_bytes(os.urandom(300))
    cases = _cases(tmp)
    (tmp / "cases.json").write_text(json.dumps([(c, a) for c, a, _ in cases]))
    script = HARNESS.replace("{limit}", str(MEMORY_LIMIT)).replace("{seconds}", str(TIME_LIMIT))
    env = _env()
    subprocess.run([sys.executable, "-c", script, str(tmp / "cases.json"), str(tmp / "out.json")],
                   env=env, cwd=tmp, timeout=TIME_LIMIT * len(cases) + 120, check=True)
    rows = {r["id"]: r for r in json.loads((tmp / "out.json").read_text())}
    return {c: (rows[c], phrase) for c, _, phrase in cases}, tmp


CASE_IDS = ["yaml-alias-bomb", "sweep-alias-bomb", "space-alias-bomb", "yaml-deep", "yaml-huge",
            "run-name-dotdot", "sweep-name-dotdot", "sweep-grid-explosion", "spec-10M-hidden",
            "spec-negative", "spec-deep-json", "ckpt-huge-spec", "ckpt-spec-vs-weights",
            "ckpt-input-shape", "ckpt-num-classes", "ckpt-state-not-dict", "ckpt-garbage",
            "parquet-1e9-classes", "parquet-shape-overflow", "parquet-shape-negative",
            "parquet-meta-not-json", "parquet-class-names", "parquet-x-strings",
            "cifar-reconstruct-3.6GB", "cifar-forbidden-global", "device-tpu-train",
            "device-tpu-search", "num-images-1e8", "seed-2^32-train", "seed-2^32-config",
            "ckpt-split-seed", "ckpt-zip-bomb", "ckpt-meta-mean", "ckpt-meta-value-range",
            "ckpt-meta-name", "parquet-value-range", "parquet-zeros-bomb",
            "parquet-extra-column-bomb", "parquet-long-x-bomb", "parquet-split-bomb"]


@pytest.mark.parametrize("case", CASE_IDS)
def test_hostile_input_is_one_line_error(report, case):
    rows, _ = report
    row, phrase = rows[case]
    lines = [l for l in row["stderr"].splitlines() if l.strip()]
    assert row["exit"] == 2 and row["exception"] == "SystemExit", row
    assert len(lines) == 1 and lines[0].startswith("error:"), row
    assert "Traceback" not in row["stderr"] + row["stdout"], row
    assert phrase in lines[0], (phrase, lines[0])
    assert row["seconds"] < TIME_LIMIT, row


def test_cases_table_is_complete(report):
    rows, _ = report
    assert sorted(rows) == sorted(CASE_IDS)


@pytest.mark.parametrize("args_of", [
    lambda tmp: ["run", str(tmp / "bomb.yaml"), "--check"],
    lambda tmp: ["eval", "--model", str(tmp / "c1.pt")]])
def test_real_process_exit_path(report, args_of):
    """The same through a real ``nnsynth`` process: exit 2, one line, no traceback."""
    _, tmp = report

    def cap():
        import resource
        resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))
    env = _env()
    r = subprocess.run([sys.executable, "-m", "deploy.cli.main", *args_of(tmp)], env=env,
                       capture_output=True, text=True, timeout=120, preexec_fn=cap)
    lines = [l for l in r.stderr.splitlines() if l.strip()]
    assert r.returncode == 2 and len(lines) == 1 and lines[0].startswith("error:"), r.stderr
    assert "Traceback" not in r.stderr + r.stdout
