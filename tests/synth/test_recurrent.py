"""The lstm and hlstm families: torch.nn.LSTM equality, FLOP counts by hand, shape errors."""
import pytest
import torch
from torch import nn

from synth.errors import UserError
from synth.masked import attach_masks, sparse_flops
from synth.models import HLSTMLayer, LSTMLayer, build, count_flops, count_parameters


def _copy_from_torch(ours, ref: nn.LSTM):
    with torch.no_grad():
        for k, layer in enumerate(ours.rnn.layers):
            layer.ih.weight.copy_(getattr(ref, f"weight_ih_l{k}"))
            layer.ih.bias.copy_(getattr(ref, f"bias_ih_l{k}"))
            layer.hh.weight.copy_(getattr(ref, f"weight_hh_l{k}"))
            layer.hh.bias.copy_(getattr(ref, f"bias_hh_l{k}"))


def test_lstm_equals_torch_lstm_with_the_same_weights():
    torch.manual_seed(0)
    model = build({"family": "lstm", "hidden": [7, 5]}, (3, 11), 4).eval()
    ref = nn.LSTM(3, 7, batch_first=True)
    ref2 = nn.LSTM(7, 5, batch_first=True)
    _copy_from_torch(type("M", (), {"rnn": type("S", (), {"layers": model.rnn.layers[:1]})}), ref)
    _copy_from_torch(type("M", (), {"rnn": type("S", (), {"layers": model.rnn.layers[1:]})}), ref2)
    x = torch.randn(6, 3, 11)                                  # (N, C, T)
    ref_out, _ = ref2(ref(x.transpose(1, 2))[0])
    ours = model.rnn(x.transpose(1, 2))
    assert torch.allclose(ours, ref_out, atol=1e-6)
    assert torch.allclose(model(x), model.head(ref_out[:, -1]), atol=1e-6)
    # the reusable layer alone, with an initial state, against nn.LSTM
    layer, one = LSTMLayer(3, 4), nn.LSTM(3, 4, batch_first=True)
    with torch.no_grad():
        layer.ih.weight.copy_(one.weight_ih_l0), layer.ih.bias.copy_(one.bias_ih_l0)
        layer.hh.weight.copy_(one.weight_hh_l0), layer.hh.bias.copy_(one.bias_hh_l0)
    h0, c0 = torch.randn(2, 4), torch.randn(2, 4)
    xs = torch.randn(2, 9, 3)
    out, (h, c) = layer(xs, (h0, c0))
    r_out, (rh, rc) = one(xs, (h0[None], c0[None]))
    assert torch.allclose(out, r_out, atol=1e-6) and torch.allclose(c, rc[0], atol=1e-6)


def test_masked_lstm_is_still_exact_and_gates_are_linear_layers():
    torch.manual_seed(1)
    model = build("lstm32", (2, 6), 3).eval()
    names = [n for n, m in model.named_modules() if isinstance(m, nn.Linear)]
    assert names == ["rnn.layers.0.ih", "rnn.layers.0.hh", "head"]
    x = torch.randn(4, 2, 6)
    before = model(x)
    attach_masks(model)
    assert torch.allclose(model(x), before, atol=1e-6)


def test_flops_are_per_step_gemms_times_steps():
    c, t, h, k = 3, 11, 8, 4
    lstm = build({"family": "lstm", "hidden": [h]}, (c, t), k)
    # per step: W_ih (4H x C) and W_hh (4H x H); then the classifier once
    assert count_flops(lstm, (c, t)) == t * (4 * h * c + 4 * h * h) + h * k
    m = 5
    hl = build({"family": "hlstm", "hidden": [h], "gate_hidden": m}, (c, t), k)
    assert count_flops(hl, (c, t)) == t * 4 * ((c + h) * m + m * h) + h * k
    # sparse: zeroing half of W_hh's rows removes that many MACs at every step
    attach_masks(lstm)
    with torch.no_grad():
        lstm.rnn.layers[0].hh.parametrizations.weight[0].mask[: 2 * h] = False
    assert sparse_flops(lstm, (c, t)) == count_flops(lstm, (c, t)) - t * 2 * h * h


def test_hlstm_cell_equations():
    torch.manual_seed(2)
    layer = HLSTMLayer(3, 4, [2, 3, 4, 5], dropout=0.0).eval()
    x = torch.randn(2, 5, 3)
    out, (h, c) = layer(x)
    hh, cc = torch.zeros(2, 4), torch.zeros(2, 4)
    for t in range(5):
        z = torch.cat([x[:, t], hh], 1)
        pre = {k: g.out(torch.relu(g.hid(z))) for k, g in layer.gates.items()}
        cc = torch.sigmoid(pre["f"]) * cc + torch.sigmoid(pre["i"]) * torch.tanh(pre["g"])
        hh = torch.sigmoid(pre["o"]) * torch.tanh(cc)
        assert torch.allclose(out[:, t], hh, atol=1e-6)
    assert torch.allclose(c, cc, atol=1e-6)
    assert [g.hid.out_features for g in layer.gates.values()] == [2, 3, 4, 5]


