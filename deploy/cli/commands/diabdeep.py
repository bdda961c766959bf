"""``nnsynth diabdeep``: the server and edge DiabNNs of DiabDeep on a sequence data set."""
import click

from deploy.cli.options import (comma_separated, dataset_name, device_option, emit, json_option,
                                with_json_fields, seed_option, show_progress, threads_option)
from synth.choices import DIABDEEP_BASELINES, DIABDEEP_STEPS


def _baselines(names: tuple) -> tuple:
    """--baselines (a tuple of stripped names, ``comma_separated``) as DiabDeepConfig's
    ``baselines``: ``none`` (or nothing) is none, and takes no others.  A name the config
    does not know, or one given twice, is its error, told by --baselines from its fields."""
    from synth.errors import UserError
    if names in (("",), ("none",)):
        return ()
    if "none" in names:
        raise UserError(f"--baselines none means no baselines and takes no others, got "
                        f"{','.join(names)!r}")
    return names


@click.command("diabdeep")
@click.option("--dataset", callback=dataset_name, required=True,
              help="Sequence data set (channels x steps), e.g. blink, scp1, basicmotions.")
@click.option("--steps", type=click.IntRange(min=1), default=None,
              help="Recurrent steps per window, 1 to its length T (read in frames of "
                   "ceil(T/steps) samples, so ceil(T/frame) steps: fewer than asked where "
                   "T is not a multiple, said in the report).  [default: frames of "
                   f"ceil(T/{DIABDEEP_STEPS}) samples: {DIABDEEP_STEPS} steps or fewer (42 "
                   "for T=251), T when shorter]")
@click.option("--epochs", type=click.IntRange(min=1), default=30, show_default=True,
              help="Dense training epochs (baselines; split over the growth rounds).")
@click.option("--baselines", default=",".join(DIABDEEP_BASELINES), show_default=True,
              callback=comma_separated(),
              help="Comma-separated baselines to train on the same split, or 'none'.")
@click.option("--options", "options_json", default=None,
              help="Further DiabDeepConfig fields as a JSON object (e.g. '{\"prune_steps\": 8}').")
@click.option("--out", default=None, type=click.Path(dir_okay=False),
              help="Write the full report (rows, grow-and-prune histories, config) as JSON; "
                   "an interrupted run resumes after its last finished model when rerun "
                   "(finished rows are kept in <out>.resume until the report is written; "
                   "the rerun may name other --baselines).")
@seed_option
@device_option
@threads_option
@json_option
def command(dataset, steps, epochs, baselines, options_json, out, seed, device, threads, as_json):
    """Grow and prune the server DiabNN (sparse FC on the raw window) and the edge DiabNN
    (one H-LSTM layer); report accuracy, nonzero parameters, MACs per window (flops: every
    weight counted; nonzero_flops, the table's "nz MACs": those that touch a nonzero weight;
    a random forest has none, its comparisons instead), CPU latency at batch 1 and
    accelerator cost beside the baselines."""
    from hwsim import accel_cost
    from hwsim.latency import torch_threads
    from synth.diabdeep import DiabDeepConfig, run_diabdeep, table

    names = _baselines(baselines)
    config = DiabDeepConfig.from_dict(with_json_fields(
        {"dataset": dataset, "seed": seed, "steps": steps, "epochs": epochs,
         "baselines": names, "device": device}, options_json, "--options"))
    with torch_threads(threads) as used:   # Ctrl-C: the root says what --out kept
        result = run_diabdeep(config, cost_fn=lambda m: accel_cost(m, m.input_shape),
                              progress=show_progress(), report=out)
    summary = {k: v for k, v in result.items() if k not in ("histories", "config", "run_key")}
    summary["threads"] = used
    emit(summary, as_json, table(result))
