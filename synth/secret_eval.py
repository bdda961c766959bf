"""Running and judging SECRET: the base classifiers, the 5x2 cross-validation with Dietterich's
paired t-test, ``run_secret`` (what ``nnsynth secret`` calls) and ``fuse_network`` (SECRET on
an nnsynth checkpoint: the network is the feature-space model).

Imports of scikit-learn, torch and the data registry happen inside the functions, so that the
CLI reads ``BASES`` (``synth.choices.SECRET_BASES``) without paying for them at start-up.
"""
from __future__ import annotations

import contextlib
import logging
import math

import numpy as np

from synth.choices import LABEL_VECTORS, SECRET_BASE
from synth.choices import SECRET_BASES as BASES
from synth.errors import UserError
from synth.labels import name_words
from synth.logs import join_warnings

log = logging.getLogger(__name__)


def make_base(name: str, seed: int = 0):
    """A base classifier by short name, single-threaded (n_jobs=1), seeded; forests and
    boosting at 50 trees to keep the 5x2cv benchmark affordable on two shared cores."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    if name == "lr":
        return make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000, C=1.0))
    if name == "rf":
        from sklearn.ensemble import RandomForestClassifier
        return RandomForestClassifier(n_estimators=50, n_jobs=1, random_state=seed)
    if name == "svm":   # Platt-scaled, without SVC(probability=True) (synth.svm_base)
        from synth.svm_base import CalibratedSVC   # (deterministic: no seed to take)
        return make_pipeline(StandardScaler(), CalibratedSVC())
    if name == "mlp":
        from sklearn.neural_network import MLPClassifier
        return make_pipeline(StandardScaler(), MLPClassifier(
            hidden_layer_sizes=(64,), max_iter=300, early_stopping=False, random_state=seed))
    if name == "xgboost":
        from xgboost import XGBClassifier
        return XGBClassifier(n_estimators=50, max_depth=4, learning_rate=0.1, n_jobs=1,
                             tree_method="hist", random_state=seed, verbosity=0)
    raise UserError(f"base must be one of {', '.join(BASES)}, got {name!r}")


def flat(x) -> np.ndarray:
    """Samples as rows of float64 features (images and sequences flattened)."""
    return np.asarray(x.reshape(len(x), -1), dtype=np.float64)


def scores(y_true, y_pred, names=None) -> dict:
    """Accuracy and macro-F1; the F1 is averaged over the classes of ``y_true``, the same for
    every method scored on these labels.  scikit-learn's default averages over the classes
    of ``y_true`` and ``y_pred``: on a test split without some class (a CSV's split column),
    a method that predicted it once had that class's F1 of 0 in its mean and one that never
    did had not, so base and SECRET were averaged over different classes.

    ``names`` (one per class index 0..K-1, the set's own: words given for the label vectors
    are shown beside them) gives ``per_class`` too, in class order, each class's
    name, test support and F1 (None for a class the split lacks, which the mean leaves out):
    on an imbalanced set the accuracy and even the macro mean hid which class a method got."""
    from sklearn.metrics import accuracy_score, f1_score
    out = {"accuracy": float(accuracy_score(y_true, y_pred)),
           "macro_f1": float(f1_score(y_true, y_pred, labels=np.unique(y_true),
                                      average="macro", zero_division=0))}
    if names is not None:
        k = len(names)
        support = np.bincount(np.asarray(y_true, dtype=np.int64), minlength=k)
        f1 = f1_score(y_true, y_pred, labels=np.arange(k), average=None, zero_division=0)
        out["per_class"] = [{"class": str(n), "support": int(support[i]),
                             "f1": float(f1[i]) if support[i] else None}
                            for i, n in enumerate(names)]
    return out


METHODS = (("base_scores", "the base"), ("semantic_scores", "the semantic space alone"),
           ("secret_scores", "SECRET"))


def one_class_lines(y_true, predicted: dict, names) -> list[str]:
    """A line for each method (``predicted``: {scores key: predictions}) that predicts one
    class for every test sample where the split holds several: its accuracy is that class's
    share of the split.  On an imbalanced set the fusion weight, chosen by accuracy, can
    pick a semantic space that predicts the majority class throughout, and SECRET's higher
    accuracy was reported as any other."""
    y = np.asarray(y_true)
    lines = []
    if len(np.unique(y)) < 2:
        return lines
    for key, label in METHODS:
        pred = np.unique(np.asarray(predicted[key]))
        if len(pred) == 1:
            c = int(pred[0])
            lines.append(f"{label} predicts class {str(names[c])!r} for every test sample: its "
                         f"accuracy {float(np.mean(y == c)):.4f} is that class's share of the "
                         f"test split (see its per-class F1)")
    return lines


# a fusion weight chosen on fewer predictions than this is said to be noisy (h327: on a
# network's small validation split the rule picked 1.0, the semantic space alone, silently)
FEW_CHOSEN_ON = 30


def few_chosen_on_line(n: int, weight: float, grid, on: str) -> str | None:
    """One line where the fusion weight was chosen on fewer than ``FEW_CHOSEN_ON``
    predictions (``n``, of ``on``: "validation samples"); ``grid``: ``choose_fusion``'s, to
    say where several weights scored a perfect validation score, so log-loss alone chose
    among them.  None where ``n`` is enough or nothing chose the weight (an empty grid)."""
    from synth.secret import SELECT, SELECTION_WORDS
    if not grid or n >= FEW_CHOSEN_ON:
        return None
    perfect = [e for e in grid if e[SELECT] >= 1.0]
    tie = (f"; {len(perfect)} of its {len(grid)} weight/temperature pairs score a perfect "
           f"{SELECTION_WORDS[SELECT]} there, so log-loss alone chose among them"
           if len(perfect) > 1 else "")
    alone = " (1.0: the semantic space alone)" if weight >= 1.0 else \
        " (0.0: the base alone)" if weight <= 0.0 else ""
    return (f"the fusion weight {weight:.1f}{alone} was chosen on only {n} {on} (fewer than "
            f"{FEW_CHOSEN_ON}){tie}: so few move it far, and SECRET's test scores carry that "
            f"noise")


# --------------------------------------------------------------------------- 5x2cv
def five_by_two_splits(y, seed: int = 0):
    """Dietterich's 5x2 cross-validation: 5 replications of a stratified 2-fold split;
    yields (replication, fold, train index, test index)."""
    from sklearn.model_selection import StratifiedKFold
    for r in range(5):
        skf = StratifiedKFold(2, shuffle=True, random_state=seed + r)
        for f, (tr, te) in enumerate(skf.split(np.zeros(len(y)), y)):
            yield r, f, tr, te


def paired_ttest_5x2cv(a, b) -> tuple[float, float]:
    """Dietterich (1998) 5x2cv paired t-test of two methods' scores, each (5, 2) (replication,
    fold): t = d_11 / sqrt(mean_i s_i^2), s_i^2 = sum_j (d_ij - dbar_i)^2, 5 degrees of
    freedom; returns (t, two-sided p).  All differences zero gives (0, 1)."""
    from scipy import stats
    d = np.asarray(a, dtype=np.float64) - np.asarray(b, dtype=np.float64)
    if d.shape != (5, 2):
        raise UserError(f"5x2cv scores must have shape (5, 2), got {d.shape}")
    s2 = ((d - d.mean(axis=1, keepdims=True)) ** 2).sum(axis=1)
    if not np.any(d):
        return 0.0, 1.0
    if s2.mean() == 0:
        return math.copysign(math.inf, d[0, 0]) if d[0, 0] else 0.0, 0.0 if d[0, 0] else 1.0
    t = d[0, 0] / math.sqrt(s2.mean())
    return float(t), float(2 * stats.t.sf(abs(t), 5))


# --------------------------------------------------------------------------- nnsynth secret
def check_name_count(names, data) -> None:
    """One word list per class of ``data`` (a --model run said only 'class_names has 2 names
    for 10 classes', neither the option nor the data set's classes)."""
    if len(names) != data.num_classes:
        raise UserError(f"--class-names gives {len(names)} names; {data.name} has "
                        f"{data.num_classes} classes ({', '.join(data.class_names)})")


def check_names_in_order(class_names, data) -> None:
    """``class_names`` (``--class-names``, in class order) give no class the name of
    another of ``data``'s classes: 'barolo,grape,barbera' for wine's classes (barbera,
    barolo, grignolino) fitted class barbera to the meaning of "barolo" and grignolino to
    "barbera" without a word (the words were taken as given in another order).  A one-line
    error naming each class given another's name, and the class order.  Numbers, given or
    the classes' own, are left alone (labels 1, 2, 3 renamed 0, 1, 2 are a numbering, said
    by ``number_warning``; digits' classes in a network's output order are paired with the
    words given by ``name_order``'s warning)."""
    own = {tuple(sorted(name_words(str(c), glove=True))): i
           for i, c in enumerate(data.class_names) if not str(c).strip().isdigit()}
    crossed = [(str(w), str(data.class_names[i]), str(data.class_names[own[key]]))
               for i, w in enumerate(class_names)
               for key in [tuple(sorted(name_words(str(w), glove=True)))]
               if key and own.get(key, i) != i and not str(w).strip().isdigit()]
    if crossed:
        pairs = "; ".join(f"{w!r} for class {c!r}" for w, c, _ in crossed[:4])
        raise UserError(f"--class-names gives classes the names of other classes ({pairs}): "
                        f"the words go in class order, {', '.join(map(str, data.class_names))}"
                        f"; give them in that order")


