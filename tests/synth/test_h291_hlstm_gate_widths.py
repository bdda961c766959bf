"""An H-LSTM's per-gate widths given flat (h291): gate_hidden [4, 4, 4, 4] for one layer
(four gates i, f, g, o) was 'must be an int or a list with one entry per layer (1), got
[4, 4, 4, 4]', which does not say how per-gate widths are written; the error shows it."""
import pytest

from synth.errors import UserError
from synth.models import build


def test_flat_gate_widths_are_told_how_to_nest():
    spec = {"family": "hlstm", "hidden": [8], "gate_hidden": [4, 3, 2, 1]}
    with pytest.raises(UserError, match=r"per-gate widths of a layer are one list: "
                                        r"\[\[4, 3, 2, 1\]\]"):
        build(spec, (2, 10), 3)
    m = build(dict(spec, gate_hidden=[[4, 3, 2, 1]]), (2, 10), 3)
    assert [m.rnn.layers[0].gates[k].hid.out_features for k in "ifgo"] == [4, 3, 2, 1]
