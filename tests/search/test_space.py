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
    with pytest.raises(ConfigError, match="family must be one of"):   # a TypeError (unhashable)
        load_space({"family": ["mlp"]})
    with pytest.raises(ConfigError, match="constraints must be a list"):   # a TypeError
        load_space({"family": "mlp", "constraints": 5})
    assert [str(c) for c in load_space({"family": "mlp",
                                        "constraints": "parameters<=500"}).constraints] == [
        "parameters<=500"]
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


CUSTOM = {  # a user's space: no model family
    "optimizer": {"choice": ["sgd", "adam", "rmsprop"]},
    "lr": {"float": [1e-4, 0.1], "log": True},
    "momentum": {"float": [0.0, 0.99], "when": {"optimizer": "sgd"}},
    "nesterov": {"choice": [False, True], "when": {"optimizer": "sgd"}},
    "units": {"int": [16, 512], "log": True},
    "layers": {"list": [32, 64, 128], "length": [0, 3]},
    "dropouts": {"list": [0, 1, 2], "length": "layers"},
    "beta2": {"choice": [0.99, 0.999], "when": {"optimizer": ["adam", "rmsprop"]}},
    "epochs": 5,
}


def test_custom_space_samples_encode_and_decode_round_trip():
    space = load_space(CUSTOM)
    assert space.family is None and space.constraints == []
    rng = np.random.default_rng(0)
    configs = [space.sample(rng) for _ in range(40)]
    configs += [space.mutate(c, rng) for c in configs] + [
        space.crossover(a, b, rng) for a, b in zip(configs, configs[1:])]
    for c in configs:
        assert space.contains(c), c
        assert c["epochs"] == 5 and len(c["layers"]) == len(c["dropouts"]) <= 3
        assert ("momentum" in c) == ("nesterov" in c) == (c["optimizer"] == "sgd")
        assert ("beta2" in c) == (c["optimizer"] != "sgd")
        assert 1e-4 <= c["lr"] <= 0.1 and isinstance(c["units"], int)
    enc = space.encode(configs)
    assert enc.shape == (len(configs), space.dim) and np.isfinite(enc).all()
    for c, row in zip(configs, enc):
        back = space.decode(row)
        assert back.keys() == c.keys()
        for k, v in c.items():
            if isinstance(v, float):
                assert back[k] == pytest.approx(v, rel=1e-12), k
            else:
                assert back[k] == v and type(back[k]) is type(v), k
    # the log scale is encoded as log10: 1e-3 sits halfway between 1e-4 and 1e-2
    lr_col = [p.name for p in space.params].index("lr")
    offset = sum(p.width for p in space.params[:lr_col])
    row = space.encode([dict(configs[0], lr=1e-3)])[0]
    assert row[offset] == pytest.approx(-3.0)
    # a changed choice switches its conditional entries on or off
    sgd = next(c for c in configs if c["optimizer"] == "sgd")
    for _ in range(20):
        child = space.mutate(sgd, rng)
        assert space.contains(child)


def test_custom_space_errors():
    with pytest.raises(ConfigError, match="when"):
        load_space({"m": {"float": [0, 1], "when": {"opt": "sgd"}}, "opt": {"choice": ["sgd"]}})
    with pytest.raises(ConfigError, match="when"):
        load_space({"opt": {"choice": ["sgd"]}, "m": {"float": [0, 1], "when": {"opt": "adam"}}})
    with pytest.raises(ConfigError, match="lr.float"):
        load_space({"lr": {"float": [0.0, 0.1], "log": True}})
    with pytest.raises(ConfigError, match="units.int"):
        load_space({"units": {"int": [4.5, 8]}})
    with pytest.raises(ConfigError, match="family"):
        load_space({"params": {"x": {"choice": [1, 2]}}, "constraints": ["parameters<=10"]})
    with pytest.raises(UserError, match="encoded row"):
        load_space({"x": {"choice": [1, 2]}}).decode([0.0, 1.0])


