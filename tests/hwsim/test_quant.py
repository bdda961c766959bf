"""synth.quant: fixed-point grid, stochastic rounding is unbiased, nearest drops small updates."""
import pytest
import torch

from synth.config import Config  # noqa: F401
from synth.errors import ConfigError
from synth.quant import FixedPointTraining, QuantConfig, quantize, quantize_per_tensor


def test_grid_and_saturation():
    x = torch.tensor([0.3, -9.0, 9.0, 1 / 3])
    q = quantize(x, 4, 16, "nearest")
    assert torch.all(q * 2 ** 16 == torch.round(q * 2 ** 16))
    assert q[1] == -8.0 and q[2] == 8.0 - 2 ** -16             # signed range [-8, 8)
    assert abs(q[3] - 1 / 3) <= 2 ** -17


def test_stochastic_rounding_is_unbiased_and_nearest_is_not():
    g = torch.Generator().manual_seed(0)
    x = torch.full((200_000,), 0.3 * 2 ** -8)                  # 0.3 of one step at 8 fraction bits
    sr = quantize(x, 4, 8, "stochastic", g)
    assert sr.mean().item() == pytest.approx(x[0].item(), rel=0.02)
    assert quantize(x, 4, 8, "nearest").abs().max() == 0       # the update vanishes


def test_small_updates_survive_only_with_stochastic_rounding():
    w = torch.zeros(10_000)
    for rounding in ("stochastic", "nearest"):
        q = FixedPointTraining(QuantConfig(frac_bits=8, rounding=rounding, seed=1))
        p = torch.nn.Parameter(w.clone())
        model = torch.nn.Module()
        model.p = p
        for _ in range(20):
            with torch.no_grad():
                p += 0.001                                      # 0.256 of a step per update
            q.after_step(model)
        mean = p.mean().item()
        if rounding == "stochastic":
            assert mean == pytest.approx(0.02, rel=0.1)
        else:
            assert mean == 0.0


def _sgd_steps(rounding: str, momentum: float, steps: int = 40) -> tuple[torch.Tensor, dict]:
    """Plain torch SGD on a zero Linear whose gradient is 2^-12 everywhere (on the 2^-16
    grid), lr 2^-6: every weight update is 2^-18 = 1/4 of a step -- or, with momentum, the
    buffer (in fixed point) times lr, still under half a step for the first steps."""
    model = torch.nn.Linear(100, 100, bias=False)
    torch.nn.init.zeros_(model.weight)
    fx = FixedPointTraining(QuantConfig(rounding=rounding, seed=3))
    fx.attach(model)
    opt = torch.optim.SGD(model.parameters(), lr=2 ** -6, momentum=momentum)
    for _ in range(steps):
        model.weight.grad = torch.full_like(model.weight, 2 ** -12)
        opt.step()
        fx.after_step(model)
    fx.detach()
    return model.weight.detach(), opt.state[model.weight]


def test_sub_lsb_update_survives_sr_and_vanishes_under_rtn_through_the_optimizer():
    w_sr, _ = _sgd_steps("stochastic", momentum=0.0)
    w_rtn, _ = _sgd_steps("nearest", momentum=0.0)
    assert w_rtn.abs().max() == 0                              # every 2^-18 update rounded away
    assert (-w_sr.mean()).item() == pytest.approx(40 * 2 ** -18, rel=0.05)  # E[Q(x)] = x
    assert torch.all(w_sr * 2 ** 16 == torch.round(w_sr * 2 ** 16))


def test_optimizer_state_is_stored_in_fixed_point():
    _, state = _sgd_steps("nearest", momentum=0.9, steps=3)
    buf = state["momentum_buffer"]
    assert torch.all(buf * 2 ** 16 == torch.round(buf * 2 ** 16))
    model = torch.nn.Linear(4, 4)
    fx = FixedPointTraining(QuantConfig(optimizer_state=False))
    fx.attach(model)
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    model.weight.grad = torch.full_like(model.weight, 1e-6)     # off the grid, kept in fp32
    model.bias.grad = torch.zeros_like(model.bias)
    opt.step()
    assert opt.state[model.weight]["momentum_buffer"][0, 0].item() == pytest.approx(1e-6)
    fx.detach()