def check_distinct_names(names, option: str = "--class-names", own: bool = False) -> None:
    """Each class its own words: two names of the same words (case, punctuation, camel case
    and order aside: a name's label vector is the mean of its words' GloVe vectors,
    ``name_words(glove=True)``) are a one-line error naming the words and their positions in
    ``option``'s list.  ``--class-names small,small,large`` said 'classes '0' and '1' have
    the same label vector (words 'small' and 'small')': the classes by the numbers they are
    fitted as, beside the words.  ``own``: the names are a data set's own (a CSV's 'Left
    hand' and 'left-hand', which said classes '0' and '2'): the line says --class-names
    gives others."""
    seen: dict = {}
    for i, name in enumerate(names, 1):
        words = tuple(sorted(name_words(name, glove=True)))
        if words:   # a name of no words is label_embeddings' error (or check_worded's)
            seen.setdefault(words, []).append(i)
    same = next((at for at in seen.values() if len(at) > 1), None)
    if same is None:
        return
    spelled = list(dict.fromkeys(str(names[i - 1]) for i in same))
    at = ", ".join(map(str, same[:-1])) + f" and {same[-1]}"
    what = (f"{spelled[0]!r} {'twice' if len(same) == 2 else f'{len(same)} times'}"
            if len(spelled) == 1 else
            f"{', '.join(map(repr, spelled[:-1]))} and {spelled[-1]!r}, the same words")
    how, verb = (" (--class-names)", "give") if own else ("", "gives")
    raise UserError(f"{option} {verb} {what} (positions {at} of {len(names)}): SECRET tells "
                    f"classes apart by their words' meaning; give each class its own "
                    f"words{how}")


