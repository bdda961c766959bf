"""Conv1d (sensor / time-series nets) priced as the GEMM of the Conv2d it equals: a Conv1d
of kernel k on length L is a Conv2d of kernel 1 x k on 1 x L.  Before, hwsim refused it
('no cost model'), and MaxPool1d/AvgPool1d were priced as free."""
import pytest
import torch
from torch import nn

from hwsim import AcceleratorConfig, SpringConfig, accel, extract, gpu, spring
from hwsim.tables import build_table, op_callable
from synth.errors import UserError


def _pair(conv1d_kwargs: dict) -> dict:
    """The Conv2d keyword arguments equal to a Conv1d's (height 1)."""
    out = {}
    for k, v in conv1d_kwargs.items():
        if k in ("groups", "padding_mode", "bias") or isinstance(v, str):
            out[k] = v
        elif k == "padding":
            out[k] = (0, v)
        else:
            out[k] = (1, v)
    return out


def test_conv1d_hand_count_macs_cycles_dram():
    """Conv1d(2, 3, 3), no bias, length 6, batch 1: Lo = 4, GEMM T=4, K=2*3=6, N=3,
    MACs 72.  On a 2x2 array at 8 bits, ws: ceil(6/2)*ceil(3/2)*(2*2+2+4-2) - 1 = 47 cycles;
    os: ceil(4/2)*ceil(3/2)*(2+2+6-2) - 1 = 31; is: ceil(6/2)*ceil(4/2)*(2*2+2+3-2) - 1 = 41.
    DRAM: 18 weights + 12 inputs + 12 outputs = 42 bytes when all fit; an ifmap of 10 bytes
    (half: 5 < 12) re-reads the input once per column fold, ceil(3/2) = 2 on ws: 54 bytes."""
    layer = nn.Conv1d(2, 3, 3, bias=False)
    (op,) = extract(layer, (2, 6))
    assert (op.type, op.gemm, op.groups, op.macs) == ("conv", (4, 6, 3), 1, 72)
    assert (op.weight_bytes, op.in_bytes, op.out_bytes) == (18 * 4, 12 * 4, 12 * 4)
    for df, cycles in (("ws", 47), ("os", 31), ("is", 41)):
        r = accel.evaluate([op], AcceleratorConfig(rows=2, cols=2, dataflow=df,
                                                   precision_bits=8))
        assert r["cycles"] == cycles and r["compute_cycles"] == cycles, df
        assert r["dram_bytes"] == 42, df
        assert r["utilization"] == pytest.approx(72 / (cycles * 4))
    r = accel.evaluate([op], AcceleratorConfig(rows=2, cols=2, dataflow="ws", precision_bits=8,
                                               ifmap_kb=10 / 1024))
    assert r["dram_bytes"] == 18 + 2 * 12 + 12


@pytest.mark.parametrize("kwargs", [
    {}, {"stride": 2}, {"padding": 2, "dilation": 2}, {"groups": 2}, {"groups": 4},
    {"padding": "same", "padding_mode": "reflect"}, {"stride": 3, "padding": 1, "bias": False},
    {"padding": 1, "padding_mode": "circular", "dilation": 3},
])
def test_conv1d_prices_as_the_equal_conv2d(kwargs):
    """The invariant: Conv1d(k) on L = Conv2d(1 x k) on 1 x L, on every model (accelerator
    on several odd arrays and dataflows, SPRING inference and training, GPU roofline), with
    the same weights and inputs (so the same sparsities)."""
    torch.manual_seed(0)
    c1 = nn.Conv1d(4, 8, 3, **kwargs)
    c2 = nn.Conv2d(4, 8, (1, 3), **_pair(kwargs))
    with torch.no_grad():
        c2.weight.copy_(c1.weight.unsqueeze(2))
        c1.weight[c1.weight.abs() < 0.1] = 0           # some weight sparsity
        c2.weight.copy_(c1.weight.unsqueeze(2))
        if c1.bias is not None:
            c2.bias.copy_(c1.bias)
    x = torch.relu(torch.randn(3, 4, 17))              # some activation sparsity
    # (a conv of padding_mode other than 'zeros' is its padded copy, then the conv, h209)
    ops1, ops2 = extract(c1, (4, 17), inputs=x), extract(c2, (4, 1, 17), inputs=x.unsqueeze(2))
    assert len(ops1) == len(ops2) == 1 + (kwargs.get("padding_mode", "zeros") != "zeros")
    o1, o2 = ops1[-1], ops2[-1]
    assert (o1.type, o1.gemm, o1.groups, o1.macs) == (o2.type, o2.gemm, o2.groups, o2.macs)
    assert (o1.weight_bytes, o1.in_bytes, o1.out_bytes) == (o2.weight_bytes, o2.in_bytes,
                                                            o2.out_bytes)
    assert (o1.weight_sparsity, o1.act_sparsity) == (o2.weight_sparsity, o2.act_sparsity)
    for rows, cols in ((1, 7), (7, 1), (3, 5), (32, 32)):
        for df in ("ws", "os", "is"):
            cfg = AcceleratorConfig(rows=rows, cols=cols, dataflow=df, ifmap_kb=0.05,
                                    filter_kb=0.05, ofmap_kb=0.05)
            a1, a2 = accel.evaluate(ops1, cfg), accel.evaluate(ops2, cfg)
            for key in ("cycles", "dram_bytes", "energy_mj", "utilization", "latency_ms"):
                assert a1[key] == a2[key], (rows, cols, df, key)
    for mode in ("inference", "training"):
        s1 = spring.evaluate(ops1, SpringConfig(act_buffer_mb=1e-5), mode)
        s2 = spring.evaluate(ops2, SpringConfig(act_buffer_mb=1e-5), mode)
        assert (s1["cycles"], s1["energy_mj"], s1["nvm_bytes"]) == (
            s2["cycles"], s2["energy_mj"], s2["nvm_bytes"])
        assert gpu.evaluate(ops1, mode=mode) == gpu.evaluate(ops2, mode=mode)