def test_adam_second_moment_needs_per_tensor_state_scaling():
    def second_moment(state_scaling):
        model = torch.nn.Linear(4, 4)
        fx = FixedPointTraining(QuantConfig(rounding="nearest", state_scaling=state_scaling,
                                            gradients=False))
        fx.attach(model)
        opt = torch.optim.Adam(model.parameters(), lr=1e-3)
        model.weight.grad = torch.full_like(model.weight, 1e-3)  # v = (1 - 0.999) g^2 = 1e-9
        model.bias.grad = torch.zeros_like(model.bias)
        opt.step()
        fx.detach()
        return opt.state[model.weight]["exp_avg_sq"]
    assert torch.count_nonzero(second_moment("fixed")) == 0      # under the 2^-16 grid
    assert torch.allclose(second_moment("per_tensor"), torch.full((4, 4), 1e-9), rtol=1e-4, atol=0)


def test_attach_quantizes_forward_and_gradients():
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(5, 3))
    fx = FixedPointTraining(QuantConfig(frac_bits=4, rounding="nearest"))
    fx.attach(model)
    w = model[0].weight
    assert torch.all(w * 16 == torch.round(w * 16))
    out = model(torch.randn(2, 5))
    assert torch.all(out * 16 == torch.round(out * 16))
    out.sum().backward()
    assert torch.all(w.grad * 16 == torch.round(w.grad * 16))
    fx.detach()


def test_saturated_activations_pass_no_gradient():
    # 2 integer bits: range [-2, 2 - 2^-4]; the output 3.0 saturates, -1.0 does not
    model = torch.nn.Sequential(torch.nn.Linear(1, 2, bias=False))
    with torch.no_grad():
        model[0].weight.copy_(torch.tensor([[3.0], [-1.0]]))
    fx = FixedPointTraining(QuantConfig(int_bits=3, frac_bits=4, rounding="nearest",
                                        gradients=False, weights=False))
    fx.attach(model)
    x = torch.ones(1, 1, requires_grad=True)
    out = model(x)
    assert out.tolist() == [[3.0, -1.0]]              # inside [-4, 4): unchanged
    fx.detach()
    fx = FixedPointTraining(QuantConfig(int_bits=2, frac_bits=4, rounding="nearest",
                                        gradients=False, weights=False))
    fx.attach(model)
    out = model(x)
    assert out.tolist() == [[2.0 - 1 / 16, -1.0]]    # 3.0 clipped to the top of the range
    out.sum().backward()
    assert model[0].weight.grad.tolist() == [[0.0], [1.0]]
    fx.detach()


def test_per_tensor_gradient_scaling_keeps_sub_grid_gradients():
    g = torch.full((4096,), 3e-7)                      # 1/50 of the 2^-16 step
    assert torch.count_nonzero(quantize(g, rounding="nearest")) == 0
    q = quantize_per_tensor(g, rounding="nearest")
    assert torch.allclose(q, g, rtol=2 ** -15, atol=0)
    mixed = torch.tensor([5.0, 1e-3, -2e-6])
    q = quantize_per_tensor(mixed, rounding="nearest")
    assert q[0] == 5.0 and abs(float(q[1]) - 1e-3) <= 2 ** -17   # max fits: step stays 2^-16
    big = torch.tensor([100.0, -300.0])                  # beyond the +-8 range: coarser step
    assert torch.equal(quantize_per_tensor(big, rounding="nearest"), big)
    torch.manual_seed(0)
    sr = torch.stack([quantize_per_tensor(g) for _ in range(20)])
    assert abs(float(sr.mean()) - 3e-7) < 1e-9
    assert torch.count_nonzero(quantize_per_tensor(torch.zeros(3))) == 0


def test_config_errors():
    with pytest.raises(ConfigError, match="gradient_scaling"):
        QuantConfig(gradient_scaling="dynamic")
    with pytest.raises(ConfigError, match="state_scaling"):
        QuantConfig(state_scaling="dynamic")
    with pytest.raises(ConfigError, match="INT.FRAC"):
        QuantConfig.from_format("4,16")
    with pytest.raises(ConfigError, match="rounding"):
        QuantConfig(rounding="up")
    with pytest.raises(ConfigError, match="int_bits"):
        QuantConfig(int_bits=0)
