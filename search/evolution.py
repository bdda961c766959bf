"""Evolutionary search over a space, scored by a predictor (never by training).

STEERAGE (arXiv 1912.05831, Sec. 3.3) and Chameleon (arXiv 1812.08934, Sec. 3.3) both
optimize a cheap surrogate (predicted accuracy, or an acquisition function of the GP)
with a genetic algorithm under the resource constraint.  Here: a population seeded with
the best architectures measured so far plus random members; each generation makes children
by crossover (of two tournament winners) and mutation, drops infeasible ones, scores them
in one vectorized predictor call, and keeps the best ``population`` of parents and children.
``evolve`` works on spec dicts (any space, constraints checked per child); ``evolve_rows`` is
the same search on a flat space's numpy rows (``Space.flat``), without a dict per candidate.
"""
from __future__ import annotations

import dataclasses
from typing import Callable

import numpy as np

from search.space import Space, spec_key
from synth.config import Config, check_range


@dataclasses.dataclass(frozen=True)
class EvolutionConfig(Config):
    population: int = 32
    generations: int = 8
    crossover: float = 0.5        # probability that a child comes from crossover
    tournament: int = 3
    max_tries: int = 20           # per random sample before giving up on feasibility

    def validate(self) -> None:
        check_range("population", self.population, 2, 100000, integer=True)
        check_range("generations", self.generations, 0, 10000, integer=True)
        check_range("crossover", self.crossover, 0, 1)
        check_range("tournament", self.tournament, 1, 1000, integer=True)
        check_range("max_tries", self.max_tries, 1, 100000, integer=True)


def sample_feasible(space: Space, feasible: Callable[[dict], bool], rng, n: int,
                    exclude: set[str], max_tries: int = 20,
                    max_infeasible: int | None = None) -> list[dict]:
    """Up to ``n`` distinct random feasible members not in ``exclude``, from at most
    ``n * max_tries`` draws, and with ``max_infeasible`` no more draws once that many were
    judged infeasible (each judgement prices a member: a bound few members meet made nearly
    every draw a wasted ~15-75 ms).  When the random draws find none, a small finite space's
    list of members (``Space.members``) is searched in random order: an empty answer ends a
    search ("nothing new is left"), and random search stopped at 11 of a conditional space's
    14 members with 86 trials of budget left."""
    out, keys, infeasible = [], set(exclude), 0
    for _ in range(n * max_tries):
        if len(out) == n or max_infeasible is not None and infeasible >= max_infeasible:
            break
        spec = space.sample(rng)
        key = spec_key(spec)
        if key in keys:
            continue
        if feasible(spec):
            keys.add(key)
            out.append(spec)
        else:
            infeasible += 1
    members = space.members() if not out else None
    for i in rng.permutation(len(members)) if members else ():
        if len(out) == n:
            break
        key = spec_key(members[i])
        if key not in keys and feasible(members[i]):
            keys.add(key)
            out.append(members[i])
    return out


