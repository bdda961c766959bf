"""``nnsynth symbiotic``: an LSTM / H-LSTM language model sized by the target platform's latency."""
import click

from deploy.cli.options import (THREADS, comma_separated, dataset_name, device_option, emit,
                                json_option, seed_option, show_progress, warn)


def _check_lists(cells: tuple, widths: tuple, sparsities: tuple) -> None:
    """The list options told by their names and the value at fault (SymbioticConfig said
    ``cells must be a non-empty list of lstm, hlstm, got ['lstm', 'gru']``, ``widths must be
    1 to 64 integers >= 1, got [4, 0]``: its fields, not the options typed); a sparsity out
    of range is SymbioticConfig's ``sparsities[]`` error, told by --sparsities
    (``options._field_message``)."""
    from synth.config import check_range
    from synth.errors import UserError
    from synth.symbiotic import CELLS, MAX_CANDIDATES
    for c in cells:
        if c not in CELLS:
            raise UserError(f"--cells must be comma-separated cell types among "
                            f"{', '.join(CELLS)}, got {c!r}")
    for option, values in (("--widths", widths), ("--sparsities", sparsities)):
        if len(values) > MAX_CANDIDATES:   # each is a training
            raise UserError(f"{option} must be at most {MAX_CANDIDATES} values, got "
                            f"{len(values):,}")
    for w in widths:   # told by --widths, as sparsities[] by --sparsities
        check_range("widths[]", w, 1, None, integer=True)


@click.command("symbiotic")
@click.option("--dataset", required=True, callback=dataset_name,
              help="Text set: enwiki or text:<path>.")
@click.option("--platform", required=True, help="host (this CPU, measured) | accel | spring.")
@click.option("--out", required=True, type=click.Path(file_okay=False),
              help="Report directory (report.json, report.md, latency.png; each final "
                   "model's checkpoint in models/).")
@click.option("--cells", default="lstm,hlstm", show_default=True, help="Cell types searched.",
              callback=comma_separated())
@click.option("--widths", default="32,48,64,96,128", show_default=True,
              callback=comma_separated(int, "integers"), help="Candidate layer widths.")
@click.option("--layers", type=click.IntRange(min=1), default=1, show_default=True,
              help="Recurrent layers of each candidate, all of the searched width.")
@click.option("--sparsities", default="0.5,0.75,0.9", show_default=True,
              callback=comma_separated(float, "numbers"),
              help="Pruning steps (fractions of zero gate weights).")
@click.option("--tolerance", type=float, default=0.01, show_default=True,
              help="Relative perplexity increase over the baseline that still keeps it.")
@click.option("--latency-target", type=float, default=0.0, show_default=True,
              help="Milliseconds per 35-token sequence (bptt) at batch 1 that the symbiotic "
                   "model must take at most on the --platform: chosen by its table rows "
                   "(pruned where they say pruning pays, with the decoder's) and judged at "
                   "the end on the model as served (hwsim's price of it on accel or spring; "
                   "its table ms on host); one no candidate can meet is refused before any "
                   "training.  0: none.")
@click.option("--accel", "accel_path", default=None,
              help="AcceleratorConfig YAML file (nnsynth hwsim eval --accel's) that "
                   "--platform accel prices on (default: hwsim's 32x32 ws array).")
@click.option("--baseline-width", type=click.IntRange(min=1), default=200, show_default=True,
              help="Hidden units per layer of the baseline LSTM.")
@click.option("--baseline-layers", type=click.IntRange(min=1), default=2, show_default=True,
              help="Layers of the baseline LSTM.")
@click.option("--epochs", type=click.IntRange(min=1), default=4, show_default=True,
              help="Training epochs of the baseline and of each candidate.")
@click.option("--max-batches", type=click.IntRange(min=0), default=0, show_default=True,
              help="BPTT windows per epoch (0 = the whole training split).")
@click.option("--min-count", type=click.IntRange(min=1), default=10, show_default=True,
              help="Vocabulary: words seen at least this often in train.")
@click.option("--rounds", type=click.IntRange(min=1), default=20, show_default=True,
              help="Interleaved timing passes per table row.")
@click.option("--threads", type=THREADS, default=1, show_default=True,
              help="Torch threads for timing and each training task.")
@click.option("--no-ray", is_flag=True, help="Train the candidates in this process.")
@seed_option
@device_option
@json_option
def command(dataset, platform, out, cells, widths, layers, sparsities, tolerance, latency_target,
            accel_path, baseline_width, baseline_layers, epochs, max_batches, min_count, rounds,
            threads, no_ray, seed, device, as_json):
    """Train a baseline and candidate widths, choose width and sparsity by the platform's
    latency table, and write a report with the latency-vs-width plot."""
    from deploy.symbiotic import run_symbiotic
    from hwsim.accel import read_accel_file
    from synth.symbiotic import SymbioticConfig

    _check_lists(cells, widths, sparsities)
    accel = read_accel_file(accel_path) if accel_path else None
    config = SymbioticConfig(cells=cells, widths=widths, layers=layers, sparsities=sparsities,
                             tolerance=tolerance, latency_target=latency_target,
                             epochs=epochs, max_batches=max_batches,
                             seed=seed, device=device)
    report = run_symbiotic(dataset, platform, out, config=config, min_count=min_count,
                           baseline_width=baseline_width, baseline_layers=baseline_layers,
                           rounds=rounds, threads=threads, use_ray=not no_ray,
                           progress=show_progress(), accel=accel)
    summary = {"platform": report["platform"], "choice": report["choice"],
               "models": {k: {f: v[f] for f in ("cell", "hidden", "nonzero_parameters",
                                                "val_perplexity", "test_perplexity",
                                                "host_best_ms", "host_lo_ms", "host_hi_ms",
                                                "table_ms", "priced_ms")}
                          for k, v in report["models"].items()},
               "files": report["files"], "checkpoints": report["checkpoints"],
               **{k: report[k] for k in ("accel", "accel_text", "notes") if k in report}}
    if report.get("warning"):
        summary["warning"] = report["warning"]
    if as_json:
        if report.get("warning"):   # on stderr too, as every command's: the object holds it
            warn(report["warning"])
        emit(summary, True)
        return
    # report.md says the warning ('**warning:** ...'): once, not on stderr as well
    click.echo(open(report["files"][1]).read())
    click.echo(f"report: {', '.join(report['files'])}")
