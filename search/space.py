"""Declarative search spaces over model specs: sampling, encoding, mutation, crossover.

A space is a plain dict (YAML/JSON at the edge) naming a model family and, for each spec
key, either a fixed value or a parameter:

    family: convnet
    params:
      widths:  {list: [8, 16, 32, 64], length: [1, 4]}   # a list of 1..4 widths
      kernels: {list: [1, 3, 5], length: widths}          # same length as widths
      strides: {list: [1, 2], length: widths}
      pool:    {choice: [avg, max, flatten]}
      hidden:  {list: [32, 64], length: [0, 1]}
      bn: true                                            # fixed
    constraints: ["parameters<=50000", "latency_ms<=0.5"]

Any registered family (``synth.models.register_family``) works: the space only maps
parameters to spec keys, so a new space or a new family needs no change to the searchers.
The encoding is fixed-length: a ``choice`` gives its ordinal (numbers) or a one-hot
(strings); a ``list`` gives its length and, per slot up to the maximum length, the ordinal
of the value (1-based, 0 = absent).  Mutation and crossover only produce members of the
space (STEERAGE, arXiv 1912.05831, Sec. 3: evolutionary search over the architecture space).
"""
from __future__ import annotations

import copy
import dataclasses
import json
import math
import operator
import re
from pathlib import Path
from typing import Any

import numpy as np

from synth.config import short_repr
from synth.errors import ConfigError, UserError

COST_METRICS = ("parameters", "flops", "latency_ms", "energy_mj")
HARDWARE_METRICS = ("latency_ms", "energy_mj")      # priced on hwsim's accelerator model
_OPS = {"<=": operator.le, "<": operator.lt, ">=": operator.ge, ">": operator.gt}


# --------------------------------------------------------------------------- parameters
@dataclasses.dataclass(frozen=True)
class Choice:
    """One value out of ``choices`` (numbers are ordered, anything else is categorical)."""
    name: str
    choices: tuple

    @property
    def numeric(self) -> bool:
        return all(isinstance(c, (int, float)) and not isinstance(c, bool) for c in self.choices)

    @property
    def width(self) -> int:
        return 1 if self.numeric or len(self.choices) <= 2 else len(self.choices)

    def sample(self, rng) -> Any:
        return self.choices[rng.integers(len(self.choices))]

    def encode(self, value) -> list[float]:
        i = self.choices.index(value)
        if self.width == 1:
            return [float(i)]
        return [1.0 if j == i else 0.0 for j in range(len(self.choices))]

    def mutate(self, value, rng) -> Any:
        others = [c for c in self.choices if c != value]
        return others[rng.integers(len(others))] if others else value


@dataclasses.dataclass(frozen=True)
class IntList:
    """A list of values from ordered ``choices``; its length is a range or tied to a leader."""
    name: str
    choices: tuple
    min_len: int
    max_len: int
    tied_to: str | None = None      # the list whose length this one follows

    @property
    def width(self) -> int:
        return 1 + self.max_len

    def sample_values(self, n: int, rng) -> list:
        return [self.choices[i] for i in rng.integers(len(self.choices), size=n)]

    def encode(self, value) -> list[float]:
        slots = [float(self.choices.index(v) + 1) for v in value]
        return [float(len(value))] + slots + [0.0] * (self.max_len - len(value))

    def summary(self, value) -> list[float]:
        """log2 of the product, minimum, maximum and last value (0 for an empty list): the
        whole-network quantities a per-slot encoding hides (total stride, narrowest layer,
        final width), so a predictor need not learn them from slot interactions."""
        logs = [math.log2(max(v, 1)) for v in value] or [0.0]
        return [sum(logs), min(logs), max(logs), logs[-1]]

    def step(self, v, rng):
        """A neighbouring value (one rank up or down), the usual small mutation."""
        i = self.choices.index(v)
        moves = [j for j in (i - 1, i + 1) if 0 <= j < len(self.choices)]
        return self.choices[moves[rng.integers(len(moves))]] if moves else v


def _parse_param(name: str, raw: Any, where: str):
    if not isinstance(raw, dict):
        return None  # a fixed value
    keys = set(raw)
    if keys == {"choice"}:
        choices = raw["choice"]
        if not isinstance(choices, list) or not choices:
            raise ConfigError(f"{where}.{name}.choice must be a non-empty list, got {short_repr(choices)}")
        return Choice(name, tuple(choices))
    if keys <= {"list", "length"} and "list" in keys:
        choices = raw["list"]
        if (not isinstance(choices, list) or not choices
                or not all(isinstance(c, int) and not isinstance(c, bool) for c in choices)):
            raise ConfigError(f"{where}.{name}.list must be a non-empty list of integers, "
                              f"got {short_repr(choices)}")
        length = raw.get("length", [1, 1])
        if isinstance(length, str):
            return IntList(name, tuple(sorted(set(choices))), 0, 0, tied_to=length)
        if isinstance(length, int) and not isinstance(length, bool):
            length = [length, length]
        if (not isinstance(length, list) or len(length) != 2
                or not all(isinstance(v, int) for v in length) or not 0 <= length[0] <= length[1]):
            raise ConfigError(f"{where}.{name}.length must be [min, max] with 0 <= min <= max, "
                              f"an integer, or the name of another list; got {short_repr(length)}")
        return IntList(name, tuple(sorted(set(choices))), length[0], length[1])
    raise ConfigError(f"{where}.{name} must be a fixed value, {{choice: [...]}} or "
                      f"{{list: [...], length: ...}}; got keys {sorted(keys)}")


