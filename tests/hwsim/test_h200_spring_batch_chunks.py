"""SPRING runs a batch in chunks when an op of it has no batch of its own (h200).

``hwsim.spring`` runs a batch whole or in chunks through the whole network, whichever is
faster; chunking needed every op to cover the batch (each op's samples, ``op_samples``, the
same).  An op that did not switched it off for the whole model: ``y[y < 0] = 0`` (its write of
a number was recorded with an input shape of (), its output the mask's flat selection), a
product of broadcast constants, a mean over the batch.  Now a write covers its target's
samples, an op without the batch runs whole in every chunk, and a reduction over the batch
reduces each chunk into partial results, what the chunks read after it waiting on chip or in
the NVM.  Each price is checked by hand against the extracts of one chunk: every sample of
the batch is the same image, so a chunk of c samples is the extract of c of them."""
import dataclasses

import numpy as np
import pytest
import torch
from torch import nn

from hwsim import extract, spring
from hwsim.accel import chunk_sizes
from hwsim.spring import SpringConfig

B, SHAPE = 64, (3, 8, 8)
# a buffer the whole batch's activations spill (64 x 1,024 values at 20 b: 1.3 Mbit) and a
# chunk of 8 does not (0.16 Mbit): 0.05 MB = 0.4 Mbit
CFG = SpringConfig(act_buffer_mb=0.05)
IMAGE = torch.randn((1, *SHAPE), generator=torch.Generator().manual_seed(0))


class Net(nn.Module):
    """conv(3, 8) -> the forward's own call -> conv(8, 8) -> Linear(512, 10)."""

    def __init__(self, call):
        super().__init__()
        torch.manual_seed(0)
        self.c1, self.c2 = nn.Conv2d(3, 8, 3, padding=1), nn.Conv2d(8, 8, 3, padding=1)
        self.fc, self.call = nn.Linear(512, 10), call
        self.register_buffer("scale", torch.ones(1, 8, 1, 1))

    def forward(self, x):
        return self.fc(self.c2(self.call(self, self.c1(x))).flatten(1))


def _write(m, y):
    y[y < 0] = 0          # a ReLU written as a masked assignment of a number
    return y


def _index_put(m, y):
    return y.index_put_((y < 0,), torch.tensor(0.0))


CALLS = {"relu": lambda m, y: torch.relu(y), "write": _write, "index_put": _index_put,
         # (1, 8, 1, 1) x 2: a product of broadcast constants, no batch of its own
         "constant": lambda m, y: y * (m.scale * 2), "mean0": lambda m, y: y - y.mean(0),
         # a copy to (8, B, 8, 8), viewed back
         "permute": lambda m, y: y.permute(1, 0, 2, 3).contiguous().permute(1, 0, 2, 3)}


def _ops(call, n, change=lambda op: op):
    return [change(o) for o in extract(Net(CALLS[call]), SHAPE, inputs=IMAGE.repeat(n, 1, 1, 1))]


def _partial(op):
    """A reduction over the batch in a chunk: it also reads the partial results of the
    chunks before, its O values, and adds them in (O element ops)."""
    if op.type == "eltwise" and dict(op.geometry).get("dim") == (0,):
        return dataclasses.replace(op, in_bytes=op.in_bytes + op.out_bytes,
                                   elems=op.elems + op.out_elems)
    return op


def _run(ops, cfg, hold=0.0):
    """(cycles, pJ) of one run of ``ops`` whole, its reduction also writing ``hold`` bits to
    the NVM and reading them back (its cycles: the larger of its compute and that traffic's)."""
    r = spring.evaluate(ops, cfg, chunks=False)
    cycles, pj = r["cycles"], r["energy_mj"] * 1e9
    if hold:
        i = next(i for i, o in enumerate(ops) if _partial(o) is not o)
        bits_per_cycle = cfg.nvm_gbps * 8e9 / (cfg.clock_mhz * 1e6)
        before = r["layers"][i]["cycles"]   # (the op's own NVM traffic: none, it fits)
        more = max(before, 2 * hold / bits_per_cycle) - before
        cycles += more
        pj += hold * (cfg.nvm_read_pj_per_bit + cfg.nvm_write_pj_per_bit) \
            + cfg.static_w * more / (cfg.clock_mhz * 1e6) * 1e12
    return cycles, pj


