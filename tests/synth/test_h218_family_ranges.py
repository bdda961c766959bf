"""h218: every registered model family declares the range of every number its builder takes
(``register_family(ranges=...)``, since 6ffcde3 only mlp, lstm and hlstm's dropout did), so a
spec or a search space with a width of 0, a kernel of -1 or a dropout of 1.5 is refused by
name, in one line, before anything is built.  Generated over the registry: a family added
later without its ranges fails here."""
import math

import pytest

from synth.errors import UserError
from synth.models import check_in_range, list_families, list_variants, resolve_spec
from synth.models.registry import value_range

FAMILIES = sorted(list_families())


def _number_keys(family: str) -> dict:
    """The keys of ``family``'s specs that hold numbers (one, or a list: one per layer), with
    their defaults; bools (bn) and strings (pool) are choices, not ranges."""
    return {k: v for k, v in resolve_spec({"family": family}).items()
            if k != "family" and not isinstance(v, (bool, str))}


def _shaped(default, value):
    """``value`` written as ``default`` is: a number, or a list of one."""
    return [value] if isinstance(default, list) else value


def test_the_registry_holds_the_families_this_test_was_written_for():
    assert {"convnet", "convnet1d", "lenet5", "resnet", "mlp", "lstm", "hlstm"} <= set(FAMILIES)


@pytest.mark.parametrize("family", FAMILIES)
def test_every_family_declares_a_range_for_every_number_it_takes(family):
    keys = _number_keys(family)
    assert keys, family
    missing = [k for k in keys if value_range(family, k) is None]
    assert not missing, f"{family} declares no range for {missing}"
    for key, default in keys.items():    # the defaults lie within them
        assert check_in_range(family, key, default) is None, (family, key, default)


@pytest.mark.parametrize("family", FAMILIES)
def test_a_value_outside_each_range_is_refused_by_name_in_one_line(family):
    for key, default in _number_keys(family).items():
        low, high = value_range(family, key)
        integer = not isinstance(default, float)
        below = low - 1 if integer else low - 0.5
        above = math.ceil(high) if integer else high       # the first value past [low, high)
        for bad in (below, above):
            spec = {"family": family, key: _shaped(default, int(bad) if integer else bad)}
            with pytest.raises(UserError) as e:
                resolve_spec(spec)
            text = str(e.value)
            assert "\n" not in text
            if "layers; the limit is" in text:   # resnet's depths: the layer count says more
                continue
            assert f"{family} spec key {key!r}" in text and "must" in text and "in [" in text


@pytest.mark.parametrize("family", FAMILIES)
def test_the_ends_of_each_range_are_accepted(family):
    for key, default in _number_keys(family).items():
        low, high = value_range(family, key)
        integer = not isinstance(default, float)
        for good in ((int(low), math.ceil(high) - 1) if integer else (low, high - 0.01)):
            assert resolve_spec({"family": family, key: _shaped(default, good)})[key] == \
                _shaped(default, good)


@pytest.mark.parametrize("family", FAMILIES)
def test_no_range_names_a_key_the_family_lacks(family):
    from synth.models.registry import value_ranges
    assert set(value_ranges(family)) <= set(_number_keys(family))


def test_the_bounds_say_what_a_user_expects():
    from synth.models.registry import MAX_LAYERS, MAX_SIDE, MAX_WIDTH
    # widths and channels from 1 to the parameter limit (each unit has a weight), kernels
    # and strides from 1 to a sample's length, a stage's blocks from 1 to MAX_LAYERS,
    # dropout a probability below 1
    for family, key in [("convnet", "widths"), ("convnet", "hidden"), ("convnet1d", "widths"),
                        ("lenet5", "channels"), ("lenet5", "hidden"), ("resnet", "width"),
                        ("mlp", "hidden"), ("lstm", "hidden"), ("hlstm", "gate_hidden")]:
        assert value_range(family, key) == (1, MAX_WIDTH + 1), (family, key)
    for family in ("convnet", "convnet1d"):
        assert value_range(family, "kernels") == value_range(family, "strides") == \
            (1, MAX_SIDE + 1)
    assert value_range("resnet", "depths") == (1, MAX_LAYERS + 1)
    for family in ("mlp", "lstm", "hlstm"):
        assert value_range(family, "dropout") == (0, 1)


@pytest.mark.parametrize("spec,message", [
    ({"family": "convnet", "widths": [16, 0]},
     "convnet spec key 'widths' values must each be in [1, 100000000], got [16, 0]"),
    ({"family": "convnet", "kernels": [3, -1]},
     "convnet spec key 'kernels' values must each be in [1, 16777216], got [3, -1]"),
    ({"family": "convnet1d", "strides": [1, 0]},
     "convnet1d spec key 'strides' values must each be in [1, 16777216], got [1, 0]"),
    ({"family": "resnet", "width": 0}, "resnet spec key 'width' must be in [1, 100000000], got 0"),
    ({"family": "resnet", "depths": [2, 0, 2]},
     "resnet spec key 'depths' values must each be in [1, 1024], got [2, 0, 2]"),
    ({"family": "lenet5", "channels": [6, 0]},
     "lenet5 spec key 'channels' values must each be in [1, 100000000], got [6, 0]"),
    ({"family": "hlstm", "gate_hidden": [[4, 0, 4, 4]]},
     "hlstm spec key 'gate_hidden' values must each be in [1, 100000000], got [[4, 0, 4, 4]]"),
    ({"family": "mlp", "dropout": 1.5}, "mlp spec key 'dropout' must be in [0, 1), got 1.5"),
])
def test_the_line_names_the_key_the_range_and_the_value(spec, message):
    with pytest.raises(UserError) as e:
        resolve_spec(spec)
    assert str(e.value) == message


def test_a_total_depth_over_the_limit_still_says_so_first():
    # each stage within [1, 1024], the whole over MAX_LAYERS: the layer count's line
    with pytest.raises(UserError, match="spec builds 1,200 layers; the limit is 1,024"):
        resolve_spec({"family": "resnet", "depths": [600, 600], "width": 1})
    with pytest.raises(UserError, match="1,000,000,000 layers; the limit is"):
        resolve_spec({"family": "resnet", "depths": [10 ** 9], "width": 1})


def test_every_variant_lies_within_its_familys_ranges():
    for name, spec in list_variants().items():
        for key, value in spec.items():
            assert check_in_range(spec["family"], key, value) is None, (name, key)
