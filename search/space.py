"""Declarative search spaces: sampling, encoding and decoding, mutation, crossover.

A space is a mapping of named choices, written as a plain dict (YAML/JSON at the edge).
Each entry is a fixed value or a parameter:

    lr:        {float: [1.0e-4, 0.1], log: true}             # a float range, log scale
    units:     {int: [16, 512], log: true}                   # an integer range
    optimizer: {choice: [sgd, adam]}                         # one value out of a list
    momentum:  {float: [0.0, 0.99], when: {optimizer: sgd}}  # only when optimizer is sgd
    widths:    {list: [8, 16, 32, 64], length: [1, 4]}       # a list of 1..4 values
    kernels:   {list: [1, 3, 5], length: widths}             # as long as widths
    bn: true                                                 # fixed

A configuration is a dict with the fixed entries and the active parameters (a parameter
whose ``when`` does not hold is absent).  A model family is one use of it: the same
entries under ``params`` with ``family`` (and optional ``constraints``), and every
configuration is completed to a model spec by ``synth.models.resolve_spec``:

    family: convnet
    params: {widths: {list: [8, 16, 32, 64], length: [1, 4]}, pool: {choice: [avg, max]}}
    constraints: ["parameters<=50000", "latency_ms<=0.5"]

The encoding is fixed-length: a ``choice`` gives its ordinal (numbers, or two values) or a
one-hot; a range gives its value (log10 of it on a log scale); a ``list`` gives its length
and, per slot up to the maximum length, the ordinal of the value (1-based, 0 = absent); an
inactive parameter gives zeros.  ``decode`` inverts it.  A plain range of positive
numbers spanning 3 decades or more (``Range.wide``: a learning rate 1e-6..1 declared
without ``log``), or one from 0 to 999 or more (a count 0..10**6, seen as value + 1), is
encoded as declared, and its predictor features add its log10; a guided searcher draws
half its random candidates for it log-uniformly (``Space.for_proposals``).
Mutation and crossover only produce members of the space (STEERAGE, arXiv 1912.05831,
Sec. 3: evolutionary search over the architecture space).
"""
from __future__ import annotations

import copy
import dataclasses
import functools
import itertools
import json
import math
import operator
import os
import re
from pathlib import Path
from typing import Any

import numpy as np

from synth.config import short_repr
from synth.errors import ConfigError, UserError

COST_METRICS = ("parameters", "flops", "latency_ms", "energy_mj")
HARDWARE_METRICS = ("latency_ms", "energy_mj")      # priced on hwsim's accelerator model
_OPS = {"<=": operator.le, "<": operator.lt, ">=": operator.ge, ">": operator.gt}
_STRUCTURE = {"family", "params", "constraints", "name"}


# --------------------------------------------------------------------------- parameters
@dataclasses.dataclass(frozen=True)
class Choice:
    """One value out of ``choices`` (numbers are ordered, anything else is categorical)."""
    name: str
    choices: tuple
    when: tuple = ()            # ((parent name, allowed values), ...): active when all hold

    @functools.cached_property  # computed once: encode asks for it per value
    def numeric(self) -> bool:
        return all(isinstance(c, (int, float)) and not isinstance(c, bool) for c in self.choices)

    @functools.cached_property
    def width(self) -> int:
        return 1 if self.numeric or len(self.choices) <= 2 else len(self.choices)

    def sample(self, rng) -> Any:
        return self.choices[rng.integers(len(self.choices))]

    @functools.cached_property
    def order(self) -> tuple[int, ...]:
        """The positions of the choices by value (numbers), or as listed (anything else)."""
        n = len(self.choices)
        return tuple(sorted(range(n), key=self.choices.__getitem__) if self.numeric
                     else range(n))

    @functools.cached_property
    def ordinal(self) -> tuple[int, ...]:
        """Each listed choice's ordinal, the single column that encodes it: its rank by value
        for numbers, its position otherwise.  Numbers are ordered by value, not by where
        they are listed: [64, 8, 32] was encoded 0, 1, 2, so a predictor saw 8 between 64
        and 32 (chameleon, 30 trials on a quadratic in four choices of 8 powers of two, 20
        seeds: the optimum found in 0 runs listed shuffled, median best -5, against 14 listed
        sorted; by rank, 14 either way)."""
        out = [0] * len(self.choices)
        for rank, i in enumerate(self.order):
            out[i] = rank
        return tuple(out)

    def encode(self, value) -> list[float]:
        i = self.choices.index(value)
        if self.width == 1:
            return [float(self.ordinal[i])]
        row = [0.0] * len(self.choices)
        row[i] = 1.0
        return row

    def decode(self, x) -> Any:
        if self.width > 1:
            return self.choices[int(np.argmax(x))]
        rank = min(max(int(round(float(x[0]))), 0), len(self.choices) - 1)
        return self.choices[self.order[rank]]

    def valid(self, value) -> bool:
        return _member(value, self.choices)

    def mutate(self, value, rng) -> Any:
        others = [c for c in self.choices if c != value]
        return others[rng.integers(len(others))] if others else value

    def canonical(self, value) -> Any:
        """The listed choice ``value`` is (1.0 or numpy's 1 for a choice 1): one member, one
        configuration."""
        return _listed(value, self.choices)


