"""SPRING prices a batch by one rule everywhere (h182): whole or in chunks, whichever takes
fewer cycles.

``hwsim.price``, ``hwsim eval --spring``, the hwsim pool and the latency rows ran a batch
whose activations spill the 12 MB activation buffer in chunks (h179), while
``hwsim.spring.evaluate`` and ``compare`` called as documented, and the SPRING rows of
``hwsim table --device spring``, still ran it whole, streaming its activations through the
NVM at every layer (here 2x and more the chunked time).  ``chunks=False`` keeps the whole-batch
figure."""
import pytest
import torch
from torch import nn

import hwsim
from hwsim import extract, spring
from hwsim.tables import build_table

SHAPE = (16, 32, 32)   # 16 x 32 x 32 values in and out a sample: 256 samples spill 12 MB


def _ops(batch):
    torch.manual_seed(0)
    return extract(nn.Sequential(nn.Conv2d(16, 16, 3, padding=1), nn.ReLU()), SHAPE,
                   batch=batch)


@pytest.mark.parametrize("mode", spring.MODES)
def test_evaluate_and_compare_run_a_spilling_batch_in_chunks_by_default(mode):
    ops = _ops(256)
    chunked = spring.evaluate(ops, mode=mode, chunks=True)
    whole = spring.evaluate(ops, mode=mode, chunks=False)
    assert chunked["cycles"] < whole["cycles"]          # the batch spills: chunks are faster
    assert spring.evaluate(ops, mode=mode) == chunked
    assert spring.compare(ops, mode=mode)["spring"] == chunked


def test_a_batch_that_fits_is_run_whole_by_default():
    ops = _ops(16)
    assert spring.evaluate(ops) == spring.evaluate(ops, chunks=False)


def test_a_spring_table_row_prices_its_op_by_the_same_rule():
    """A SPRING table row is its op alone on SPRING: the conv of a spilling batch in chunks,
    as ``spring.evaluate([op])`` and ``hwsim.price_ops([op], spring_cfg=True)`` price it."""
    ops = _ops(256)
    conv = ops[0]
    row = build_table([conv], "spring").row(conv)
    alone = spring.evaluate([conv], chunks=True)
    assert alone["latency_ms"] < spring.evaluate([conv], chunks=False)["latency_ms"]
    assert row["latency_ms"] == alone["latency_ms"]
    assert row["energy_mj"] == alone["energy_mj"]
    assert hwsim.price_ops([conv], None, True)["spring_latency_ms"] == alone["latency_ms"]