def check_worded(names, option: str = "--class-names") -> None:
    """Each name given (``option``) has words: --class-names 'cat,,dog' said "class '' has
    no words", not which class; now its position, before any data set or model loads."""
    for i, name in enumerate(names, 1):
        if not name_words(name, glove=True):
            raise UserError(f"{option} gives {str(name)!r} at position {i} of {len(names)}, "
                            f"a name of no words: SECRET tells classes apart by their words' "
                            f"meaning; give each class words")


def shown_words(names, label_vectors=LABEL_VECTORS) -> list[str]:
    """The words of each class name as its label vector has them (``name_words``: GloVe's
    camel-case humps too), for a result's ``class_names``."""
    glove = isinstance(label_vectors, str) and label_vectors != "random"
    return [" ".join(name_words(n, glove=glove)) for n in names]


def names_warning(dataset: str, class_names, names, label_vectors=LABEL_VECTORS) -> str | None:
    """What SECRET says of ``names`` (the words used per class) as label meanings: placeholder
    names ("class_0", ...: ``synth.secret.placeholder_warning``), or numbers
    (``synth.secret.number_warning``) unless they are a bundled set's own names (``digits``,
    whose classes are the numbers); ``class_names`` is what the user gave (None: the set's).
    The numbers line is logged here, where the set is known; the placeholder line is logged
    where the label vectors are made (``label_vectors_for``), not twice."""
    from synth.data_registry import split_class_list
    from synth.secret import number_warning, placeholder_warning
    said = placeholder_warning(names, label_vectors)
    if said:
        return said
    bundled = class_names is None and ":" not in split_class_list(str(dataset))[0]
    numbers = None if bundled else number_warning(names, label_vectors)
    if numbers:
        log.warning("%s", numbers)
    return numbers


