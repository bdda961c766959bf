"""h209: a Conv1d/2d/3d of padding_mode 'reflect', 'replicate' or 'circular' pads its input
into a new tensor before it convolves (torch's _ConvNd._conv_forward); that copy was free,
the conv priced as a zero-padded one.  It is a ``resample`` op ``NAME.pad`` before the
conv, priced by every backend as the padding layer of that mode."""
import pytest
import torch
from torch import nn

from hwsim import accel, gpu, spring
from hwsim.host_ops import op_callable
from hwsim.workload import extract

CASES = [(nn.Conv1d, (3, 16), 2), (nn.Conv2d, (3, 8, 8), 1), (nn.Conv3d, (2, 4, 4, 4), 1)]


@pytest.mark.parametrize("mode", ["reflect", "replicate", "circular"])
@pytest.mark.parametrize("conv,shape,p", CASES)
def test_a_padded_conv_prices_its_padded_copy(conv, shape, p, mode):
    torch.manual_seed(0)
    m = conv(shape[0], 4, 3, padding=p, padding_mode=mode)
    ops = extract(m, shape, batch=2)
    assert [o.type for o in ops] == ["resample", "conv"]
    pad = ops[0]
    x = torch.randn(2, *shape)
    padded = torch.nn.functional.pad(x, m._reversed_padding_repeated_twice, mode=mode)
    assert pad.in_elems == x.numel() and pad.out_elems == padded.numel()
    assert pad.out_shape == tuple(padded.shape)
    # the host runs the copy as its padding layer, the conv of padding 0 after it
    out = op_callable(pad, torch.Generator().manual_seed(0))()
    assert tuple(out.shape) == pad.out_shape
    assert tuple(op_callable(ops[1], torch.Generator().manual_seed(0))().shape) \
        == ops[1].out_shape
    zeros = extract(conv(shape[0], 4, 3, padding=p), shape, batch=2)
    assert len(zeros) == 1
    for mode_ in ("inference", "training"):
        assert gpu.evaluate(ops, mode=mode_)["bytes"] > gpu.evaluate(zeros, mode=mode_)["bytes"]
    assert spring.evaluate(ops, spring.SpringConfig())["energy_mj"] \
        > spring.evaluate(zeros, spring.SpringConfig())["energy_mj"]
    cfg = [accel.AcceleratorConfig()]
    assert accel.evaluate_many(ops, cfg)["energy_mj"][0] \
        > accel.evaluate_many(zeros, cfg)["energy_mj"][0]


def test_the_copy_costs_what_the_padding_layer_does():
    m = nn.Conv2d(3, 4, 3, padding=1, padding_mode="reflect")
    ops = extract(m, (3, 8, 8), batch=2)
    layer = extract(nn.ReflectionPad2d(1), (3, 8, 8), batch=2)[0]
    assert ops[0].key() == layer.key()
    assert gpu.evaluate([ops[0]])["bytes"] == gpu.evaluate([layer])["bytes"]


def test_zero_padding_and_no_padding_make_no_copy():
    for m in (nn.Conv2d(3, 4, 3, padding=1), nn.Conv2d(3, 4, 3, padding_mode="reflect")):
        assert [o.type for o in extract(m, (3, 8, 8), batch=2)] == ["conv"]


class _PadThenConv(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)

    def forward(self, x):
        return self.conv(torch.nn.functional.pad(x, (1, 1, 1, 1), mode="reflect"))


def test_f_pad_in_a_forward_is_priced_as_the_same_copy():
    ops = extract(_PadThenConv(), (3, 8, 8), batch=2)
    conv = extract(nn.Conv2d(3, 4, 3, padding=1, padding_mode="reflect"), (3, 8, 8), batch=2)
    assert [o.type for o in ops] == ["resample", "conv"]
    assert (ops[0].in_elems, ops[0].out_elems) == (conv[0].in_elems, conv[0].out_elems)
    assert dict(ops[0].geometry)["kind"] == dict(conv[0].geometry)["kind"] == "ReflectionPad2d"
