"""Padding layers (ZeroPad2d, ReflectionPad2d: pix2pix and CycleGAN generators) are priced as
``resample`` ops, the traffic of a copy into the padded output (h126): they were refused in
one line as layers with no cost model, so a model with one could not be priced at all."""
from __future__ import annotations

import pytest
import torch
from torch import nn

import hwsim
from hwsim.host_ops import op_callable
from hwsim.workload import extract, summary


@pytest.mark.parametrize("pad, shape, out", [
    (nn.ZeroPad2d((1, 2, 0, 1)), (2, 4, 4), (1, 2, 5, 7)),
    (nn.ConstantPad1d(2, 3.5), (2, 4), (1, 2, 8)),
    (nn.ReflectionPad2d(1), (2, 4, 4), (1, 2, 6, 6)),
    (nn.ReplicationPad3d(1), (2, 3, 3, 3), (1, 2, 5, 5, 5)),
    (nn.CircularPad2d(1), (2, 4, 4), (1, 2, 6, 6)),
], ids=lambda v: type(v).__name__ if isinstance(v, nn.Module) else None)
def test_a_padding_layer_is_a_copy_and_times_as_itself_on_the_host(pad, shape, out):
    op, = extract(pad, shape)
    assert (op.type, op.macs, op.elems, op.out_shape) == ("resample", 0, 0, out)
    assert op.in_bytes == 4 * 1 * torch.Size(shape).numel()
    assert dict(op.geometry)["kind"] == type(pad).__name__
    # the host table runs the same padding: its output is the op's
    y = op_callable(op, torch.Generator().manual_seed(0))()
    assert tuple(y.shape) == out
    # its values are the layer's on the input inside them (a resize to the output's size,
    # the host's stand-in for an op it did not know, has the shape but not the values)
    p = pad.padding
    inner = y[(...,) + tuple(slice(p[2 * i], y.shape[-1 - i] - p[2 * i + 1])
                             for i in reversed(range(len(p) // 2)))]
    assert torch.equal(pad(inner), y)
    assert hwsim.price(pad, shape)["latency_ms"] > 0


def test_a_reflection_padded_conv_block_prices_its_conv_by_hand():
    """A CycleGAN residual block's start: ReflectionPad2d(1), Conv2d(2, 2, 3) on 2x4x4 ->
    4 x 4 outputs x 2 filters x (2 x 3 x 3) = 576 MACs, and the pad's copy."""
    block = nn.Sequential(nn.ReflectionPad2d(1), nn.Conv2d(2, 2, 3), nn.InstanceNorm2d(2),
                          nn.ReLU())
    ops = extract(block, (2, 4, 4))
    assert [o.type for o in ops] == ["resample", "conv", "norm", "eltwise"]
    assert summary(ops)["macs"] == 16 * 2 * 18 == 576