def run_secret(dataset: str, base: str = SECRET_BASE, *, model_path: str | None = None,
               label_vectors: str = LABEL_VECTORS, class_names=None, seed: int = 0) -> dict:
    """SECRET against its base on ``dataset``'s test split: a scikit-learn ``base`` fitted on
    train + validation (SECRET validates by internal 3-fold CV), or, with ``model_path``, an
    nnsynth checkpoint as the base (``fuse_network``).  ``class_names``: words per class in
    class order, in place of the data set's names (each class its own words:
    ``check_distinct_names``, before any data set or model loads)."""
    from synth.data import load_dataset
    from synth.secret import SecretClassifier, selection_rule, two_class_warning
    if model_path is not None:   # which checks the names first too
        return fuse_network(model_path, dataset, label_vectors=label_vectors,
                            class_names=class_names, seed=seed)
    if class_names is not None:   # the one check of nnsynth secret and the API alike: the API
        check_worded(class_names)
        check_distinct_names(class_names)   # said 'classes '0' and '1' have the same label
        # vector (words 'small' and 'small')' of small,small,large
    make_base(base, seed)   # validates the name before the data set loads
    data = load_dataset(dataset, seed=seed)
    data.require(("train", "test"), "SECRET")   # a synthesized set has no test split
    x = flat(np.concatenate([data.x_train.numpy(), data.x_val.numpy()]))
    y = np.concatenate([data.y_train.numpy(), data.y_val.numpy()])
    xt, yt = flat(data.x_test.numpy()), data.y_test.numpy()
    names = list(data.class_names) if class_names is None else list(class_names)
    check_name_count(names, data)
    if class_names is not None:
        check_names_in_order(names, data)
    if class_names is None:   # the set's own names: said by name, not as classes '0' and '2'
        check_distinct_names(names, f"{data.name}'s class names", own=True)
    with converged_or_said(base) as unconverged:
        secret = SecretClassifier(make_base(base, seed), class_names=names,
                                  label_vectors=label_vectors, random_state=seed).fit(x, y)
    plain = secret.classes_[secret.base_estimator_.predict_proba(xt).argmax(1)]
    semantic = secret.classes_[secret.semantic_proba(xt).argmax(1)]
    predicted = {"base_scores": plain, "semantic_scores": semantic,
                 "secret_scores": secret.predict(xt)}
    result = {"dataset": data.name, "base": base, "label_vectors": label_vectors,
              "class_names": shown_words(names, label_vectors), "train_samples": len(y),
              "test_samples": len(yt), "weight": secret.weight_,
              "temperature": secret.temperature_,
              "weight_chosen_on": (f"out-of-fold predictions of train+validation "
                                   f"({secret.n_folds_} folds)" if secret.n_folds_ else None),
              "weight_chosen_by": selection_rule(secret.select) if secret.n_folds_ else None,
              "weight_chosen_on_samples": len(y) if secret.n_folds_ else None,
              **{key: scores(yt, p, data.class_names) for key, p in predicted.items()}}
    # the placeholder line logged already by the fit, the solver's by converged_or_said;
    # numbers as names (a table's 0, 1, 2) by names_warning, where the set is known
    named = names_warning(data.name, class_names, names, label_vectors)
    collapsed = one_class_lines(yt, predicted, data.class_names)
    few = few_chosen_on_line(len(y), secret.weight_, secret.validation_,
                             "out-of-fold train+validation predictions")
    for line in [*collapsed, few] if few else collapsed:
        log.warning("%s", line)
    # the fit logged it: kept for the result
    warnings = [named, two_class_warning(len(secret.classes_), label_vectors), *unconverged,
                *collapsed, few]
    if not secret.n_folds_:
        # the weight was never chosen (no fold can hold out a class of one sample), and the
        # summary said "fusion weight 0.0, chosen on validation data" of SECRET = the base
        rare = int(np.bincount(np.searchsorted(secret.classes_, y)).argmin())
        warnings.append(
            f"class {names[rare]!r} has fewer than 2 train+validation samples, so no internal "
            f"fold validates the fusion weight: it was not chosen (0), and SECRET is the base "
            f"classifier alone")
        log.warning("%s", warnings[-1])
    return with_warnings(result, warnings)


