"""h219: op records made by hand (DESIGN's Workload contract: hwsim reads a list of records,
never the module) were priced whatever they held: an act_sparsity of 1.5 gave SPRING negative
MACs, NaN gave 'nan ms', a negative in_bytes cut the accelerator's energy, a type 'bogus' was
priced as an element-wise op.  Op checks its fields as extract() makes them."""
import re

import pytest

from hwsim import extract, spring
from hwsim.op import Op
from synth.errors import UserError
from tests.hwsim.test_h193_forward_functions import Net

GOOD = dict(type="linear", name="fc", in_shape=(1, 8), out_shape=(1, 4), weight_shape=(4, 8),
            macs=32, weight_bytes=128, in_bytes=32, out_bytes=16, gemm=(1, 8, 4))


@pytest.mark.parametrize("field,value,says", [
    ("act_sparsity", 1.5, "act_sparsity must be a fraction in [0, 1]"),
    ("act_sparsity", float("nan"), "act_sparsity must be a fraction"),
    ("weight_sparsity", -0.5, "weight_sparsity must be a fraction"),
    ("macs", -32, "macs must be a count >= 0"),
    ("in_bytes", -100, "in_bytes must be a count >= 0"),
    ("elems", float("inf"), "elems must be a count >= 0"),
    ("groups", True, "groups must be a count"),
    ("gemm", (1, 8), "gemm must be (T, K, N)"),
    ("gemm", (1, -8, 4), "gemm must be a count"),
    ("type", "bogus", "type must be one of conv, "),
])
def test_a_record_that_no_extract_makes_is_refused_in_one_line(field, value, says):
    with pytest.raises(UserError, match="^" + re.escape(f"op 'fc': {says}")):
        Op(**{**GOOD, field: value})


def test_records_made_by_extract_pass():
    op = Op(**GOOD)
    assert spring.evaluate([op])["energy_mj"] > 0
    assert extract(Net(lambda y, z: (y * z).relu()), (16,), batch=3)