@pytest.mark.parametrize("kwargs", [
    {}, {"stride": 2, "padding": 1}, {"dilation": 2, "groups": 2, "bias": False},
    {"padding": "same", "padding_mode": "reflect"}, {"padding": 2, "padding_mode": "replicate"},
])
def test_the_cpu_table_times_a_conv1d_as_the_layer_computes_it(kwargs):
    """The cpu table runs the layer's own op: F.conv1d with its geometry (it ran F.conv2d,
    which refuses a 3-d weight).  Same tensors drawn as the op's: the layer's output."""
    layer = nn.Conv1d(4, 6, 3, **kwargs)
    *copies, op = extract(layer, (4, 11))   # (a padded copy first where the mode makes one)
    assert [c.type for c in copies] == ["resample"] * len(copies)
    gen = torch.Generator().manual_seed(0)
    got = op_callable(op, gen)()
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(op.in_shape, generator=gen)
    with torch.no_grad():
        layer.weight.copy_(torch.randn(op.weight_shape, generator=gen))
        if layer.bias is not None:
            layer.bias.copy_(torch.randn(layer.bias.shape, generator=gen))
        assert torch.allclose(got, layer(x), atol=1e-5)


def test_a_time_series_net_prices_its_1d_pools_and_builds_tables():
    m = nn.Sequential(nn.Conv1d(3, 8, 5), nn.BatchNorm1d(8), nn.ReLU(), nn.MaxPool1d(2),
                      nn.Conv1d(8, 8, 3, groups=8), nn.AvgPool1d(2), nn.Conv1d(8, 4, 1),
                      nn.AdaptiveAvgPool1d(1), nn.Flatten(), nn.Linear(4, 2))
    ops = extract(m, (3, 40))
    assert [o.type for o in ops] == ["conv", "batchnorm", "eltwise", "pool", "depthwise", "pool",
                                     "conv", "pool", "linear"]
    pools = [o for o in ops if o.type == "pool"]
    assert [o.elems for o in pools] == [8 * 36, 8 * 16, 4 * 8]   # each reads its input
    assert sum(o.macs for o in ops) == 36 * 15 * 8 + 16 * 3 * 8 + 8 * 8 * 4 + 4 * 2
    for device in ("accel", "spring", "cpu"):
        table = build_table(ops, device, repeats=1) if device == "cpu" else build_table(ops,
                                                                                        device)
        assert len(table) == len(ops)


def test_a_huge_conv1d_is_bounded_before_its_forward_pass():
    """extract()'s work bound counted Conv2d and Linear MACs only: a Conv1d's were 0."""
    layer = nn.Conv1d(4096, 4096, 64, device="meta")     # 4 GB of weights: never built
    with pytest.raises(UserError, match="multiply-accumulates") as e:
        extract(layer, (4096, 4096))
    assert "\n" not in str(e.value)


def test_a_sample_shape_an_lstm_refuses_is_one_line():
    """nn.LSTM raises ValueError (not RuntimeError) for an input of the wrong rank: it came
    out of hwsim.price as a traceback."""
    with pytest.raises(UserError, match="does not accept input shape") as e:
        extract(nn.LSTM(4, 8), (2, 3, 4))
    assert "\n" not in str(e.value)
