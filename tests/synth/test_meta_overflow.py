"""A width so large that torch cannot describe the tensor (10^11: 4 x 10^22 elements) is the
parameter limit's one-line error: `nnsynth symbiotic --baseline-width 99999999999` ended in
torch's 'Storage size calculation overflowed' traceback from the meta-device size check."""
import pytest

from synth.errors import UserError
from synth.lm import check_lm_size, recurrent_layer
from synth.models import build


@pytest.mark.parametrize("cell", ["lstm", "hlstm"])
def test_a_recurrent_layer_too_wide_for_a_tensor_is_one_line(cell):
    with pytest.raises(UserError, match="more parameters than a tensor can hold"):
        recurrent_layer(cell, 64, 99_999_999_999)


def test_a_language_model_too_wide_for_a_tensor_is_one_line():
    with pytest.raises(UserError, match="more parameters than a tensor can hold"):
        check_lm_size({"cell": "lstm", "hidden": [64], "embed": 10**9, "tied": False}, 10**11)


def test_a_model_spec_too_wide_for_a_tensor_names_the_limit():
    # the family's range (h218: a width is at most the parameter limit) refuses it first
    with pytest.raises(UserError, match=r"'hidden' values must each be in \[1, 100000000\]"):
        build({"family": "lstm", "hidden": [99_999_999_999]}, (3, 20), 2)
