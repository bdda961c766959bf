"""``nnsynth secret``: SECRET (classification in the joint feature/label-meaning space) against
its base classifier on a data set's test split."""
import click

from deploy.cli.options import dataset_name, emit, json_option, RegistryChoice, seed_option
from synth.choices import LABEL_VECTORS, SECRET_BASE


def _human(r: dict) -> str:
    lines = [f"{r['dataset']}: base {r['base']}, label vectors {r['label_vectors']} "
             f"({', '.join(r['class_names'])}), {r['train_samples']} train / "
             f"{r['test_samples']} test samples",
             f"fusion weight {r['weight']:.1f} (temperature {r['temperature']}), " + (
                 f"chosen on {r['weight_chosen_on']}" + (
                     f" by {r['weight_chosen_by']}" if r.get("weight_chosen_by") else "")
                 if r.get("weight_chosen_on") else
                 "not chosen: nothing to validate it on (SECRET is the base)")]
    for key, label in (("base_scores", "base"), ("semantic_scores", "semantic space alone"),
                       ("secret_scores", "SECRET")):
        s = r[key]
        lines.append(f"{label:>22}: accuracy {s['accuracy']:.4f}  macro-F1 {s['macro_f1']:.4f}")
    per = [r[key].get("per_class") for key in ("base_scores", "semantic_scores", "secret_scores")]
    if all(per):   # F1 per class, in class order (the names as the classes were given)
        width = min(30, max(len("F1 per class"), *(len(c["class"]) for c in per[0])))
        lines.append(f"{'F1 per class':<{width}} {'test':>5} {'base':>7} {'semantic':>9} "
                     f"{'SECRET':>7}")
        for row in zip(*per):
            f1 = ["-" if c["f1"] is None else f"{c['f1']:.4f}" for c in row]
            lines.append(f"{row[0]['class'][:width]:<{width}} {row[0]['support']:>5} "
                         f"{f1[0]:>7} {f1[1]:>9} {f1[2]:>7}")
    return "\n".join(lines)


def _names(text: str | None) -> list[str] | None:
    """--class-names as a list: a JSON list of strings where it begins with '[' (a name may
    hold a comma), else its comma-separated words, each stripped."""
    if text is None:
        return None
    if not text.lstrip().startswith("["):
        return [n.strip() for n in text.split(",")]
    import json

    from synth.errors import ConfigError, UserError
    from synth.files import load_json_text
    try:
        names = load_json_text(text)
    except json.JSONDecodeError as e:
        raise UserError(f"--class-names is not a valid JSON list: {e.msg} at column "
                        f"{e.colno}") from None
    except ConfigError as e:
        raise UserError(f"--class-names {e}") from None
    if not (isinstance(names, list) and all(isinstance(n, str) for n in names)):
        raise UserError(f"--class-names as JSON must be a list of strings, one a class, got "
                        f"{text.strip()[:60]!r}")
    return [n.strip() for n in names]


@click.command("secret")
@click.option("--dataset", callback=dataset_name, default=None,
              help="Data set with meaningful class names (see `nnsynth datasets`); default "
                   "with --model: the checkpoint's own.")
@click.option("--base", type=RegistryChoice("synth.choices.SECRET_BASES"), default=SECRET_BASE,
              show_default=True,
              help="Feature-space classifier (scikit-learn; xgboost).")
@click.option("--model", "model_path", default=None, type=click.Path(dir_okay=False),
              help="An nnsynth checkpoint as the feature-space model instead of --base.")
@click.option("--label-vectors", type=RegistryChoice("synth.choices.LABEL_VECTOR_SOURCES"),
              default=LABEL_VECTORS, show_default=True,
              help="GloVe vectors of the class names, or a control without meaning.")
@click.option("--class-names", default=None, callback=lambda ctx, param, value: _names(value),
              help="Words for each class, comma-separated in class order (with --model: the "
                   "network's output order) for names without a GloVe vector, e.g. 'small "
                   "iris,blue iris,large iris'; or a JSON list, for names that hold a comma: "
                   "'[\"iris, small\", \"iris, blue\", \"iris, large\"]'.")
@seed_option
@json_option
def command(dataset, base, model_path, label_vectors, class_names, seed, as_json):
    """Fit SECRET and its base on DATASET's train+validation split; report test accuracy and
    macro-F1 of the base, of the semantic space alone, and of SECRET."""
    from synth.errors import UserError
    from synth.secret_eval import run_secret
    if dataset is None and model_path is None:
        raise UserError("--dataset is required (or --model with a checkpoint that names one)")
    from click.core import ParameterSource
    source = click.get_current_context().get_parameter_source("base")
    if model_path is not None and source is not ParameterSource.DEFAULT:
        # the checkpoint is the feature-space model: --base rf was dropped without a word
        raise UserError(f"--base {base} and --model are two feature-space models; give one")
    if class_names is not None and label_vectors == "random":   # the words were ignored
        raise UserError(f"--class-names gives words for GloVe vectors; --label-vectors "
                        f"{label_vectors} draws vectors without words: give one of them")
    result = run_secret(dataset, base, model_path=model_path, label_vectors=label_vectors,
                        class_names=class_names, seed=seed)
    emit(result, as_json, None if as_json else _human(result))
