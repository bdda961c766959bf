"""Cross-check hwsim.accel's compute cycles against SCALE-Sim (PyPI ``scalesim`` 3.0.0).

SCALE-Sim needs numpy < 2, so it runs in its own virtual environment (created on first use
under /tmp/scalesim-venv) as a subprocess.  Layer shapes come from our own models through
``hwsim.extract`` (LeNet-5 on 28x28x1, CIFAR ResNet-18 on 32x32x3); SCALE-Sim has no padding,
so each layer's IFMAP is written as (Ho - 1) * stride + R, which gives it the same output
pixels T as PyTorch.  Linear layers are 1x1 convolutions on a 1x1 map (T = batch = 1).

Runs: LeNet-5 on {8x8, 32x32} and ResNet-18's unique layer shapes on {32x32, 64x64} (an 8x8
array makes SCALE-Sim's ResNet run ~4x longer still), each x {ws, os, is}, plus the full
ResNet-18 (all 21 GEMM layers) on 32x32 ws for the wall-time comparison (ANCHORS: ~350 s).
Finished SCALE-Sim runs are cached under /tmp/hwsim_scalesim_cache, so a rerun resumes.
``--export DIR`` writes every run as a job (topology + runner + run_all.sh OUT) for another
machine with more free cores (SCALE-Sim's site-packages on PYTHONPATH, python3 -S); unpack
its OUT/res.tgz into a folder and load it into the cache with ``--import FOLDER``.

    python benchmarks/hwsim_scalesim.py [--skip-full] [--fresh] [--export DIR | --import DIR]
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from hwsim.accel import AcceleratorConfig, DATAFLOWS, evaluate_many, gemm_compute_cycles  # noqa: E402
from hwsim.workload import extract  # noqa: E402
from common import write_result  # noqa: E402
from synth.files import write_text_atomic  # noqa: E402
from synth.models import build  # noqa: E402

VENV = Path(os.environ.get("SCALESIM_VENV", "/tmp/scalesim-venv"))
CACHE = Path("/tmp/hwsim_scalesim_cache")
ARRAYS = {"lenet5": (8, 32), "resnet18": (32, 64)}     # square array sizes per network
RESULTS = Path(__file__).resolve().parent / "results" / "hwsim_scalesim.md"

RUNNER = r'''
import configparser, sys, time
from scalesim.scale_sim import scalesim
rows, cols, df, topo, out = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
c = configparser.ConfigParser()
c["general"] = {"run_name": "run"}
c["architecture_presets"] = {"ArrayHeight": rows, "ArrayWidth": cols, "IfmapSramSzkB": 6144,
    "FilterSramSzkB": 6144, "OfmapSramSzkB": 2048, "IfmapOffset": 0, "FilterOffset": 10000000,
    "OfmapOffset": 20000000, "Dataflow": df, "Bandwidth": 10, "ReadRequestBuffer": 32,
    "WriteRequestBuffer": 32}
c["layout"] = {"IfmapCustomLayout": "False", "FilterCustomLayout": "False",
    "IfmapSRAMBankBandwidth": 10, "IfmapSRAMBankNum": 10, "IfmapSRAMBankPort": 2,
    "FilterSRAMBankBandwidth": 10, "FilterSRAMBankNum": 10, "FilterSRAMBankPort": 2}
c["sparsity"] = {"SparsitySupport": "false", "SparseRep": "ellpack_block",
    "OptimizedMapping": "false", "BlockSize": 8, "RandomNumberGeneratorSeed": 40}
c["run_presets"] = {"InterfaceBandwidth": "CALC", "UseRamulatorTrace": "False"}
with open(out + "/scale.cfg", "w") as f:
    c.write(f)
with open(out + "/layout.csv", "w") as f:
    f.write("header,\n")
t = time.time()
s = scalesim(save_disk_space=True, verbose=False, config=out + "/scale.cfg", topology=topo,
             layout=out + "/layout.csv", input_type_gemm=False)
s.run_scale(top_path=out)
print("WALL", time.time() - t)
'''


def ensure_venv() -> Path:
    python = VENV / "bin" / "python"
    if not python.exists():
        print(f"creating {VENV} and installing scalesim (numpy<2) ...", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", "numpy<2", "scalesim==3.0.0"],
                       check=True)
    return python


def layers_of(variant: str, input_shape) -> list[dict]:
    """GEMM layers of our model as SCALE-Sim topology rows, with our (T, K, N)."""
    model = build(variant, input_shape, 10)
    rows = []
    for op in extract(model, input_shape):
        if op.type not in ("conv", "linear"):
            continue
        T, K, N = op.gemm
        if op.type == "conv":
            mod = dict(model.named_modules())[op.name]
            r, s = mod.kernel_size
            st = mod.stride[0]
            ho, wo = op.out_shape[2], op.out_shape[3]
            c = mod.in_channels
            ih, iw = (ho - 1) * st + r, (wo - 1) * st + s
        else:
            r = s = st = 1
            ih = iw = 1
            c = K
        rows.append({"name": op.name.replace(".", "_"), "ifmap_h": ih, "ifmap_w": iw, "r": r,
                     "s": s, "c": c, "n": N, "stride": st, "T": T, "K": K, "N": N})
    return rows


def unique(rows: list[dict]) -> list[dict]:
    seen, out = set(), []
    for r in rows:
        key = tuple(r[k] for k in ("ifmap_h", "ifmap_w", "r", "s", "c", "n", "stride"))
        if key not in seen:
            seen.add(key)
            out.append(r)
    return out


def write_topology(rows: list[dict], topo: Path) -> None:
    with open(topo, "w") as f:
        f.write("Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, "
                "Num Filter, Strides,\n")
        for r in rows:
            f.write(f"{r['name']}, {r['ifmap_h']}, {r['ifmap_w']}, {r['r']}, {r['s']}, {r['c']}, "
                    f"{r['n']}, {r['stride']},\n")


def parse_report(report: Path) -> list[float]:
    cycles = []
    with open(report) as f:
        for i, line in enumerate(csv.reader(f)):
            if i == 0 or not line:
                continue
            cycles.append(float(line[2]) - float(line[3]))      # Total Cycles - Stall Cycles
    return cycles


def run_scalesim(python: Path, rows: list[dict], arr: int, df: str, tag: str, fresh: bool):
    """SCALE-Sim compute cycles per layer (Total Cycles - Stall Cycles) and its wall time."""
    CACHE.mkdir(parents=True, exist_ok=True)
    cached = CACHE / f"{tag}_{arr}x{arr}_{df}.json"
    if cached.exists() and not fresh:
        return json.loads(cached.read_text())
    work = Path(tempfile.mkdtemp(prefix="scalesim_"))
    topo = work / f"{tag}.csv"
    write_topology(rows, topo)
    (work / "runner.py").write_text(RUNNER)
    t0 = time.time()
    proc = subprocess.run([str(python), str(work / "runner.py"), str(arr), str(arr), df,
                           str(topo), str(work)], capture_output=True, text=True)
    wall = time.time() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"scalesim failed: {proc.stderr[-2000:]}")
    out = {"cycles": parse_report(next(work.rglob("COMPUTE_REPORT.csv"))), "wall_s": wall,
           "host": "this machine"}
    write_text_atomic(cached, json.dumps(out))
    shutil.rmtree(work, ignore_errors=True)
    return out


def ours(rows: list[dict], arr: int, df: str):
    """Our per-layer compute cycles for the same layers, and the time to compute them."""
    T, K, N = (np.array([r[k] for r in rows], dtype=np.float64) for k in ("T", "K", "N"))
    t0 = time.perf_counter()
    cyc = gemm_compute_cycles(T, K, N, arr, arr, DATAFLOWS.index(df))
    return cyc, time.perf_counter() - t0


def all_runs(skip_full: bool):
    nets = {"lenet5": layers_of("lenet5", (1, 28, 28)),
            "resnet18": unique(layers_of("resnet18", (3, 32, 32)))}
    runs = [(f"{net}_unique", rows, arr, df) for net, rows in nets.items()
            for arr in ARRAYS[net] for df in DATAFLOWS]
    if not skip_full:
        runs.append(("resnet18_full", layers_of("resnet18", (3, 32, 32)), 32, "ws"))
    return nets, runs


def export_jobs(out: Path, skip_full: bool) -> None:
    """One directory per run + run_all.sh (runs them in parallel, results to $1/<run>.json)."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "runner.py").write_text(RUNNER)
    names = []
    for tag, rows, arr, df in all_runs(skip_full)[1]:
        name = f"{tag}_{arr}x{arr}_{df}"
        (out / name).mkdir(exist_ok=True)
        write_topology(rows, out / name / f"{tag}.csv")
        names.append(f"{name} {arr} {df} {tag}")
    (out / "jobs.txt").write_text("\n".join(names) + "\n")
    (out / "run_all.sh").write_text(
        'set -u; D=$(cd "$(dirname "$0")" && pwd); R=$1\n'
        'run() { name=$1; arr=$2; df=$3; tag=$4; w=$D/$name;\n'
        '  python3 -S $D/runner.py $arr $arr $df $w/$tag.csv $w > $w/log.txt 2>&1; }\n'
        'export -f run; export D R\n'
        'xargs -P 16 -L 1 bash -c \'run "$@"\' _ < $D/jobs.txt\n'
        'cd $D && tar czf $R/res.tgz $(find . -name COMPUTE_REPORT.csv) */log.txt\n')
    print(f"wrote {len(names)} jobs to {out}")