@dataclasses.dataclass(frozen=True)
class Range:
    """A number in ``[low, high]``: integer or float, uniform or on a log scale."""
    name: str
    low: float
    high: float
    integer: bool = False
    log: bool = False
    when: tuple = ()

    width = 1

    @property
    def wide(self) -> bool:
        """A plain (not log) range spanning ``WIDE_DECADES`` decades or more on its log scale
        (``log_shift``): of positive numbers with high/low >= 10**3 (learning rates 1e-6..1,
        widths 1..4096 written without ``log: true``), or from 0 with high >= 999 (counts
        0..10**6; log10 of 0 is undefined, so such a range is seen as value + 1).  Its
        values between the two lowest decades are ~0.1% of its linear span: uniform draws
        and linear steps almost never reach them, and a predictor reading the value alone
        sees 1 and 10**6 as neighbours of a 10**12 range.  Such a range gets a log10 feature
        beside its value (``Space.features``) and half of a proposal's random draws log-uniform
        (``Space.for_proposals``); it is still encoded, decoded and sampled
        (``Space.sample``) as declared, and mutated on whichever scale moves a value less
        (``log_steps_below``)."""
        if self.log or self.low < 0:
            return False
        shift = self.log_shift
        return (self.low + shift > 0
                and self.high + shift >= 10.0 ** WIDE_DECADES * (self.low + shift))

    @property
    def log_shift(self) -> int:
        """What the log scale of a plain range adds to a value before its log10: 0, or
        ``ZERO_RESOLUTION`` (1) for a range from 0, whose log scale is log10(value + 1): 0
        at 0, then one decade per decade of the value above 1.  1 is an integer range's
        smallest step; a float range takes the same unit, so fractions [0, 1] (dropout) are
        no wide range and [0, 1e5] is one.  A log range (low > 0) adds nothing."""
        return ZERO_RESOLUTION if self.low == 0 and not self.log else 0

    def log_bounds(self) -> tuple[float, float]:
        """The range's ends on its log10 scale (``log_shift`` added)."""
        shift = self.log_shift
        return math.log10(self.low + shift), math.log10(self.high + shift)

    @functools.cached_property
    def log_steps_below(self) -> float:
        """Where a ``wide`` range's mutation changes scale: below it a step of 0.15 of the
        log span (a factor 10**(0.15 decades)) moves a value less than one of 0.15 of the
        linear span does, above it more (1..10**12: 2.4e9; 1e-6..1: 0.022; 1..4096: 249).
        Each value takes the finer of the two, local in its own decade: a linear step took
        1e7 to ~1e11, a log step took 3e11 to 10**12 or 1e10 (half of them, mixed at random,
        made steerage's median best on -((n - 3e11)/1e12)**2 4x worse, 15 seeds).  On a
        range from 0 the factor applies to value + 1 (``log_shift``)."""
        lo, hi = self.log_bounds()
        return 0.15 * (self.high - self.low) / (10.0 ** (0.15 * (hi - lo)) - 1.0) - self.log_shift

    def _unit(self, v: float) -> float:  # the encoded scale: value, or log10 of it
        return math.log10(v) if self.log else float(v)

    def _value(self, u: float, log: bool | None = None):
        """The member at ``u`` on the encoded scale (on the log10 scale with ``log``)."""
        log = self.log if log is None else log
        lo, hi = self.log_bounds() if log else (self.low, self.high)
        u = min(max(u, lo), hi)
        v = 10.0 ** u - self.log_shift if log else u
        v = min(max(v, self.low), self.high)
        return int(round(v)) if self.integer else float(v)

    def sample(self, rng, explore: bool = False):
        """Uniform on the declared scale; with ``explore`` a ``wide`` range draws on the log
        scale half the time."""
        if explore and self.wide and rng.random() < 0.5:
            return self._value(rng.uniform(*self.log_bounds()), True)
        return self._value(rng.uniform(self._unit(self.low), self._unit(self.high)))

    def encode(self, value) -> list[float]:
        return [self._unit(value)]

    def decode(self, x):
        return self._value(float(x[0]))

    def valid(self, value) -> bool:
        """A number in [low, high] (an integer range: an integral one, 3.0 being 3 and 3.5
        none); a NumPy number counts as the number it is, a bool as none."""
        if _is_bool(value) or not isinstance(value, (int, float, np.integer, np.floating)):
            return False
        return bool(self.low <= value <= self.high
                    and (not self.integer or float(value).is_integer()))

    def canonical(self, value):
        """A member's value as the range writes it (``sample``, ``decode``): an int on an
        integer range, a float on a float one.  3.0 and 3 are one value of an integer range;
        written as given, they were two configurations (two ``spec_key``s), so a searcher
        told 3.0 suggested 3 again and ``members`` never counted 3.0 as evaluated."""
        return int(value) if self.integer else float(value)

    def mutate(self, value, rng):
        """A Gaussian step of 0.15 of the (log) span, a different value where one exists
        (a ``wide`` range: on the log scale below ``log_steps_below``)."""
        log = self.log or self.wide and value < self.log_steps_below
        lo, hi = self.log_bounds() if log else (float(self.low), float(self.high))
        u = math.log10(value + self.log_shift) if log else float(value)
        for _ in range(10):
            v = self._value(u + 0.15 * (hi - lo) * rng.standard_normal(), log)
            if v != value:
                return v
        return value


@dataclasses.dataclass(frozen=True)
class IntList:
    """A list of values from ordered ``choices``; its length is a range or tied to a leader."""
    name: str
    choices: tuple
    min_len: int
    max_len: int
    tied_to: str | None = None      # the list whose length this one follows
    when: tuple = ()

    @property
    def width(self) -> int:
        return 1 + self.max_len

    def sample_values(self, n: int, rng) -> list:
        return [self.choices[i] for i in rng.integers(len(self.choices), size=n)]

    def encode(self, value) -> list[float]:
        slots = [float(self.choices.index(v) + 1) for v in value]
        return [float(len(value))] + slots + [0.0] * (self.max_len - len(value))

    def decode_length(self, x) -> int:
        return min(max(int(round(float(x[0]))), self.min_len), self.max_len)

    def decode(self, x, n: int) -> list:
        idx = [min(max(int(round(float(s))), 1), len(self.choices)) - 1 for s in x[1:1 + n]]
        return [self.choices[i] for i in idx]

    def summary(self, value) -> list[float]:
        """log2 of the product, minimum, maximum and last value (0 for an empty list): the
        whole-network quantities a per-slot encoding hides (total stride, narrowest layer,
        final width), so a predictor need not learn them from slot interactions."""
        logs = [math.log2(max(v, 1)) for v in value] or [0.0]
        return [sum(logs), min(logs), max(logs), logs[-1]]

    def canonical(self, value) -> list:
        """Each of a member's values as the listed choice it is (3.0 is the choice 3)."""
        return [_listed(v, self.choices) for v in value]

    def step(self, v, rng):
        """A neighbouring value (one rank up or down), the usual small mutation."""
        i = self.choices.index(v)
        moves = [j for j in (i - 1, i + 1) if 0 <= j < len(self.choices)]
        return self.choices[moves[rng.integers(len(moves))]] if moves else v


def _is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _parse_when(name: str, raw: Any, where: str) -> tuple:
    if raw is None:
        return ()
    if not isinstance(raw, dict) or not raw:
        raise ConfigError(f"{where}.{name}.when must map a choice parameter to its value(s), "
                          f"got {raw!r}")
    for k, v in raw.items():     # when: {opt: []} held for no value: the entry never appeared
        if isinstance(v, list) and not v:
            raise ConfigError(f"{where}.{name}.when.{k} lists no value: give the value(s) of "
                              f"{k!r} under which {name!r} applies")
    return tuple((str(k), tuple(v) if isinstance(v, list) else (v,)) for k, v in raw.items())


def _declares(raw) -> bool:
    """``raw`` is a parameter declaration ({choice: [...]}, {int: [lo, hi]}, ...), not a
    mapping of them (whose values are mappings)."""
    return isinstance(raw, dict) and any(
        k in raw and isinstance(raw[k], list) for k in ("choice", "int", "float", "list"))


def _same_value(v):
    """A value as Python's == sees it (true == 1 == 1.0), for finding a choice given twice:
    the space finds a value by ==, so [1, true] encoded both as the first."""
    if isinstance(v, bool):
        return int(v)
    if isinstance(v, float) and v.is_integer():
        return int(v)
    if isinstance(v, list):
        return [_same_value(x) for x in v]
    if isinstance(v, dict):
        return {str(k): _same_value(x) for k, x in v.items()}
    return v


def _json_value(v, where: str):
    """``v`` as the JSON value a configuration carries: a configuration's identity is its
    JSON (``spec_key``) and the searchers hand it back decoded from that, so a choice of
    tuples reached the objective as lists (``(3, 3)`` came back ``[3, 3]``, not a member of
    the space) and a function or object was a TypeError at the first ask().  NumPy scalars
    become Python numbers (``np.arange`` values are ordinary choices); anything else that is
    not JSON is a one-line ConfigError naming the entry."""
    if isinstance(v, np.generic) and isinstance(v.item(), (bool, int, float, str)):
        v = v.item()
    if isinstance(v, float) and math.isnan(v):
        # NaN equals nothing, itself included: a member holding it was refused by tell()
        raise ConfigError(f"{where} holds NaN, which equals no value (not even itself), so "
                          f"no configuration holding it is a member: give a number, or None")
    if v is None or isinstance(v, (bool, int, float, str)):
        return v
    if isinstance(v, list):
        return [_json_value(x, f"{where}[{i}]") for i, x in enumerate(v)]
    if isinstance(v, dict):
        bad = next((k for k in v if not isinstance(k, str)), None)
        if bad is None:
            return {k: _json_value(x, f"{where}.{k}") for k, x in v.items()}
        what = f"a mapping with the key {bad!r} (JSON keys are strings)"
    elif isinstance(v, tuple):
        what = f"a tuple {short_repr(v)} (it would come back as a list: write a list)"
    else:
        what = f"{short_repr(repr(v), 60)} of type {type(v).__name__}"
    raise ConfigError(f"{where} holds {what}; configurations are JSON values (str, number, "
                      f"bool, None, lists and mappings of them): name the object and map "
                      f"the name to it in the objective")


