"""``nnsynth sweep SWEEP.yaml``: a grid or list of run configs, in parallel under Ray."""
import sys
from pathlib import Path

import click

from deploy.cli.options import (address_option, emit, json_option, num_cpus_option,
                                show_progress, terminal_safe)


@click.command("sweep")
@click.argument("sweep_file", type=click.Path(dir_okay=False))
@click.option("--check", is_flag=True, help="Expand and validate every run (its data set "
              "loaded and checked, as `run --check` does); no work is done.")
@address_option
@num_cpus_option
@json_option
def command(sweep_file, check, address, num_cpus, as_json):
    """Run every config of SWEEP_FILE, each in its own run directory (resumable); exit 1
    when a run failed (every run is still tried and its row written)."""
    from cluster.connect import check_start
    from deploy.sweep import data_problems, load_sweep, run_sweep

    sweep, runs = load_sweep(sweep_file)
    if not check:    # what would refuse the start (address, --num-cpus): before the data check
        check_start(address, num_cpus)
    # the data check `nnsynth run` does before any work, for every run; errors name the
    # sweep file as load_sweep's do
    problems = data_problems(runs, where=str(Path(sweep_file).expanduser()),
                             progress=show_progress())
    if problems:                  # every bad run, one line each (not only the first)
        from deploy.cli.main import one_line
        for line in problems:
            click.echo(f"error: {one_line(line)}", err=True)
        sys.exit(2)
    if check:
        emit({"runs": [cfg.name for _, cfg in runs], "valid": True}, as_json,
             None if as_json else "\n".join(cfg.name for _, cfg in runs))
        return
    echo = (lambda m: None) if as_json else (lambda m: click.echo(m, err=True))
    rows = run_sweep(sweep, runs, address=address, num_cpus=num_cpus, echo=echo)
    if as_json:
        emit({"runs": rows}, True)
    else:
        for r in rows:
            acc = r.get("final_test_accuracy")
            error = terminal_safe(r.get("error") or "")   # a path's escape sequence, escaped
            click.echo(f"{r['name']}: " + (f"error: {error}" if error else
                                          f"accuracy {acc:.4f}, {r.get('final_parameters'):,} "
                                          f"parameters, {r['run_dir']}"))
    failed = sum(bool(r.get("error")) for r in rows)
    if failed:   # every run was tried; a script's `nnsynth sweep s.yaml && ...` stops here
        click.echo(f"error: {failed} of {len(rows)} runs failed (their rows name why)", err=True)
        sys.exit(1)