# --------------------------------------------------------------------------- constraints
@dataclasses.dataclass(frozen=True)
class Constraint:
    """``metric op value`` over a candidate's costs, e.g. ``latency_ms<=0.5``."""
    metric: str
    op: str
    value: float

    def ok(self, costs: dict) -> bool:
        if costs.get(self.metric) is None:
            raise UserError(f"constraint {self} needs {self.metric}, which was not measured "
                            f"for this candidate (measured: {', '.join(sorted(costs))})")
        return bool(_OPS[self.op](float(costs[self.metric]), self.value))

    def __str__(self) -> str:
        return f"{self.metric}{self.op}{self.value:g}"


def parse_constraint(text: str) -> Constraint:
    """Parse ``'latency_ms<=0.5'``; a malformed one is a one-line error naming the part."""
    m = re.fullmatch(r"\s*([a-z_]+)\s*(<=|>=|<|>)\s*([-+0-9.eE]+)\s*", str(text))
    if not m:
        raise ConfigError(f"constraint {short_repr(text)} must look like 'METRIC<=VALUE' with METRIC one "
                          f"of {', '.join(COST_METRICS)}")
    metric, op, value = m.groups()
    if metric not in COST_METRICS:
        raise ConfigError(f"constraint metric {short_repr(metric)} unknown; known: {', '.join(COST_METRICS)}")
    try:
        return Constraint(metric, op, float(value))
    except ValueError:
        raise ConfigError(f"constraint value {short_repr(value)} in {short_repr(text)} is not a number") from None


