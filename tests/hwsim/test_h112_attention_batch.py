"""Attention's products (``matmul`` ops: one GEMM per sample and head) at a batch: their
samples are their groups (``hwsim.accel.op_samples``), so a batch whose operands spill the
scratchpads is tiled like any other op instead of re-reading them on every fold (an attention
at batch 4 cost 2.25x the DRAM bytes of 4 batch-1 runs on 8 KiB pads); at batch 1 nothing
changes."""
import dataclasses

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import hwsim
from hwsim import accel
from hwsim.accel import op_samples
from hwsim.workload import extract
from tests.hwsim.test_batch_tiling_h92 import check_batch_bounds

SMALL = accel.AcceleratorConfig(rows=8, cols=8, ifmap_kb=8, filter_kb=8, ofmap_kb=8)
CONFIGS = [accel.AcceleratorConfig(), SMALL,
           accel.AcceleratorConfig(rows=16, cols=16, ifmap_kb=16, filter_kb=16, ofmap_kb=4)]


class SelfAttention(nn.Module):
    def __init__(self, d=32, heads=4):
        super().__init__()
        torch.manual_seed(0)
        self.attn = nn.MultiheadAttention(d, heads, batch_first=True)

    def forward(self, x):
        return self.attn(x, x, x, need_weights=False)[0]


class Sdpa(nn.Module):
    def __init__(self, d=32, heads=4):
        super().__init__()
        torch.manual_seed(0)
        self.qkv, self.heads = nn.Linear(d, 3 * d), heads

    def forward(self, x):
        b, length, d = x.shape
        q, k, v = (t.reshape(b, length, self.heads, d // self.heads).transpose(1, 2)
                   for t in self.qkv(x).chunk(3, -1))
        return F.scaled_dot_product_attention(q, k, v, is_causal=True)


@pytest.mark.parametrize("model", [SelfAttention(), Sdpa()], ids=["mha", "sdpa"])
def test_a_batch_of_attention_costs_no_more_than_its_samples_one_at_a_time(model):
    """Each op, and so the total: no more cycles than its samples one at a time, DRAM bytes at
    most theirs plus (``ACT_REFETCH_MAX`` - 1) x its activations' bytes, energy at most theirs
    plus those bytes' DRAM energy; cycles no more with a pad 4x larger (the batch-tiling rule
    since test_h152_monotone_batch.py: at most their DRAM bytes and energy was the bound, and
    the mha's q_proj on the 16 x 16 array with a 4 KiB ofmap pad now reads 25,600 B where its
    4 samples read 16,384, in 951 cycles, none stalled, where they take 1,500)."""
    shape, batch = (48, 32), 4
    one, many = extract(model, shape, batch=1), extract(model, shape, batch=batch)
    assert len(one) == len(many)
    for x, y in zip(one, many):
        try:
            check_batch_bounds([x], [y], batch, CONFIGS)
        except AssertionError as e:
            raise AssertionError((x.name, str(e))) from e
    # on 8 KiB pads a whole batch's products spill where one sample's fit: it was 2.25x
    a, b = accel.evaluate(one, SMALL), accel.evaluate(many, SMALL)
    assert b["dram_bytes"] <= batch * a["dram_bytes"]
    products = [o for o in many if o.type == "matmul"]
    assert len(products) == 2
    for o in products:   # the samples are the groups: batch x heads GEMMs
        assert op_samples(o) == batch and o.groups == batch * 4
        assert o.in_shape[0] == o.out_shape[0] == batch
    assert all(op_samples(o) == 1 for o in one)


def test_batch_one_attention_prices_as_before():
    """At batch 1 a product is one sample (its heads are not tiled): priced as the record
    with the flat shapes it had before (taken by op_samples as one sample)."""
    ops = extract(SelfAttention(), (48, 32), batch=1)
    flat = [dataclasses.replace(o, in_shape=(o.in_elems,), out_shape=(o.out_elems,))
            if o.type == "matmul" else o for o in ops]
    for cfg in CONFIGS:
        p, q = hwsim.price_ops(ops, cfg, spring_cfg=True), hwsim.price_ops(flat, cfg, True)
        assert p == q
