"""h179: a spec priced on a huge input is refused before it is built.

``nnsynth hwsim eval --spec resnet18 --input-shape 3x2000x2000`` ran past a minute (toward
hours): ``hwsim.build_priced`` builds the model, and ``synth.models.build`` runs it on two zero
samples to check that it fits, before ``extract`` could bound its own pass (2.2e12
multiply-accumulates a sample against MAX_EXTRACT_MACS, 1.1e12).  The one-line error also
no longer says 'batch at most 0 here' when not even one sample fits.
"""
import time

import pytest

from hwsim import build_priced
from synth.errors import UserError


def test_build_priced_refuses_a_spec_whose_one_sample_is_too_much_work():
    start = time.monotonic()
    with pytest.raises(UserError) as e:
        build_priced("resnet18", (3, 2000, 2000), 10)
    assert time.monotonic() - start < 20
    line = str(e.value)
    assert "\n" not in line and "multiply-accumulates" in line
    assert "one sample of (3, 2000, 2000)" in line and "batch at most 0" not in line


def test_build_priced_still_builds_what_fits():
    model = build_priced("lenet5", (1, 28, 28), 10)
    assert sum(p.numel() for p in model.parameters()) > 0