# Bounds on what a space may declare (a space file is user data): a range's ends are finite
# and exactly representable in the float64 encoding, and a list's encoding has one column
# per slot, so its length is bounded (a length of 10^9 allocated billions per sample).
MAX_RANGE_BOUND = 2 ** 53
MAX_LIST_LENGTH = 256
MAX_MEMBERS = 4096     # a space this small is listed when random draws stop finding new ones
WIDE_DECADES = 3       # a plain range with (high + shift)/(low + shift) >= 10**3 is ``Range.wide``
ZERO_RESOLUTION = 1    # a plain range from 0 is seen on the log scale as value + 1


def _parse_range(name: str, raw: dict, kind: str, where: str) -> Range:
    bounds, log = raw[kind], raw.get("log", False)
    number = _is_int if kind == "int" else (lambda v: _is_int(v) or isinstance(v, float))
    if (not isinstance(bounds, list) or len(bounds) != 2 or not all(number(b) for b in bounds)
            or not all(abs(b) <= MAX_RANGE_BOUND for b in bounds)   # NaN, inf fail too
            or not bounds[0] <= bounds[1] or not isinstance(log, bool) or (log and bounds[0] <= 0)):
        # low == high is one value, a knob pinned as a one-value choice is (it was refused)
        raise ConfigError(f"{where}.{name}.{kind} must be [low, high] with low <= high, both "
                          f"finite and within +-2^53 ({kind} values, low > 0 on a log scale), "
                          f"got {short_repr(bounds)}, log={log!r}")
    return Range(name, bounds[0], bounds[1], integer=kind == "int", log=log,
                 when=_parse_when(name, raw.get("when"), where))


def _parse_param(name: str, raw: Any, where: str):
    if not isinstance(raw, dict):
        return None  # a fixed value
    keys = set(raw) - {"when"}
    when = _parse_when(name, raw.get("when"), where)
    if keys == {"choice"}:
        choices = raw["choice"]
        if not isinstance(choices, list) or not choices:
            raise ConfigError(f"{where}.{name}.choice must be a non-empty list, got {short_repr(choices)}")
        seen = [json.dumps(_same_value(c), sort_keys=True, default=repr) for c in choices]
        if len(set(seen)) != len(seen):
            raise ConfigError(f"{where}.{name}.choice lists a value twice: {short_repr(choices)} "
                              f"(each value once, and 1, 1.0 and true are one value: a "
                              f"configuration is encoded by its position)")
        return Choice(name, tuple(choices), when=when)
    for kind in ("int", "float"):
        if kind in keys and keys <= {kind, "log"}:
            return _parse_range(name, raw, kind, where)
    if keys <= {"list", "length"} and "list" in keys:
        choices = raw["list"]
        if not isinstance(choices, list) or not choices or not all(_is_int(c) for c in choices):
            raise ConfigError(f"{where}.{name}.list must be a non-empty list of integers, "
                              f"got {short_repr(choices)}")
        length = raw.get("length", [1, 1])
        if isinstance(length, str):
            if when:
                raise ConfigError(f"{where}.{name}: a list tied to {length!r} follows its "
                                  f"condition; 'when' belongs on {length!r}")
            return IntList(name, tuple(sorted(set(choices))), 0, 0, tied_to=length)
        if _is_int(length):
            length = [length, length]
        if (not isinstance(length, list) or len(length) != 2
                or not all(_is_int(v) for v in length)
                or not 0 <= length[0] <= length[1] <= MAX_LIST_LENGTH):
            raise ConfigError(f"{where}.{name}.length must be [min, max] with 0 <= min <= max "
                              f"<= {MAX_LIST_LENGTH}, "
                              f"an integer, or the name of another list; got {short_repr(length)}")
        return IntList(name, tuple(sorted(set(choices))), length[0], length[1], when=when)
    raise ConfigError(f"{where}.{name} must be a fixed value, {{choice: [...]}}, {{int: [low, "
                      f"high]}}, {{float: [low, high]}} (with log: true|false) or {{list: [...], "
                      f"length: ...}}, each with an optional when: {{...}}; got keys "
                      f"{sorted(set(raw))}")


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
    """Parse ``'latency_ms<=0.5'``; a malformed one is a one-line error that quotes it as
    typed and names the part: the metric, the comparison or the value."""
    shape = f"must look like 'METRIC<=VALUE' with METRIC one of {', '.join(COST_METRICS)}"
    m = re.fullmatch(r"\s*(\S*?)\s*(<=|>=|<|>)\s*(.*?)\s*", str(text))
    if not m or not m.group(1):
        raise ConfigError(f"constraint {short_repr(text)} {shape}")
    metric, op, value = m.groups()
    said = f"constraint {short_repr(text)}"
    if metric not in COST_METRICS:
        raise ConfigError(f"{said}: metric {short_repr(metric)} unknown; known: "
                          f"{', '.join(COST_METRICS)}")
    try:
        number = float(value)
    except ValueError:
        number = None
    # 'nan', 'inf' and 1e999 parsed as floats: every comparison with nan is False (no
    # candidate could meet it) and an infinite bound holds for every candidate
    if number is None or not math.isfinite(number):
        raise ConfigError(f"{said}: value {short_repr(value)} is not a finite number")
    if op[0] == "<" and (number < 0 or number == 0 and op == "<"):   # costs are >= 0
        raise ConfigError(f"{said} holds for no candidate: {metric} is never below 0")
    return Constraint(metric, op, number)


# --------------------------------------------------------------------------- the space
def _families() -> dict:
    from synth.models import list_families
    return list_families()


