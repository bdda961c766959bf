"""GpuConfig refuses a bad value of each field in one line naming it (h204): its name was
not checked at all (None, 0 or [1] became the report's device), bytes_per_elem True was
taken as 1 byte, and a peak of 1e-300 TFLOP/s at 1e-300 efficiency (a product that is 0 in
floating point) priced a network at inf ms with a numpy divide-by-zero warning."""
import warnings

import pytest

from hwsim import extract, gpu
from hwsim.gpu import GpuConfig
from synth.errors import ConfigError
from torch import nn


@pytest.mark.parametrize("field, value, words", [
    ("name", None, "name must be a GPU's name"), ("name", "", "name must"),
    ("name", [1], "name must"), ("name", "a\nb", "name must"),
    ("bytes_per_elem", True, "bytes_per_elem must be one of 1, 2, 4, 8, got True"),
    ("peak_tflops", 1e-300, r"peak_tflops must be in \[1e-06"),
    ("mem_gbps", 1e-300, r"mem_gbps must be in \[1e-06"),
    ("compute_efficiency", 1e-300, r"compute_efficiency must be in \[1e-06, 1\]"),
    ("memory_efficiency", 0, "memory_efficiency must"),
])
def test_bad_values_are_refused_by_name(field, value, words):
    with pytest.raises(ConfigError, match=words):
        GpuConfig.from_dict({field: value})


def test_the_slowest_gpu_it_takes_prices_finite():
    ops = extract(nn.Conv2d(3, 8, 3), (3, 32, 32), batch=4)
    cfg = GpuConfig(name="slow", peak_tflops=1e-6, compute_efficiency=1e-6, mem_gbps=1e-6,
                    memory_efficiency=1e-6)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        r = gpu.evaluate(ops, cfg, "training")
    assert 0 < r["latency_ms"] < float("inf") and r["device"] == "slow"