# --------------------------------------------------------------------------- the space
class Space:
    """A search space over one model family (see the module docstring for the format)."""

    def __init__(self, definition: dict, where: str = "space"):
        from synth.models import list_families
        if not isinstance(definition, dict):
            raise ConfigError(f"{where} must be a mapping with keys family, params, constraints")
        unknown = sorted(set(definition) - {"family", "params", "constraints", "name"})
        if unknown:
            raise ConfigError(f"unknown key '{where}.{unknown[0]}'; known: constraints, family, "
                              f"name, params")
        self.definition = copy.deepcopy(definition)
        self.family = definition.get("family")
        if self.family not in list_families():
            raise ConfigError(f"{where}.family must be one of {', '.join(sorted(list_families()))}"
                              f", got {short_repr(self.family)}")
        params = definition.get("params") or {}
        if not isinstance(params, dict):
            raise ConfigError(f"{where}.params must be a mapping of spec keys, got {short_repr(params)}")
        self.fixed: dict[str, Any] = {}
        self.params: list[Choice | IntList] = []
        for name, raw in params.items():
            p = _parse_param(name, raw, f"{where}.params")
            if p is None:
                self.fixed[name] = raw
            else:
                self.params.append(p)
        by_name = {p.name: p for p in self.params}
        for i, p in enumerate(self.params):  # resolve tied lengths to the leader's range
            if isinstance(p, IntList) and p.tied_to is not None:
                lead = by_name.get(p.tied_to)
                if not isinstance(lead, IntList) or lead.tied_to is not None:
                    raise ConfigError(f"{where}.params.{p.name}.length names {short_repr(p.tied_to)}, "
                                      f"which is not a list parameter with its own length")
                self.params[i] = dataclasses.replace(p, min_len=lead.min_len, max_len=lead.max_len)
        self.constraints = [parse_constraint(c) for c in definition.get("constraints") or []]
        # Reject keys the family does not know, once, here (resolve_spec names the key).
        try:
            self.sample(np.random.default_rng(0))
        except UserError as e:
            raise ConfigError(f"{where}: {e}") from None

    # -- groups: a free-length list with the lists tied to it, or a single choice
    def _groups(self) -> list[list]:
        groups, lead_index = [], {}
        for p in self.params:
            if isinstance(p, IntList) and p.tied_to is not None:
                groups[lead_index[p.tied_to]].append(p)
            else:
                lead_index[p.name] = len(groups)
                groups.append([p])
        return groups

    def complete(self, values: dict) -> dict:
        """Spec from parameter values: family + fixed keys + values, defaults filled."""
        from synth.models import resolve_spec
        return resolve_spec({"family": self.family, **copy.deepcopy(self.fixed),
                             **copy.deepcopy(values)})

    def sample(self, rng) -> dict:
        values = {}
        for group in self._groups():
            lead = group[0]
            if isinstance(lead, Choice):
                values[lead.name] = lead.sample(rng)
                continue
            n = int(rng.integers(lead.min_len, lead.max_len + 1))
            for p in group:
                values[p.name] = p.sample_values(n, rng)
        return self.complete(values)

    def contains(self, spec: dict) -> bool:
        try:
            values = {p.name: spec[p.name] for p in self.params}
            if any(spec.get(k) != self.complete({}).get(k) for k in self.fixed):
                return False
        except KeyError:
            return False
        for group in self._groups():
            lead = group[0]
            if isinstance(lead, Choice):
                if values[lead.name] not in lead.choices:
                    return False
                continue
            n = len(values[lead.name])
            if not lead.min_len <= n <= lead.max_len:
                return False
            for p in group:
                if len(values[p.name]) != n or any(v not in p.choices for v in values[p.name]):
                    return False
        return spec.get("family") == self.family

    @property
    def dim(self) -> int:
        return sum(p.width for p in self.params)

    def encode(self, specs: list[dict]) -> np.ndarray:
        """(N, dim) float features; the same layout for every member of the space."""
        rows = []
        for spec in specs:
            row: list[float] = []
            for p in self.params:
                row += p.encode(spec[p.name])
            rows.append(row)
        return np.asarray(rows, dtype=np.float64).reshape(len(rows), self.dim)

    def features(self, specs: list[dict]) -> np.ndarray:
        """Predictor features: the encoding plus each integer list's ``summary``."""
        lists = [p for p in self.params if isinstance(p, IntList)]
        extra = [[f for p in lists for f in p.summary(spec[p.name])] for spec in specs]
        return np.hstack([self.encode(specs),
                          np.asarray(extra, dtype=np.float64).reshape(len(specs), 4 * len(lists))])

    def mutate(self, spec: dict, rng, tries: int = 20) -> dict:
        """One random edit: a new choice, a neighbouring list value, or a layer added or
        removed (tied lists follow).  Always a different member of the space if one exists."""
        groups = self._groups()
        for _ in range(tries):
            values = {p.name: copy.deepcopy(spec[p.name]) for p in self.params}
            group = groups[rng.integers(len(groups))]
            lead = group[0]
            if isinstance(lead, Choice):
                values[lead.name] = lead.mutate(values[lead.name], rng)
            else:
                n = len(values[lead.name])
                moves = ["step"] * (n > 0) + ["add"] * (n < lead.max_len) + ["drop"] * (n > lead.min_len)
                move = moves[rng.integers(len(moves))]
                if move == "step":
                    p = group[rng.integers(len(group))]
                    i = int(rng.integers(n))
                    values[p.name][i] = p.step(values[p.name][i], rng)
                elif move == "add":
                    i = int(rng.integers(n + 1))
                    for p in group:  # copy a neighbour (a new layer like its neighbour) or sample
                        src = values[p.name][min(i, n - 1)] if n else p.sample_values(1, rng)[0]
                        values[p.name].insert(i, src)
                else:
                    i = int(rng.integers(n))
                    for p in group:
                        values[p.name].pop(i)
            child = self.complete(values)
            if spec_key(child) != spec_key(spec):
                return child
        return self.complete(values)

    def crossover(self, a: dict, b: dict, rng) -> dict:
        """Uniform crossover by group: each group (a list with its tied lists) from one parent."""
        values = {}
        for group in self._groups():
            parent = a if rng.random() < 0.5 else b
            for p in group:
                values[p.name] = copy.deepcopy(parent[p.name])
        return self.complete(values)


def spec_key(spec: dict) -> str:
    """Canonical JSON of a spec: the identity used for de-duplication and lookups."""
    return json.dumps(spec, sort_keys=True, separators=(",", ":"))


def load_space(source: str | Path | dict) -> Space:
    """A Space from a dict, a YAML/JSON file, or a built-in name (``convnet_digits``...)."""
    if isinstance(source, dict):
        return Space(source)
    text = str(source)
    if text in BUILTIN_SPACES:
        return Space(BUILTIN_SPACES[text], where=text)
    path = Path(text).expanduser()
    if not path.is_file():
        raise UserError(f"space file not found: {path} (or use a built-in space: "
                        f"{', '.join(sorted(BUILTIN_SPACES))})")
    from synth.files import read_yaml_file
    return Space(read_yaml_file(path, "space file"), where=path.name)


BUILTIN_SPACES: dict[str, dict] = {
    # Small images (digits 8x8, mnist 28x28): 1-4 conv layers, free widths/kernels/strides.
    "convnet": {"family": "convnet", "params": {
        "widths": {"list": [4, 8, 16, 32, 64], "length": [1, 4]},
        "kernels": {"list": [1, 3, 5], "length": "widths"},
        "strides": {"list": [1, 2], "length": "widths"},
        "pool": {"choice": ["avg", "max", "flatten"]},
        "hidden": {"list": [32, 64], "length": [0, 1]},
        "bn": True}},
    "resnet": {"family": "resnet", "params": {
        "depths": {"list": [1, 2, 3], "length": [2, 4]},
        "width": {"choice": [8, 16, 32]}}},
    "mlp": {"family": "mlp", "params": {
        "hidden": {"list": [16, 32, 64, 128, 256, 512], "length": [1, 3]},
        "bn": {"choice": [False, True]}}},
}