class Space:
    """A search space: a mapping of named choices, with or without a model family (see the
    module docstring for the format).  ``check_family``: False reads the definition alone,
    its family a name not looked up, its ranges not checked against the family's, in
    ``synth.models``' registry (which imports torch): what a finished search's summary reads
    of its saved space (its constraints, ``count_members``) needs neither.  Such a space is
    for reading; the search that runs loads its space checked."""

    def __init__(self, definition: dict, where: str = "space", *, check_family: bool = True):
        if not isinstance(definition, dict):
            raise ConfigError(f"{where} must be a mapping of named choices (or of family, "
                              f"params, constraints), got {type(definition).__name__}")
        self.definition = copy.deepcopy(definition)
        structured = "params" in definition or "family" in definition
        if structured:
            # a plain space's parameter named family, params, name or constraints made it
            # a model family's space: {params: {int: [1, 5]}} became a space fixing 'int' to
            # [1, 5], and {name: {choice: [a, b]}, params: ...} dropped the choice 'name'
            clash = next((k for k in sorted(_STRUCTURE) if _declares(definition.get(k))), None)
            if clash is not None:
                has = "params" if "params" in definition else "family"
                raise ConfigError(f"{where}.{clash} declares a parameter, but family, params, "
                                  f"name and constraints are the keys of a model family's "
                                  f"space (which {where} is, as it has {has}): rename the "
                                  f"parameter")
            if not isinstance(definition.get("name", ""), str):
                raise ConfigError(f"{where}.name must be a string (the space's name), got "
                                  f"{short_repr(definition['name'])}")
            unknown = sorted(set(definition) - _STRUCTURE)
            if unknown:
                raise ConfigError(f"unknown key '{where}.{unknown[0]}'; known: constraints, "
                                  f"family, name, params")
            params, prefix = definition.get("params") or {}, f"{where}.params"
        else:
            params, prefix = definition, where
        self.family = definition.get("family") if structured else None
        if structured and (self.family is not None or "params" not in definition):
            if not isinstance(self.family, str) or check_family and self.family not in \
                    _families():
                raise ConfigError(f"{where}.family must be one of "
                                  f"{', '.join(sorted(_families()))}, got {short_repr(self.family)}")
        if not isinstance(params, dict):
            raise ConfigError(f"{prefix} must be a mapping of named choices, got {short_repr(params)}")
        self.fixed: dict[str, Any] = {}
        self.params: list[Choice | Range | IntList] = []
        names: dict[str, Any] = {}
        for name, raw in params.items():
            if str(name) in names:   # {1: ..., "1": ...}: the first entry silently vanished
                raise ConfigError(f"{prefix} names {str(name)!r} twice ({names[str(name)]!r} "
                                  f"and {name!r}): a configuration's keys are strings")
            names[str(name)] = name
            raw = _json_value(raw, f"{prefix}.{name}")
            p = _parse_param(str(name), raw, prefix)
            if p is None:
                self.fixed[str(name)] = raw
            else:
                self.params.append(p)
        by_name = {p.name: p for p in self.params}
        for i, p in enumerate(self.params):  # resolve tied lengths to the leader's range
            if isinstance(p, IntList) and p.tied_to is not None:
                lead = by_name.get(p.tied_to)
                if not isinstance(lead, IntList) or lead.tied_to is not None:
                    raise ConfigError(f"{prefix}.{p.name}.length names {short_repr(p.tied_to)}, "
                                      f"which is not a list parameter with its own length")
                self.params[i] = dataclasses.replace(p, min_len=lead.min_len,
                                                     max_len=lead.max_len, when=lead.when)
        # a list tied to one declared after it ({kernels: {length: widths}, widths: ...})
        # follows its leader: it was a KeyError traceback at the first sample (and from
        # `nnsynth search --space`); the lists declared after their leader keep their place
        placed: set[str] = set()
        waiting: dict[str, list] = {}
        order: list = []
        for p in self.params:
            if isinstance(p, IntList) and p.tied_to is not None and p.tied_to not in placed:
                waiting.setdefault(p.tied_to, []).append(p)
                continue
            order.append(p)
            placed.add(p.name)
            order += waiting.pop(p.name, [])
        self.params = order
        seen: dict[str, Any] = {}
        for p in self.params:  # a condition names a choice declared before it
            for parent, allowed in p.when:
                q = seen.get(parent)
                # _member: true is no value of the choice [1, 2] (it held for o == 1)
                if not isinstance(q, Choice) or not all(_member(a, q.choices) for a in allowed):
                    raise ConfigError(f"{prefix}.{p.name}.when names {parent}={list(allowed)!r}"
                                      f"; expected a choice parameter declared before "
                                      f"{p.name!r} and some of its values")
            seen[p.name] = p
        raw = (definition.get("constraints") or []) if structured else []
        if isinstance(raw, str):    # one constraint written without the list
            raw = [raw]
        if not isinstance(raw, list):   # constraints: 5 was a TypeError (not iterable)
            raise ConfigError(f"{where}.constraints must be a list like ['latency_ms<=0.5'], got "
                              f"{short_repr(raw)}")
        self.constraints = []
        for i, text in enumerate(raw):   # a bad one named the constraint, not the space file
            try:
                self.constraints.append(parse_constraint(text))
            except ConfigError as e:
                raise ConfigError(f"{where}.constraints[{i}]: {e}") from None
        if self.constraints and self.family is None:
            raise ConfigError(f"{where}.constraints price a model: they need {where}.family")
        if self.family is not None and check_family:   # reject keys the family does not
            # know, once, here
            self._check_family_ranges(prefix)
            try:
                self.sample(np.random.default_rng(0))
            except UserError as e:
                raise ConfigError(f"{where}: {e}") from None

    def _check_family_ranges(self, prefix: str) -> None:
        """Every value a range, choice or list can give within the family's range for its key
        (``synth.models.check_in_range``): {float: [0.0, 1.5]} of mlp's dropout was accepted,
        and its members above 1 failed to build, skipped without a word by the searcher; a
        list's values one by one (convnet kernels {list: [0, 3]}: 0 is no kernel size)."""
        from synth.models import check_in_range
        for p in self.params:
            ends = ((p.low, p.high) if isinstance(p, Range) else
                    p.choices if isinstance(p, Choice) else [[v] for v in p.choices])
            for v in ends:
                outside = check_in_range(self.family, p.name, v)
                if outside:
                    given = (f"range [{p.low:g}, {p.high:g}]" if isinstance(p, Range)
                             else f"choice {short_repr(v)}" if isinstance(p, Choice)
                             else f"list value {short_repr(v[0])}")
                    raise ConfigError(f"{prefix}.{p.name}: {given} reaches outside what family "
                                      f"{self.family} accepts: {p.name} {outside}")
        for name, v in self.fixed.items():
            outside = check_in_range(self.family, name, v)
            if outside:
                raise ConfigError(f"{prefix}.{name}: fixed value {short_repr(v)} is outside what "
                                  f"family {self.family} accepts: {name} {outside}")

    _explore = False    # sample as declared (``for_proposals``: explore wide ranges)

    @functools.cached_property
    def wide_ranges(self) -> tuple[Range, ...]:
        """The ``Range.wide`` parameters (plain ranges of 3 decades or more), in order."""
        return tuple(p for p in self.params if isinstance(p, Range) and p.wide)

    def for_proposals(self) -> "Space":
        """The space a guided searcher draws its candidates from: this one, but a
        ``Range.wide`` range sampled log-uniformly half the time (``sample``,
        ``sample_rows``).  Drawn uniformly as declared, 10 of 12 decades of a range 1..10**12
        never came up (the values below 10**10 are 1% of it), so no candidate a predictor
        could rank there existed.  Members, encodings and features are the same; a space
        without a wide range is returned itself."""
        if not self.wide_ranges:
            return self
        out = copy.copy(self)
        out._explore = True
        return out

    # -- groups: a free-length list with the lists tied to it, or a single parameter
    def _groups(self) -> list[list]:
        cached = self.__dict__.get("_groups_cache")
        if cached is None:  # the parameters never change: build once (mutate asks twice)
            cached = self._groups_cache = self._build_groups()
        return cached

    def _build_groups(self) -> list[list]:
        groups, lead_index = [], {}
        for p in self.params:
            if isinstance(p, IntList) and p.tied_to is not None:
                groups[lead_index[p.tied_to]].append(p)
            else:
                lead_index[p.name] = len(groups)
                groups.append([p])
        return groups

    @staticmethod
    def _active(p, values: dict) -> bool:
        return all(parent in values and values[parent] in allowed for parent, allowed in p.when)

    @functools.cached_property
    def _conditional(self) -> bool:
        return any(p.when for p in self.params)

    def active_values(self, spec: dict) -> dict:
        """The values of ``spec``'s active parameters (those given whose ``when`` holds, in
        declaration order).  A model family fills in an inactive entry with its default
        (dropout 0.0 while the condition that searches it is false): that value is the
        family's, not the parameter's, and is neither encoded nor mutated as one."""
        if not self._conditional:
            return {p.name: spec[p.name] for p in self.params if p.name in spec}
        values: dict[str, Any] = {}
        for when, names in self._group_conditions:
            if when and not all(k in values and values[k] in allowed for k, allowed in when):
                continue
            for name in names:
                if name in spec:
                    values[name] = spec[name]
        return values

    @functools.cached_property
    def _group_conditions(self) -> list[tuple[tuple, tuple[str, ...]]]:
        """Each group's condition and names (``_active`` on the group's lead), built once:
        ``active_values`` runs for every candidate a searcher scores."""
        return [(group[0].when, tuple(p.name for p in group)) for group in self._groups()]

    def _given(self, specs: list[dict]) -> list[dict]:
        """What ``encode``, ``features`` and ``choice_counts`` read of each spec: its active
        values on a conditional space (resolved once per spec, not once per use: each of the
        three resolved them again, up to three times a candidate), else the spec itself."""
        return [self.active_values(s) for s in specs] if self._conditional else specs

    def _sample_group(self, group: list, values: dict, rng) -> None:
        lead = group[0]
        if isinstance(lead, Range) and self._explore:
            values[lead.name] = lead.sample(rng, explore=True)
            return
        if not isinstance(lead, IntList):
            values[lead.name] = lead.sample(rng)
            return
        n = int(rng.integers(lead.min_len, lead.max_len + 1))
        for p in group:
            values[p.name] = p.sample_values(n, rng)

    def _repair(self, values: dict, rng) -> dict:
        """Drop inactive parameters and sample active ones that are missing (in order, so a
        changed choice switches its conditional entries on or off)."""
        out: dict[str, Any] = {}
        for group in self._groups():
            if not self._active(group[0], out):
                continue
            if all(p.name in values for p in group):
                out.update({p.name: values[p.name] for p in group})
            else:
                self._sample_group(group, out, rng)
        return out

    def all_constraints(self, given) -> list:
        """The space's own constraints and ``given`` ones (parsed ``Constraint``s), each once:
        both hold (a --constraint used to drop the space file's 'parameters<=...')."""
        return list(self.constraints) + [c for c in given if c not in self.constraints]

    def complete(self, values: dict) -> dict:
        """Configuration from parameter values: the fixed entries plus the values; with a
        model family, the spec with the family's defaults filled in."""
        config = {**(copy.deepcopy(self.fixed) if self.fixed else {}), **_copy_values(values)}
        if self.family is None:
            return config
        from synth.models import resolve_spec
        return resolve_spec({"family": self.family, **config})

    def sample(self, rng) -> dict:
        values: dict[str, Any] = {}
        for group in self._groups():
            if self._active(group[0], values):
                self._sample_group(group, values, rng)
        return self.complete(values)

    @functools.cached_property
    def _fixed_values(self) -> dict:
        """The values a member's fixed entries must have: as fixed, or with a model family
        as its spec resolves them (read only: ``canonical`` copies them).  Built once: it
        was resolved again for every candidate checked (59,040 of a tabular benchmark)."""
        return self.complete({}) if self.family is not None else self.fixed

    def contains(self, spec: dict) -> bool:
        return self.mismatch(spec) is None

    def canonical(self, spec: dict) -> dict:
        """A member (``mismatch`` None) written as the space writes its members: the
        parameters' values as ``sample`` and ``decode`` make them (an integer range's 3.0 is
        3, a float range's 1 is 1.0, a choice's 1.0 or NumPy 1 is the listed 1) and fixed
        entries as the space fixes them.  Equal members then have one ``spec_key``: what a
        searcher records a told or candidate configuration under (3.0 and 3 were two
        configurations, so 3 was suggested and evaluated again after 3.0 was told).  A copy;
        other keys as given."""
        out = dict(spec)
        defaults = self._fixed_values
        if self.family is not None:   # every key the family resolves, as a member has it
            out.update({k: copy.deepcopy(v) for k, v in defaults.items()
                        if k not in self._param_names})
        elif self.fixed:
            out.update({k: copy.deepcopy(defaults[k]) for k in self.fixed if k in out})
        active = self.active_values(spec)
        for p in self.params:
            if p.name in active:
                out[p.name] = p.canonical(out[p.name])
            elif self.family is not None:   # inactive: the family's default fills it in
                out[p.name] = copy.deepcopy(defaults[p.name])
        return out

    @functools.cached_property
    def _param_names(self) -> frozenset:
        return frozenset(p.name for p in self.params)

    def mismatch(self, spec) -> str | None:
        """Why ``spec`` is not a member of the space, naming the key and the value (None for
        a member): what a caller handing a configuration in (``tell``, ``candidates``) is
        told, instead of a ValueError from an encoding later."""
        if not isinstance(spec, dict):
            return f"a configuration is a mapping of named values, got {short_repr(repr(spec), 80)}"
        if self.family is not None and spec.get("family") != self.family:
            return f"family is {short_repr(spec.get('family'))}, the space's is {self.family!r}"
        defaults = self._fixed_values
        for k in self.fixed:
            if k not in spec or not _same(spec[k], defaults.get(k)):
                got = short_repr(spec[k]) if k in spec else "missing"
                return f"{k} is fixed to {short_repr(defaults.get(k))} in the space, got {got}"
        values: dict[str, Any] = {}
        for group in self._groups():
            lead = group[0]
            if not self._active(lead, values):
                # a family fills an inactive entry in with its default: that one may be given
                given = next((p.name for p in group if p.name in spec and (
                    self.family is None or not _same(spec[p.name], defaults[p.name]))), None)
                if given is not None:
                    cond = ", ".join(f"{k} in {list(v)!r}" for k, v in lead.when)
                    return (f"{given} = {short_repr(spec[given])} is given, but it applies only "
                            f"when {cond}")
                continue
            missing = next((p.name for p in group if p.name not in spec), None)
            if missing is not None:
                return f"{missing} is missing"
            if not isinstance(lead, IntList):
                if not lead.valid(spec[lead.name]):
                    return f"{lead.name} = {short_repr(spec[lead.name])} is not {_allowed(lead)}"
            else:
                bad = next((p.name for p in group if not isinstance(spec[p.name], list)), None)
                if bad is not None:
                    return f"{bad} = {short_repr(spec[bad])} is not a list"
                n = len(spec[lead.name])
                if not lead.min_len <= n <= lead.max_len:
                    return (f"{lead.name} has {n} values; its length is in [{lead.min_len}, "
                            f"{lead.max_len}]")
                for p in group:
                    if len(spec[p.name]) != n:
                        return (f"{p.name} has {len(spec[p.name])} values; it is as long as "
                                f"{lead.name} ({n})")
                    v = next((v for v in spec[p.name] if not _member(v, p.choices)), _MISSING)
                    if v is not _MISSING:
                        return (f"{p.name} holds {short_repr(v)}, not one of "
                                f"{short_repr(list(p.choices))}")
            values.update({p.name: spec[p.name] for p in group})
        if self.family is None:
            extra = [k for k in spec if k not in self.fixed and k not in values]
            if extra:
                return f"{short_repr(extra[0])} is not a key of the space"
            return None
        # the keys the family resolves and the space does not search: as every member has
        # them (left out, the family's default is meant: canonical fills it in)
        for k, v in spec.items():
            if k == "family" or k in self.fixed or k in self._param_names:
                continue
            if k not in defaults:
                return (f"{short_repr(k)} is not a key of the space (a {self.family} spec has "
                        f"{', '.join(sorted(set(defaults) - {'family'}))})")
            if not _same(v, defaults[k]):
                return (f"{k} is not searched by the space: every member has the "
                        f"{self.family} family's {short_repr(defaults[k])}, got {short_repr(v)}")
        return None

    def members(self, limit: int = MAX_MEMBERS) -> list[dict] | None:
        """Every configuration of a finite space (no float range) of at most ``limit``
        members (counted without the conditions, which only remove members), in a fixed
        order; None for any other space.  A random sampler that stops finding new members
        of a small space is not proof that none are left (a member under two conditions is
        drawn 1 time in 32): ``search.evolution.sample_feasible`` looks here then."""
        cached = self.__dict__.setdefault("_members_cache", {})
        if limit not in cached:
            cached[limit] = self._enumerate(limit)
        return cached[limit]

    def count_members(self, limit: int = MAX_MEMBERS) -> int | None:
        """``len(self.members(limit))`` (None where that is None), counted without making
        each member's spec (a family's defaults, from ``synth.models``)."""
        values = self._enumerate(limit, complete=False)
        return None if values is None else len(values)

    def _enumerate(self, limit: int, complete: bool = True) -> list[dict] | None:
        bound, options = 1, []
        for group in self._groups():
            lead = group[0]
            if isinstance(lead, Range):
                if not lead.integer:
                    return None
                values = [{lead.name: v} for v in range(int(lead.low), int(lead.high) + 1)
                          ] if lead.high - lead.low < limit else None
            elif isinstance(lead, Choice):
                values = [{lead.name: c} for c in lead.choices]
            else:
                count = sum(math.prod(len(p.choices) ** n for p in group)
                            for n in range(lead.min_len, lead.max_len + 1))
                values = None if count > limit else [
                    dict(zip([p.name for p in group], [list(t[i::len(group)]) for i in
                                                       range(len(group))]))
                    for n in range(lead.min_len, lead.max_len + 1)
                    for t in itertools.product(*[p.choices for p in group] * n)]
            if values is None or bound * len(values) > limit:
                return None
            bound *= len(values)
            options.append(values)
        out: list[dict] = []

        def walk(i: int, values: dict) -> None:
            if i == len(options):
                out.append(self.complete(values) if complete else values)
            elif not self._active(self._groups()[i][0], values):
                walk(i + 1, values)
            else:
                for v in options[i]:
                    walk(i + 1, {**values, **v})
        walk(0, {})
        return out

    @functools.cached_property
    def dim(self) -> int:
        return sum(p.width for p in self.params)

    def encode(self, specs: list[dict]) -> np.ndarray:
        """(N, dim) float features; the same layout for every member of the space."""
        return self._encode(self._given(specs))

    def _encode(self, given: list[dict]) -> np.ndarray:
        """``encode`` of specs already resolved by ``_given``."""
        rows = []
        for values in given:
            row: list[float] = []
            for p in self.params:
                row += p.encode(values[p.name]) if p.name in values else [0.0] * p.width
            rows.append(row)
        return np.asarray(rows, dtype=np.float64).reshape(len(rows), self.dim)

    def decode(self, x) -> dict:
        """The configuration an encoded row stands for (``decode(encode([c])[0]) == c``);
        a row off the grid (a predictor's optimum, say) goes to the nearest member."""
        x = np.asarray(x, dtype=np.float64).reshape(-1)
        if x.shape != (self.dim,):
            raise UserError(f"an encoded row of this space has {self.dim} values, got {x.shape}")
        offsets = np.cumsum([0] + [p.width for p in self.params])
        cols = {p.name: x[offsets[i]:offsets[i + 1]] for i, p in enumerate(self.params)}
        values: dict[str, Any] = {}
        for group in self._groups():
            lead = group[0]
            if not self._active(lead, values):
                continue
            if isinstance(lead, IntList):
                n = lead.decode_length(cols[lead.name])
                values.update({p.name: p.decode(cols[p.name], n) for p in group})
            else:
                values[lead.name] = lead.decode(cols[lead.name])
        return self.complete(values)

    def features(self, specs: list[dict], choice_counts: bool = False) -> np.ndarray:
        """Predictor features: the encoding plus each integer list's ``summary`` and the
        log10 of each ``wide_ranges`` value (a range of many decades declared without
        ``log``: the predictor gets both scales, the objective's shape decides); with
        ``choice_counts``, ``choice_counts``' columns after them (each spec's active values
        resolved once for all three)."""
        given = self._given(specs)
        lists = [p for p in self.params if isinstance(p, IntList)]
        extra = [[f for p in lists for f in p.summary(values.get(p.name, []))]
                 for values in given]
        parts = [self._encode(given),
                 np.asarray(extra, dtype=np.float64).reshape(len(specs), 4 * len(lists))]
        if self.wide_ranges:   # log10 of each wide range's value (0 while inactive)
            parts.append(np.asarray([[math.log10(values[p.name] + p.log_shift)
                                      if p.name in values else 0.0
                                      for p in self.wide_ranges] for values in given],
                                    dtype=np.float64).reshape(len(specs), -1))
        if choice_counts:
            parts.append(self._choice_counts(given))
        return np.hstack(parts)

    def count_sets(self) -> list[tuple[tuple, list[str]]]:
        """The shared choice sets ``choice_counts`` counts, in its column order."""
        return list(self._shared_choices)

    @functools.cached_property
    def _shared_choices(self) -> list[tuple[tuple, list[str]]]:
        """Choice sets that two or more categorical parameters share: (choices, names)."""
        sets: dict[tuple, tuple[tuple, list[str]]] = {}
        for p in self.params:
            if isinstance(p, Choice) and p.width > 1:
                # by _value_key: choices of lists or mappings are unhashable (a TypeError at
                # localbo's first fit), and (True, 'x') is not the set (1, 'x')
                key = tuple(_value_key(c) for c in p.choices)
                sets.setdefault(key, (p.choices, []))[1].append(p.name)
        return [(c, names) for c, names in sets.values() if len(names) > 1]

    def choice_counts(self, specs: list[dict]) -> np.ndarray:
        """How many parameters take each value of a shared choice set (a cell's operations:
        how many 3x3 convolutions, how many skips), one column per value of each set that two
        or more categorical parameters share; (N, 0) when none do.  The count of an
        operation is what a cell's accuracy depends on most, wherever it sits (White et al.,
        arXiv 2005.02960, compare encodings of the same cells), and a GP on the one-hot
        positions alone needs many points to learn that."""
        return self._choice_counts(self._given(specs) if self._shared_choices else specs)

    def _choice_counts(self, given: list[dict]) -> np.ndarray:
        """``choice_counts`` of specs already resolved by ``_given``."""
        cols = []
        for choices, names in self._shared_choices:
            index = {_value_key(c): i for i, c in enumerate(choices)}
            block = np.zeros((len(given), len(choices)))
            for r, values in enumerate(given):
                for name in names:
                    if name in values:
                        block[r, index[_value_key(values[name])]] += 1.0
            cols.append(block)
        return np.hstack(cols) if cols else np.zeros((len(given), 0))

    def feature_groups(self) -> np.ndarray:
        """For each column of ``features``, a group index: the one-hot columns of a
        categorical choice share one (a predictor then has one lengthscale per categorical
        parameter, a Hamming-distance kernel on it); every other column is its own."""
        groups: list[int] = []
        for p in self.params:
            shared = isinstance(p, Choice) and p.width > 1
            groups += [len(groups)] * p.width if shared else list(range(len(groups),
                                                                        len(groups) + p.width))
        lists = sum(isinstance(p, IntList) for p in self.params)
        rest = 4 * lists + len(self.wide_ranges)    # list summaries, wide ranges' log10
        return np.asarray(groups + list(range(len(groups), len(groups) + rest)), dtype=int)

    # -- rows: a flat space's members as numbers, for numpy-speed evolution
    @functools.cached_property
    def flat(self) -> bool:
        """No model family, and every parameter a ``choice`` or a range without ``when``: a
        member is a row of numbers (a choice's index, a range's value), so a population is
        one array that ``search.evolution`` samples, mutates and recombines in numpy (a
        spec dict per candidate costs ~0.1 ms in Python: most of a suggestion)."""
        return self.family is None and all(isinstance(p, (Choice, Range)) and not p.when
                                           for p in self.params)

    def _check_flat(self) -> None:
        if not self.flat:
            raise UserError("rows need a flat space (no family, lists or 'when' conditions)")

    def to_rows(self, specs: list[dict]) -> np.ndarray:
        """(N, parameters) rows: a choice's index, a range's value."""
        self._check_flat()
        return np.asarray([[p.choices.index(s[p.name]) if isinstance(p, Choice) else s[p.name]
                            for p in self.params] for s in specs],
                          dtype=np.float64).reshape(len(specs), len(self.params))

    def from_rows(self, rows) -> list[dict]:
        """The configurations that rows stand for (``from_rows(to_rows(c)) == c``)."""
        self._check_flat()
        cast = [(lambda v, p=p: p.choices[int(v)]) if isinstance(p, Choice) else
                (lambda v: int(round(v))) if p.integer else float for p in self.params]
        return [self.complete({p.name: f(v) for p, f, v in zip(self.params, cast, row)})
                for row in np.asarray(rows).tolist()]

    def _row_ranges(self) -> list[tuple[int, Range]]:
        return [(j, p) for j, p in enumerate(self.params) if isinstance(p, Range)]

    def _range_values(self, p: Range, u: np.ndarray, log: bool | None = None) -> np.ndarray:
        """``Range._value`` on an array of encoded values (on the log10 scale with ``log``):
        clipped, integer-rounded."""
        log = p.log if log is None else log
        lo, hi = p.log_bounds() if log else (p.low, p.high)
        v = np.clip(u, lo, hi)
        v = np.clip(10.0 ** v - p.log_shift if log else v, p.low, p.high)
        return np.round(v) if p.integer else v

    def sample_rows(self, rng, n: int) -> np.ndarray:
        """``n`` random members as rows (as ``sample``: uniform, a wide range of a
        ``for_proposals`` space log-uniform in half the rows)."""
        self._check_flat()
        rows = np.empty((n, len(self.params)))
        for j, p in enumerate(self.params):
            if isinstance(p, Choice):
                rows[:, j] = rng.integers(len(p.choices), size=n)
            else:
                rows[:, j] = self._range_values(p, rng.uniform(p._unit(p.low), p._unit(p.high), n))
                if self._explore and p.wide:
                    log = rng.random(n) < 0.5
                    rows[log, j] = self._range_values(p, rng.uniform(
                        *p.log_bounds(), int(log.sum())), log=True)
        return rows

    def mutate_rows(self, rows, rng) -> np.ndarray:
        """One random edit per row (as ``mutate``): a parameter with more than one value
        picked uniformly, a choice moved to another value, a range stepped by a Gaussian of
        0.15 of its (log) span (an integer step that rounds back moves by one instead)."""
        self._check_flat()
        rows = np.array(rows, dtype=np.float64, copy=True)
        movable = np.flatnonzero([len(p.choices) > 1 if isinstance(p, Choice) else p.low < p.high
                                  for p in self.params])
        if not len(rows) or not len(movable):
            return rows
        cols = movable[rng.integers(len(movable), size=len(rows))]
        for j in np.unique(cols):
            at = np.flatnonzero(cols == j)
            p, old = self.params[j], rows[at, j]
            if isinstance(p, Choice):   # one of the k - 1 other indices, uniformly
                k = len(p.choices)
                rows[at, j] = (old + 1 + rng.integers(k - 1, size=len(at))) % k
                continue
            lo, hi = p._unit(p.low), p._unit(p.high)
            units = np.log10(old) if p.log else old
            new = self._range_values(p, units + 0.15 * (hi - lo) * rng.standard_normal(len(at)))
            if p.wide:                  # low values step on the log scale (Range.mutate)
                log = old < p.log_steps_below
                lo, hi = p.log_bounds()
                units = np.log10(old[log] + p.log_shift)
                new[log] = self._range_values(p, units + 0.15 * (hi - lo)
                                              * rng.standard_normal(int(log.sum())), log=True)
            if p.integer:               # a step that rounded back: one up or down instead
                same = new == old
                up = np.where(old + 1 <= p.high, old + 1, old - 1)
                down = np.where(old - 1 >= p.low, old - 1, old + 1)
                new[same] = np.where(rng.random(int(same.sum())) < 0.5, up[same], down[same])
            rows[at, j] = new
        return rows

    def crossover_rows(self, a, b, rng) -> np.ndarray:
        """Uniform crossover: each parameter from either parent (as ``crossover``)."""
        a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
        return np.where(rng.random(a.shape) < 0.5, a, b)

    def row_features(self, rows) -> np.ndarray:
        """``features`` of the members that rows stand for, without building them: a
        choice's ordinal or one-hot, a range's (log10) value, a wide range's log10."""
        self._check_flat()
        rows = np.asarray(rows, dtype=np.float64)
        cols = []
        for j, p in enumerate(self.params):
            if isinstance(p, Range):
                cols.append((np.log10(rows[:, j]) if p.log else rows[:, j])[:, None])
            elif p.width == 1:   # the ordinal (a number's rank by value) of the row's index
                cols.append(np.asarray(p.ordinal, dtype=np.float64)[rows[:, j].astype(int)][:, None])
            else:
                # one-hot by index: np.eye(k)[idx] built a k x k identity per call (a
                # choice of 20,000 words: 3.2 GB, and chameleon 80 s for 8 asks)
                hot = np.zeros((len(rows), len(p.choices)))
                hot[np.arange(len(rows)), rows[:, j].astype(int)] = 1.0
                cols.append(hot)
        cols += [np.log10(rows[:, j] + p.log_shift)[:, None] for j, p in enumerate(self.params)
                 if isinstance(p, Range) and p.wide]
        return np.hstack(cols) if cols else np.zeros((len(rows), 0))

    def row_choice_counts(self, rows) -> np.ndarray:
        """``choice_counts`` of the members that rows stand for."""
        self._check_flat()
        rows = np.asarray(rows, dtype=np.float64)
        column = {p.name: j for j, p in enumerate(self.params)}
        cols = []
        for choices, names in self._shared_choices:
            idx = rows[:, [column[n] for n in names]].astype(int)
            cols.append(np.stack([(idx == i).sum(1) for i in range(len(choices))], 1)
                        .astype(np.float64))
        return np.hstack(cols) if cols else np.zeros((len(rows), 0))

    def mutate(self, spec: dict, rng, tries: int = 20) -> dict:
        """One random edit of an active parameter: a new choice, a step in a range, a
        neighbouring list value, or a layer added or removed (tied lists follow).  Always a
        different member of the space if one exists."""
        groups = self._groups()
        for _ in range(tries):
            values = _copy_values(self.active_values(spec))
            active = [g for g in groups if g[0].name in values]
            if not active:
                break
            group = active[rng.integers(len(active))]
            lead = group[0]
            if not isinstance(lead, IntList):
                values[lead.name] = lead.mutate(values[lead.name], rng)
            else:
                n = len(values[lead.name])
                moves = ["step"] * (n > 0) + ["add"] * (n < lead.max_len) + ["drop"] * (n > lead.min_len)
                if not moves:
                    continue
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
            child = self.complete(self._repair(values, rng))
            if child != spec:
                return child
        return copy.deepcopy(spec)

    def crossover(self, a: dict, b: dict, rng) -> dict:
        """Uniform crossover by group: each group (a list with its tied lists) from one parent
        (a group the chosen parent lacks is taken from the other, or sampled)."""
        values = {}
        a, b = self.active_values(a), self.active_values(b)
        for group in self._groups():
            first, second = (a, b) if rng.random() < 0.5 else (b, a)
            parent = first if group[0].name in first else second
            for p in group:
                if p.name in parent:
                    values[p.name] = _copy_values({0: parent[p.name]})[0]
        return self.complete(self._repair(values, rng))


