"""Options and output shared by every command (defined once, used everywhere)."""
from __future__ import annotations

import json
import math

import click

json_option = click.option("--json", "as_json", is_flag=True,
                           help="Print the result as one JSON object on the last line of stdout.")
seed_option = click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True,
                           help="Random seed (splits, initialization, sampling).")
address_option = click.option("--address", default=None, envvar="RAY_ADDRESS",
                              help="Ray cluster to join (default: start a local Ray on 127.0.0.1).")
num_cpus_option = click.option("--num-cpus", type=click.IntRange(min=1), default=None,
                               help="CPUs for a local Ray (default: all).")
device_option = click.option("--device", default="auto", show_default=True,
                             help="auto (CUDA when present), cpu or cuda.")


def _jsonable(obj):
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if hasattr(obj, "item") and callable(obj.item):
        return obj.item()
    return obj


def _stdout_ends_here() -> None:
    """Send whatever the process prints after the JSON object to stderr, so that the object
    stays the last line of stdout: Ray's log forwarding prints late messages (a worker that
    died, shutdown notes) to the driver's stdout after the command has returned.  Only the
    real stdout (file descriptor 1) is redirected, never a test runner's capture."""
    import os
    import sys
    try:
        if sys.stdout.fileno() != 1:
            return
    except (AttributeError, OSError, ValueError):   # not a real file (a capture buffer)
        return
    sys.stdout.flush()
    os.dup2(2, 1)


def emit(result: dict, as_json: bool, human: str | None = None) -> None:
    """Print ``human`` (or key: value lines), or the JSON object as the last stdout line."""
    if as_json:
        click.echo(json.dumps(_jsonable(result), sort_keys=True))
        _stdout_ends_here()
        return
    if human is not None:
        click.echo(human)
        return
    for k, v in result.items():
        if isinstance(v, float):
            v = f"{v:.4f}"
        if not isinstance(v, (list, dict)):
            click.echo(f"{k}: {v}")
