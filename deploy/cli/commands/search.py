"""``nnsynth search``: predictor-guided architecture search on Ray Tune (or ``--resume DIR``)."""
import click

from search.choices import DEFAULT_SEARCHER, DEFAULT_TIEBREAK, SEARCH_MIN_STEPS
from synth.choices import MAX_MIN_STEPS, RECIPE

from deploy.cli.options import (address_option, dataset_name, device_option, emit, json_option,
                                RegistryChoice, seed_option, show_progress, synth_option)


@click.command("search")
@click.option("--space", default="auto", show_default=True,
              help="Search space: YAML/JSON file or built-in name (convnet, convnet1d, resnet, "
                   "mlp); auto: convnet for images, convnet1d for sequences, mlp for feature "
                   "vectors.")
@click.option("--dataset", default="digits", show_default=True, callback=dataset_name,
              help="Data set name.")
@click.option("--teacher", default=None, help="Teacher checkpoint: train trials by KD.")
@synth_option("Synthesized Parquet set (with --teacher).", old_name="--data")
@click.option("--searcher", type=RegistryChoice("search.choices.SEARCHER_NAMES"),
              default=DEFAULT_SEARCHER, show_default=True,
              help="Searcher that proposes the architectures (localbo: GP + EI, local and random pool).")
@click.option("--trials", type=click.IntRange(min=1), default=16, show_default=True,
              help="Architectures to train and measure.")
@click.option("--concurrency", type=click.IntRange(min=1), default=2, show_default=True,
              help="Trials trained at once (Ray Tune workers).")
@click.option("--n-initial", type=click.IntRange(min=1), default=8, show_default=True,
              help="Random architectures before the first predictor fit.")
@click.option("--constraint", "constraints", multiple=True,
              help="Resource limit, e.g. 'latency_ms<=0.05' (repeatable).")
@click.option("--epochs", type=click.IntRange(min=1), default=3, show_default=True,
              help="Training epochs a trial (the most, with --asha; raised where they make "
                   "fewer than --min-steps optimizer steps).")
@click.option("--min-steps", type=click.IntRange(0, MAX_MIN_STEPS), default=SEARCH_MIN_STEPS,
              show_default=True,
              help="At least this many optimizer steps a trial, as nnsynth train's --min-steps: "
                   "on a small training split the epochs are raised (results.parquet's epochs "
                   "are the ones that ran, epochs_requested the --epochs given).  3 epochs of "
                   "iris were 6 steps, and the trials ranked models of 53-97% test; 60 is what "
                   "a digits trial makes at 3 epochs.  0: exactly --epochs.")
@click.option("--asha", is_flag=True, help="ASHA early stopping on per-epoch accuracy (stopped "
              "trials count toward --trials; the summary says how many).")
@click.option("--no-hardware", is_flag=True, help="Skip hwsim latency/energy pricing.")
@click.option("--accel", "accel_path", default=None,
              help="AcceleratorConfig YAML file (nnsynth hwsim eval --accel's) the trials and "
                   "the latency/energy constraints are priced on (default: hwsim's 32x32 ws "
                   "array).")
@click.option("--tiebreak", type=RegistryChoice("search.choices.TIEBREAKS"),
              default=DEFAULT_TIEBREAK, show_default=True,
              help="How trials of the best validation accuracy are decided (a small validation "
                   "split ties many): one_se, the fewest parameters among those whose "
                   "validation loss is within one standard error of the lowest; val_loss, the "
                   "lowest validation loss, then the fewest parameters; parameters, the fewest "
                   "parameters (the rule of a search begun before this option).")
@click.option("--grow-prune", is_flag=True,
              help="Grow and prune every trial's model (NeST) before it is measured, with "
                   "nnsynth grow-prune's recipe: "
                   f"{RECIPE['prune_steps']} {RECIPE['criterion']} pruning steps of "
                   f"{RECIPE['prune_fraction']:.0%}, weights of dead units removed, at least "
                   f"{RECIPE['retrain_min_steps']} optimizer steps a retraining, a step undone "
                   f"that gives up more than {RECIPE['max_accuracy_drop'] * 100:g} points of "
                   "validation accuracy.  The constraints then hold for the pruned model's nonzero "
                   "parameters and MACs, the trial lines and summary give its nonzero "
                   "parameters, and the Pareto front is drawn against its nonzero MACs where no "
                   "latency is priced (--no-hardware).")
@click.option("--schedule", default=None,
              help="With --grow-prune: GrowPruneSchedule fields over the recipe, as a JSON "
                   "object (nnsynth grow-prune --schedule's) or a YAML/JSON file of them, e.g. "
                   "'{\"prune_steps\": 8, \"max_accuracy_drop\": 0.02}'.  The trials take "
                   "the search's --seed and --device.")
@click.option("--out", default=None, type=click.Path(file_okay=False), help="Output directory (required unless --resume).")
@click.option("--resume", "resume_dir", default=None, type=click.Path(file_okay=False),
              help="Resume the search in this directory with its saved settings (only "
                   "--address and --json go with it).")