_MISSING = object()


def _is_bool(v) -> bool:
    return isinstance(v, (bool, np.bool_))


def _member(value, choices) -> bool:
    """``value`` is one of ``choices`` as the space counts values: by ==, but a bool is no
    number (``True == 1``: true was taken for the choice 1 and encoded as it)."""
    return any(_is_bool(value) == _is_bool(c) and bool(value == c) for c in choices)


def _same(a, b) -> bool:
    """``a == b`` as the space counts values (``_member``): a bool is no number, inside a
    list or mapping too (true was the fixed 1, and a family's False took 0)."""
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    return _is_bool(a) == _is_bool(b) and bool(a == b)


def _value_key(v):
    """A hashable stand-in for a choice's value, equal for values the space counts as one
    (``_same``: by ==, a bool apart from a number, inside a list or mapping too)."""
    if isinstance(v, (bool, np.bool_)):
        return ("bool", bool(v))
    if isinstance(v, (list, tuple)):
        return ("list",) + tuple(_value_key(x) for x in v)
    if isinstance(v, dict):
        return ("dict",) + tuple(sorted((str(k), _value_key(x)) for k, x in v.items()))
    return v


def _listed(value, choices):
    """The listed choice ``value`` is (``_member``'s equality), else ``value`` itself."""
    return next((c for c in choices if _member(value, (c,))), value)


