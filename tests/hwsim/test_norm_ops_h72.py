"""LayerNorm, GroupNorm and InstanceNorm are priced (they were free: no op at all)."""
import pytest
import torch
from torch import nn

from hwsim import accel, extract, gpu, spring, tables

SHAPE = (3, 8, 8)


def _model(norm):
    return nn.Sequential(nn.Conv2d(3, 8, 3), norm, nn.Flatten(), nn.Linear(288, 4))


NORMS = {"layer": nn.LayerNorm([8, 6, 6]), "group": nn.GroupNorm(2, 8),
         "instance": nn.InstanceNorm2d(8, affine=True), "layer_1d": None}


@pytest.mark.parametrize("kind", ["layer", "group", "instance"])
def test_a_norm_layer_is_an_op_counted_by_hand(kind):
    """8 x 6 x 6 = 288 values: statistics (sum, sum of squares) + one multiply-add each =
    864 element ops; on the default 32x32 array at 8 bits: ceil(864 / 32) = 27 vector
    cycles, 288 + 288 bytes of DRAM (18 cycles at 32 B/cycle): 27 cycles."""
    ops = extract(_model(NORMS[kind]), SHAPE)
    assert [o.type for o in ops] == ["conv", "norm", "linear"]
    norm = ops[1]
    assert norm.elems == 3 * 288 and norm.macs == 0 and norm.weight_bytes == 0
    row = accel.evaluate(ops)["layers"][1]
    assert row["cycles"] == 27 and row["compute_cycles"] == 27 and row["dram_bytes"] == 576
    # the totals grew by the norm's work (it was priced as nothing)
    bare = extract(nn.Sequential(nn.Conv2d(3, 8, 3), nn.Flatten(), nn.Linear(288, 4)), SHAPE)
    assert accel.evaluate(ops)["cycles"] == accel.evaluate(bare)["cycles"] + 27
    assert gpu.evaluate(ops)["latency_ms"] > gpu.evaluate(bare)["latency_ms"]
    # SPRING: ceil(864 / (64 PEs x 72 lanes)) = 1 vector cycle
    assert spring.evaluate(ops)["layers"][1]["cycles"] == 1


def test_a_norm_with_running_statistics_is_one_op_per_element():
    ops = extract(_model(nn.InstanceNorm2d(8, track_running_stats=True)), SHAPE)
    assert ops[1].type == "norm" and ops[1].elems == 288


def test_a_layernorm_over_a_sequence_and_features():
    """A 1-D input (N, C, T) and a LayerNorm over the last axis only."""
    m = nn.Sequential(nn.Linear(16, 12), nn.LayerNorm(12), nn.ReLU())
    ops = extract(m, (5, 16))
    assert ops[1].type == "norm" and ops[1].elems == 3 * 5 * 12
    assert dict(ops[1].geometry)["normalized_shape"] == (12,)


@pytest.mark.parametrize("kind", ["layer", "group", "instance"])
def test_the_cpu_table_times_the_layers_own_norm(kind):
    """The timed op is the layer: the same output on the same draws (input, then weight,
    bias)."""
    layer = NORMS[kind]
    op = extract(_model(layer), SHAPE)[1]
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(op.in_shape, generator=gen)
    with torch.no_grad():
        for p in layer.parameters():
            p.copy_(torch.randn(p.shape, generator=gen))
        expected = layer.eval()(x)
    got = tables.op_callable(op, torch.Generator().manual_seed(0))()
    assert torch.allclose(got, expected, atol=1e-5)
