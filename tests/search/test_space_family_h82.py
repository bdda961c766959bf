"""A model family's space judges a configuration the way it makes its members: every key
the family resolves, searched or not, and conditional entries the family fills in."""
import json
import math

import numpy as np
import pytest

from search.optimize import optimize
from search.searchers import SEARCHERS
from search.space import Space, spec_key
from synth.errors import ConfigError

# mlp's defaults: hidden [300, 100], bn False, dropout 0.0
PLAIN = {"family": "mlp", "params": {"hidden": {"list": [16, 32], "length": [1, 2]}}}
COND = {"family": "mlp", "params": {
    "bn": {"choice": [False, True]},
    "hidden": {"list": [16, 32], "length": [1, 2], "when": {"bn": True}},
    "dropout": {"float": [0.01, 0.5], "log": True, "when": {"bn": True}}}}


def test_a_family_space_refuses_what_it_cannot_make():
    """mismatch() checked the space's fixed entries and its parameters only: a value the
    family fixes (dropout 0.5 where every member has 0.0), a key no spec of the family
    has, or a bool where the family's value is a number was taken as a member and told."""
    space = Space(PLAIN)
    member = space.sample(np.random.default_rng(0))
    assert space.mismatch(member) is None and member["dropout"] == 0.0
    bad = [(dict(member, dropout=0.5), "dropout is not searched"),
           (dict(member, bogus=1), "'bogus' is not a key of the space"),
           (dict(member, bn=0), "bn is not searched")]
    for spec, message in bad:
        why = space.mismatch(spec)
        assert why is not None and message in why and "\n" not in why, (spec, why)
        for name in SEARCHERS:
            s = SEARCHERS[name](PLAIN, seed=0, **({} if name == "random" else {"n_initial": 3}))
            with pytest.raises(ConfigError, match="is not a member of the space"):
                s.tell(spec, 0.5)
            assert not s.history
    assert "is fixed to True" in Space({"family": "mlp", "params": {
        "bn": True, "hidden": [8]}}).mismatch({"family": "mlp", "bn": 1, "hidden": [8],
                                                "dropout": 0.0})


def test_a_family_default_left_out_is_the_member_it_resolves_to():
    """{'family': 'mlp', 'hidden': [16]} is the spec with mlp's defaults: told, it was
    recorded under another key than the member asked for, which was then suggested (and
    evaluated) again."""
    space = Space(PLAIN)
    short = {"family": "mlp", "hidden": [16]}
    assert space.mismatch(short) is None
    full = space.canonical(short)
    assert full == {"family": "mlp", "hidden": [16], "bn": False, "dropout": 0.0}
    s = SEARCHERS["random"](PLAIN, seed=0)
    s.tell(short, 0.5)
    asked = [s.ask() for _ in range(5)]   # the space has 6 members
    assert spec_key(full) not in {spec_key(c) for c in asked}


@pytest.mark.parametrize("name", sorted(SEARCHERS))
def test_conditional_entries_of_a_family_space(name):
    """The family fills in an inactive entry with its default (hidden [300, 100], dropout
    0.0 when bn is False): tell() refused the searcher's own suggestion ('hidden = [300,
    100] is given, but it applies only when bn in [True]'), so optimize() stopped at the
    first such member; the encoding read the default (log10 of 0.0, a list value not
    listed) and mutation or crossover carried it into an active entry (a non-member)."""
    space = Space(COND)
    seen = []

    def objective(cfg):
        assert space.mismatch(cfg) is None, cfg
        seen.append(cfg)
        return (1.0 + math.log10(cfg["dropout"]) / 4 if cfg["bn"] else 0.2)
    kw = {} if name == "random" else {"n_initial": 4}
    result = optimize(objective, COND, trials=14, searcher=name, seed=1, **kw)
    assert len(result.history) == 14 and any(not c["bn"] for c in seen)
    off = next(c for c in seen if not c["bn"])
    assert off["hidden"] == [300, 100] and off["dropout"] == 0.0
    x = space.encode(seen)
    assert np.isfinite(x).all() and not x[[not c["bn"] for c in seen]].any()
    assert np.isfinite(space.features(seen)).all()
    rng = np.random.default_rng(0)
    for _ in range(200):
        child = space.mutate(off, rng)
        assert space.mismatch(child) is None, child
        child = space.crossover(off, seen[rng.integers(len(seen))], rng)
        assert space.mismatch(child) is None, child
    assert space.canonical(dict(off, dropout=0)) == off
    for spec in (dict(off, dropout=0.3), dict(off, hidden=[16])):
        assert "applies only when bn in [True]" in space.mismatch(spec)
    assert space.decode(space.encode([off])[0]) == off
    assert json.loads(spec_key(off)) == off
