"""A batch whose weights do not fit the filter pad runs whole when it moves few DRAM bytes.
Under 609f886's rule (activations cross DRAM at most ``ACT_REFETCH_MAX`` times) lenet300_100's
first layer, Linear(784, 300) at batch 16 on 16 x 4 os with 8/8/8 KiB pads, could not run as
one GEMM: its 235,200 weights spill, so the batch re-reads its inputs once per column fold
(75 times), though it reads the weights once where 16 batch-1 runs read them 16 times.  It
ran in chunks, 240,596 cycles (4.0x the whole batch).  A schedule is now also allowed when
its DRAM bytes are at most ``DRAM_COMPULSORY_MAX`` x the compulsory bytes (16 x weights +
inputs + outputs once): the whole batch, 60,149 cycles, 1,180,800 B."""
import torch
from torch import nn

from hwsim import accel
from hwsim.accel import AcceleratorConfig
from hwsim.workload import build_priced, extract
from tests.hwsim.test_batch_tiling_h92 import dram_bounds

CFG = AcceleratorConfig(rows=16, cols=4, dataflow="os", ifmap_kb=8, filter_kb=8, ofmap_kb=8)


def _check(model, shape, batch=16):
    one, ops = extract(model, shape), extract(model, shape, batch=batch)
    single, many = accel.evaluate(one, CFG), accel.evaluate(ops, CFG)
    bound, runs = dram_bounds(one, ops, batch, [CFG])
    assert many["cycles"] <= batch * single["cycles"]
    assert many["dram_bytes"] <= bound[0]
    return single, many


def test_linear_whose_weights_spill_runs_its_batch_whole():
    torch.manual_seed(0)
    lin = nn.Linear(784, 300)
    assert lin.weight.numel() > CFG.filter_kb * 1024          # int8: one byte a weight
    single, many = _check(lin, (784,))
    assert many["cycles"] == 60149                             # 240,596 under 609f886
    assert many["cycles"] <= 16 * single["cycles"] / 8         # 962,384 one at a time
    assert many["dram_bytes"] == 1180800                       # 16 runs: 3,780,544 B
    comp = 16 * lin.weight.numel() + 16 * (784 + 300)          # bytes, int8
    assert many["dram_bytes"] <= accel.DRAM_COMPULSORY_MAX * comp


def test_lenet300_100_batch_16():
    torch.manual_seed(0)
    model = build_priced("lenet300_100", (1, 28, 28), 10)
    single, many = _check(model, (1, 28, 28))
    # 70,051 cycles (258,447 under 609f886; 1,096,816 for 16 batch-1 runs), 1,347,960 B
    assert many["cycles"] <= 16 * single["cycles"] / 8
    assert many["energy_mj"] <= 16 * single["energy_mj"]
