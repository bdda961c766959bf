"""Hardware-guided symbiotic training (Dai, Yin, Jha; arXiv 1901.10997): size an LSTM /
H-LSTM language model by the measured latency of the target platform, not by its size.

The paper's observation is that latency is not monotone in layer width on real hardware (the
"latency hysteresis effect") and that sparsity pays on some hardware and not on others, so
"smaller is better" compression can end at a slower model.  Here:

1. *Width*: candidate language models of every width in ``widths`` are trained the same way
   (``synth.lm.fit_lm``, candidates independent, so ``map_fn`` may run them as Ray tasks).
   Those whose validation perplexity stays within ``tolerance`` of the reference (the widest
   candidate, or ``target_perplexity``) *keep perplexity*.  Plain compression takes the
   smallest of them; symbiotic training takes the one whose table latency is lowest, and
   leaves the smallest only for a width that is faster beyond the measured spread
   (``hi(wider) < lo(smallest)``, ``hwsim.latency.spread``).
2. *Sparsity*: the chosen model is pruned (magnitude, with retraining: the prune half of
   grow-and-prune, ``synth.masked``) through increasing sparsities while it keeps perplexity.
   Each layer keeps the sparse weights only where the table says sparse execution of that
   layer at that sparsity is faster than dense beyond the spread; elsewhere it stays dense.

The latency table is data (a list of row dicts, see ``hwsim.latency``): this module imports no
hardware model.  A model's predicted latency is the sum of its layers' rows and the decoder's.
"""
from __future__ import annotations

import copy
import dataclasses
import os
from pathlib import Path
from typing import Callable, Iterable, Sequence

import torch

from synth import masked, resume
from synth.config import Config, check_range, check_seed, short_repr, value_error
from synth.errors import UserError
from synth.lm import (CELLS, LanguageModel, LMTrainConfig, count_lm_parameters, fit_lm, perplexity,
                      text_digest)
from synth.text import TextDataset


# --------------------------------------------------------------------------- tables
def lo(row: dict) -> float:
    """Lower end of a row's spread: the best-of-block range when measured (``lo_ms``), else
    the first quartile."""
    return row.get("lo_ms", row["q1_ms"])


def hi(row: dict) -> float:
    return row.get("hi_ms", row["q3_ms"])


def faster(a: dict, b: dict) -> bool:
    """``a`` is faster than ``b`` beyond the measured spread: hi(a) < lo(b)."""
    return hi(a) < lo(b)


def _group_key(row: dict) -> tuple:
    return (row.get("platform"), row["cell"], row["batch"], row["sparsity"], row["exec"])


def hysteresis_points(rows: Iterable[dict]) -> list[dict]:
    """Pairs of widths ``w1 < w2`` of one (platform, cell, batch, sparsity, exec) series where
    the wider layer is faster beyond the measured spread: ``hi(w2) < lo(w1)``."""
    series: dict[tuple, list[dict]] = {}
    for row in rows:
        series.setdefault(_group_key(row), []).append(row)
    points = []
    for key, group in series.items():
        group = sorted(group, key=lambda r: r["width"])
        for i, narrow in enumerate(group):
            for wide in group[i + 1:]:
                if faster(wide, narrow):
                    points.append({"platform": key[0], "cell": key[1], "batch": key[2],
                                   "sparsity": key[3], "exec": key[4], "w1": narrow["width"],
                                   "w2": wide["width"], "ms1": narrow["best_ms"],
                                   "ms2": wide["best_ms"]})
    return points


def sparse_wins(rows: Iterable[dict]) -> list[dict]:
    """Every sparse row against the dense row of the same cell, width and batch: ``wins`` when
    the sparse execution is faster beyond the spread (``hi(sparse) < lo(dense)``)."""
    rows = list(rows)
    dense = {(r.get("platform"), r["cell"], r["width"], r["batch"]): r
             for r in rows if r["exec"] == "dense"}
    out = []
    for r in rows:
        d = dense.get((r.get("platform"), r["cell"], r["width"], r["batch"]))
        if r["exec"] == "sparse" and d is not None:
            out.append({"platform": r.get("platform"), "cell": r["cell"], "width": r["width"],
                        "batch": r["batch"], "sparsity": r["sparsity"],
                        "dense_ms": d["best_ms"], "sparse_ms": r["best_ms"],
                        "wins": faster(r, d)})
    return out


