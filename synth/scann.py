"""SCANN (Hassantabar, Wang & Jha 2019): dimensionality reduction, layer compression by the
feature compression ratio, then grow-and-prune synthesis of a compact MLP in one of three schemes.

1. Reduce the data set's features with a scikit-learn method (PCA, kernel PCA, Gaussian or sparse
   random projection, factor analysis), fitted on the training split only; a reduced feature
   that holds no variance there (``degenerate_components``) is dropped, not fed to the MLP.
2. Shrink every hidden width of the base MLP by the feature compression ratio k / d asked
   (``asked_components``: not the fewer a reducer capped by the sample count finds).
3. Synthesize with ``synth.grow_prune`` (SCANN Sec. 3):
   - scheme A: start from a small network (a sparse seed with a quarter of the hidden units live),
     grow connections and neurons, then prune;
   - scheme B: a fixed-size fully connected MLP whose connections are pruned and regrown in
     alternation, then pruned;
   - scheme C: start from a sparsely connected MLP (all units live), grow once, then prune.
The result counts connections and accuracy against a dense MLP trained on the original features;
``geometric_mean`` summarizes reductions over data sets.  The connections are the live ones, as
``nnsynth grow-prune`` counts them: the nonzero weights of the compacted model
(``synth.compact.compact``), without those into a unit nothing reads or out of a unit with no
inputs, which the masked model still holds.

The synthesized MLP reads the reduced features, centered and scaled (``reduced_scale``).
``model_on_inputs`` makes it a model of the data set's own inputs (what a checkpoint must be,
so that ``nnsynth eval`` can score it): a linear reducer and the scaling are an affine map
``z = A x + c``, folded exactly into the first Linear layer, ``W z + b = (W A) x + (W c + b)``.
Kernel PCA is not linear and cannot be folded.
"""
from __future__ import annotations

import copy
import dataclasses
import logging
import math

import numpy as np
import torch

from synth.choices import REDUCERS, SCHEMES
from synth.compact import compact
from synth.config import (Config, check_choice, check_range, check_seed, short_repr,
                          value_error)
from synth.data import Dataset, safe_std
from synth.errors import ConfigError, UserError
from synth.logs import join_warnings
from synth.grow_prune import (GrowPruneSchedule, active_connections, final_row,
                              floor_warning, grow_and_prune, kept_steps, mark_final,
                              one_class, reverted_steps)
from synth.masked import connections
from synth.models import build, max_parameters, not_built, round_units
from synth.train import TrainConfig, evaluate, fit

log = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class ScannConfig(Config):
    reduce: str = "pca"
    components: float = 0.5        # < 1: fraction of the features kept; >= 1: their number
    scheme: str = "B"
    hidden: tuple = (64, 32)       # base MLP, before the layer compression
    epochs: int = 60               # dense training (baseline and the start of each scheme)
    prune_steps: int = 12
    prune_fraction: float = 0.3
    retrain_epochs: int = 15
    growth_ratio: float = 0.3
    max_accuracy_drop: float = 0.01   # accuracy on train + validation the net may lose, from
                                      # the best it reached (a pruning step below is undone)
    lr: float = 0.05
    seed: int = 0
    device: str = "auto"

    def validate(self) -> None:
        check_choice("reduce", self.reduce, REDUCERS)
        check_components(self.components)
        check_choice("scheme", self.scheme, SCHEMES)
        if not isinstance(self.hidden, (list, tuple)) or not self.hidden:
            raise ConfigError(f"hidden must be a non-empty list of widths, got "
                              f"{short_repr(self.hidden)}")
        # a range error per width: the CLI tells it by --hidden.  Bounded by the parameter
        # limit (a wider layer has more weights than it): a width of 10^23 was refused only by
        # the model build, in words that named neither --hidden nor the width
        for h in self.hidden:
            check_range("hidden[]", h, 1, max_parameters(), integer=True)
        check_range("epochs", self.epochs, 1, None, integer=True)
        check_range("prune_steps", self.prune_steps, 0, 1000, integer=True)
        check_range("prune_fraction", self.prune_fraction, 0, 1, low_open=True, high_open=True)
        check_range("retrain_epochs", self.retrain_epochs, 0, None, integer=True)
        check_range("growth_ratio", self.growth_ratio, 0, 100, low_open=True)
        check_range("max_accuracy_drop", self.max_accuracy_drop, 0, 1)
        check_range("lr", self.lr, 0, 10, low_open=True)
        check_seed("seed", self.seed)


