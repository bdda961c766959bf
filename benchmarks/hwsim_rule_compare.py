"""Two versions of the accelerator model's batch schedule rule, side by side per configuration.

Prices every network of ``hwsim_monotone.py`` at one batch on its grid of configurations with
the ``hwsim`` of this tree and with that of another checkout (``--old``, e.g. a
``git worktree add /tmp/old SHA``), each in its own process, and prints per network the
ratios new / old of cycles, DRAM bytes and energy: median, extremes, and the share of
configurations that move fewer bytes.

    python benchmarks/hwsim_rule_compare.py --old /tmp/old [--batch 16] [--out FILE]
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import write_result  # noqa: E402

HERE = Path(__file__).resolve().parents[1]
FIELDS = ("cycles", "dram_bytes", "energy_mj")
PRICE = """
import json, sys
sys.path.insert(0, sys.argv[1]); sys.path.insert(0, sys.argv[1] + "/benchmarks")
from hwsim.accel import evaluate_many
from hwsim.workload import build_priced, extract
import hwsim_monotone as hm
out = {}
for name, shape in hm.NETWORKS:
    r = evaluate_many(extract(build_priced(name, shape, 10), shape, batch=int(sys.argv[2])),
                      hm.grid())
    out[name] = {k: [float(v) for v in r[k]] for k in %r}
print(json.dumps(out))
""" % (FIELDS,)


def price(tree: Path, batch: int) -> dict:
    """Every network's figures on the grid, priced by ``tree``'s hwsim in a fresh process."""
    done = subprocess.run([sys.executable, "-c", PRICE, str(tree), str(batch)],
                          capture_output=True, text=True, check=True)
    return {k: {f: np.array(v) for f, v in d.items()} for k, d in json.loads(done.stdout).items()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--old", required=True, type=Path, help="checkout of the other version")
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--out", default=None,
                    help="also write the table to this results file (a name under "
                         "benchmarks/results/ or a path; default: print it only)")
    a = ap.parse_args()
    old, new = price(a.old, a.batch), price(HERE, a.batch)
    lines = [f"| network (batch {a.batch}) | cycles new/old: median, max | DRAM new/old: median, "
             f"min, share of configs < 0.99 | energy new/old: median, min, max |",
             "|---|---|---|---|"]
    for name in new:
        c, d, e = (new[name][f] / old[name][f] for f in FIELDS)
        lines.append(f"| {name} | {np.median(c):.4f}, {c.max():.4f} | {np.median(d):.3f}, "
                     f"{d.min():.3f}, {np.mean(d < 0.99):.1%} | {np.median(e):.3f}, "
                     f"{e.min():.3f}, {e.max():.3f} |")
    if a.out is None:
        print("\n".join(lines))
    else:   # atomically, printed too
        write_result(a.out, lines)


if __name__ == "__main__":
    main()