class LatencyTable:
    """Row lookup and model latency (sum of rows) over a table of one platform and batch."""

    def __init__(self, rows: Sequence[dict], batch: int = 1):
        self.rows = [r for r in rows if r["batch"] == batch]
        if not self.rows:
            raise UserError(f"latency table has no rows at batch {batch}")
        self.batch = batch
        self._index = {(r["cell"], r["width"], r["sparsity"], r["exec"]): r for r in self.rows}

    def widths(self, cell: str) -> list[int]:
        return sorted({r["width"] for r in self.rows if r["cell"] == cell and r["exec"] == "dense"})

    def row(self, cell: str, width: int, sparsity: float = 0.0, exec_: str = "dense") -> dict:
        key = (cell, int(width), float(sparsity) if exec_ == "sparse" else 0.0, exec_)
        if key not in self._index:
            raise UserError(f"latency table has no row for {cell} width {width} "
                            f"sparsity {sparsity} {exec_} at batch {self.batch}")
        return self._index[key]

    def sparsities(self, cell: str, width: int) -> list[float]:
        return sorted(r["sparsity"] for r in self.rows
                      if r["cell"] == cell and r["width"] == width and r["exec"] == "sparse")

    def model(self, cell: str, widths: Sequence[int],
              layers: Sequence[tuple[float, str]] | None = None) -> dict:
        """Predicted latency of a model: its layers' rows (sparsity, exec per layer; dense by
        default) plus the decoder row when the table has one; best, q1, q3, lo, hi summed, ms."""
        layers = list(layers or [(0.0, "dense")] * len(widths))
        rows = [self.row(cell, w, s, e) for w, (s, e) in zip(widths, layers)]
        if any(r["cell"] == "decoder" for r in self.rows):
            rows.append(self.row("decoder", widths[-1]))
        out = {k: sum(r[k] for r in rows) for k in ("best_ms", "q1_ms", "q3_ms")}
        out.update(lo_ms=sum(lo(r) for r in rows), hi_ms=sum(hi(r) for r in rows))
        return out


# --------------------------------------------------------------------------- training
MAX_CANDIDATES = 64   # widths (per cell) or sparsity steps, each a training


@dataclasses.dataclass(frozen=True)
class SymbioticConfig(Config):
    cells: tuple = ("lstm", "hlstm")             # cell types searched (the table must cover them)
    layers: int = 1                              # recurrent layers, all of the searched width
    widths: tuple = (32, 48, 64, 96, 128)        # candidate widths per cell
    tolerance: float = 0.01                      # relative perplexity increase that still keeps it
    target_perplexity: float = 0.0               # > 0: keep = val <= this * (1 + tolerance)
    sparsities: tuple = (0.5, 0.75, 0.9)         # pruning steps of the chosen model
    latency_target: float = 0.0                  # > 0: the symbiotic choice takes at most this
                                                 # many ms per bptt-token sequence at batch 1
                                                 # on the platform's table (dense row + decoder)
    prune_epochs: int = 1                        # retraining after each pruning step
    prune_plain: bool = True                     # also prune the plain choice, hardware-agnostic
    dropout: float = 0.2
    epochs: int = 4
    batch_size: int = 32
    bptt: int = 35
    lr: float = 3e-3
    max_batches: int = 0
    seed: int = 0
    device: str = "auto"

    def validate(self) -> None:
        if not self.cells or any(c not in CELLS for c in self.cells):
            raise UserError(f"cells must be a non-empty list of {', '.join(CELLS)}, got "
                            f"{list(self.cells)!r}")
        check_range("layers", self.layers, 1, 8, integer=True)
        if (not self.widths or len(self.widths) > MAX_CANDIDATES
                or any(isinstance(w, bool) or not isinstance(w, int) or w < 1
                       for w in self.widths)):   # each is trained: 5,000 widths ran for hours
            raise UserError(f"widths must be 1 to {MAX_CANDIDATES} integers >= 1, got "
                            f"{short_repr(list(self.widths))}")
        if len(self.sparsities) > MAX_CANDIDATES:
            raise UserError(f"sparsities must be at most {MAX_CANDIDATES} values, got "
                            f"{len(self.sparsities):,}")
        check_range("tolerance", self.tolerance, 0, 10)
        check_range("target_perplexity", self.target_perplexity, 0, None)
        # inf passed as "no target" and NaN as one no model meets, both without a word
        check_range("latency_target", self.latency_target, 0, 10**6)
        for s in self.sparsities:
            check_range("sparsities[]", s, 0, 1, low_open=True, high_open=True)
        check_range("prune_epochs", self.prune_epochs, 0, 1000, integer=True)
        check_range("dropout", self.dropout, 0, 1, high_open=True)
        check_range("epochs", self.epochs, 1, 10000, integer=True)
        check_seed("seed", self.seed)

    @property
    def cell_types(self) -> tuple:
        """``cells`` each once, in order (a repeated cell was trained twice), as ``widths``
        are taken once each."""
        return tuple(dict.fromkeys(self.cells))

    @property
    def sparsity_steps(self) -> tuple:
        """``sparsities`` each once, ascending: a repeated value was a pruning step of nothing
        retrained again, and a latency-table row measured twice."""
        return tuple(sorted(set(self.sparsities)))

    def spec(self, cell: str, width: int) -> dict:
        return {"family": "lm", "cell": cell, "embed": int(width),
                "hidden": [int(width)] * self.layers, "tied": True, "dropout": self.dropout}

    def train_config(self, epochs: int | None = None, progress: bool = False) -> LMTrainConfig:
        return LMTrainConfig(epochs=self.epochs if epochs is None else epochs,
                             batch_size=self.batch_size, bptt=self.bptt, lr=self.lr,
                             seed=self.seed, device=self.device, max_batches=self.max_batches,
                             progress=progress)