def check_components(components) -> None:
    """``components`` is a fraction of the features (< 1) or their number (>= 1, a whole
    one: --components 2.7 kept 2 features without a word)."""
    check_range("components", components, 0, None, low_open=True)
    if components >= 1 and components != int(components):
        raise value_error("components", components, "of 1 or more is a number of features and "
                          "must be whole (a fraction of them is below 1)")


def _reducer(method: str, k: int, seed: int):
    from sklearn import decomposition, random_projection
    return {"pca": lambda: decomposition.PCA(k, random_state=seed),
            "kernel_pca": lambda: decomposition.KernelPCA(k, kernel="rbf", random_state=seed),
            "gaussian_rp": lambda: random_projection.GaussianRandomProjection(
                k, random_state=seed),
            "sparse_rp": lambda: random_projection.SparseRandomProjection(
                k, dense_output=True, random_state=seed),
            "factor_analysis": lambda: decomposition.FactorAnalysis(k, random_state=seed),
            }[method]()


# The reducers whose features are an affine map of the inputs (``FeatureMap.affine``): PCA
# ((x - mean) V^T), the random projections (x R^T), factor analysis ((x - mean) Psi^-1 W^T Sigma_z).
LINEAR_REDUCERS = ("none", "pca", "gaussian_rp", "sparse_rp", "factor_analysis")
# The reducers that find at most one feature per training sample (a sample covariance or
# kernel matrix of rank <= n): a larger k is refused, not returned short
SAMPLE_BOUND = ("pca", "kernel_pca", "factor_analysis")
_PROBE_ROWS = 1024   # unit inputs pushed through the reducer at a time (``FeatureMap.affine``)


@dataclasses.dataclass
class FeatureMap:
    """The fitted input map of ``reduce_dataset``: flattened features -> the reducer's
    (``reducer``; None for ``none``) -> its components ``keep`` (None: all; those that hold
    variance of the training split, ``degenerate_components``) -> centered by the training
    split's ``mean`` and divided by ``std`` (``reduced_scale``: each raw feature's own std,
    one common scale for a reducer's components)."""
    method: str
    reducer: object | None
    mean: np.ndarray
    std: np.ndarray
    keep: np.ndarray | None = None

    def __call__(self, flat: np.ndarray) -> np.ndarray:
        out = flat if self.reducer is None else self.reducer.transform(flat)
        if self.keep is not None:
            out = out[:, self.keep]
        return (out - self.mean) / self.std

    def affine(self, features: int) -> tuple[np.ndarray, np.ndarray]:
        """``(A, c)``, float64, with ``self(x) = x @ A.T + c`` for every input: read off the
        map at 0 and at the unit inputs (exact for the ``LINEAR_REDUCERS``)."""
        if self.method not in LINEAR_REDUCERS:
            raise UserError(f"the {self.method} reduction is not a linear map of the inputs: "
                            f"it cannot be folded into the model (linear ones: "
                            f"{', '.join(LINEAR_REDUCERS)})")
        c = self(np.zeros((1, features)))[0]
        cols = []
        for start in range(0, features, _PROBE_ROWS):
            n = min(_PROBE_ROWS, features - start)
            unit = np.zeros((n, features))
            unit[np.arange(n), start + np.arange(n)] = 1.0
            cols.append(self(unit) - c)
        return np.concatenate(cols).T, c


def asked_components(method: str, components: float, features: int) -> int:
    """The number of reduced features ``components`` asks of ``features`` (all for
    ``none``): a fraction rounded half up (at least 1, ``synth.models.round_units``), or
    the number given."""
    if method == "none":
        return features
    return round_units(components * features) if components < 1 else int(components)


