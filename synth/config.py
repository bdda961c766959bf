"""Validated, frozen configuration dataclasses.

DESIGN: one frozen dataclass per component, validated in ``__post_init__``;
dicts only at the edges (YAML, CLI, Tune ``param_space``) through one
``from_dict`` that rejects unknown keys.  Subclass ``Config`` and call the
``check_*`` helpers from ``validate``.
"""
from __future__ import annotations

import dataclasses
import math
from typing import Any, Mapping

from synth.errors import ConfigError


@dataclasses.dataclass(frozen=True)
class Config:
    """Base for component configs: ``from_dict``/``to_dict`` and validation hooks."""

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:  # overridden by subclasses
        pass

    @classmethod
    def from_dict(cls, values: Mapping[str, Any] | None, where: str = "") -> "Config":
        """Build from a plain dict; unknown keys are rejected by name."""
        values = dict(values or {})
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        prefix = f"{where}." if where else ""
        if unknown:
            raise ConfigError(
                f"unknown config key '{prefix}{unknown[0]}' for {cls.__name__}; "
                f"known keys: {', '.join(sorted(known))}")
        for f in dataclasses.fields(cls):
            if f.name in values and isinstance(values[f.name], list):
                values[f.name] = tuple(values[f.name])
        return cls(**values)

    def to_dict(self) -> dict[str, Any]:
        return {k: (list(v) if isinstance(v, tuple) else v)
                for k, v in dataclasses.asdict(self).items()}

    def replace(self, **changes: Any) -> "Config":
        return dataclasses.replace(self, **changes)


def check_range(name: str, value: Any, low: float | None = None, high: float | None = None,
                *, low_open: bool = False, high_open: bool = False, integer: bool = False) -> None:
    """Raise ConfigError naming ``name``, the allowed range and ``value`` when out of range."""
    ok_type = isinstance(value, int) if integer else isinstance(value, (int, float))
    if isinstance(value, bool) or not ok_type or (not integer and math.isnan(value)):
        kind = "an integer" if integer else "a number"
        raise ConfigError(f"{name} must be {kind}, got {value!r}")
    lo_bad = low is not None and (value <= low if low_open else value < low)
    hi_bad = high is not None and (value >= high if high_open else value > high)
    if lo_bad or hi_bad:
        lo = "-inf" if low is None else f"{low}"
        hi = "inf" if high is None else f"{high}"
        brackets = ("(" if low_open or low is None else "[") + f"{lo}, {hi}" + (
            ")" if high_open or high is None else "]")
        raise ConfigError(f"{name} must be in {brackets}, got {value!r}")


def check_choice(name: str, value: Any, choices) -> None:
    if value not in choices:
        raise ConfigError(f"{name} must be one of {', '.join(map(str, choices))}, got {value!r}")