CANDIDATE_FORMAT = "nnsynth-lm-candidate-1"


def kept_candidates(keep_dir: str | os.PathLike, data: TextDataset, config: LMTrainConfig
                    ) -> Callable[[dict], tuple[str, str]]:
    """``spec -> (path, key)``: where ``train_candidate`` keeps the result of training
    ``spec`` on ``data`` with ``config`` under ``keep_dir`` (one file per candidate, named by
    the key of spec, config -- not its device or progress -- and the data's digest)."""
    settings = {k: v for k, v in config.to_dict().items() if k not in ("progress", "device")}
    digest = text_digest(data)

    def keep(spec: dict) -> tuple[str, str]:
        key = resume.settings_key(spec, settings, digest)
        return str(Path(keep_dir) / f"{key[:24]}.pt"), key
    return keep


def train_candidate(spec: dict, data: TextDataset, config: LMTrainConfig,
                    keep: tuple[str, str] | None = None) -> dict:
    """Train one language model; returns metrics, the spec and the CPU state dict.  With
    ``keep`` (``kept_candidates``), a result kept there by the same training is returned
    without training again, and a new one is written there atomically (a rerun of an
    interrupted search skips the candidates it finished)."""
    if keep is not None:
        saved = resume.load_state(keep[0], CANDIDATE_FORMAT, keep[1], "candidate")
        if saved is not None:   # what this function writes, and a model that loads its state
            resume.check_fields(saved, {"result": dict}, keep[0], "candidate")
            resume.check_fields(saved["result"], {
                "spec": dict, "state": dict, "parameters": range(1 << 62),
                "val_perplexity": (int, float), "test_perplexity": (int, float)},
                keep[0], "candidate")
            if saved["result"]["spec"] != spec:   # built below: only the spec asked for
                raise UserError(f"{keep[0]} holds a candidate state of another spec: it is "
                                f"not one nnsynth wrote; move it away")
            with resume.restoring(keep[0], "candidate"):
                load_candidate(saved["result"], data.vocab_size)
            return saved["result"]
    torch.manual_seed(config.seed)
    model = LanguageModel(spec, data.vocab_size)
    metrics = fit_lm(model, data, config, desc=f"{spec['cell']} {spec['hidden']}")
    result = {**{k: v for k, v in metrics.items() if k != "history"}, "spec": spec,
              "parameters": count_lm_parameters(model),
              "state": {k: v.cpu() for k, v in model.state_dict().items()}}
    if keep is not None:
        resume.save_state(keep[0], CANDIDATE_FORMAT, keep[1], {"result": result})
    return result


def load_candidate(result: dict, vocab_size: int) -> LanguageModel:
    model = LanguageModel(result["spec"], vocab_size)
    model.load_state_dict(result["state"])
    return model.eval()