def fit_reduction(data: Dataset, method: str = "pca", components: float = 0.5,
                  seed: int = 0, notes: list | None = None) -> tuple[Dataset, FeatureMap]:
    """``reduce_dataset``, and the fitted ``FeatureMap`` that made it.  ``notes``: a list the
    warnings it logs are appended to (scann's result carries them: --json had none)."""

    def warn(line: str) -> None:
        log.warning("%s", line)
        if notes is not None:
            notes.append(line)
    check_choice("reduce", method, REDUCERS)
    check_components(components)
    flat = [x.reshape(len(x), -1).double().numpy() for x in (data.x_train, data.x_val, data.x_test)]
    d = flat[0].shape[1]
    k = asked_components(method, components, d)
    if k > d:   # shown as given (9, 1e+30), not int(1e30)'s 31 digits
        raise value_error("components", components, f"must be at most the {d} features of "
                          f"{data.name}", got=short_repr(components).removesuffix(".0"))
    n = len(flat[0])
    if method in SAMPLE_BOUND and k > n:
        # PCA raised a ValueError traceback; kernel PCA and factor analysis returned n
        # features where k were declared, and the MLP failed on 'mat1 and mat2 shapes'.  A
        # fraction (the default 0.5) is a share of what can be kept: capped, with a warning
        # (the default failed on basicmotions' 600 features of 57 samples); a count is the
        # user's number: refused
        if components < 1:
            warn(f"{method} keeps at most one feature per training sample: {n} of the {d} "
                 f"features of {data.name} (--components {components:g} asks {k})")
            k = n
        else:
            raise UserError(f"components: {method} keeps at most one feature per training "
                            f"sample, {n} on {data.name} ({d} features), got {k}; give "
                            f"--components {n} or fewer, or a random projection (gaussian_rp, "
                            f"sparse_rp)")
    red = None
    if method != "none":
        red = _reducer(method, k, seed).fit(flat[0])
        flat = [red.transform(f) for f in flat]
    mean, std = flat[0].mean(0), flat[0].std(0)
    dead, keep = degenerate_components(method, std), None
    if dead.any():
        # a component beyond the rank of the centered training data (57 samples span 56
        # directions: basicmotions' default 57 of 600; digits' constant pixels leave 61 of
        # its 64) has a std of float noise (1e-15), which standardizing made a feature of
        # unit variance on train and of 1e14 on test (and in the folded first layer): it
        # holds nothing the training split could teach.  It is dropped: kept as an input
        # that is zero for every input, the MLP was built with it and its connections were
        # counted (basicmotions: reduced_features 57, 56 live).  Factor analysis's factors of
        # zero loadings are 0 for every input too, and were counted live
        live = k - int(dead.sum())
        if not live:
            raise UserError(f"{method}: no component holds any variance of {data.name}'s "
                            f"training split ({n} samples, {d} features): its features are "
                            f"constant there; give a data set whose features vary")
        why = (f": the centered data span {live} directions" if method in RANK_BOUND else
               ": their loadings are zero" if method == "factor_analysis" else
               ": they project no feature that varies there")   # another k or seed may differ
        ask = f" (--components {live} asks for them)" if method in RANK_BOUND else ""
        warn(f"{method}: {int(dead.sum())} of the {k} components hold no variance of "
             f"{data.name}'s training split ({n} samples, {d} features{why}); SCANN keeps "
             f"the {live} that do{ask}")
        keep = np.flatnonzero(~dead)
        flat = [f[:, keep] for f in flat]
        mean, std, k = mean[keep], std[keep], live
    # a feature constant on the training split is divided by 1 (synth.data.safe_std, as
    # scikit-learn's StandardScaler does): std + 1e-8 made a test value that differs 1e8
    feature_map = FeatureMap(method, red, mean, reduced_scale(method, mean, std), keep)
    xs = [torch.tensor((f - feature_map.mean) / feature_map.std, dtype=torch.float32)
          for f in flat]
    reduced = dataclasses.replace(
        data, name=f"{data.name}+{method}{k}", x_train=xs[0], x_val=xs[1], x_test=xs[2],
        input_shape=(k,), mean=[0.0] * k, std=[1.0] * k)
    return reduced, feature_map