def test_hlstm_learns_a_toy_sequence_task():
    torch.manual_seed(0)
    x = torch.randn(128, 1, 6)
    y = (x[:, 0, :3].sum(1) > 0).long()        # depends on early steps: needs memory
    model = build({"family": "hlstm", "hidden": [8], "gate_hidden": 8, "dropout": 0.0}, (1, 6), 2)
    opt = torch.optim.Adam(model.parameters(), lr=0.03)
    for _ in range(40):
        opt.zero_grad()
        nn.functional.cross_entropy(model(x), y).backward()
        opt.step()
    assert (model(x).argmax(1) == y).float().mean() > 0.9


@pytest.mark.parametrize("spec,shape,match", [
    ("lstm32", (1, 28, 28), r"takes sequences \(channels, steps\); the data has input shape "
                            r"\(1, 28, 28\)"),
    ("lenet5", (6, 100), r"takes images \(channels, height, width\); the data has input shape "
                         r"\(6, 100\) \(sequences"),
    ("hlstm32", (13,), r"takes sequences"),
])
def test_wrong_kind_of_data_is_one_line(spec, shape, match):
    with pytest.raises(UserError, match=match):
        build(spec, shape, 3)


def test_wrong_window_length_names_the_shapes():
    model = build("lstm32", (4, 50), 2)
    with pytest.raises(UserError, match=r"expects input \(N, 4, 50\).*got \(3, 4, 49\)"):
        model(torch.zeros(3, 4, 49))
    assert count_parameters(model) == 4 * 32 * (4 + 32) + 2 * 4 * 32 + 32 * 2 + 2


def test_frames_feed_k_raw_steps_per_recurrent_step():
    from synth.models.lstm import to_frames
    x = torch.arange(2 * 2 * 5, dtype=torch.float32).reshape(2, 2, 5)   # N=2, C=2, T=5
    f = to_frames(x, 2)                                                  # left pad 1 -> 3 frames
    assert f.shape == (2, 3, 4)
    assert f[0, 0].tolist() == [0, 0, 0, 5] and f[0, 2].tolist() == [3, 4, 8, 9]
    c, t, h, k = 4, 50, 6, 3
    model = build({"family": "lstm", "hidden": [h], "frame": 5}, (c, t), k)
    assert count_flops(model, (c, t)) == (t // 5) * (4 * h * 5 * c + 4 * h * h) + h * k
    with pytest.raises(UserError, match=r"'frame' must be in \[1, 16777216\], got 0"):
        build({"family": "lstm", "hidden": [h], "frame": 0}, (c, t), k)   # the range (h218)
    with pytest.raises(UserError, match="frame must be an int in"):   # longer than the input
        build({"family": "lstm", "hidden": [h], "frame": t + 1}, (c, t), k)


def test_stack_carries_state_across_chunks():
    from synth.models import RecurrentStack
    torch.manual_seed(5)
    stack = RecurrentStack([LSTMLayer(3, 6), HLSTMLayer(6, 4, 2, dropout=0.0)]).eval()
    x = torch.randn(2, 10, 3)
    whole, _ = stack.forward_with_state(x)
    first, states = stack.forward_with_state(x[:, :6])
    second, _ = stack.forward_with_state(x[:, 6:], states)
    assert torch.allclose(torch.cat([first, second], 1), whole, atol=1e-6)
    assert torch.allclose(stack(x), whole)


def test_hlstm_fused_inference_equals_forward():
    """``infer`` (two matrix products per step, gate weights stacked) computes ``forward``'s
    evaluation-mode output for uneven gate widths, two layers, masks, and after weights or
    masks change in place (the stacked weights are rebuilt)."""
    torch.manual_seed(0)
    model = build({"family": "hlstm", "hidden": [5, 4], "gate_hidden": [3, [1, 2, 3, 4]],
                   "dropout": 0.5, "frame": 3}, (2, 10), 3).eval()
    x = torch.randn(4, 2, 10)
    with torch.no_grad():
        assert torch.allclose(model.infer(x), model(x), atol=1e-6)
        model.rnn.layers[1].gates["g"].out.weight.mul_(3.0)
        assert torch.allclose(model.infer(x), model(x), atol=1e-6)
        attach_masks(model)
        layer = model.rnn.layers[0].gates["f"].hid
        layer.parametrizations.weight[0].mask[:, ::2] = False
        assert torch.allclose(model.infer(x), model(x), atol=1e-6)
