"""Does a synthesized set carry any layout?  For each image row of inversion_any.py: the
fraction of its 500 synthesized inputs (``settings_for(teacher)``, the set the row's students
learn from) to which the teacher gives the same class with their top and bottom halves
swapped (``synth.inversion.layout_kept``, the data-free check `nnsynth invert` reports as
``layout_kept``), beside the same fraction on the real test inputs and the teacher's test
accuracy on them swapped.

    python benchmarks/inversion_layout.py [--rows ROW,...] [--work runs/inversion_any]

A teacher that classifies a digit the same with its halves swapped barely uses where strokes
are; inversion then has nothing to put them anywhere in particular, and the students
distilled on the set can be compared with the gaps of inversion_any.md.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import inversion_any as B  # noqa: E402
from common import command_line, machine_note, table, write_result, run_main  # noqa: E402

IMAGE_ROWS = [r[0] for r in B.ROWS if r[1] in ("mnist5k", "digits")]


def main() -> None:
    from synth.data import input_range, load_dataset
    from synth.inversion import LAYOUT_KEPT_WARN, layout_kept, settings_for, swap_halves
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", default=",".join(IMAGE_ROWS))
    ap.add_argument("--work", default="runs/inversion_any")
    ap.add_argument("--md", default="inversion_layout.md")
    a = ap.parse_args()
    bad = [r for r in a.rows.split(",") if r not in IMAGE_ROWS]
    if bad:   # a tabular row has no halves to swap
        ap.error(f"--rows: {','.join(bad)} not among the image rows: {', '.join(IMAGE_ROWS)}")
    torch.set_num_threads(1)
    work, rows = Path(a.work), []
    for row in a.rows.split(","):
        name, dataset, spec, epochs = B._row(row)
        data = load_dataset(dataset)
        teacher = B.teacher_for(work, name, dataset, spec, epochs).eval()
        value_range = input_range(teacher.checkpoint_info["dataset"])
        config = settings_for(teacher, value_range=value_range)
        start = time.process_time()
        images, stats = B.synthesized_set(work, name, teacher, config, data.num_classes,
                                          value_range)
        x, y = data.x_test, data.y_test
        with torch.no_grad():
            swapped_acc = float((teacher(swap_halves(x)).argmax(1) == y).float().mean())
        synth_kept = layout_kept(teacher, images)
        rows.append([name, config.method, f"{100 * synth_kept:.1f}",
                     f"{100 * layout_kept(teacher, x):.1f}", f"{100 * swapped_acc:.1f}",
                     "yes" if synth_kept > LAYOUT_KEPT_WARN else "no",
                     f"{stats.get('cpu_seconds', time.process_time() - start):.0f}"])
        print(" | ".join(rows[-1]), file=sys.stderr, flush=True)
    write_result(a.md, [
        "Fraction of inputs to which the teacher gives the same class with their top and "
        "bottom halves swapped (`synth.inversion.layout_kept`): on the row's 500 synthesized "
        "inputs (the set inversion_any.py's students learn from, settings from "
        "`settings_for`) and on the real test inputs; the teacher's accuracy on the swapped "
        f"real test inputs; `nnsynth invert` warns above {LAYOUT_KEPT_WARN:g} "
        "(`LAYOUT_KEPT_WARN`).", "",
        *table(["teacher / data set", "method", "synthesized: class kept, %",
                "real test: class kept, %", "real test swapped: accuracy, %", "warned",
                "synthesis CPU s"], rows), "",
        machine_note(), "", command_line()],
        title="# Layout in synthesized sets: the halves-swapped check")


if __name__ == "__main__":
    run_main(main)