# The reducers whose features are components of one scale ordered by variance, of which those
# beyond the rank of the centered training data have none (``degenerate_components``)
RANK_BOUND = ("pca", "kernel_pca")
# and those whose features are of one scale (factor analysis: posterior means of unit-variance
# factors) where a feature may hold none: a factor the data do not support gets all-zero
# loadings, 0 for every input (digits --components 64: 33 of 64; basicmotions' 57: 1),
# while the smallest real factor's std is 0.08 of the largest (digits)
DEAD_COMPONENTS = RANK_BOUND + ("factor_analysis",)
# a random projection's feature is data at any scale, but one of std 0 on the training split
# holds nothing: a sparse projection's row of zeros (wine --reduce sparse_rp --seed 9: 1 of
# 7; iris' 4 of 4 at 8 of 40 seeds) is 0 for every input
PROJECTIONS = ("gaussian_rp", "sparse_rp")
# a component whose training std is at most this times the largest one's holds float noise:
# the inputs are float32 (2^-23 = 1.2e-7 relative), and PCA's covariance solver leaves
# 1.5e-8 (sqrt of float64 eps) of the largest std on a direction of none.  Measured: the
# components beyond the rank are 1e-16 to 1e-12 of the largest (digits, basicmotions,
# mnist5k), the smallest real ones 1.7e-3 (digits) and 1.4e-2 (basicmotions)
NOISE_STD = 1e-6


def reduced_scale(method: str, mean: np.ndarray, std: np.ndarray) -> np.ndarray:
    """What each reduced feature is divided by: its own training std for ``none`` (raw
    features of different units, ``synth.data.safe_std``), one common scale for a reducer,
    the root mean square of the components' stds (the features keep the reducer's relative
    scales, with a mean variance of 1).  Dividing each component by its own std whitens
    them: the smallest components, mostly noise, weigh as much as the leading ones, and
    where k reaches the rank of the training data (k = n - 1) the whitened training rows
    have an identity covariance and are all at one distance from each other, a regular
    simplex that holds nothing of the classes.  basicmotions (57 training samples, 56
    live PCA components of 600): a 64-32 MLP on the whitened components reached train
    1.00 and test 0.50/0.38/0.38 (seeds 0-2), on the same components at one scale test
    0.75/0.69/0.69, as the dense MLP on the 600 inputs (0.75/0.56); SCANN's scheme B ended
    at chance (0.25, 0.44, 0.25)."""
    if method == "none" or not len(std):
        return safe_std(mean, std)
    return np.full_like(std, float(np.sqrt(np.mean(np.square(std)))) or 1.0)


def degenerate_components(method: str, std: np.ndarray) -> np.ndarray:
    """Which of ``method``'s reduced features (training ``std`` each) carry no variance of the
    training split, only float noise: for the ``DEAD_COMPONENTS`` reducers, a std at most
    ``NOISE_STD`` times the largest; for the ``PROJECTIONS``, a std of 0 (a projection of
    small scale is data); none for ``none`` (a raw feature constant on the training split
    may vary on test: it stays, divided by 1)."""
    if method in PROJECTIONS:
        return std == 0
    if method not in DEAD_COMPONENTS or not len(std):
        return np.zeros(len(std), dtype=bool)
    return std <= std.max() * NOISE_STD


def reduce_dataset(data: Dataset, method: str = "pca", components: float = 0.5,
                   seed: int = 0) -> Dataset:
    """The data set with its (flattened) features reduced to k and standardized on the training
    split; ``method="none"`` only flattens.  k = components * d rounded half up (at least 1,
    ``synth.models.round_units``) when components < 1."""
    return fit_reduction(data, method, components, seed)[0]


def model_on_inputs(model: torch.nn.Module, feature_map: FeatureMap,
                    input_shape) -> torch.nn.Module:
    """``model`` (an MLP of the reduced features, masked or not) as a model of the data set's
    own inputs of ``input_shape``: the reduction folded into its first Linear layer,
    ``W (A x + c) + b = (W A) x + (W c + b)`` (computed in float64), which is masked where
    that weight is zero; the other layers are copied.  A UserError for a nonlinear reduction."""
    from synth.masked import attach_masks, masks_of, original_weight
    from synth.models import prunable_layers
    a, c = feature_map.affine(math.prod(input_shape))
    name, first = prunable_layers(model)[0]
    w = first.weight.detach().cpu().double()          # the masked (effective) weight
    weight = w @ torch.from_numpy(a)
    bias = w @ torch.from_numpy(c) + first.bias.detach().cpu().double()
    out = build(dict(model.spec), tuple(input_shape), model.num_classes)
    masks = masks_of(model)
    if masks:
        attach_masks(out, {**masks, name: weight != 0})
    rest = {k: v for k, v in model.state_dict().items() if not k.startswith(f"{name}.")}
    missing, unexpected = out.load_state_dict(rest, strict=False)
    assert not unexpected and all(k.startswith(f"{name}.") for k in missing), (missing, unexpected)
    target = dict(out.named_modules())[name]
    with torch.no_grad():
        original_weight(target).copy_(weight.float())
        target.bias.copy_(bias.float())
    return out.eval()