@contextlib.contextmanager
def converged_or_said(base: str):
    """Fits inside say, in one logged line (appended to the yielded list), that scikit-learn's
    solver stopped at its iteration limit: ``nnsynth secret --base mlp`` printed scikit-learn's
    ConvergenceWarning raw, with its source line, once per fit (4 times on wine).  Other
    warnings pass as they were."""
    import warnings as py_warnings
    from sklearn.exceptions import ConvergenceWarning
    said: list[str] = []
    with py_warnings.catch_warnings(record=True) as caught:
        py_warnings.simplefilter("always", ConvergenceWarning)
        yield said
    stopped = [w for w in caught if issubclass(w.category, ConvergenceWarning)]
    for w in caught:
        if not issubclass(w.category, ConvergenceWarning):
            py_warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    if stopped:
        why = str(stopped[0].message).strip().rstrip(".")
        said.append(f"the {base} base's solver stopped at its iteration limit before "
                    f"converging in {len(stopped)} of SECRET's fits (scikit-learn: {why}); "
                    f"the scores are those it reached")
        log.warning("%s", said[-1])


def with_warnings(result: dict, warnings) -> dict:
    """``result`` with its warnings (None: none) as ``warning``, one line: the --json result
    said nothing of what the log warned of (placeholder class names)."""
    said = join_warnings(warnings)   # each line its own (synth.logs.Warnings)
    if said:
        result["warning"] = said
    return result


def fuse_network(model_path: str, dataset: str | None = None, *, label_vectors: str = LABEL_VECTORS,
                 class_names=None, similarity: str = "cosine", fusion: str = "sum",
                 seed: int = 0) -> dict:
    """SECRET with a trained nnsynth network as the feature-space model.

    The network is not retrained: the regressor maps its penultimate features (the input of
    its last Linear layer) of the training split to the label vectors; the fusion weight and
    temperature are chosen on the validation split (which the network did not train on);
    the test split reports the network, the semantic space alone and the fusion."""
    from synth.checkpoint import checkpoint_dataset, load_model
    from synth.quant import attach_inference, checkpoint_quant
    if class_names is not None:   # before the model and its data set load
        check_worded(class_names)
        check_distinct_names(class_names)
    model = load_model(model_path)
    # the network's own set keeps its recorded split (with another split seed the regressor's
    # "validation" and the "test" samples were the network's training ones), and a set whose
    # classes are not the network's outputs is refused: iris[0,1] raised a broadcast error,
    # iris[2,1,0] scored the outputs as the wrong classes (base accuracy 0.2 for 0.73)
    data = checkpoint_dataset(model, dataset, source=f"checkpoint {model_path}",
                              default_seed=seed)
    # other class names than the network's (a CSV's 0, 1, 2 for setosa, ...): output i is
    # the set's class i, as nnsynth eval scores it and warns (the same check), and the label
    # vectors are of the set's names, so the meaning SECRET fuses is not the network's classes
    from synth.workflows import classes_by_index
    by_index = classes_by_index(model, data, data.name)
    if by_index and class_names is None:
        by_index += "; SECRET's label vectors are of these names: --class-names gives others"
    if by_index:
        log.warning("%s", by_index)
    from synth.workflows import classes_missing   # a file of some of its classes: say which
    missing = classes_missing(model, data, data.name)   # it lacks, as nnsynth eval does
    if missing:
        log.warning("%s", missing)
    order = name_order(data, dataset, class_names)
    if order:
        log.warning("%s", order)
    from synth.secret import network_outputs
    quant = checkpoint_quant(model)
    if quant:
        attach_inference(model, quant)
    data.require(("train", "val", "test"), "SECRET with a network")
    try:   # outputs that overflow are refused (network_outputs) before any line is said
        out = {s: network_outputs(model, getattr(data, f"x_{s}"))
               for s in ("train", "val", "test")}
    except UserError as e:
        raise UserError(f"checkpoint {model_path}: {e}") from None
    # a network that predicts one class throughout is said by network_fusion, as the base
    # (one_class_lines; its own line here said it a second time)
    ys = {s: getattr(data, f"y_{s}").numpy() for s in ("train", "val", "test")}
    result = network_fusion(out, ys, data, label_vectors=label_vectors,
                            class_names=class_names, similarity=similarity, fusion=fusion,
                            seed=seed, model=str(model_path))
    return with_warnings(result, [by_index, missing, order, result.pop("warning", None)])


