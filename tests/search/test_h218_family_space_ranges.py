"""h218: a search space over any model family is checked against the family's declared
ranges when it is loaded (6ffcde3 did it for mlp/lstm/hlstm's dropout only): a convnet
space listing a kernel of 0, or a resnet width range from 0, was accepted, and its members
there failed to build (skipped by the searcher) or the search ran on with them."""
import pytest

from search.space import load_space
from synth.errors import UserError
from tests._cli import one_error_line, run

CONVNET = {"widths": {"list": [8, 16], "length": [1, 2]},
           "kernels": {"list": [0, 3], "length": "widths"},
           "strides": {"list": [1, 2], "length": "widths"}}


@pytest.mark.parametrize("family,params,message", [
    ("convnet", CONVNET, "space.params.kernels: list value 0 reaches outside what family "
                         "convnet accepts: kernels values must each be in [1, 16777216]"),
    ("convnet", {"widths": {"choice": [[8, 16], [0, 16]]}, "kernels": [3, 3]},
     "space.params.widths: choice [0, 16] reaches outside what family convnet accepts: "
     "widths values must each be in [1, 100000000]"),
    ("convnet1d", {"strides": {"list": [0, 1, 2], "length": [2, 2]}},
     "space.params.strides: list value 0 reaches outside"),
    ("resnet", {"width": {"int": [0, 16]}},
     "space.params.width: range [0, 16] reaches outside what family resnet accepts: "
     "width must be in [1, 100000000]"),
    ("resnet", {"depths": {"list": [1, 2, 2000], "length": [2, 3]}},
     "space.params.depths: list value 2000 reaches outside what family resnet accepts: "
     "depths values must each be in [1, 1024]"),
    ("resnet", {"width": 0},
     "space.params.width: fixed value 0 is outside what family resnet accepts"),
    ("lenet5", {"hidden": {"list": [0, 84], "length": [1, 2]}},
     "space.params.hidden: list value 0 reaches outside"),
    ("hlstm", {"gate_hidden": {"int": [0, 8]}}, "space.params.gate_hidden: range [0, 8]"),
    ("lstm", {"frame": {"choice": [0, 2]}}, "space.params.frame: choice 0 reaches outside"),
])
def test_a_space_reaching_outside_its_familys_range_is_refused_when_loaded(family, params,
                                                                           message):
    with pytest.raises(UserError) as e:
        load_space({"family": family, "params": params})
    assert message in str(e.value) and "\n" not in str(e.value)


@pytest.mark.parametrize("name", ["convnet", "convnet1d", "resnet", "mlp"])
def test_the_builtin_spaces_lie_within_their_families_ranges(name):
    assert load_space(name).family == name


@pytest.mark.parametrize("text,expected", [
    ("family: convnet\nparams:\n  widths: {list: [8, 16], length: [1, 2]}\n"
     "  kernels: {list: [0, 3], length: widths}\n  strides: {list: [1, 2], length: widths}\n",
     "s.yaml.params.kernels: list value 0 reaches outside what family convnet accepts: "
     "kernels values must each be in [1, 16777216]"),
    ("family: resnet\nparams:\n  depths: {list: [1, 2], length: [2, 3]}\n"
     "  width: {int: [0, 16]}\n",
     "s.yaml.params.width: range [0, 16] reaches outside what family resnet accepts: "
     "width must be in [1, 100000000]"),
])
def test_the_cli_refuses_the_entry_in_one_line(tmp_path, text, expected):
    # before: accepted, and the search started (Ray, trials) with members that cannot build
    space = tmp_path / "s.yaml"
    space.write_text(text)
    line = one_error_line(run(["-q", "search", "--space", str(space), "--trials", "1",
                               "--epochs", "1", "--concurrency", "1", "--no-hardware",
                               "--out", str(tmp_path / "out")]))
    assert line == f"error: {expected}"
    assert not (tmp_path / "out").exists()
