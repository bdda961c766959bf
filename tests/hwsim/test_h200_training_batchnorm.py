"""A training step's BatchNorm computes its batch's statistics (h200).

Ops are extracted in evaluation mode, where a BatchNorm with running statistics normalizes
by them: one element op per value.  SPRING's and the GPU roofline's training mode priced
that one op (x 3 for the backward passes), while a training step normalizes by the batch's
mean and variance, computed first: NORM_OPS_PER_ELEMENT (3) per value, as a LayerNorm's, as
a BatchNorm without running statistics is priced (``hwsim.op.forward_elems``).  Inference
is unchanged."""
import pytest
import torch
from torch import nn

from hwsim import extract, gpu, spring
from hwsim.accel import ADD8_PJ, REF_NM
from hwsim.workload import NORM_OPS_PER_ELEMENT
from hwsim.spring import SpringConfig

SHAPE, BATCH = (8, 24, 24), 2
N = BATCH * 8 * 24 * 24      # 9,216 values: 2 cycles of 4,608 lanes a pass


def _op(layer):
    return extract(layer, SHAPE, batch=BATCH)[0]


@pytest.mark.parametrize("layer", [nn.BatchNorm2d(8),
                                   nn.InstanceNorm2d(8, track_running_stats=True)],
                         ids=["batchnorm", "instancenorm"])
def test_a_norm_with_running_statistics_trains_on_its_batchs(layer):
    """Training: NORM_OPS_PER_ELEMENT element ops a value in each pass, forward and its
    backward passes (the BatchNorm's scale and shift, affine: backward-data and
    backward-weight, 3; the InstanceNorm, affine=False: backward-data only, 2; every norm
    was charged 3 before h209) on the GPU and SPRING's vector unit, by hand; the same price
    as the layer without running statistics; inference still one op a value."""
    op = _op(layer)
    passes = 3 if layer.affine else 2
    assert op.elems == N                                       # (evaluation mode)
    g = gpu.evaluate([op], mode="training")
    assert g["flops"] == passes * NORM_OPS_PER_ELEMENT * N     # (no weights recorded)
    assert gpu.evaluate([op])["flops"] == N
    s = spring.evaluate([op], SpringConfig(), "training")
    pj = passes * NORM_OPS_PER_ELEMENT * N * ADD8_PJ * 20 / 8 * 28 / REF_NM
    assert s["energy_breakdown_mj"]["vector"] * 1e9 == pytest.approx(pj, rel=1e-12)
    stats = _op(type(layer)(8, track_running_stats=False))
    assert stats.elems == NORM_OPS_PER_ELEMENT * N
    for mode, same in (("training", True), ("inference", False)):
        a, b = (spring.evaluate([o], SpringConfig(), mode) for o in (op, stats))
        c, d = (gpu.evaluate([o], mode=mode) for o in (op, stats))
        assert (a["energy_mj"] == pytest.approx(b["energy_mj"], rel=1e-12)) is same, mode
        assert (a["cycles"] == b["cycles"]) is same        # (inference: 2 and 6 cycles)
        assert (c["flops"] == d["flops"]) is same


def test_a_network_trains_as_with_batch_statistics():
    """conv -> BatchNorm -> ReLU trains at the price of conv -> BatchNorm without running
    statistics -> ReLU on SPRING (a batch of 2) and the GPU (its FLOPs and time: compute
    bound in training); at inference it does less work."""
    def net(stats):
        torch.manual_seed(0)
        return nn.Sequential(nn.Conv2d(3, 8, 3, padding=1),
                             nn.BatchNorm2d(8, track_running_stats=stats), nn.ReLU()).eval()
    ops, batch_stats = (extract(net(s), (3, 6, 6), batch=BATCH) for s in (True, False))
    for mode in ("training", "inference"):
        a, b = (spring.compare(o, mode=mode) for o in (ops, batch_stats))
        got = [a["spring"]["energy_mj"], a["spring"]["latency_ms"], a["gpu"]["flops"]]
        want = [b["spring"]["energy_mj"], b["spring"]["latency_ms"], b["gpu"]["flops"]]
        if mode == "training":
            assert got == pytest.approx(want, rel=1e-12)
            assert a["gpu"]["latency_ms"] == pytest.approx(b["gpu"]["latency_ms"], rel=1e-12)
        else:
            assert got[0] < want[0] and got[2] < want[2]
