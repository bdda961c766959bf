"""SCANN (Hassantabar, Wang & Jha 2019): dimensionality reduction, layer compression by the
feature compression ratio, then grow-and-prune synthesis of a compact MLP in one of three schemes.

1. Reduce the data set's features with a scikit-learn method (PCA, kernel PCA, Gaussian or sparse
   random projection, factor analysis), fitted on the training split only.
2. Shrink every hidden width of the base MLP by the feature compression ratio k / d.
3. Synthesize with ``synth.grow_prune`` (SCANN Sec. 3):
   - scheme A: start from a small network (a sparse seed with a quarter of the hidden units live),
     grow connections and neurons, then prune;
   - scheme B: a fixed-size fully connected MLP whose connections are pruned and regrown in
     alternation, then pruned;
   - scheme C: start from a sparsely connected MLP (all units live), grow once, then prune.
The result counts connections (nonzero Linear weights) and accuracy against a dense MLP trained
on the original features; ``geometric_mean`` summarizes reductions over data sets.
"""
from __future__ import annotations

import copy
import dataclasses
import math

import numpy as np
import torch

from synth.choices import REDUCERS, SCHEMES
from synth.config import Config, check_choice, check_range, check_seed, short_repr
from synth.data import Dataset
from synth.errors import UserError
from synth.grow_prune import GrowPruneSchedule, final_row, grow_and_prune, mark_final
from synth.masked import connections
from synth.models import build
from synth.train import TrainConfig, evaluate, fit



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
    max_accuracy_drop: float = 0.01   # accuracy on train + validation the net may lose
    lr: float = 0.05
    seed: int = 0
    device: str = "auto"

    def validate(self) -> None:
        check_choice("reduce", self.reduce, REDUCERS)
        check_components(self.components)
        check_choice("scheme", self.scheme, SCHEMES)
        if not self.hidden or any(not isinstance(h, int) or h < 1 for h in self.hidden):
            raise UserError(f"hidden must be a non-empty list of widths >= 1, got {short_repr(self.hidden)}")
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
        raise UserError(f"components of 1 or more is a number of features and must be whole, "
                        f"got {components} (a fraction of the features is below 1)")


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


def reduce_dataset(data: Dataset, method: str = "pca", components: float = 0.5,
                   seed: int = 0) -> Dataset:
    """The data set with its (flattened) features reduced to k and standardized on the training
    split; ``method="none"`` only flattens.  k = round(components * d) when components < 1."""
    check_choice("reduce", method, REDUCERS)
    check_components(components)
    flat = [x.reshape(len(x), -1).double().numpy() for x in (data.x_train, data.x_val, data.x_test)]
    d = flat[0].shape[1]
    k = d if method == "none" else (
        max(1, round(components * d)) if components < 1 else int(components))
    if k > d:
        raise UserError(f"components must be at most the {d} features of {data.name}, got "
                        f"{short_repr(k)}")
    if method != "none":
        red = _reducer(method, k, seed).fit(flat[0])
        flat = [red.transform(f) for f in flat]
    mean, std = flat[0].mean(0), flat[0].std(0) + 1e-8
    xs = [torch.tensor((f - mean) / std, dtype=torch.float32) for f in flat]
    return dataclasses.replace(
        data, name=f"{data.name}+{method}{k}", x_train=xs[0], x_val=xs[1], x_test=xs[2],
        input_shape=(k,), mean=[0.0] * k, std=[1.0] * k)


def compressed_widths(hidden, features: int, reduced: int) -> list[int]:
    """Hidden widths scaled by the feature compression ratio k / d (SCANN step 2), at least 2."""
    return [max(2, round(h * reduced / features)) for h in hidden]


def _schedule(config: ScannConfig, **fields) -> GrowPruneSchedule:
    base = dict(prune_fraction=config.prune_fraction, retrain_epochs=config.retrain_epochs,
                growth_ratio=config.growth_ratio, lr=config.lr, seed=config.seed,
                device=config.device, max_accuracy_drop=1.0, growth_batches=10,
                keep_best=False)   # a few dozen validation samples cannot pick epochs
    base.update(fields)
    return GrowPruneSchedule(**base)


def synthesize(model, data: Dataset, config: ScannConfig, floor: float = 0.0) -> tuple:
    """Run the configured scheme on ``model`` (trained densely for scheme B, where ``floor`` is
    the validation accuracy floor; A and C start untrained and set their floor after growth);
    returns (model, history)."""
    history: list[dict] = []

    def run(schedule):
        nonlocal model
        model, rows = grow_and_prune(model, data, schedule)
        offset = history[-1]["step"] if history else 0
        history.extend(dict(r, step=r["step"] + offset) for r in (rows[1:] if history else rows))
        return rows[-1]["phase"] != "reverted"

    widest = max(model.spec["hidden"])
    steps, drop = config.prune_steps, config.max_accuracy_drop
    if config.scheme == "A":       # small seed -> grow neurons and connections -> prune
        run(_schedule(config, seed_density=0.5, seed_units=0.25, growth_rounds=3,
                      neuron_growth=max(1, widest // 8), prune_steps=steps,
                      max_accuracy_drop=drop))
    elif config.scheme == "C":     # sparse seed -> grow once -> prune
        run(_schedule(config, seed_density=0.2, growth_rounds=1, prune_steps=steps,
                      max_accuracy_drop=drop))
    else:                          # B: prune / regrow cycles on the fixed-size MLP, then prune
        for _ in range(2):
            if not run(_schedule(config, prune_steps=max(1, steps // 4), accuracy_floor=floor)):
                break
            run(_schedule(config, growth_rounds=1, prune_steps=0))
        run(_schedule(config, prune_steps=steps, accuracy_floor=floor))
    mark_final(history)   # each run marked its own last row; the model returned is the last's
    return model, history


def run_scann(data: Dataset, config: ScannConfig, *, progress: bool = False) -> dict:
    """Baseline dense MLP on the original features vs SCANN on the reduced ones."""
    train = TrainConfig(epochs=config.epochs, lr=config.lr, seed=config.seed,
                        device=config.device, progress=progress, weight_decay=1e-4,
                        keep_best=False)
    flat = reduce_dataset(data, "none")
    reduced = reduce_dataset(data, config.reduce, config.components, config.seed)
    torch.manual_seed(config.seed)
    base = build({"family": "mlp", "hidden": list(config.hidden)}, flat.input_shape,
                 data.num_classes)
    fit(base, flat, train, desc="baseline")
    base_acc = evaluate(base, flat.x_test, flat.y_test)["accuracy"]
    d, k = flat.input_shape[0], reduced.input_shape[0]
    widths = compressed_widths(config.hidden, d, k)
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
    model, history = synthesize(model, guarded, config, floor)
    final = final_row(history)
    base_conn = connections(base)
    return {"dataset": data.name, "reduce": config.reduce, "scheme": config.scheme,
            "features": d, "reduced_features": k, "hidden": widths,
            "baseline_connections": base_conn, "baseline_test_accuracy": base_acc,
            "connections": final["connections"], "test_accuracy": final["test_accuracy"],
            "reduction": base_conn / max(1, final["connections"]),
            "model": copy.deepcopy(model).cpu().eval(), "history": history}


def geometric_mean(values) -> float:
    values = [float(v) for v in values]
    if not values or any(v <= 0 for v in values):
        raise UserError(f"geometric mean needs positive values, got {values}")
    return float(math.exp(np.mean(np.log(values))))