@pytest.mark.parametrize("raw, message", [
    ({"x": {"float": [0, float("inf")]}}, "x.float must be .* finite"),     # was OverflowError
    ({"x": {"float": [-1e308, 1e308]}}, "x.float must be .* finite"),       # span overflows
    ({"x": {"int": [0, 10 ** 30]}}, "x.int must be .* within"),             # not float64-exact
    ({"x": {"list": [1, 2], "length": [0, 10 ** 9]}}, "x.length must be .* <= 256"),  # ran away
    ({"x": {"choice": [1, 1]}}, "x.choice lists a value twice"),
    # equal to Python (the space finds values by ==): both encoded as position 0
    ({"x": {"choice": [1, True]}}, "x.choice lists a value twice"),
    ({"x": {"choice": [2, 2.0, 3]}}, "x.choice lists a value twice"),
    ({"x": {"choice": [[0, 1], [False, True]]}}, "x.choice lists a value twice"),
    # a condition that holds for no value: the entry never appeared, without a word
    ({"o": {"choice": ["a", "b"]}, "x": {"float": [0, 1], "when": {"o": []}}},
     r"x.when.o lists no value"),
])
def test_space_bounds_are_checked_when_declared(raw, message):
    """A space file is user data: what it declares is bounded before anything is sampled
    (a list of up to 10^9 values was accepted and sampled, one encoding column per slot)."""
    with pytest.raises(ConfigError, match=message):
        load_space(raw)


def test_family_space_decodes_to_its_specs():
    space = load_space("convnet")
    rng = np.random.default_rng(3)
    specs = [space.sample(rng) for _ in range(20)]
    for spec, row in zip(specs, space.encode(specs)):
        assert spec_key(space.decode(row)) == spec_key(spec)


def test_choice_counts_count_values_that_parameters_share():
    """A cell's operations: one column per value of a choice set that two or more
    categorical parameters share (here ops; colour has its own set and adds nothing)."""
    ops = ["conv", "pool", "skip"]
    space = load_space({"e0": {"choice": ops}, "e1": {"choice": ops}, "e2": {"choice": ops},
                        "colour": {"choice": ["red", "blue", "green"]}, "x": {"int": [1, 4]}})
    specs = [{"e0": "conv", "e1": "conv", "e2": "skip", "colour": "red", "x": 2},
             {"e0": "pool", "e1": "skip", "e2": "skip", "colour": "blue", "x": 3}]
    np.testing.assert_array_equal(space.choice_counts(specs), [[2, 0, 1], [0, 1, 2]])
    assert load_space("convnet").choice_counts(specs[:1]).shape == (1, 0)


def _flat_space():
    from search.space import Space
    return Space({"op1": {"choice": ["conv", "pool", "skip"]},
                  "op2": {"choice": ["conv", "pool", "skip"]},
                  "act": {"choice": ["relu", "gelu"]}, "k": {"choice": [1, 3, 5]},
                  "lr": {"float": [1e-4, 0.1], "log": True}, "units": {"int": [2, 6]},
                  "bias": True})


def test_flat_space_rows_round_trip_and_match_spec_features():
    space = _flat_space()
    assert space.flat and not load_space("convnet").flat
    assert not load_space({"a": {"choice": [1, 2]},
                           "b": {"int": [0, 3], "when": {"a": 1}}}).flat
    rng = np.random.default_rng(0)
    specs = [space.sample(rng) for _ in range(40)]
    rows = space.to_rows(specs)
    assert rows.shape == (40, 6)
    assert space.from_rows(rows) == specs
    np.testing.assert_allclose(space.row_features(rows), space.features(specs))
    np.testing.assert_allclose(space.row_choice_counts(rows), space.choice_counts(specs))
    assert space.row_choice_counts(rows).shape == (40, 3)   # op1/op2 share one set
    with pytest.raises(UserError, match="flat space"):
        load_space("convnet").to_rows([])


def test_flat_space_row_sampling_mutation_and_crossover_stay_in_space():
    space = _flat_space()
    rng = np.random.default_rng(1)
    rows = space.sample_rows(rng, 200)
    children = space.mutate_rows(rows, rng)
    mixed = space.crossover_rows(rows[:100], rows[100:], rng)
    for spec in space.from_rows(np.vstack([rows, children, mixed])):
        assert space.contains(spec), spec
    # a mutation edits exactly one parameter, and changes it
    assert ((children != rows).sum(1) == 1).all()
    # every value of a choice is drawn
    assert set(rows[:, 0]) == {0.0, 1.0, 2.0}
    # crossover takes each parameter from one of the parents
    assert ((mixed == rows[:100]) | (mixed == rows[100:])).all()
    # the same seed, the same rows
    again = space.mutate_rows(rows, np.random.default_rng(5))
    np.testing.assert_array_equal(again, space.mutate_rows(rows, np.random.default_rng(5)))