def name_order(data, dataset: str | None, class_names) -> str | None:
    """The line pairing each of ``class_names`` (``--class-names``) with the class it is given
    to, where ``data`` (the network's set, its classes in output order) lists them in another
    order than the set named (``dataset``, or the model's own): a network of digits[9,3,7]
    with ``--dataset digits --class-names three,seven,nine`` fitted class 9 to "three" and
    said nothing.  None when the words are not given or the orders agree."""
    from synth.data_registry import split_class_list
    listed = split_class_list(str(data.name))[1]
    if (class_names is None or listed is None or listed == sorted(listed)
            or split_class_list(str(dataset or ""))[1] == listed):
        return None
    if len(class_names) != len(data.class_names):
        return None   # check_name_count refuses it
    pairs = ", ".join(f"{str(w)!r} for {str(c)!r}" for w, c in list(
        zip(class_names, data.class_names))[:10]) + (", ..." if len(class_names) > 10 else "")
    return f"--class-names are taken in the network's output order ({data.name}): {pairs}"


def network_fusion(out: dict, ys: dict, data, *, label_vectors=LABEL_VECTORS,
                   class_names=None, similarity="cosine", fusion="sum", seed=0,
                   model: str = "") -> dict:
    """The fusion step of ``fuse_network`` from the network's outputs per split
    (``{split: (probabilities, features)}``) and labels ``{split: y}``; ``data`` is the
    ``synth.data.Dataset``."""
    from synth.secret import (check_centred, choose_fusion, default_regressor, fuse,
                              label_vectors_for, prepare_targets, selection_rule,
                              semantic_scores, softmax, two_class_warning)
    classes = np.arange(data.num_classes)
    names = class_names if class_names is not None else list(data.class_names)
    check_name_count(names, data)
    if class_names is not None:
        check_names_in_order(names, data)
    if class_names is None:
        check_distinct_names(names, f"{data.name}'s class names", own=True)
    vectors = label_vectors_for(classes, names, label_vectors, seed=seed)
    check_centred(vectors, classes, names)
    targets = prepare_targets(vectors)
    named = names_warning(data.name, class_names, names, label_vectors)   # (numbers: logged)
    two = two_class_warning(len(classes), label_vectors)
    if two:
        log.warning("%s", two)
    reg = default_regressor().fit(out["train"][1], targets[ys["train"]])
    s = {k: semantic_scores(reg.predict(out[k][1]), targets, similarity) for k in ("val", "test")}
    weight, temperature, grid = choose_fusion(out["val"][0], s["val"], ys["val"],
                                              fusion=fusion)
    n_val = len(ys["val"])
    few = few_chosen_on_line(n_val, weight, grid, f"validation sample{'s' * (n_val != 1)}")
    q = softmax(s["test"], temperature)
    p = out["test"][0]
    yt = ys["test"]
    predicted = {"base_scores": p.argmax(1), "semantic_scores": q.argmax(1),
                 "secret_scores": fuse(p, q, weight, fusion).argmax(1)}
    collapsed = one_class_lines(yt, predicted, data.class_names)
    for line in [*collapsed, few] if few else collapsed:
        log.warning("%s", line)
    return {"dataset": data.name, "base": "network", "model": model,
            "label_vectors": label_vectors,
            "class_names": shown_words(names, label_vectors),
            "train_samples": len(ys["train"]), "test_samples": len(yt), "weight": weight,
            "temperature": temperature,
            "weight_chosen_on": f"the validation split ({n_val:,} sample"
                                f"{'s' * (n_val != 1)})",
            "weight_chosen_by": selection_rule(), "weight_chosen_on_samples": n_val,
            **{key: scores(yt, pred, data.class_names) for key, pred in predicted.items()},
            **with_warnings({}, [named, two, *collapsed, few])}


# --------------------------------------------------------------------------- ensembles
def soft_vote(probas) -> np.ndarray:
    """Soft voting: the mean of the members' class probabilities (what scikit-learn's
    VotingClassifier(voting="soft") computes from the same fitted members)."""
    return np.mean(np.stack(probas), axis=0)


def stack_from_oof(oof_probas, probas, y, seed: int = 0) -> np.ndarray:
    """Stacking (scikit-learn's StackingClassifier with stack_method="predict_proba" and a
    LogisticRegression on top) computed from members' out-of-fold probabilities on the
    training set and their full-fit probabilities on the test set: for two classes the first
    column of each member is dropped, as StackingClassifier does.  Returns test probabilities."""
    from sklearn.linear_model import LogisticRegression
    cols = slice(1, None) if np.asarray(oof_probas[0]).shape[1] == 2 else slice(None)
    meta = LogisticRegression(random_state=seed).fit(
        np.hstack([p[:, cols] for p in oof_probas]), y)
    return meta.predict_proba(np.hstack([p[:, cols] for p in probas]))
