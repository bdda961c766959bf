"""``nnsynth incremental``: update a grown-and-pruned model with new data; cost to the same
accuracy against dense fine-tuning, sparse fine-tuning and training from scratch."""
import click

from deploy.cli.options import checkpoint_out, device_option, emit, json_option, seed_option

ROWS = (("before", "old model"), ("incremental", "grow-and-prune"),
        ("finetune", "fine-tune dense"), ("finetune_sparse", "fine-tune sparse"),
        ("scratch", "from scratch"))


@click.command("incremental")
@click.option("--model", "model_path", required=True, type=click.Path(dir_okay=False),
              help="Checkpoint of the (sparse) model trained on the old data.")
@click.option("--old", "old_name", required=True, help="Data set the model was trained on.")
@click.option("--new", "new_name", required=True, help="Newly arrived data set.")
@click.option("--dense-model", "dense_path", default=None, type=click.Path(dir_okay=False),
              help="The dense model the sparse one was pruned from (the fine-tuning baseline); "
                   "default: --model with its masks removed.")
@click.option("--old-fraction", type=float, default=None,
              help="When --old and --new name the same set: the share of its training samples "
                   "that counts as old.  [default: synth.incremental.OLD_FRACTION = 0.7]")
@click.option("--growth-ratio", type=float, default=0.25, show_default=True,
              help="Connections grown, as a fraction of the active ones.")
@click.option("--replay-ratio", type=float, default=0.5, show_default=True,
              help="Old samples replayed per new sample by the update.")
@click.option("--prune-steps", type=int, default=1, show_default=True,
              help="Pruning steps after growth (by default back to the starting size).")
@click.option("--target", type=float, default=0.0, show_default=True,
              help="Validation accuracy on old + new (a fraction: 0.9 = 90%) every method "
                   "trains to; 0: the dense fine-tuning's plateau minus 0.5 pt.")
@click.option("--max-epochs", type=float, default=20.0, show_default=True,
              help="Training budget per phase, in passes over old + new.")
@click.option("--min-steps", type=click.IntRange(min=0), default=None,
              help="Least optimizer steps of that budget: where --max-epochs passes over a "
                   "small set make fewer, every pass count (the budget, the dense plateau run, "
                   "a growth round) is scaled up by one factor (a warning says so; the result "
                   "reports it as pass_scale, and each method's steps).  0: no scaling.  "
                   "[default: synth.incremental.IncrementalConfig.min_steps = 400]")
@click.option("--out", default=None, type=click.Path(dir_okay=False),
              callback=checkpoint_out, help="Where to save the updated (masked) model.")
@seed_option
@device_option
@json_option
def command(model_path, old_name, new_name, dense_path, old_fraction, growth_ratio, replay_ratio,
            prune_steps, target, max_epochs, min_steps, out, seed, device, as_json):
    """Grow the sparse model by gradient, train it on NEW + a replay of OLD until the target
    accuracy, prune; print the cost of each method to that accuracy.

    Figures: a method's MACs (cost_macs) are its training steps' (training_macs), growth
    passes' (growth_macs) and validation checks' (eval_macs) over the weights it trains or
    uses; a method at the target from the start trains on no sample and pays one check.
    connections: the nonzero weights of a method's model, of its weights (biases not counted;
    nnsynth eval's nonzero_parameters and parameters count them too).
    --json also gives cost_macs as train_macs, its old name."""
    from synth.incremental import IncrementalConfig, cost_parts
    from synth.workflows import incremental_checkpoint

    config = IncrementalConfig(growth_ratio=growth_ratio, replay_ratio=replay_ratio,
                               prune_steps=prune_steps, target=target, max_epochs=max_epochs,
                               seed=seed, device=device,
                               **({} if min_steps is None else {"min_steps": min_steps}))
    result = incremental_checkpoint(model_path, old_name, new_name, config,
                                    old_fraction=old_fraction, out=out, dense_path=dense_path)
    for key, _ in ROWS:   # a rerun's result kept from before cost_macs: its parts given too
        result[key].update(cost_parts(result[key]))
    emit(result, as_json, human_text(result))


