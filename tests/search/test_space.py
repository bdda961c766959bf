"""Search spaces: encoding length, validity of samples, mutations and crossovers, errors."""
import numpy as np
import pytest

from search.costs import CostModel
from search.space import BUILTIN_SPACES, load_space, parse_constraint, spec_key
from synth.errors import ConfigError, UserError
from synth.models import build


@pytest.mark.parametrize("name", sorted(BUILTIN_SPACES))
def test_samples_mutations_crossovers_stay_in_space(name):
    space = load_space(name)
    rng = np.random.default_rng(0)
    specs = [space.sample(rng) for _ in range(30)]
    children = [space.mutate(s, rng) for s in specs]
    children += [space.crossover(a, b, rng) for a, b in zip(specs, specs[1:])]
    for spec in specs + children:
        assert space.contains(spec), spec
    # a mutation changes the spec
    assert all(spec_key(c) != spec_key(s) for s, c in zip(specs, children[:30]))
    enc = space.encode(specs + children)
    assert enc.shape == (len(specs + children), space.dim)
    assert np.isfinite(enc).all()
    # distinct specs get distinct encodings
    keys = {spec_key(s): tuple(e) for s, e in zip(specs + children, enc)}
    assert len(set(keys.values())) == len(keys)


def test_tied_lists_follow_their_leader_and_specs_build():
    space = load_space("convnet")
    rng = np.random.default_rng(1)
    costs = CostModel((1, 28, 28), 10)
    spec = space.sample(rng)
    for _ in range(60):
        spec = space.mutate(spec, rng)
        assert len(spec["widths"]) == len(spec["kernels"]) == len(spec["strides"])
        assert 1 <= len(spec["widths"]) <= 4
        assert costs.costs(spec) is not None  # 28x28 never shrinks to 1x1 with <= 4 strides
    model = build(spec, (1, 28, 28), 10)
    assert model.spec == spec


def test_contains_rejects_outside_values():
    space = load_space("convnet")
    spec = space.sample(np.random.default_rng(0))
    bad = dict(spec, widths=[7] * len(spec["widths"]))
    assert not space.contains(bad)
    assert not space.contains(dict(spec, kernels=spec["kernels"] + [3]))


def test_user_defined_space_and_errors(tmp_path):
    path = tmp_path / "space.yaml"
    path.write_text("family: mlp\nparams:\n  hidden: {list: [8, 16], length: [1, 2]}\n"
                    "constraints: ['parameters<=5000']\n")
    space = load_space(str(path))
    assert space.constraints[0].metric == "parameters"
    assert space.contains(space.sample(np.random.default_rng(0)))
    with pytest.raises(ConfigError, match="params.hidden"):
        load_space({"family": "mlp", "params": {"hidden": {"list": [8], "lenght": 2}}})
    with pytest.raises(ConfigError, match="depth"):  # resnet has no key "depth"
        load_space({"family": "resnet", "params": {"depth": {"choice": [1, 2]}}})
    with pytest.raises(ConfigError, match="family"):
        load_space({"family": "transformer"})
    with pytest.raises(UserError, match="not found"):
        load_space(str(tmp_path / "missing.yaml"))


def test_constraints():
    c = parse_constraint("latency_ms<=0.5")
    assert c.ok({"latency_ms": 0.5}) and not c.ok({"latency_ms": 0.6})
    assert parse_constraint(" parameters > 10 ").ok({"parameters": 11})
    for bad in ("latency<=1", "latency_ms=<1", "flops<=abc"):
        with pytest.raises(ConfigError, match="constraint"):
            parse_constraint(bad)


def test_features_append_list_summaries_by_hand():
    space = load_space("convnet")
    spec = space.complete({"widths": [16, 16, 64], "kernels": [1, 5, 5], "strides": [1, 1, 2],
                           "hidden": [], "pool": "max", "bn": True})
    feats = space.features([spec])
    n_lists = sum(len(p.summary([1])) == 4 for p in space.params if hasattr(p, "summary"))
    assert feats.shape == (1, space.dim + 4 * n_lists)
    np.testing.assert_array_equal(feats[0, :space.dim], space.encode([spec])[0])
    by_name = dict(zip([p.name for p in space.params if hasattr(p, "summary")],
                       feats[0, space.dim:].reshape(-1, 4)))
    # log2 of product, min, max, last
    np.testing.assert_allclose(by_name["widths"], [4 + 4 + 6, 4, 6, 6])
    np.testing.assert_allclose(by_name["strides"], [1, 0, 1, 1])
    np.testing.assert_allclose(by_name["hidden"], [0, 0, 0, 0])  # empty list
