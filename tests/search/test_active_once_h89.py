"""A conditional space resolves each candidate's active values once for its encoding, list
summaries and choice counts: the same numbers (and so the same suggestions) as resolving
them for each use, checked against a reference written out here from the space's
definition."""
import math

import numpy as np
import pytest

from search.searchers import ChameleonSearcher, LocalBOSearcher, SteerageSearcher
from search.space import Space

OPS = ["conv3", "conv1", "skip", "none"]
DEFINITION = {
    "opt": {"choice": ["sgd", "adam", "rms"]},
    "momentum": {"float": [0.0, 0.99], "when": {"opt": "sgd"}},
    "lr": {"float": [1e-4, 0.1], "log": True},
    "op1": {"choice": OPS}, "op2": {"choice": OPS},
    "op3": {"choice": OPS, "when": {"op1": ["conv3", "conv1"]}},
    "op4": {"choice": OPS, "when": {"op3": ["skip", "none"], "opt": ["adam", "sgd"]}},
    "widths": {"list": [8, 16, 32, 64], "length": [1, 3], "when": {"opt": ["adam", "sgd"]}},
    "kernels": {"list": [1, 3, 5], "length": "widths"},
    "bn": True,
}


def reference_active(spec: dict) -> dict:
    """Walk the definition in order: an entry counts when every parent of its ``when`` is
    active with one of the listed values (a tied list follows its leader's condition)."""
    active: dict = {}
    for name, raw in DEFINITION.items():
        if not isinstance(raw, dict):
            continue
        lead = DEFINITION[raw["length"]] if isinstance(raw.get("length"), str) else raw
        when = lead.get("when", {})
        if all(k in active and active[k] in (v if isinstance(v, list) else [v])
               for k, v in when.items()) and name in spec:
            active[name] = spec[name]
    return active


def reference_features(space: Space, specs: list[dict], counts: bool) -> np.ndarray:
    """Encoding, list summaries, then (``counts``) shared-choice counts, each read from the
    reference's active values."""
    rows = []
    for spec in specs:
        active = reference_active(spec)
        row = []
        for p in space.params:
            row += p.encode(active[p.name]) if p.name in active else [0.0] * p.width
        for name in ("widths", "kernels"):
            logs = [math.log2(v) for v in active.get(name, [])] or [0.0]
            row += [sum(logs), min(logs), max(logs), logs[-1]]
        if counts:
            row += [sum(active.get(n) == op for n in ("op1", "op2", "op3", "op4")) for op in OPS]
        rows.append(row)
    return np.asarray(rows, dtype=np.float64)


def objective(c: dict) -> float:
    return (-abs(math.log10(c["lr"]) + 2.5) + (c["op1"] == "conv3") + 0.3 * (c["op2"] == "skip")
            + 0.1 * len(c.get("widths", [])) + 0.2 * (c.get("op4") == "conv1"))


def test_encoding_features_and_counts_match_the_reference():
    space = Space(DEFINITION)
    rng = np.random.default_rng(3)
    specs = [space.sample(rng) for _ in range(200)]
    # inactive entries given anyway (a family's defaults, a stale value) are not read
    specs += [dict(s, momentum=0.5, op3="skip", op4="none", widths=[8], kernels=[1])
              for s in specs[:40]]
    assert {len(reference_active(s)) for s in specs} != {len(reference_active(specs[0]))}
    full = reference_features(space, specs, counts=True)
    enc = full[:, :space.dim]
    assert np.array_equal(space.encode(specs), enc)
    assert np.array_equal(space.features(specs), full[:, :-len(OPS)])
    assert np.array_equal(space.features(specs, choice_counts=True), full)
    assert np.array_equal(space.choice_counts(specs), full[:, -len(OPS):])
    assert all(space.active_values(s) == reference_active(s) for s in specs)
    assert [list(space.active_values(s)) for s in specs] == [list(reference_active(s))
                                                             for s in specs]


def _suggestions(cls, reference: bool, **kw) -> list[dict]:
    class Reference(cls):
        def features(self, specs, keys=None):
            if keys is not None or not reference:   # the cache calls back without keys
                return super().features(specs, keys)
            return reference_features(self.space, specs, self.choice_counts)

    s = Reference(DEFINITION, seed=5, batch_size=1, n_initial=6, **kw)
    rng = np.random.default_rng(11)
    for _ in range(24):
        c = s.space.sample(rng)
        s.tell(c, objective(c))
    out = []
    for _ in range(4):
        c = s.ask()
        out.append(c)
        s.tell(c, objective(c))
    return out


@pytest.mark.parametrize("cls, kw", [(LocalBOSearcher, {}),
                                     (SteerageSearcher, {"choice_counts": True}),
                                     (ChameleonSearcher, {"choice_counts": True})])
def test_suggestions_match_the_reference_features(cls, kw):
    assert _suggestions(cls, False, **kw) == _suggestions(cls, True, **kw)