def human_text(result: dict) -> str:
    """The human summary of an ``incremental_checkpoint`` result: the target, the held-out
    splits, one line per method and the update's cost reduction."""
    lines = []
    held = result["held_out"]
    lines.append(f"target validation accuracy {result['target']:.4f} (on old + new: "
                 f"{held['val']:,} validation samples)")
    if result["pass_scale"] > 1:
        lines.append(f"pass counts scaled by {result['pass_scale']:.3g}: --max-epochs passes "
                     f"over old + new made fewer than --min-steps {result['min_steps']:,} "
                     f"optimizer steps")
    lines.append(f"test accuracy on old + new ({held['test']:,} samples), old "
                 f"({held['test_old']:,}), new ({held['test_new']:,})" + (
                     ": one split, old and new share it" if held["shared"] else ""))
    lines.append(COST_WORDS + (AT_TARGET if result["before"]["reached"] else ""))
    lines.append(CONNECTION_WORDS + untrained_dense(result.get("finetune")))
    lines += [row_text(label, result[key]) for key, label in ROWS]
    reductions = [(result.get("cost_reduction_vs_" + k), label) for k, label in ROWS[2:]
                  if "cost_reduction_vs_" + k in result]
    lines.append("cost reduction of the update (MACs to the target): " + ", ".join(
        f"{'n/a (a method missed the target)' if r is None else percent(r)} vs {label}"
        for r, label in reductions))
    if result.get("note"):   # a set of shorter series, left-padded to the model's steps
        lines.append(f"note: {result['note']}")
    return "\n".join(lines)


COST_WORDS = ("MACs: each method's cost to the target, training steps + growth passes + "
              "validation checks, over the weights it trains or uses")
CONNECTION_WORDS = ("connections: the nonzero weights of each method's model, of all its "
                    "weights (biases not counted)")


def untrained_dense(s: dict | None) -> str:
    """Where the dense fine-tuning trained on no sample and its model (the dense copy)
    holds zeros: why its connections are fewer than its weights (its row read 'connections
    403', taken for the dense model's size)."""
    if not s or s["samples"] or "weights" not in s or s["connections"] >= s["weights"]:
        return ""
    return (f"; fine-tune dense trained on no sample: its model, a dense copy that trains "
            f"all {s['weights']:,} weights, holds the pruned model's {s['connections']:,} "
            f"nonzero ones, the rest still 0")


AT_TARGET = ("; the old model is at the target already, so a method that starts from it "
             "trains on no sample and its MACs are its one check")


def row_text(label: str, s: dict) -> str:
    """One method's line: its MACs to the target and their parts (a method that trained on 0
    samples printed its validation check's MACs as 'MACs 1.85e+04', read as training)."""
    from synth.incremental import cost_parts
    c = cost_parts(s)
    return (f"{label:<17} {'reached' if s['reached'] else 'MISSED '}  MACs "
            f"{c['cost_macs']:.3g} (training {c['training_macs']:.3g}, growth "
            f"{c['growth_macs']:.3g}, checks {c['eval_macs']:.3g})  samples "
            f"{s['samples']:>8,}  steps {s['steps']:>6,}  {s['seconds']:7.2f} s  "
            f"connections {s['connections']:>8,}{of_weights(s)}  test "
            f"{s['test_accuracy']:.4f}  old {s['test_accuracy_old']:.4f}  new "
            f"{s['test_accuracy_new']:.4f}")


def of_weights(s: dict) -> str:
    """' of 976' after a row's connections: the weights of the method's model they are
    nonzero among (empty for a result kept from before ``weights`` was given)."""
    return f" of {s['weights']:,}" if "weights" in s else ""


def percent(r: float) -> str:
    """A reduction as a percentage that reads 100.0% only when the update cost nothing
    (one check against gunpoint's 2.02e+08 from scratch said '100.0%')."""
    text = f"{r:.1%}"
    return ">99.9%" if text == "100.0%" and r < 1 else text