def evolve(space: Space, score: Callable[[list[dict]], np.ndarray],
           feasible: Callable[[dict], bool], rng, k: int, seeds: list[dict],
           exclude: set[str], config: EvolutionConfig | None = None) -> list[dict]:
    """The ``k`` best-scoring distinct feasible specs found, none of them in ``exclude``."""
    config = config or EvolutionConfig()
    archive: dict[str, tuple[float, dict]] = {}  # every scored candidate

    def add(specs: list[tuple[str, dict]]) -> None:
        fresh = {k: s for k, s in specs if k not in archive}
        if fresh:
            for (k, s), v in zip(fresh.items(), np.asarray(score(list(fresh.values())),
                                                           dtype=float)):
                archive[k] = (float(v), s)

    seeds = [s for s in seeds if feasible(s)][:config.population // 2]
    seed_keys = {spec_key(s) for s in seeds}
    pop = [(spec_key(s), s) for s in seeds + sample_feasible(
        space, feasible, rng, config.population - len(seeds), seed_keys, config.max_tries)]
    add(pop)

    draws: list[list[int]] = []

    def tournament(members: list[tuple[str, dict]]) -> dict:
        if not draws:  # one generator call per generation's tournaments (one each: ~0.5 ms)
            size = (2 * config.population, min(config.tournament, len(members)))
            draws.extend(rng.integers(len(members), size=size).tolist())
        # keys travel with the members: a spec_key per comparison was most of the time
        return max((members[i] for i in draws.pop()), key=lambda m: archive[m[0]][0])[1]

    for _ in range(config.generations):
        draws.clear()      # the population changed: indices into the new one
        children = []
        for _ in range(config.population * config.max_tries):
            if len(children) >= config.population:
                break
            if rng.random() < config.crossover and len(pop) > 1:
                child = space.crossover(tournament(pop), tournament(pop), rng)
                child = space.mutate(child, rng) if rng.random() < 0.5 else child
            else:
                child = space.mutate(tournament(pop), rng)
            if feasible(child):
                children.append((spec_key(child), child))
        add(children)
        merged = dict(pop + children)
        pop = sorted(merged.items(), key=lambda m: archive[m[0]][0],
                     reverse=True)[:config.population]
    ranked = sorted((v for key, v in archive.items() if key not in exclude),
                    key=lambda t: t[0], reverse=True)
    return _fill([s for _, s in ranked[:k]], space, feasible, rng, k, exclude)


def _fill(out: list[dict], space: Space, feasible, rng, k: int, exclude: set[str]) -> list[dict]:
    """``out`` topped up to ``k`` with unseen members from ``sample_feasible`` when the
    evolution met fewer new ones: near the end of a small space the population is all seen
    members, an empty answer ended the search, and chameleon stopped at 94 of a 100-member
    space with 29 trials of budget left."""
    if len(out) < k:
        taken = set(exclude) | {spec_key(s) for s in out}
        out = out + sample_feasible(space, feasible, rng, k - len(out), taken)
    return out


def evolve_rows(space: Space, score: Callable[[np.ndarray], np.ndarray], rng, k: int,
                seeds: list[dict], exclude: set[str],
                config: EvolutionConfig | None = None) -> list[dict]:
    """``evolve`` on a flat space (``Space.flat``, no constraint to check), in numpy: the
    population is one array of rows (``Space.to_rows``), each generation's tournaments,
    crossovers and mutations are a few array operations, and only the ``k`` returned
    members become spec dicts.  The same algorithm as ``evolve`` (seeds plus random members,
    tournament winners recombined and/or mutated, the best ``population`` of parents and
    children kept), not the same random stream; ~10x cheaper per suggestion at 32 x 8."""
    config = config or EvolutionConfig()
    archive: dict[bytes, int] = {}          # row bytes -> index into rows/values
    rows_seen: list[np.ndarray] = []
    values: list[np.ndarray] = []

    def add(rows: np.ndarray) -> np.ndarray:
        """Score the rows not scored before; the archive index of every row."""
        rows = np.ascontiguousarray(rows)
        keys = [r.tobytes() for r in rows]
        fresh: dict[bytes, np.ndarray] = {}
        for key, row in zip(keys, rows):
            if key not in archive and key not in fresh:
                fresh[key] = row
        if fresh:
            block = np.asarray(list(fresh.values()))
            start = sum(len(v) for v in values)
            archive.update({key: start + i for i, key in enumerate(fresh)})
            rows_seen.append(block)
            values.append(np.asarray(score(block), dtype=float).reshape(-1))
        return np.array([archive[key] for key in keys], dtype=int)

    seeds = [s for s in seeds if space.contains(s)][:config.population // 2]  # told: any dict
    start = space.to_rows(seeds) if seeds else np.zeros((0, len(space.params)))
    pop = add(np.vstack([start, space.sample_rows(rng, config.population - len(start))]))
    pop = np.unique(pop)
    for _ in range(config.generations):
        all_values = np.concatenate(values)
        n = config.population
        t = min(config.tournament, len(pop))
        draws = pop[rng.integers(len(pop), size=(2, n, t))]       # tournament entrants
        winners = np.take_along_axis(draws, all_values[draws].argmax(-1)[..., None], -1)[..., 0]
        every = np.concatenate(rows_seen)
        first, second = every[winners[0]], every[winners[1]]
        cross = (rng.random(n) < config.crossover) & (len(pop) > 1)
        children = np.where(cross[:, None], space.crossover_rows(first, second, rng), first)
        mutate = ~cross | (rng.random(n) < 0.5)   # crossover children: half mutated too
        children[mutate] = space.mutate_rows(children[mutate], rng)
        merged = np.unique(np.concatenate([pop, add(children)]))
        all_values = np.concatenate(values)
        pop = merged[np.argsort(-all_values[merged], kind="stable")[:config.population]]
    every, all_values = np.concatenate(rows_seen), np.concatenate(values)
    out: list[dict] = []
    for i in np.argsort(-all_values, kind="stable"):     # best first, built one at a time
        spec = space.from_rows(every[i:i + 1])[0]
        if spec_key(spec) not in exclude:
            out.append(spec)
            if len(out) == k:
                break
    return _fill(out, space, lambda spec: True, rng, k, exclude)
