"""What every benchmark script shares: a Markdown table, the machine note (load average,
CPUs, device), the command line, and the results file (written atomically through
``synth.files``, printed as well).

    from common import RESULTS, command_line, machine_note, table, write_result
    lines = table(["method", "accuracy"], [["ours", "97.1%"], ["peer", "96.8%"]])
    write_result("my_bench.md", lines + ["", machine_note(), command_line()], "# My benchmark")
"""
from __future__ import annotations

import os
import statistics
import sys
from pathlib import Path
from typing import Iterable, Sequence

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))   # run as a script

from synth.files import write_text_atomic  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"


def table(header: Sequence[str], rows: Iterable[Sequence]) -> list[str]:
    """Markdown table lines: a header, the rule, one line per row (cells as given)."""
    lines = ["| " + " | ".join(map(str, header)) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(map(str, row)) + " |" for row in rows]
    return lines


def mean_sd(values: Sequence[float], fmt: str = "{:.4f}") -> str:
    """``mean ± sd`` over seeds (sd 0 for one value)."""
    sd = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{fmt.format(statistics.mean(values))} ± {fmt.format(sd)}"


def load_average() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.1f} / {five:.1f} / {fifteen:.1f}"


def machine_note(extra: str = "") -> str:
    """One line: load average (1/5/15 min), CPUs and torch's device, for timings' context."""
    from synth.device import pick_device
    note = (f"Machine: {os.cpu_count()} CPUs, device {pick_device()}, load average "
            f"{load_average()} (1/5/15 min; shared with other jobs).")
    return f"{note} {extra}".strip()


def command_line(script: str | None = None) -> str:
    """``Command: `python benchmarks/NAME.py ARGS``` for the results file."""
    script = script or Path(sys.argv[0]).name
    return "Command: `" + " ".join(["python", f"benchmarks/{script}", *sys.argv[1:]]) + "`"


def write_result(path: str | os.PathLike, body: str | Sequence[str],
                 title: str | None = None, echo: bool = True) -> Path:
    """Write the results file ``path`` (a name under ``benchmarks/results/`` or a path)
    atomically: ``title`` (a Markdown heading, optional), then ``body`` (text or lines);
    print it too."""
    path = Path(path)
    if not path.is_absolute() and path.parent == Path("."):
        path = RESULTS / path
    text = body if isinstance(body, str) else "\n".join(body)
    if title:
        text = f"{title}\n\n{text}"
    if not text.endswith("\n"):
        text += "\n"
    if echo:
        print(text, end="")
    return write_text_atomic(path, text)


def run_main(main, *args):
    """Call a script's ``main(*args)``.  A mistake the user can fix that the library finds
    (an unknown data set, model or option value: ``synth.errors.UserError``) is its one line
    on stderr and exit 2, as argparse's own errors are, not a traceback."""
    from synth.errors import UserError
    try:
        return main(*args)
    except UserError as e:
        print(f"{Path(sys.argv[0]).name}: error: {e}", file=sys.stderr)
        raise SystemExit(2) from None