def _allowed(p) -> str:
    """What a parameter's values are, for a message."""
    if isinstance(p, Choice):
        return f"one of {short_repr(list(p.choices))}"
    kind = "an integer" if p.integer else "a number"
    return f"{kind} in [{p.low:g}, {p.high:g}]"


def _copy_values(values: dict) -> dict:
    """Parameter values are scalars or lists of scalars: copy the lists (deepcopy costs
    ~10x more, and the searchers make thousands of candidates per proposal)."""
    return {k: list(v) if isinstance(v, list) else copy.deepcopy(v)
            if isinstance(v, (dict, set)) else v for k, v in values.items()}


def spec_key(spec: dict) -> str:
    """Canonical JSON of a spec: the identity used for de-duplication and lookups."""
    return json.dumps(spec, sort_keys=True, separators=(",", ":"))


def load_space(source: "str | Path | dict | Space") -> Space:
    """A Space from a dict, a YAML/JSON file, or a built-in name (``convnet``...)."""
    if isinstance(source, Space):
        return source
    if isinstance(source, dict):
        return Space(source)
    names = ", ".join(sorted(BUILTIN_SPACES))
    expected = f"a built-in space name ({names}) or a YAML/JSON space file"
    if not isinstance(source, (str, Path)) or isinstance(source, str) and not source.strip():
        raise UserError(f"a search space is a built-in name ({names}), a YAML/JSON space file "
                        f"or a mapping of choices, got {short_repr(source)} "
                        f"({type(source).__name__})")
    text = str(source)
    if text in BUILTIN_SPACES:
        return Space(BUILTIN_SPACES[text], where=text)
    path = Path(text).expanduser()
    if path.is_dir():
        raise UserError(f"space {text} is a folder, not a space file: give {expected}")
    if not path.is_file():
        if os.path.lexists(path):   # a FIFO, a device, a socket, a dangling link: named so
            from synth.files import missing_input
            raise missing_input(path, "space file", expected)
        raise UserError(f"space file not found: {path} (give {expected})")
    from synth.files import read_yaml_file
    # a .json file was "not valid YAML" (JSON is read as the YAML it is a subset of), and an
    # empty file "must be a mapping ..., got NoneType"
    fmt = "JSON" if path.suffix.lower() == ".json" else "YAML"
    definition = read_yaml_file(path, "space file", fmt=fmt,
                                expected="a mapping of named choices (or of family, params, "
                                         "constraints)")
    if definition is None:
        raise UserError(f"space file {path} is empty: give a mapping of named choices (or of "
                        f"family, params, constraints)")
    return Space(definition, where=path.name)


