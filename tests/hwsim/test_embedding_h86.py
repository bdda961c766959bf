"""Embedding and EmbeddingBag are priced (helper 86): a lookup reads one table row per index
(from DRAM where the table does not fit half the filter scratchpad), does no MAC, and an
EmbeddingBag's sum or mean is element work.  Before, both were free: no op at all, so a
language model's embedding cost nothing."""
import math

import numpy as np
import pytest
import torch
from torch import nn

from hwsim import AcceleratorConfig, accel, extract, gpu, spring
from tests.hwsim.test_invariants_h81 import check_accel


def test_embedding_is_one_lookup_op_that_reads_a_row_per_index():
    m = nn.Sequential(nn.Embedding(1000, 16), nn.Flatten(), nn.Linear(5 * 16, 2))
    idx = torch.randint(0, 1000, (3, 5))
    ops = extract(m, (5,), inputs=idx)
    assert [o.type for o in ops] == ["embedding", "linear"]
    emb = ops[0]
    assert emb.macs == 0 and emb.weight_shape == (1000, 16) and emb.elems == 0
    assert emb.in_elems == 15 and emb.out_elems == 15 * 16
    # 16,000 one-byte values do not fit half of 4 KiB: every one of the 15 lookups reads its
    # 16-value row from DRAM, besides the 15 indices read and the 240 values written
    small = AcceleratorConfig(filter_kb=4.0, precision_bits=8)
    layer = accel.evaluate(ops, small)["layers"][0]
    assert layer["dram_bytes"] == 15 + 240 + 15 * 16
    assert layer["latency_ms"] > 0 and layer["energy_mj"] > 0 and layer["macs"] == 0
    # a table that fits reads each row at most once, and never more than the table: here
    # the lookups, 240 values
    assert accel.evaluate(ops, AcceleratorConfig(filter_kb=64.0))["layers"][0][
        "dram_bytes"] == 15 + 240 + 240


@pytest.mark.parametrize("mode, extra", [("sum", 0), ("max", 0), ("mean", 4 * 8)])
def test_embedding_bag_reductions_are_element_ops(mode, extra):
    bag = nn.EmbeddingBag(50, 8, mode=mode)
    ops = extract(bag, (6,), inputs=torch.randint(0, 50, (4, 6)))
    assert [o.type for o in ops] == ["embedding"]
    op = ops[0]
    assert op.macs == 0 and op.out_shape == (4, 8)
    assert op.elems == 4 * 6 * 8 + extra          # an add (or max) per value read; mean: / n
    cfg = AcceleratorConfig(cols=8)
    assert accel.evaluate(ops, cfg)["layers"][0]["compute_cycles"] == math.ceil(op.elems / 8)
    assert dict(op.geometry)["mode"] == mode      # a max bag is not a sum bag's work


def test_hlstm_language_model_prices_its_embedding():
    """The hlstm LM (synth.lm) priced on the accelerator model and SPRING: its embedding an
    op that costs DRAM traffic and time (it cost nothing)."""
    from synth.lm import LanguageModel
    torch.manual_seed(0)
    model = LanguageModel({"family": "lm", "cell": "hlstm", "embed": 64, "hidden": [32],
                           "tied": False}, 5000)
    ops = extract(model, (35,), inputs=torch.randint(0, 5000, (2, 35)))
    emb = [o for o in ops if o.type == "embedding"]
    assert [o.name for o in emb] == ["embed"] and emb[0].weight_shape == (5000, 64)
    rest = [o for o in ops if o.type != "embedding"]
    cfg = AcceleratorConfig()          # 320,000 one-byte values: larger than 32 KiB
    with_it, without = accel.evaluate(ops, cfg), accel.evaluate(rest, cfg)
    assert with_it["dram_bytes"] - without["dram_bytes"] == 70 + 70 * 64 + 70 * 64
    assert with_it["latency_ms"] > without["latency_ms"]
    assert with_it["energy_mj"] > without["energy_mj"]
    for mod in (spring, gpu):
        assert math.isfinite(mod.evaluate(ops)["latency_ms"])


def _embedding_workloads(n=20, seed=86):
    rng = np.random.default_rng(seed)
    torch.manual_seed(seed)
    out = []
    for _ in range(n):
        vocab, dim = int(rng.integers(2, 3000)), int(rng.integers(1, 40))
        steps, batch = int(rng.integers(1, 30)), int(rng.integers(1, 4))
        layer = (nn.Embedding(vocab, dim) if rng.integers(2) else
                 nn.EmbeddingBag(vocab, dim, mode=str(rng.choice(["sum", "mean", "max"]))))
        m = nn.Sequential(layer, nn.Flatten(), nn.Linear(
            dim * (steps if isinstance(layer, nn.Embedding) else 1), int(rng.integers(1, 9))))
        idx = torch.randint(0, vocab, (batch, steps))
        out.append((extract(m, (steps,), inputs=idx), len(torch.unique(idx)) * dim))
    return out


def test_accelerator_invariants_hold_with_embeddings():
    """As tests/hwsim/test_invariants_h81.py checks them, the compulsory traffic of a lookup
    being the distinct rows it reads (not the whole table): utilization <= 1, cycles >=
    MACs / PEs, DRAM bytes >= compulsory, energy = the sum of its parts, no cost larger with
    a larger scratchpad."""
    rng = np.random.default_rng(3)
    for ops, rows in _embedding_workloads():
        for _ in range(4):
            cfg = AcceleratorConfig(rows=int(rng.integers(1, 40)), cols=int(rng.integers(1, 40)),
                                    dataflow=str(rng.choice(accel.DATAFLOWS)),
                                    precision_bits=int(rng.choice([4, 8, 16])),
                                    filter_kb=float(rng.uniform(0.01, 64)))
            lookup, linear = ops
            check_accel(ops, cfg, lookup.in_elems + lookup.out_elems + rows
                        + linear.weight_elems + linear.in_elems + linear.out_elems)
