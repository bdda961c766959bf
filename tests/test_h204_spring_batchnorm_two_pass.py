"""SPRING prices a BatchNorm's batch statistics over the whole batch (h204).

``hwsim.spring._schedule`` may run a batch in chunks through the whole network.  A BatchNorm
in training normalizes by the whole batch's mean and variance, and its backward pass needs
the batch's sums of dY and dY x x_hat: each chunk must reach the BatchNorm before any chunk
goes past it, its input (and in training its dY) held across the two passes, through the
NVM where the whole batch's does not fit the activation buffer.  It was priced per chunk (a
ghost batch norm: each chunk normalized by its own statistics), at the price of a per-sample
norm of the same element ops.  The reference here is that op with its type changed to
``norm`` (same shapes, element ops and geometry, no batch statistics)."""
import dataclasses

import pytest
import torch
from torch import nn

from hwsim import extract, spring
from hwsim.spring import SpringConfig

BATCH = 64


def _ops(stats=True):
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1),
                        nn.BatchNorm2d(8, track_running_stats=stats), nn.ReLU(),
                        nn.Conv2d(8, 8, 3, padding=1)).eval()
    return extract(net, (3, 16, 16), batch=BATCH)


def _per_sample(ops):
    return [dataclasses.replace(o, type="norm") if o.type == "batchnorm" else o for o in ops]


def test_batch_statistics_passes():
    from hwsim.spring import batch_statistics
    ops, free = _ops(), _ops(stats=False)
    assert [batch_statistics(o, "training") for o in ops] == [0, 2, 0, 0]
    assert [batch_statistics(o, "inference") for o in ops] == [0, 0, 0, 0]
    assert [batch_statistics(o, "inference") for o in free] == [0, 1, 0, 0]


def test_training_holds_the_batchnorms_input_and_dy_across_the_chunks():
    """A 0.05 MB activation buffer (20,000 values of 20 b): the whole batch spills at every
    layer and runs in chunks.  The BatchNorm's input (I = 64 x 8 x 16 x 16 = 131,072 values,
    no zeros: 21 bits a value compressed) waits through the NVM for the batch's statistics,
    and its dY (O values, as many) for the backward sums: written and read, 2 x (I + O) x
    21 / 8 bytes more than a per-sample norm (before h204: the same bytes)."""
    ops = _ops()
    bn = next(o for o in ops if o.type == "batchnorm")
    assert bn.act_sparsity == 0.0 and bn.in_elems == bn.out_elems == BATCH * 8 * 256
    cfg = SpringConfig(act_buffer_mb=0.05, nvm_gbps=64)
    whole = spring.evaluate(ops, cfg, "training", chunks=False)
    got, ghost = (spring.evaluate(o, cfg, "training") for o in (ops, _per_sample(ops)))
    assert got["cycles"] < whole["cycles"]                      # (it does run in chunks)
    held = 2 * (bn.in_elems + bn.out_elems) * 21 / 8
    assert got["nvm_bytes"] - ghost["nvm_bytes"] == pytest.approx(held, rel=1e-12)
    assert got["cycles"] > ghost["cycles"] and got["energy_mj"] > ghost["energy_mj"]
    # inference with stored statistics: no other sample needed, the same price
    a, b = (spring.evaluate(o, cfg) for o in (ops, _per_sample(ops)))
    assert (a["cycles"], a["nvm_bytes"], a["energy_mj"]) == (b["cycles"], b["nvm_bytes"],
                                                             b["energy_mj"])


def test_inference_without_running_statistics_holds_its_input_once():
    ops = _ops(stats=False)
    bn = next(o for o in ops if o.type == "batchnorm")
    cfg = SpringConfig(act_buffer_mb=0.05, nvm_gbps=64)
    got, ghost = (spring.evaluate(o, cfg) for o in (ops, _per_sample(ops)))
    assert got["nvm_bytes"] - ghost["nvm_bytes"] == pytest.approx(
        2 * bn.in_elems * 21 / 8, rel=1e-12)


def test_a_batch_that_fits_holds_it_on_chip():
    """0.5 MB: the whole batch's BatchNorm input fits (131,072 x 20 b = 2.6 Mb of 4 Mb), so
    it waits in the buffer: no NVM bytes more; each chunk merges its 2 x 8 channel sums
    (element ops: a little more energy)."""
    ops = _ops()
    cfg = SpringConfig(act_buffer_mb=0.5, nvm_gbps=64)
    got, ghost = (spring.evaluate(o, cfg, "training") for o in (ops, _per_sample(ops)))
    assert got["cycles"] < spring.evaluate(ops, cfg, "training", chunks=False)["cycles"]
    assert got["nvm_bytes"] == ghost["nvm_bytes"]
    assert got["energy_mj"] > ghost["energy_mj"]