def import_results(src: Path, host: str) -> None:
    """Read ``<run>/**/COMPUTE_REPORT.csv`` and the runner's ``WALL`` line in ``<run>/log.txt``."""
    CACHE.mkdir(parents=True, exist_ok=True)
    for log in sorted(src.glob("*/log.txt")):
        reports = list(log.parent.rglob("COMPUTE_REPORT.csv"))
        walls = [ln for ln in log.read_text().splitlines() if ln.startswith("WALL ")]
        if not reports or not walls:
            print(f"skipped {log.parent.name}: unfinished")
            continue
        out = {"cycles": parse_report(reports[0]), "wall_s": float(walls[-1].split()[1]),
               "host": host}
        (CACHE / f"{log.parent.name}.json").write_text(json.dumps(out))
        print(f"imported {log.parent.name}: {len(out['cycles'])} layers, {out['wall_s']:.1f} s")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--skip-full", action="store_true", help="skip the full ResNet-18 timing run")
    ap.add_argument("--fresh", action="store_true", help="ignore cached SCALE-Sim runs")
    ap.add_argument("--export", type=Path, help="write the SCALE-Sim runs as jobs to DIR")
    ap.add_argument("--import", dest="import_dir", type=Path, help="load job results from DIR")
    ap.add_argument("--host", default="device machine (16 free cores)",
                    help="where imported runs ran")
    args = ap.parse_args()
    if args.export:
        return export_jobs(args.export, args.skip_full)
    if args.import_dir:
        import_results(args.import_dir, args.host)
    nets, _ = all_runs(True)
    python = ensure_venv()
    lines = ["| network | array | dataflow | layers | equal | max diff % | SCALE-Sim cycles | "
             "ours cycles | SCALE-Sim s | ours ms |", "|---|---|---|---|---|---|---|---|---|---|"]
    worst = 0.0
    for net, rows in nets.items():
        for arr in ARRAYS[net]:
            for df in DATAFLOWS:
                ss = run_scalesim(python, rows, arr, df, f"{net}_unique", args.fresh)
                cyc, secs = ours(rows, arr, df)
                theirs = np.array(ss["cycles"])
                diff = np.abs(cyc - theirs) / np.maximum(theirs, 1) * 100
                worst = max(worst, float(diff.max()))
                lines.append(f"| {net} | {arr}x{arr} | {df} | {len(rows)} | "
                             f"{int((cyc == theirs).sum())}/{len(rows)} | {diff.max():.3f} | "
                             f"{int(theirs.sum()):,} | {int(cyc.sum()):,} | {ss['wall_s']:.1f} "
                             f"({ss.get('host', 'this machine')}) | "
                             f"{secs * 1e3:.3f} |")
                print(lines[-1], flush=True)
    text = ["# hwsim accelerator vs SCALE-Sim 3.0.0: per-layer compute cycles", "",
            "Command: `python benchmarks/hwsim_scalesim.py`.  SCALE-Sim 'Total Cycles' minus",
            "'Stall Cycles' (COMPUTE_REPORT.csv) against `hwsim.accel.gemm_compute_cycles`;",
            "ResNet-18 rows use its unique layer shapes (12 of 21 GEMM layers).", ""] + lines
    text += ["", f"Worst per-layer difference: {worst:.3f} %."]
    if not args.skip_full:
        full = layers_of("resnet18", (3, 32, 32))
        ss = run_scalesim(python, full, 32, "ws", "resnet18_full", args.fresh)
        cyc, secs = ours(full, 32, "ws")
        model = build("resnet18", (3, 32, 32), 10)
        t0 = time.perf_counter()
        ops = extract(model, (3, 32, 32))
        t1 = time.perf_counter()
        evaluate_many(ops, [AcceleratorConfig(rows=32, cols=32, dataflow="ws")])
        t2 = time.perf_counter()
        text += ["", "## Full ResNet-18, 32x32 weight-stationary", "",
                 "| | SCALE-Sim 3.0.0 | hwsim | ratio |", "|---|---|---|---|",
                 f"| compute cycles (21 GEMM layers) | {int(sum(ss['cycles'])):,} | {int(cyc.sum()):,} | "
                 f"{cyc.sum() / sum(ss['cycles']):.4f} |",
                 f"| wall time | {ss['wall_s']:.1f} s ({ss.get('host', 'this machine')}) | closed form {secs * 1e3:.3f} ms; full model "
                 f"(extract {1e3 * (t1 - t0):.0f} ms + evaluate {1e3 * (t2 - t1):.2f} ms) | "
                 f"{ss['wall_s'] / (t2 - t1):,.0f}x (evaluate), {ss['wall_s'] / (t2 - t0):,.0f}x "
                 f"(extract + evaluate) |",
                 "", "ANCHORS: SCALE-Sim 2,603,685 cycles for ResNet-18 on 32x32 ws in ~350 s; that run",
                 "presumably used another ResNet-18 topology file (we did not have it to rerun); ours",
                 "is the CIFAR ResNet-18 of synth.models on 32x32x3, whose 21 GEMM layers SCALE-Sim",
                 "itself counts as above.  Extract time is one PyTorch forward pass with hooks on this",
                 "(heavily shared, load ~15 on 2 cores) machine."]
        print("\n".join(text[-6:]))
    write_result(RESULTS, text, echo=False)
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