def reachable(table: LatencyTable, cell: str, width: int, config: SymbioticConfig) -> dict:
    """The least latency a (cell, width) candidate can end at on ``table``: its dense model,
    or its layers pruned to one of ``config.sparsity_steps`` where the table says that
    sparse execution is faster than dense beyond the spread (``prune_for_latency`` keeps a
    layer sparse there only), whichever is lower (``LatencyTable.model``'s dict).  A target
    is judged on the model the user gets, which may be pruned: judged on dense rows only,
    a target on SPRING that the pruned model meets was refused before any training (h291)."""
    dense = table.model(cell, [width] * config.layers)
    best = dense
    for s in table.sparsities(cell, width):
        if s in config.sparsity_steps and faster(table.row(cell, width, s, "sparse"),
                                                  table.row(cell, width)):
            pruned = table.model(cell, [width] * config.layers, [(s, "sparse")] * config.layers)
            if pruned["best_ms"] < best["best_ms"]:
                best = pruned
    return best


def check_latency_target(table: LatencyTable, config: SymbioticConfig) -> None:
    """Refuse a ``latency_target`` that no candidate can meet, before any training: the
    fastest (cell, width) of the search, priced on the table as ``LatencyTable.model``
    prices the choice, pruned where the table says pruning pays (``reachable``), is slower
    than the target."""
    target = config.latency_target
    if not target:
        return
    lat = {(c, w): reachable(table, c, w, config)["best_ms"]
           for c in config.cell_types for w in sorted(set(config.widths))}
    fastest = min(lat, key=lambda k: (lat[k], k[1], k[0]))
    if lat[fastest] > target:   # a ConfigError with fields: the CLI tells it by its option
        platform = table.rows[0].get("platform") or "the platform's"
        layers = f"{config.layers} layers of " if config.layers > 1 else ""
        raise value_error("latency_target", target, (
            f"cannot be met on the {platform} table: its fastest candidate, {layers}"
            f"{fastest[0]} {fastest[1]}, takes {lat[fastest]:.4g} ms per {config.bptt}-token "
            f"sequence at batch 1 (with the decoder, pruned where the table says it pays); "
            f"ask for at least that, or give narrower widths"), got=f"{target:g} ms")


def choose_width(results: dict[tuple, dict], table: LatencyTable, config: SymbioticConfig) -> dict:
    """Among the (cell, width) candidates that keep perplexity: plain compression takes the
    smallest (fewest parameters), symbiotic training the fastest in the table, moving off the
    smallest only to a candidate that is faster beyond the spread (hi < the smallest's lo).

    With a ``latency_target``, the symbiotic choice is taken among the candidates that keep
    perplexity *and* whose table latency (best ms; ``reachable``: pruned where the table
    says pruning pays, as ``prune_for_latency`` would) meets it, from the smallest of those;
    when none does both, it is the candidate of lowest perplexity among those meeting the
    target (``target_forced``; ``within_tolerance`` False: a warning).  The plain choice
    ignores the target (hardware-agnostic).  ``meets_target`` says whether the choice meets
    it (None: none)."""
    if config.target_perplexity > 0:
        limit = config.target_perplexity * (1 + config.tolerance)
    else:
        widest = max(results, key=lambda k: (k[1], k[0]))
        limit = results[widest]["val_perplexity"] * (1 + config.tolerance)
    keep = [k for k, r in results.items() if r["val_perplexity"] <= limit]
    within = bool(keep)   # False: reported as a warning (the choice misses the tolerance)
    if not keep:    # nothing reaches the limit: the best perplexity is kept
        keep = [min(results, key=lambda k: results[k]["val_perplexity"])]
    keep.sort(key=lambda k: (results[k]["parameters"], k))
    plain = keep[0]
    target = config.latency_target
    lat = {k: table.model(k[0], [k[1]] * config.layers)
           for k in (results if target else keep)}
    # a target is met by the model as it may end, pruned where the table says it pays
    # (``reachable``); ``run_symbiotic`` judges the model the user gets again at the end
    reach = {k: reachable(table, k[0], k[1], config) for k in lat} if target else lat
    meets = lambda k: not target or reach[k]["best_ms"] <= target   # noqa: E731
    eligible = [k for k in keep if meets(k)]
    forced = not eligible   # with a target: no candidate that keeps perplexity meets it
    if forced:   # nothing keeps perplexity within the target: the best within it
        in_time = [k for k in results if meets(k)]
        if not in_time:   # check_latency_target refuses it before the trainings
            raise UserError(f"latency_target {target:g} ms: no candidate meets it")
        eligible = [min(in_time, key=lambda k: (results[k]["val_perplexity"], k))]
    start = eligible[0]   # the smallest that may be chosen (plain, without a target)
    quicker = [k for k in eligible if faster(lat[k], lat[start])]
    chosen = min(quicker, key=lambda k: lat[k]["best_ms"]) if quicker else start
    return {"limit": limit, "keep": keep, "plain": plain, "symbiotic": chosen,
            "latency": {k: lat[k] for k in dict.fromkeys([*keep, chosen])},
            "within_tolerance": within and results[chosen]["val_perplexity"] <= limit,
            "latency_target": target or None, "meets_target": meets(chosen) if target else None,
            "target_forced": forced}


