"""``nnsynth scann``: SCANN synthesis of a compact MLP for a (small) data set."""
import click

from deploy.cli.options import (checkpoint_out, comma_separated, dataset_name, device_option,
                                emit, given, json_option, RegistryChoice, seed_option,
                                show_progress)


@click.command("scann")
@click.option("--dataset", required=True, callback=dataset_name,
              help="Data set name (see `nnsynth datasets`).")
@click.option("--reduce", "method", type=RegistryChoice("synth.choices.REDUCERS"), default="pca",
              show_default=True, help="Feature reduction before the MLP.")
@click.option("--components", type=float, default=0.5, show_default=True,
              help="Features kept: a fraction (< 1) or a number (>= 1).")
@click.option("--scheme", type=RegistryChoice("synth.choices.SCHEMES"), default="B",
              show_default=True,
              help="A (grow from small) | B (fixed-size MLP, grow and prune) | C (start sparse).")
# a tuple of ints: a width out of range is ScannConfig's ``hidden[]`` error, told by
# --hidden (``--hidden: each value must be in [1, inf), got 0``)
@click.option("--hidden", default="64,32", show_default=True,
              callback=comma_separated(int, "integers"),
              help="Base MLP widths before the layer compression, comma-separated.")
@click.option("--out", default=None, type=click.Path(dir_okay=False),
              callback=checkpoint_out,
              help="Optional checkpoint of the synthesized MLP (compacted), with the feature "
                   "reduction folded into its first layer: it takes the data set's own inputs "
                   "(`nnsynth eval --model` scores it); not for --reduce kernel_pca.")
@click.option("--max-accuracy-drop", type=float, default=None,
              help="Accuracy on train + validation (a fraction) a pruning step may lose from "
                   "the best the network held; a step below is undone.  "
                   "[default: synth.scann.ScannConfig.max_accuracy_drop = 0.01]")
@seed_option
@device_option
@json_option
def command(dataset, method, components, scheme, hidden, out, max_accuracy_drop, seed, device,
            as_json):
    """Reduce DATASET's features, shrink the MLP by the compression ratio, grow and prune it.

    Figures: connections and reduction (SCANN's) count the MLP on the reduced features, the
    projection left out; input_connections and input_reduction count the model of the data
    set's own inputs, the projection folded into its first layer (what --out saves; none for
    kernel_pca); reduced_features: those kept (one with no training variance is dropped)."""
    from synth.checkpoint import save_checkpoint, trained_record
    from synth.data import load_dataset
    from synth.errors import UserError
    from synth.scann import LINEAR_REDUCERS, ScannConfig, run_scann, saved_model

    drop = {} if max_accuracy_drop is None else {"max_accuracy_drop": max_accuracy_drop}
    config = ScannConfig(reduce=method, components=components, scheme=scheme.upper(),
                         hidden=hidden, seed=seed, device=device, **drop)
    if config.reduce == "none" and given("components"):   # was ignored
        raise UserError(f"--components {components:g} and --reduce none: none keeps every "
                        f"feature; drop --components or choose a reduction")
    if out and config.reduce not in LINEAR_REDUCERS:   # before the run, not after it
        raise UserError(f"--out needs a linear --reduce ({', '.join(LINEAR_REDUCERS)}): "
                        f"{config.reduce} features are no linear map of the inputs, so the "
                        f"saved MLP could not read {dataset}'s own inputs")
    data = load_dataset(dataset, seed=seed)
    result = run_scann(data, config, progress=show_progress())
    model, feature_map, history = (result.pop(k) for k in ("model", "feature_map", "history"))
    if out:   # a model of the data set's own inputs: the reduction folded into its first layer
        saved = saved_model(model, feature_map, data.input_shape)   # compacted
        folded = ("the standardization of the features is" if config.reduce == "none" else
                  f"the {config.reduce} reduction of the {result['features']} features to "
                  f"{result['reduced_features']} and their standardization are")
        save_checkpoint(out, saved, dataset=trained_record(data),
                        metrics=result,
                        extra={"scann": config.to_dict(), "history": history,
                               "note": f"{folded} folded into the first Linear layer: "
                                       f"the model takes {data.name}'s own inputs"})
        result["checkpoint"] = str(out)
        result["checkpoint_connections"] = result["input_connections"]   # saved's, compacted
    emit(result, as_json)
