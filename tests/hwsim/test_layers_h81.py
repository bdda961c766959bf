"""Layers users bring: GRU, RNN, transposed and 3-d convolutions priced (MACs checked against
torch's own FLOP counter); an LSTM's cell work priced on the accelerator and SPRING; SPRING's
mask buffer shared by weights and activations; a layer with no cost model refused in one line,
never left out of the price."""
import math
import warnings

import pytest
import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from hwsim import AcceleratorConfig, SpringConfig, accel, extract, price, spring, tables
from hwsim import workload
from hwsim.workload import FP32_BYTES, Op
from synth.errors import UserError


def _torch_macs(m, x):
    with FlopCounterMode(display=False) as fc, torch.no_grad():
        m.eval()(x)
    return fc.get_total_flops() // 2


@pytest.mark.parametrize("layer, shape", [
    (nn.GRU(8, 16, num_layers=2, bidirectional=True, batch_first=True), (5, 8)),
    (nn.GRU(8, 16), (5, 8)),
    (nn.GRUCell(8, 16), (8,)),
    (nn.RNN(8, 16, nonlinearity="relu", batch_first=True), (5, 8)),
    (nn.RNNCell(8, 16), (8,)),
    (nn.LSTM(8, 16, proj_size=4, num_layers=2, bidirectional=True, batch_first=True), (5, 8)),
    (nn.ConvTranspose2d(4, 6, 3, stride=2, output_padding=1, groups=2), (4, 5, 5)),
    (nn.ConvTranspose1d(4, 6, 3, dilation=2), (4, 5)),
    (nn.ConvTranspose3d(2, 4, 3, stride=2), (2, 3, 3, 3)),
    (nn.Conv3d(2, 4, 3, padding=1, stride=(1, 2, 2)), (2, 5, 6, 6)),
    (nn.Conv2d(4, 4, 3, groups=4, dilation=2), (4, 9, 9)),
])
def test_extracted_macs_match_torchs_flop_counter(layer, shape):
    """GRU, RNN, ConvTranspose*d and Conv3d were refused ('no cost model'); an LSTM with
    proj_size reduced over I + H (not I + P) and left its projection out."""
    torch.manual_seed(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")      # oneDNN: "LSTM with projections"
        ops = extract(layer, shape, batch=2)
        want = _torch_macs(layer, torch.randn((2,) + shape))
    assert sum(o.macs for o in ops) == want
    # each op runs alone for a host table with its recorded geometry (the layer's own op)
    t = tables.build_table(ops, "cpu", repeats=1)
    assert len(t) == len({o.key() for o in ops})


def test_a_gru_is_per_step_gemms_of_three_gates_and_its_cell_work():
    """nn.GRU(8, 16), 5 steps, batch 3: per step (3 x 24) @ (24 x 48), 5 groups one after
    another; 8 element ops per unit and step (2 sigmoid, r * hn, + in, tanh, h - n, z *, +)."""
    (op,) = extract(nn.GRU(8, 16, batch_first=True), (5, 8), batch=3)
    assert (op.type, op.gemm, op.groups) == ("gru", (3, 24, 48), 5)
    assert op.macs == 5 * 3 * 24 * 48
    assert op.elems == 5 * 3 * 8 * 16 == 5 * 3 * workload.RNN_CELL_OPS[nn.GRU] * 16
    assert op.weight_elems == 48 * 8 + 48 * 16


def test_a_transposed_conv_is_a_gemm_of_its_input_then_col2im_adds():
    """ConvTranspose2d(4, 6, 3, stride 2) on 4x5x5: T = 25 input pixels, K = 4, N = 6 x 9;
    25 x 4 x 54 = 5,400 MACs (a conv over the zero-stuffed 11x11 input multiplies 6 x 121 x
    36 = 26,136); col2im adds the 25 x 54 products: 1,350 element ops."""
    (op,) = extract(nn.ConvTranspose2d(4, 6, 3, stride=2), (4, 5, 5))
    assert (op.type, op.gemm, op.groups, op.macs, op.elems) == ("conv", (25, 4, 54), 1, 5400,
                                                                1350)
    assert op.out_shape == (1, 6, 11, 11)


def test_lstm_cell_work_is_priced_on_the_accelerator_and_spring():
    """nn.LSTM(8, 32), 10 steps: the 9 element ops per unit and step (2,880) were in
    Op.elems but the accelerator priced only the GEMM (cycles and energy) and SPRING only
    its energy.  Accelerator (8x8, ws, 8 b): + ceil(2,880 / 8) = 360 cycles and 2,880 x
    0.03 pJ; SPRING: + ceil(2,880 / 4,608) = 1 cycle per op (h201: the steps run one after
    another, each step's 288 element ops ceil(288 / 4,608) = 1 cycle: + 10)."""
    (op,) = extract(nn.LSTM(8, 32, batch_first=True), (10, 8))
    assert op.elems == 10 * 9 * 32
    gemm_only = Op(**{**op.__dict__, "elems": 0})
    cfg = AcceleratorConfig(rows=8, cols=8, precision_bits=8)
    full, bare = accel.evaluate([op], cfg), accel.evaluate([gemm_only], cfg)
    assert full["compute_cycles"] - bare["compute_cycles"] == 360
    assert full["energy_mac_mj"] - bare["energy_mac_mj"] == pytest.approx(2880 * 0.03e-9)
    s_full, s_bare = spring.evaluate([op]), spring.evaluate([gemm_only])
    assert s_full["compute_cycles"] - s_bare["compute_cycles"] == 10
    assert s_full["energy_mj"] > s_bare["energy_mj"]


def _linear(batch, k, n):
    return Op(type="linear", name="fc", in_shape=(batch, k), out_shape=(batch, n),
              weight_shape=(n, k), macs=batch * k * n, weight_bytes=k * n * FP32_BYTES,
              in_bytes=batch * k * FP32_BYTES, out_bytes=batch * n * FP32_BYTES,
              gemm=(batch, k, n))


def test_spring_weight_masks_that_fill_the_mask_buffer_leave_no_room_for_the_inputs():
    """Linear 1000 -> 2000, batch 600, dense: 2e6 weight masks fill a 0.25 MB (2e6 bit) mask
    buffer.  Each operand was given the whole buffer, so the weights stayed on chip while the
    input (2 tiles of the 1 MB activation buffer) streamed its masks through the same full
    buffer: no re-read.  Shared, the streamed input's double-buffered rows (2 x 1000 bits)
    leave 1,998,000 bits: the weights take 2 tiles and the input (12.6e6 bits) is read
    again once (the cheaper order: the weights again would be 42e6)."""
    op = _linear(600, 1000, 2000)
    cfg = SpringConfig(act_buffer_mb=1, weight_buffer_mb=100, mask_buffer_mb=0.25)
    assert spring.mask_room(spring._arrays([op]), cfg)[0] == 2e6 - 2000
    # (the batch run whole: ``chunks=False``; SPRING's default may run it in chunks, h182)
    assert spring.evaluate([op], cfg, chunks=False)["restream_bytes"] == pytest.approx(
        12.6e6 / 8)
    roomy = SpringConfig(act_buffer_mb=1, weight_buffer_mb=100, mask_buffer_mb=0.2503)
    assert spring.evaluate([op], roomy, chunks=False)["restream_bytes"] == 0


def test_spring_activation_masks_live_in_the_mask_buffer_beside_the_weights():
    """Linear 1000 -> 10 on a batch of 4,000, activations 99 % zero: the 4e6 input and 4e4
    output values' nonzeros (~0.8e6 + 0.8e6 bits) fit the 12 MB activation buffer, but
    their masks (4.04e6 bits) do not fit a 0.5 MB (4e6 bit) mask buffer: they stream (read
    the input, write the output) and were kept on chip."""
    op = Op(**{**_linear(4000, 1000, 10).__dict__, "act_sparsity": 0.99})
    # the batch run whole (``chunks=False``: SPRING's default runs it in chunks that fit, h182)
    small = spring.evaluate([op], SpringConfig(mask_buffer_mb=0.5), chunks=False)
    big = spring.evaluate([op], SpringConfig(mask_buffer_mb=1), chunks=False)
    w_bits = 10_000 * 21
    assert big["nvm_bytes"] == pytest.approx(w_bits / 8)
    in_bits = 4e6 * 0.01 * 20 + 4e6
    assert small["nvm_bytes"] == pytest.approx((w_bits + in_bits + 4e4 * 21) / 8)


class _Attention(nn.Module):
    """A distance matrix in a module's own forward: no layer records it (Q K^T, x @ y, is
    priced since h234: hwsim.products)."""

    def __init__(self):
        super().__init__()
        self.q, self.k = nn.Linear(8, 8), nn.Linear(8, 8)

    def forward(self, x):
        return torch.softmax(torch.cdist(self.q(x), self.k(x)), -1)


class _CSR(nn.Module):
    def __init__(self):
        super().__init__()
        from synth.sparse_exec import CSRLinear
        self.fc = CSRLinear(torch.eye(8), None)
        self.out = nn.Linear(8, 2)

    def forward(self, x):
        return self.out(self.fc(x))


@pytest.mark.parametrize("model, shape, named", [
    # Upsample, PixelShuffle, MaxPool3d and Softplus were here; priced since h96
    # (tests/hwsim/test_layers_priced_h96.py); LPPool2d, LocalResponseNorm, ChannelShuffle
    # and TransformerEncoderLayer (MultiheadAttention) since h104
    # (tests/hwsim/test_h104_attention_layers.py).  Layers still without a cost model:
    (_Attention(), (5, 8), "called outside a layer"),
    (_CSR(), (8,), "CSRLinear"),
])
def test_a_layer_without_a_cost_model_is_refused_in_one_line(model, shape, named):
    """Each was priced as the model without it (Upsample, PixelShuffle, MaxPool3d, Softplus
    until h96 priced them, LPPool2d, LocalResponseNorm, ChannelShuffle until h104; still
    a Q K^T in a module's own forward, synth.sparse_exec's CSRLinear: no weights of 2
    dimensions, so no refusal): a model silently cheaper than it is."""
    with pytest.raises(UserError, match="cannot price layer") as e:
        price(model, shape)
    assert named in str(e.value) and "\n" not in str(e.value)


def test_free_layers_still_price():
    m = nn.Sequential(nn.Embedding(10, 4), nn.Dropout2d(0.1), nn.Flatten(), nn.Identity(),
                      nn.Unflatten(1, (3, 4)), nn.Flatten(), nn.Linear(12, 2))
    ops = extract(m, (3,), inputs=torch.randint(0, 10, (1, 3)))
    assert [o.type for o in ops] == ["embedding", "linear"]   # a lookup: priced since h86
    assert math.isfinite(price(nn.Sequential(nn.Conv2d(3, 4, 3), nn.Sequential()),
                               (3, 5, 5))["latency_ms"])