def saved_model(model: torch.nn.Module, feature_map: FeatureMap, input_shape) -> torch.nn.Module:
    """What ``nnsynth scann --out`` saves: ``model_on_inputs``, compacted as grow-prune's
    checkpoints are (units that feed nothing or read nothing removed, ``synth.compact``), so
    that its nonzero weights are the connections reported for it.  The masked model was
    saved: its dead rows stayed in the file as nonzero weights (breast_cancer, scheme C:
    127 connections reported, 158 nonzero weights that ``nnsynth eval`` counted)."""
    return compact(model_on_inputs(model, feature_map, input_shape)).eval()


def check_base_size(hidden, features: int, classes: int) -> None:
    """The base MLP of ``hidden`` widths on ``features`` inputs within the parameter limit,
    as an error about ``hidden``: each width is in range alone (``ScannConfig``), but
    ``--hidden 50000000`` on iris's 4 features makes 400 M parameters, which the model build
    refused in words naming neither --hidden nor the data's width (after the reduction was
    fit).  The build's own count on the meta device (no memory), told by ``hidden``."""
    from synth.models import ParameterLimitError
    try:
        build({"family": "mlp", "hidden": list(hidden)}, (features,), classes, meta=True)
    except ParameterLimitError as e:
        raise value_error("hidden", tuple(hidden),
                          f"must make a base MLP of at most {e.limit:,} parameters on the "
                          f"data's {features:,} features (these make {e.count:,})",
                          got=",".join(map(str, hidden))) from None


# times a pruning step undone by the floor is retried at half the fraction before the pruning
# stops (one retry more each costs one step's retraining)
PRUNE_BACKOFF = 2


def compressed_widths(hidden, features: int, reduced: int) -> list[int]:
    """Hidden widths scaled by the feature compression ratio k / d (SCANN step 2), rounded
    half up (``synth.models.round_units``: round() made 2.5 units 2 and 3.5 units 4), at
    least 2."""
    return [round_units(h * reduced / features, least=2) for h in hidden]


def _schedule(config: ScannConfig, **fields) -> GrowPruneSchedule:
    base = dict(prune_fraction=config.prune_fraction, retrain_epochs=config.retrain_epochs,
                growth_ratio=config.growth_ratio, lr=config.lr, seed=config.seed,
                device=config.device, max_accuracy_drop=1.0, growth_batches=10,
                keep_best=False)   # a few dozen validation samples cannot pick epochs
    base.update(fields)
    return GrowPruneSchedule(**base)


