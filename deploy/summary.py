"""``summary.md``: the run's report, made from the ledger's recorded numbers only.

Teacher and final model side by side on the real test split: accuracy, parameters
(nonzero), FLOPs (MACs), latency and energy on the accelerator model and on SPRING,
with the ratio final/teacher for each, plus the files the run wrote.
"""
from __future__ import annotations

import math
from pathlib import Path

from synth.files import write_text_atomic

ROWS = [  # (key, label, format)
    ("test_accuracy", "test accuracy (real test split)", "{:.2%}"),
    ("parameters", "parameters", "{:,}"),
    ("nonzero_parameters", "nonzero parameters", "{:,}"),
    ("flops", "FLOPs (MACs per input, every weight)", "{:,}"),
    ("nonzero_flops", "nonzero FLOPs (MACs per input on nonzero weights)", "{:,}"),
    ("latency_ms", "latency, accelerator (ms/{unit})", "{:.4g}"),
    ("energy_mj", "energy, accelerator (mJ/{unit})", "{:.4g}"),
    ("spring_latency_ms", "latency, SPRING (ms/{unit})", "{:.4g}"),
    ("spring_energy_mj", "energy, SPRING (mJ/{unit})", "{:.4g}"),
]


def input_unit(input_shape) -> str:
    """What one input of a data set is called in the report: ``image`` (C, H, W),
    ``sequence`` (C, T), ``row`` (a table's feature vector).  A CSV run's summary priced
    'ms/image' and checked ONNX 'on the 36 test images' of a wine table.  The words are
    ``synth.models.registry.INPUT_KINDS``' (ONNX's kind and the data check use the same)."""
    from synth.models.registry import input_kind   # torch: imported where used
    return input_kind(input_shape).one


def _fmt(fmt: str, value) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "n/a"
    return fmt.format(value)


def _ratio(a, b) -> str:
    if not isinstance(a, (int, float)) or not isinstance(b, (int, float)) or not b:
        return ""
    return f"{a / b:.3g}x"


def render_summary(name: str, teacher: dict, final: dict, *, final_source: str,
                   files: dict[str, str], stage_seconds: dict[str, float | None],
                   notes: list[str] | None = None, unit: str = "image") -> str:
    """The report; ``unit`` names one input (``input_unit``); a stage whose seconds are
    None is the export, which writes this file before its time is known."""
    lines = [f"# nnsynth run: {name}", "",
             f"Final model: {final_source} (`{final.get('spec_text', '')}`)", "",
             "| metric | teacher | final | final / teacher |", "|---|---|---|---|"]
    for key, label, fmt in ROWS:
        if key not in teacher and key not in final:
            continue
        t, f = teacher.get(key), final.get(key)
        lines.append(f"| {label.format(unit=unit)} | {_fmt(fmt, t)} | {_fmt(fmt, f)} | {_ratio(f, t)} |")
    lines += ["", "## Stages", "", "| stage | seconds |", "|---|---|"]
    for stage, seconds in stage_seconds.items():
        shown = "(writing this report)" if seconds is None else f"{seconds:.0f}"
        lines.append(f"| {stage} | {shown} |")
    lines += ["", "## Files", ""]
    lines += [f"- {label}: `{path}`" for label, path in files.items()]
    if notes:
        lines += ["", "## Notes", ""] + [f"- {n}" for n in notes]
    return "\n".join(lines) + "\n"


def write_summary(path: str | Path, text: str) -> Path:
    return write_text_atomic(path, text)