BUILTIN_SPACES: dict[str, dict] = {
    # Small images (digits 8x8, mnist 28x28): 1-4 conv layers, free widths/kernels/strides.
    "convnet": {"family": "convnet", "params": {
        "widths": {"list": [4, 8, 16, 32, 64], "length": [1, 4]},
        "kernels": {"list": [1, 3, 5], "length": "widths"},
        "strides": {"list": [1, 2], "length": "widths"},
        "pool": {"choice": ["avg", "max", "flatten"]},
        "hidden": {"list": [32, 64], "length": [0, 1]},
        "bn": True}},
    # Sequences (C, L): wearable-sensor or EEG windows of tens to thousands of steps.
    # 1-4 Conv1d layers; odd kernels with padding k//2 keep every step at stride 1, so even
    # four stride-2 layers leave ceil(L / 16) >= 1 steps; global pooling over time keeps the
    # head's size independent of L (flatten would scale it with L).
    "convnet1d": {"family": "convnet1d", "params": {
        "widths": {"list": [8, 16, 32, 64], "length": [1, 4]},
        "kernels": {"list": [3, 5, 7, 9], "length": "widths"},
        "strides": {"list": [1, 2], "length": "widths"},
        "pool": {"choice": ["avg", "max"]},
        "hidden": {"list": [32, 64], "length": [0, 1]},
        "bn": True}},
    "resnet": {"family": "resnet", "params": {
        "depths": {"list": [1, 2, 3], "length": [2, 4]},
        "width": {"choice": [8, 16, 32]}}},
    "mlp": {"family": "mlp", "params": {
        "hidden": {"list": [16, 32, 64, 128, 256, 512], "length": [1, 3]},
        "bn": {"choice": [False, True]}}},
}
