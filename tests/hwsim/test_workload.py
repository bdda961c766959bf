"""Workload extraction on dense, masked (parametrized) and compacted models."""
import pytest
import torch
from torch import nn
from torch.nn.utils import parametrize

from hwsim.workload import extract, summary
from synth.errors import UserError
from synth.models import build, count_flops


class _Mask(nn.Module):
    def __init__(self, mask):
        super().__init__()
        self.register_buffer("mask", mask)

    def forward(self, w):
        return w * self.mask


def test_macs_match_count_flops_and_residual_adds():
    for variant, shape in (("lenet5_bn", (1, 28, 28)), ("resnet8_w16", (3, 16, 16))):
        model = build(variant, shape, 10)
        ops = extract(model, shape)
        assert summary(ops)["macs"] == count_flops(model, shape)
    names = [o.name for o in ops]
    assert sum(n.startswith("add") for n in names) == 3          # one shortcut add per block
    conv = next(o for o in ops if o.name == "stem.0")
    assert conv.gemm == (16 * 16, 27, 16) and conv.macs == 256 * 27 * 16


def test_masked_model_reports_measured_weight_sparsity():
    model = build("lenet5", (1, 28, 28), 10)
    fc = model.classifier[0]
    mask = torch.rand(fc.weight.shape, generator=torch.Generator().manual_seed(0)) < 0.25
    parametrize.register_parametrization(fc, "weight", _Mask(mask.float()))
    ops = {o.name: o for o in extract(model, (1, 28, 28))}
    want = 1 - mask.float().mean().item()
    assert ops["classifier.0"].weight_sparsity == pytest.approx(want, abs=1e-6)
    assert ops["features.0"].weight_sparsity == 0.0
    assert ops["classifier.0"].macs == 400 * 120                 # dense count is kept


def test_compacted_model_is_smaller_and_activation_sparsity_is_measured():
    big = extract(build("lenet5_bn", (1, 28, 28), 10), (1, 28, 28))
    small = extract(build("lenet5_bn_half", (1, 28, 28), 10), (1, 28, 28))
    assert summary(small)["macs"] < summary(big)["macs"]
    after_relu = [o for o in big if o.type == "pool"]
    assert all(0.2 < o.act_sparsity < 0.8 for o in after_relu)   # ReLU zeros, measured
    x = torch.zeros((4, 1, 28, 28))
    ops = extract(build("lenet5", (1, 28, 28), 10), (1, 28, 28), inputs=x)
    assert ops[0].act_sparsity == 1.0 and ops[0].in_shape[0] == 4


def test_lstm_and_depthwise_ops():
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.lstm = nn.LSTM(8, 16)
            self.dw = nn.Conv2d(4, 4, 3, groups=4, padding=1)

        def forward(self, x):
            out, _ = self.lstm(x)
            return self.dw(out.reshape(1, 4, 2, 4))

    # extract prepends batch 1: the LSTM sees (seq 1, batch 2, 8 features)
    ops = {o.name: o for o in extract(Net(), (2, 8))}
    lstm = ops["lstm"]
    assert lstm.macs == 1 * 2 * 4 * 16 * (8 + 16) and lstm.gemm == (2, 24, 64)
    assert ops["dw"].type == "depthwise" and ops["dw"].groups == 4


def test_bad_input_shape_is_a_user_error():
    from synth.errors import UserError
    with pytest.raises(UserError):
        extract(build("lenet5", (1, 28, 28), 10), (3, 5, 5))


@pytest.mark.parametrize("layer, shape", [
    (nn.Conv2d(3, 8, 3), (3, 16, 16)),
    (nn.Linear(20, 5), (20,)),
    (nn.LSTM(4, 8, batch_first=True), (6, 4)),
    (nn.BatchNorm2d(3), (3, 8, 8)),
])
def test_a_model_that_is_one_layer_is_priced(layer, shape):
    """A root module that is itself a layer is one op, not an empty (free) workload."""
    import hwsim
    ops = extract(layer, shape)
    assert len(ops) == 1 and ops[0].name == type(layer).__name__
    assert hwsim.price(layer, shape)["cycles"] > 0
    if isinstance(layer, (nn.Conv2d, nn.Linear)):
        assert ops[0].macs == count_flops(layer, shape)


def test_a_module_with_no_priceable_op_is_an_error():
    with pytest.raises(UserError, match="no operation hwsim can price"):
        extract(nn.Flatten(), (3, 4))
    with pytest.raises(UserError, match="no operation hwsim can price"):
        extract(nn.Sequential(nn.Identity(), nn.Flatten()), (3, 4))