def synthesize(model, data: Dataset, config: ScannConfig, floor: float = 0.0,
               notes: list | None = None) -> tuple:
    """Run the configured scheme on ``model`` (trained densely for scheme B, where ``floor`` is
    the validation accuracy floor; A and C start untrained and set their floor after growth,
    whose retraining runs ``epochs`` as B's start does: 15 epochs were 30 SGD steps on
    basicmotions' 57 samples, and scheme C's grown network stayed at chance);
    the final pruning's floor rises with the best accuracy reached (``max_accuracy_drop``
    below it).  Returns (model, history).  ``notes``: a list the warnings of pruning that
    starts below its floor are appended to (``floor_note``), for the result."""
    if not_built(model, "SCANN", ("mlp",)) or model.spec["family"] != "mlp":   # its widths
        spec = getattr(model, "spec", None)                                    # are the spec's
        family = spec.get("family") if isinstance(spec, dict) else None
        raise UserError(f"SCANN needs an mlp built by synth.models.build (it reads and grows "
                        f"the spec's hidden widths); got a {type(model).__name__}"
                        + (f" of family {short_repr(family)}" if family else " without a spec"))
    history: list[dict] = []
    said: set = set()

    def note_once(start: float, floor: float) -> str | None:
        """``floor_note``'s line, None where this synthesis said it already (a step retried
        at half the fraction starts where the undone one did)."""
        line = floor_note(config, start, floor)
        if line in said:
            return None
        said.add(line)
        return line

    def run(schedule):
        nonlocal model
        model, rows = grow_and_prune(model, data, schedule,
                                     floor_note=note_once,
                                     notes=notes)
        offset = history[-1]["step"] if history else 0
        history.extend(dict(r, step=r["step"] + offset) for r in (rows[1:] if history else rows))
        return rows[-1]["phase"] != "reverted"

    def prune(floor: float, offset: int) -> None:
        """``steps`` pruning steps, one ``grow_and_prune`` call each, each undone below
        ``max(floor, best - drop)``, ``best`` the highest accuracy the network has held so
        far; after an undone step the fraction pruned is halved, ``PRUNE_BACKOFF`` times at
        most, then the pruning stops (it stopped at the first: iris, scheme B, seed 0 kept all
        624 connections because its first 30% step lost 2 of 120 samples).  One call with a
        floor fixed at the grown network's kept a step that lost what the pruning's
        retraining had gained: iris, scheme C, defaults:
        grown at 0.65, pruned and retrained to 0.925 at 6 connections, then a step to 0.658
        (above 0.64) was kept and reported, test accuracy 0.667 for 0.9 ('reduction 800')."""
        fraction, halved, kept = config.prune_fraction, 0, 0
        for i in range(steps + PRUNE_BACKOFF):
            if kept == steps or not active_connections(model):   # nothing left to prune
                break
            best = max(r["val_accuracy"] for r in history if r["phase"] != "reverted")
            if run(_schedule(config, prune_steps=1, prune_fraction=fraction,
                             seed=config.seed + offset + i,
                             accuracy_floor=max(floor, best - drop))):
                kept += 1
            elif halved == PRUNE_BACKOFF:
                break
            else:   # a step too large for the floor: the next removes half as many
                fraction, halved = fraction / 2, halved + 1

    widest = max(model.spec["hidden"])
    steps, drop = config.prune_steps, config.max_accuracy_drop
    grown_epochs = max(config.retrain_epochs, config.epochs)   # A's and C's growth, as B's start
    if config.scheme == "A":       # small seed -> grow neurons and connections -> prune
        run(_schedule(config, seed_density=0.5, seed_units=0.25, growth_rounds=3,
                      neuron_growth=max(1, widest // 8), prune_steps=0,
                      retrain_epochs=grown_epochs))
        prune(max(0.0, history[-1]["val_accuracy"] - drop), 3)
    elif config.scheme == "C":     # sparse seed -> grow once -> prune
        run(_schedule(config, seed_density=0.2, growth_rounds=1, prune_steps=0,
                      retrain_epochs=grown_epochs))
        prune(max(0.0, history[-1]["val_accuracy"] - drop), 1)
    else:                          # B: prune / regrow cycles on the fixed-size MLP, then prune
        for _ in range(2):
            if not active_connections(model) or not run(
                    _schedule(config, prune_steps=max(1, steps // 4), accuracy_floor=floor)):
                break
            if active_connections(model):   # growth adds a share of the active ones
                run(_schedule(config, growth_rounds=1, prune_steps=0))
        prune(floor, 0)
    mark_final(history)   # each run marked its own last row; the model returned is the last's
    return model, history


def floor_note(config: ScannConfig, start: float, floor: float) -> str:
    """``synth.grow_prune.floor_warning`` in scann's words: its floor is --max-accuracy-drop
    below the accuracy the network held (scann has no --target-accuracy, which the line
    named)."""
    return floor_warning(start, floor, f"--max-accuracy-drop {config.max_accuracy_drop:g} "
                         f"below the accuracy the network held",
                         "raise --max-accuracy-drop to keep such steps")


def shortfall_warning(config: ScannConfig, accuracy: float, baseline: float,
                      y_test: torch.Tensor, predicted: tuple[str, float] | None = None
                      ) -> str | None:
    """The line for a synthesized MLP whose test ``accuracy`` is at chance (at most the largest
    class's share of the test split, what a constant answer scores) or more than
    ``max_accuracy_drop`` below the dense ``baseline``'s; None otherwise.  Scheme A's grown
    network never learned pickupgesture's 70 training samples and ended at 0.10 (10 classes)
    against a baseline of 0.75, and the result said nothing.  ``predicted``: the class the
    MLP predicts for every test sample and its share (``synth.grow_prune.one_class``), said
    in this line: its own line (``one_class_warning``) told the same fact again."""
    chance = float(torch.bincount(y_test).max()) / len(y_test) if len(y_test) else 0.0
    if predicted is not None:   # its accuracy is the class's share: at most chance
        name, _ = predicted
        # below chance where the class is not the largest (japanesevowels: 0.0938 was
        # said to be 'at chance (0.1797, the largest class's share)')
        at = "at" if accuracy >= chance else "below"
        return (f"the synthesized MLP predicts class {name!r} for every test sample: its test "
                f"accuracy {accuracy:.4f} is that class's share of the test split, {at} chance "
                f"({chance:.4f}, the largest class's share), against the dense "
                f"baseline's {baseline:.4f}, and the other classes are never predicted: try "
                f"another --scheme (this is {config.scheme}), --reduce or --components (an "
                f"imbalanced set: balance its classes)")
    if accuracy <= chance:
        how = (f"{'at' if accuracy >= chance else 'below'} chance ({chance:.4f}, the largest "
               f"class's share of the test split), "
               f"against the dense baseline's {baseline:.4f}")
    elif accuracy < baseline - config.max_accuracy_drop:
        how = (f"{baseline - accuracy:.4f} below the dense baseline's {baseline:.4f}, more "
               f"than --max-accuracy-drop {config.max_accuracy_drop:g}")
    else:
        return None
    return (f"the synthesized MLP's test accuracy {accuracy:.4f} is {how}: try another "
            f"--scheme (this is {config.scheme}), --reduce or --components")


def pruning_note(config: ScannConfig, history: list[dict]) -> str | None:
    """The line for a run that asked for pruning steps and kept none (every one undone by
    the floor, or none run): its connections are those of the network before pruning
    (gunpoint, scheme B: 'steps 0').  None otherwise."""
    if not config.prune_steps or any(r["phase"] == "prune" and not r.get("idle")
                                     for r in history):
        return None
    undone = reverted_steps(history)
    why = (f"the {undone} tried were undone, each below the floor (--max-accuracy-drop "
           f"{config.max_accuracy_drop:g} below the accuracy the network held); raise "
           f"--max-accuracy-drop, or try another --scheme" if undone else
           "none ran (no connection left to prune)")
    return f"no pruning step was kept: {why}"


def run_scann(data: Dataset, config: ScannConfig, *, progress: bool = False) -> dict:
    """Baseline dense MLP on the original features vs SCANN on the reduced ones.  The
    result's ``model`` reads the reduced features that ``feature_map`` makes of the data set's
    inputs (``model_on_inputs`` joins the two)."""
    train = TrainConfig(epochs=config.epochs, lr=config.lr, seed=config.seed,
                        device=config.device, progress=progress, weight_decay=1e-4,
                        keep_best=False)
    # the floor reads train + validation and the result is scored on test (a synthesized
    # set has no test split: a reshape error of its empty test tensor)
    data.require(("train", "val", "test"), "SCANN")
    flat = reduce_dataset(data, "none")
    check_base_size(config.hidden, flat.input_shape[0], data.num_classes)   # before any fit
    notes = []   # the reduction's warnings: said as it is fitted, and in the result
    reduced, feature_map = fit_reduction(data, config.reduce, config.components, config.seed,
                                         notes=notes)
    torch.manual_seed(config.seed)
    base = build({"family": "mlp", "hidden": list(config.hidden)}, flat.input_shape,
                 data.num_classes)
    fit(base, flat, train, desc="baseline")
    base_acc = evaluate(base, flat.x_test, flat.y_test)["accuracy"]
    # on the floor's split (train + validation): what a choice among runs may read
    base_selection = evaluate(base, torch.cat([flat.x_train, flat.x_val]),
                              torch.cat([flat.y_train, flat.y_val]))["accuracy"]
    d, k = flat.input_shape[0], reduced.input_shape[0]
    # SCANN step 2 shrinks the widths by the compression asked (--components), not by the
    # components a sample-bound reducer could find: capped at one per training sample,
    # basicmotions' 0.5 of 600 features became 56 (57 series), and 64-32 shrunk by 56/600
    # to [6, 3], fewer units than its 4 classes, whose sparse seed (scheme C) had 3 of 18
    # connections between them and never left chance (0.25 on seeds 0 and 2, 0
    # connections).  A component dropped for holding no variance does not narrow them either
    widths = compressed_widths(config.hidden, d, min(d, asked_components(
        config.reduce, config.components, d)))
    torch.manual_seed(config.seed)
    model = build({"family": "mlp", "hidden": widths}, (k,), data.num_classes)
    # the floor is checked on train + validation: 12-100 validation samples alone are too few
    guarded = dataclasses.replace(reduced, x_val=torch.cat([reduced.x_train, reduced.x_val]),
                                  y_val=torch.cat([reduced.y_train, reduced.y_val]))
    floor = 0.0
    if config.scheme == "B":
        fit(model, reduced, train, desc="compressed")
        floor = max(0.0, evaluate(model, guarded.x_val, guarded.y_val)["accuracy"]
                    - config.max_accuracy_drop)
    model, history = synthesize(model, guarded, config, floor, notes=notes)
    final = final_row(history)
    base_conn = connections(base)
    # the live connections, as grow-prune counts its result's (synth.workflows): the masked
    # model's count (the history's) included the weights into units that feed nothing and
    # out of units that read nothing -- 31 where 6 remain (breast_cancer, scheme C, 10
    # epochs, 6 steps) -- and understated the reduction
    compacted = compact(copy.deepcopy(model).cpu().eval())
    live = connections(compacted)
    # SCANN's count (``connections``) is the MLP's on the reduced features, without the
    # reduction's projection: basicmotions' 600 inputs reduced to 10 made 32 connections,
    # 'reduction 1268', where the model that reads the 600 inputs (the projection folded
    # into its first layer, what --out saves) holds 1,212, 33x fewer than the baseline's
    result_model = copy.deepcopy(model).cpu().eval()
    on_inputs = (connections(saved_model(result_model, feature_map, data.input_shape))
                 if config.reduce in LINEAR_REDUCERS else None)
    # the result against the baseline it is reported beside (with the one class it
    # predicts, where it does), and a run that pruned nothing
    said = [line for line in (shortfall_warning(config, final["test_accuracy"], base_acc,
                                                reduced.y_test, one_class(model, reduced)),
                              pruning_note(config, history)) if line]
    for line in said:
        log.warning("%s", line)
    warning = join_warnings(notes, said)
    return {**({"warning": warning} if warning else {}), "dataset": data.name, "reduce": config.reduce, "scheme": config.scheme,
            "features": d, "reduced_features": k,
            # the ones that vary on the training split: all the reduced features, since
            # fit_reduction drops a component that holds no variance (basicmotions' PCA gave
            # 57 of 600 features, 56 live, and built the MLP on 57)
            "reduced_features_live": k, "hidden": widths,
            # the synthesized MLP's live widths (its checkpoint's spec): ``hidden`` is step 2's
            # compressed start, which the result and the checkpoint's metrics gave alone, so
            # wine's [34, 17] stood beside a saved model of [21, 7] and 76 connections
            "synthesized_hidden": list(compacted.spec["hidden"]),
            "baseline_connections": base_conn, "baseline_test_accuracy": base_acc,
            "connections": live, "test_accuracy": final["test_accuracy"],
            # train + validation accuracy, the baseline's and the result's (the floor's
            # split): a choice among runs or schemes reads these, never the test figures
            "baseline_selection_accuracy": base_selection,
            "selection_accuracy": final["val_accuracy"],
            # none for a model of no connections (base / max(1, 0) said 21,312x of one)
            "reduction": base_conn / live if live else None,
            # None for kernel_pca (no linear map of the inputs to fold)
            "input_connections": on_inputs,
            "input_reduction": base_conn / on_inputs if on_inputs else None,
            # as grow-prune counts them: the steps kept, and those undone by the floor (the
            # CLI printed len(history) - 1, so a run whose every step was undone said steps 2)
            "steps": kept_steps(history), "reverted_steps": reverted_steps(history),
            "model": result_model, "feature_map": feature_map,
            "history": history}


def geometric_mean(values) -> float:
    values = [float(v) for v in values]
    if not values or any(v <= 0 for v in values):
        raise UserError(f"geometric mean needs positive values, got {values}")
    return float(math.exp(np.mean(np.log(values))))