PRUNING_FORMAT = "nnsynth-lm-pruning-1"


def kept_pruning(keep_dir: str | os.PathLike, candidate_key: str, config: SymbioticConfig,
                 limit: float) -> tuple[str, str]:
    """(path, key) where ``prune_for_latency`` keeps the pruning of the candidate trained
    under ``candidate_key`` (``kept_candidates``) through ``config.sparsity_steps`` with
    ``prune_epochs`` of retraining each, stopped at ``limit``: the same for the plain and
    the symbiotic choice (the table decides afterwards which layers stay sparse)."""
    key = resume.settings_key("pruning", candidate_key, list(config.sparsity_steps),
                              config.prune_epochs, float(limit))
    return str(Path(keep_dir) / f"pruning-{key[:24]}.pt"), key


def prune_for_latency(model: LanguageModel, data: TextDataset, table: LatencyTable,
                      config: SymbioticConfig, limit: float, *, guided: bool = True,
                      progress: bool = False,
                      keep: tuple[str, str] | None = None) -> tuple[LanguageModel, dict]:
    """Prune the recurrent layers through ``config.sparsities`` while validation perplexity
    stays <= ``limit``; with ``guided``, keep a layer sparse only where the table says its
    sparse execution is faster than dense (else restore its dense weights).  ``keep``
    (``kept_pruning``): the pruned weights, masks and steps are kept there atomically when
    the steps finish, and a rerun of the same settings reads them instead of retraining
    (the candidates were kept, the pruning's retraining ran again on every rerun)."""
    dense = copy.deepcopy(model)
    cell, width = model.spec["cell"], model.spec["hidden"][0]
    if guided and not any(faster(table.row(cell, width, s, "sparse"), table.row(cell, width))
                          for s in table.sparsities(cell, width)):
        # no table sparsity is faster than dense here: pruning could not lower the latency
        return dense, {"steps": [], "reached": 0.0, "skipped": "no sparse row beats dense",
                       "layers": [{"layer": k, "sparsity": 0.0, "sparse": False}
                                  for k in range(len(model.rnn))]}
    masked.attach_masks(model.rnn)      # a mask parametrization keeps pruned weights at zero
    saved = resume.load_state(keep[0], PRUNING_FORMAT, keep[1], "pruning") if keep else None
    if saved is not None:   # what this function wrote under the same settings
        resume.check_fields(saved, {"steps": list, "reached": (int, float), "state": dict},
                            keep[0], "pruning")
        with resume.restoring(keep[0], "pruning"):
            model.load_state_dict(saved["state"])
        steps, reached = saved["steps"], float(saved["reached"])
    else:
        steps, reached = _prune_steps(model, data, config, limit)
        if keep:
            resume.save_state(keep[0], PRUNING_FORMAT, keep[1], {
                "steps": steps, "reached": reached,
                "state": {k: v.detach().cpu() for k, v in model.state_dict().items()}})
    decisions = []
    for k, layer in enumerate(model.rnn):
        use_sparse = reached > 0
        if guided and reached > 0:
            s = max([s for s in table.sparsities(cell, width) if s <= reached] or [0])
            use_sparse = s > 0 and faster(table.row(cell, width, s, "sparse"),
                                          table.row(cell, width))
            decisions.append({"layer": k, "sparsity": reached, "table_sparsity": s,
                              "sparse": use_sparse})
        else:
            decisions.append({"layer": k, "sparsity": reached, "sparse": use_sparse})
    if not any(d["sparse"] for d in decisions):
        return dense, {"steps": steps, "reached": reached, "layers": decisions}   # all dense
    for d in decisions:       # mixed: a layer kept dense gets its unpruned weights back
        if not d["sparse"]:
            model.rnn[d["layer"]] = copy.deepcopy(dense.rnn[d["layer"]])
    return model, {"steps": steps, "reached": reached, "layers": decisions}