def _by_hand(call, cfg=CFG, waits=False):
    """The fastest of the whole batch and each chunk size (ties: less energy): floor(B / c)
    runs of c samples and one of the rest, each priced as the extract of that many."""
    whole = spring.evaluate(_ops(call, B), cfg, chunks=False)
    best = (whole["cycles"], whole["energy_mj"] * 1e9)
    for c in sorted({int(b[0]) for b in chunk_sizes(np.array([float(B)]))}):
        if c >= B:
            continue
        cost = np.zeros(2)
        for n, times in ((c, B // c), (B % c, 1)):
            if n and times:
                ops = _ops(call, n, _partial)
                red = next((o for o in ops if _partial(o) is not o), None)
                hold = (n * 512 * ((1 - red.act_sparsity) * cfg.bits + 1)
                        if waits and red is not None else 0.0)
                cost += times * np.array(_run(ops, cfg, hold))
        best = min(best, tuple(cost))
    return best


@pytest.mark.parametrize("call", ["relu", "write", "index_put", "constant"])
def test_a_batch_with_an_op_of_no_batch_runs_in_chunks(call):
    """y[y < 0] = 0 and y.index_put_((mask,), 0) write their selection of each sample (a
    write recorded against its target, its counts data-dependent); m.scale * 2 is the same
    work in every chunk.  Each is priced as its chunks by hand, as the ReLU model is (that
    passes before; the others ran the batch whole: 2.0-2.3x the time)."""
    ops = _ops(call, B)
    got = spring.evaluate(ops, CFG)
    whole = spring.evaluate(ops, CFG, chunks=False)
    assert got["latency_ms"] < whole["latency_ms"]
    cycles, pj = _by_hand(call)
    assert got["cycles"] == pytest.approx(cycles, rel=1e-12)
    assert got["energy_mj"] * 1e9 == pytest.approx(pj, rel=1e-12)


def test_a_mean_over_the_batch_reduces_each_chunk_and_holds_its_input():
    """y - y.mean(0): each chunk reduces its samples into the 512 partial means (reading
    and adding those of the chunks before), and the second pass over the chunks reads y
    again: the batch's y, 64 x 512 values at 20 b, does not fit the 0.05 MB buffer, so each
    chunk writes its share to the NVM and reads it back (values at 20 b where nonzero and a
    mask bit each).  It ran the batch whole (its activations spilling at every layer: 1.4x
    the time)."""
    ops = _ops("mean0", B)
    got = spring.evaluate(ops, CFG)
    assert got["latency_ms"] < spring.evaluate(ops, CFG, chunks=False)["latency_ms"]
    cycles, pj = _by_hand("mean0", CFG, waits=True)
    assert got["cycles"] == pytest.approx(cycles, rel=1e-12)
    assert got["energy_mj"] * 1e9 == pytest.approx(pj, rel=1e-12)


def test_a_reduced_tensor_that_fits_waits_on_chip():
    """With a 0.1 MB buffer (0.8 Mbit) the batch's y (0.66 Mbit) fits and waits there, no
    NVM traffic for it, while conv(8, 8)'s input and output (1.3 Mbit) spill the whole
    batch: the chunks by hand, the partial means as above."""
    cfg = SpringConfig(act_buffer_mb=0.1)
    ops = _ops("mean0", B)
    got = spring.evaluate(ops, cfg)
    assert got["latency_ms"] < spring.evaluate(ops, cfg, chunks=False)["latency_ms"]
    cycles, pj = _by_hand("mean0", cfg)
    assert got["cycles"] == pytest.approx(cycles, rel=1e-12)
    assert got["energy_mj"] * 1e9 == pytest.approx(pj, rel=1e-12)


def test_an_op_of_another_leading_dimension_keeps_the_batch_whole():
    """A copy to (8, B, 8, 8) (permute then contiguous): its share of a chunk is not known
    from its shapes, so the batch runs whole (as it did)."""
    ops = _ops("permute", B)
    assert spring.evaluate(ops, CFG)["cycles"] == spring.evaluate(ops, CFG, chunks=False)["cycles"]