@seed_option
@device_option
@address_option
@json_option
def command(space, dataset, teacher, synth_dir, searcher, trials, concurrency, n_initial,
            constraints, epochs, min_steps, asha, no_hardware, accel_path, tiebreak,
            grow_prune, schedule, out, resume_dir, seed, device, address, as_json):
    """Search architectures in SPACE; every trial is trained, priced and written to
    OUT/results.parquet, with the Pareto front in OUT/pareto.png and the best in OUT/best.pt."""
    from search.run import AUTO_SPACE, SearchConfig, check_searchable, run_search
    from search.schedule import trial_grow_prune
    from search.space import load_space
    from synth.errors import UserError

    if resume_dir:
        _check_resume_alone(click.get_current_context())
        summary = run_search(None, resume_dir, resume=True, progress=show_progress(), address=address)
    else:
        if not out:
            raise UserError("--out DIR is required (or --resume DIR)")
        if space != AUTO_SPACE:
            load_space(space)  # a malformed space fails here, naming the key
        config = SearchConfig(space=space, dataset=dataset, teacher=teacher, data=synth_dir,
                              searcher=searcher, trials=trials, concurrency=concurrency,
                              n_initial=n_initial, constraints=tuple(constraints), epochs=epochs,
                              min_steps=min_steps,
                              asha=asha, hardware=not no_hardware,
                              accel=_accel_file(accel_path, no_hardware), seed=seed,
                              device=device, tiebreak=tiebreak,
                              grow_prune=trial_grow_prune(grow_prune, schedule))
        # a space that builds nothing for the data, or a bound no member meets: refused
        # before Ray starts and --out is written (a rerun into it was refused)
        check_searchable(config)
        summary = run_search(config, out, progress=show_progress(), address=address)
    emit(summary, as_json, summary_text(summary, resume_dir or out))


def _accel_file(path: str | None, no_hardware: bool) -> dict:
    """The --accel file's fields, read by ``hwsim.accel.read_accel_file`` (hwsim's public
    reader of an accelerator YAML file: its errors name the file)."""
    if not path:
        return {}
    from synth.errors import UserError
    if no_hardware:
        raise UserError("--accel configures the hwsim pricing, which --no-hardware turns off: "
                        "give one of them")
    from hwsim.accel import read_accel_file
    return read_accel_file(path).to_dict()


def summary_text(summary: dict, given: str | None = None) -> str:
    """The human line of a search summary: which accuracy is which (the best trial is chosen
    on validation accuracy; it said 'best accuracy' and users took it for test accuracy), and
    the latency in readable digits ('0.00037799999999999997 ms').  Its folder and files are
    named under the --out (--resume) as the user ``given`` it (``search.run.shown_path``),
    not the absolute path the search works in."""
    import json
    from search.run import shown_path, trials_text
    if given is not None:
        summary = {**summary, **{k: shown_path(summary[k], summary["out_dir"], given)
                                 for k in ("out_dir", "pareto_png") if k in summary}}
    # with grow-and-prune the figures are the pruned model's (best.pt), not the searched
    # architecture's: the line said "14,116 parameters" of a searched [128, 128, 32] (21,379)
    pruned = (f" of the grown-and-pruned {json.dumps(summary['best_spec'])}, searched as "
              f"{json.dumps(summary['best_searched_spec'])}"
              if summary.get("grow_pruned") and "best_searched_spec" in summary else "")
    # a data-free search (--teacher, --synth) chose its best on synthesized validation inputs:
    # "best validation accuracy" read as real data
    accuracy = (f"best accuracy {summary['best_accuracy']:.4f} on the synthesized validation "
                f"inputs" if summary.get("best_selected_on") == "synthetic_val" else
                f"best validation accuracy {summary['best_accuracy']:.4f}")
    # the constraints of a grow-and-prune search hold for the nonzero count: said beside
    nonzero = (f", {summary['best_nonzero_parameters']:,} nonzero" if summary.get(
        "constraints_counted") == "nonzero" and summary.get("best_nonzero_parameters")
        is not None else "")
    # a grown-and-pruned best.pt keeps its cut connections as zeros, which the accelerator
    # model multiplies: said as nnsynth hwsim eval says it (search.trial's accel_note)
    note = (f"\nnote: best.pt's latency: {summary['best_accel_note']}"
            if summary.get("best_accel_note") else "")
    if summary.get("note"):   # a --dataset of shorter series, left-padded to the teacher's
        note += f"\nnote: {summary['note']}"
    return (f"{trials_text(summary)} in {summary['out_dir']}; {accuracy}, "
            f"test {summary['best_test_accuracy']:.4f} "
            f"({summary['best_parameters']:,} parameters{nonzero}, latency "
            f"{_cost_text(summary)}{pruned}); "
            f"Pareto front of {len(summary['pareto_front'])}: {summary['pareto_png']}{note}")


def _cost_text(summary: dict) -> str:
    """The best model's latency in readable digits, its energy where the search was bounded
    on energy (the line gave its latency alone), and the accelerator where --accel named one
    or the search was bounded on it."""
    latency = summary["best_latency_ms"]
    if latency is None:
        return "not priced"
    energy = summary.get("best_energy_mj")
    energy = (f", energy {energy:.4g} mJ" if energy is not None and any(
        str(c).startswith("energy_mj") for c in summary.get("constraints") or ()) else "")
    array = (f" on the accelerator {summary['accel_text']}"   # --accel's, or bounded on
             if summary.get("names_accel") else "")
    return f"{latency:.4g} ms{energy}{array}"


def _check_resume_alone(ctx) -> None:
    """--resume runs the saved settings: another option given with it (--trials 50) was
    ignored without a word."""
    from click.core import ParameterSource
    from synth.errors import UserError
    given = [p.opts[0] for p in ctx.command.params   # a hidden alias shares its name
             if p.name not in ("resume_dir", "address", "as_json") and not p.hidden
             and ctx.get_parameter_source(p.name) is ParameterSource.COMMANDLINE]
    if given:
        raise UserError(f"--resume continues the search with its saved settings; drop "
                        f"{', '.join(given)} (or start a new search with --out)")