def _prune_steps(model: LanguageModel, data: TextDataset, config: SymbioticConfig,
                 limit: float) -> tuple[list, float]:
    """``prune_for_latency``'s steps on ``model`` (masks attached to its recurrent layers):
    each sparsity of ``config.sparsity_steps`` in turn, retrained ``prune_epochs``, while
    validation perplexity stays <= ``limit``; the weights of the last step that kept it are
    left in ``model``.  Returns (steps, the sparsity reached)."""
    reached, steps = 0.0, []
    kept_state = copy.deepcopy(model.state_dict())
    for step, target in enumerate(config.sparsity_steps):
        current = masked.sparsity(model.rnn)["total"]
        fraction = 1 - (1 - target) / max(1e-9, 1 - current)
        masked.prune_connections(model.rnn, fraction, "layerwise")
        if config.prune_epochs:
            fit_lm(model, data, config.train_config(config.prune_epochs).replace(
                seed=config.seed + 100 + step), desc=f"prune {target:.2f}")
        val = perplexity(model, data.val, bptt=config.bptt)
        steps.append({"sparsity": target, "val_perplexity": val})
        if val > limit:
            break
        reached, kept_state = target, copy.deepcopy(model.state_dict())
    model.load_state_dict(kept_state)
    return steps, reached


def symbiotic_train(data: TextDataset, table: Sequence[dict] | LatencyTable,
                    config: SymbioticConfig | None = None, *,
                    map_fn: Callable | None = None, progress: bool = False,
                    trained: dict | None = None,
                    on_event: Callable[[str, dict], None] | None = None,
                    keep_dir: str | os.PathLike | None = None) -> dict:
    """Run both steps (module docstring); returns the candidates' metrics, the plain and
    symbiotic choices and models, and the pruning decisions.  ``map_fn(fn, jobs)`` runs
    ``fn(*job)`` for every job (the candidate trainings): serial by default, Ray tasks in
    ``cluster.latency.ray_starmap``.  ``keep_dir``: each candidate's result is kept there as
    it finishes, and one kept by an earlier call of the same settings is not trained again
    (``train_candidate``); so is each pruning (``kept_pruning``)."""
    config = config or SymbioticConfig()
    table = table if isinstance(table, LatencyTable) else LatencyTable(table, batch=1)
    for cell in config.cell_types:
        missing = [w for w in config.widths if w not in table.widths(cell)]
        if missing:
            raise UserError(f"latency table lacks {cell} widths {missing}; it has "
                            f"{table.widths(cell)}")
    check_latency_target(table, config)   # before any training
    event = on_event or (lambda kind, info: None)
    train_cfg = config.train_config()
    keys = [(c, w) for c in config.cell_types for w in sorted(set(config.widths), reverse=True)]
    keep = kept_candidates(keep_dir, data, train_cfg) if keep_dir is not None else None
    jobs = [(config.spec(c, w), data, train_cfg, keep and keep(config.spec(c, w)))
            for c, w in keys]
    run = map_fn or (lambda fn, jobs: [fn(*job) for job in jobs])
    trained = dict(trained or {})        # candidates trained before (another platform's run)
    untrained = [(k, job) for k, job in zip(keys, jobs) if k not in trained]
    trained.update(zip([k for k, _ in untrained],
                       run(train_candidate, [job for _, job in untrained])))
    results = {k: trained[k] for k in keys}
    event("candidates", {f"{c} {w}": r["val_perplexity"] for (c, w), r in results.items()})
    choice = choose_width(results, table, config)
    event("choice", {k: v for k, v in choice.items() if k != "latency"})
    out = {"config": config.to_dict(),
           "candidates": [{"cell": c, "width": w, **{k: v for k, v in r.items() if k != "state"}}
                          for (c, w), r in results.items()],
           "choice": choice, "models": {}, "trained": results}
    runs = [("symbiotic", choice["symbiotic"], True)]
    if config.prune_plain:
        runs.append(("plain_pruned", choice["plain"], False))
    for name, key, guided in runs:
        model = load_candidate(results[key], data.vocab_size).train()
        kept = keep and kept_pruning(keep_dir, keep(config.spec(*key))[1], config,
                                     choice["limit"])   # the pruning of that candidate
        model, info = prune_for_latency(model, data, table, config, choice["limit"],
                                        guided=guided, progress=progress, keep=kept)
        out["models"][name] = model.eval()
        out[f"{name}_pruning"] = info
        event(name, info)
    out["models"]["plain"] = load_candidate(results[choice["plain"]], data.vocab_size)
    return out
