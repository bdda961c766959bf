"""The accelerator model prices each schedule of a batch once (h182).

``hwsim.accel.evaluate`` ran ``_costs`` twice (once for its layers, again through
``evaluate_many`` for its totals), and ``_costs`` priced every chunk size in both of its
passes, one sample at a time three times, and the whole batch again as a "chunk" of all its
samples: a Linear at batch 8 was priced as 28 untiled runs for 6 distinct ones.  The counts
below wrap ``_untiled_costs`` to count calls (its results pass through unchanged)."""
import numpy as np
import pytest
import torch
from torch import nn

from hwsim import accel, extract


def _counted(monkeypatch):
    calls = []
    real = accel._untiled_costs

    def counting(L, c):
        calls.append(L["T"].ravel().tolist())
        return real(L, c)
    monkeypatch.setattr(accel, "_untiled_costs", counting)
    return calls


def _ops(batch):
    torch.manual_seed(0)
    return extract(nn.Sequential(nn.Linear(16, 32)), (16,), batch=batch)


def test_each_schedule_of_a_batch_is_priced_once(monkeypatch):
    ops = _ops(8)
    # the runs that price batch 8 (chunk_sizes: 1, 2, 4, 3 below 8): the whole batch, 8 x 1,
    # 4 x 2, 2 x 4, and 2 x 3 + one of 2 (``chunk_schedules``' runs of 4 and of 2 add none
    # here): the distinct runs are the whole (T = 8) and chunks of 1, 2, 4 and 3, each priced
    # once (h273: a chunk size several schedules run is priced once while the schedules are
    # held, the 2 after the 3s as the 2 of 4 x 2)
    sizes = sorted(int(b[0]) for b in accel.chunk_sizes(np.array([8.0])) if b[0] < 8)
    assert sizes == [1, 2, 3, 4]
    expected = 1 + len(sizes)
    calls = _counted(monkeypatch)
    accel.evaluate(ops)
    assert len(calls) == expected == 5
    calls.clear()
    accel.evaluate_many(ops, [accel.AcceleratorConfig()])
    assert len(calls) == expected


def test_batch_1_is_one_run(monkeypatch):
    calls = _counted(monkeypatch)
    accel.evaluate(_ops(1))
    assert len(calls) == 1


@pytest.mark.parametrize("held", [0, None])   # None: as configured
def test_holding_the_schedules_or_pricing_them_again_gives_one_answer(monkeypatch, held):
    """The schedules held between the passes (a network's price) or priced again in the
    second (the DSE's large grids) choose the same: the totals of evaluate and
    evaluate_many agree, and with both ways."""
    ops = _ops(8) + _ops(8)
    cfgs = [accel.AcceleratorConfig(rows=r, cols=4, dataflow=d, ifmap_kb=kb, filter_kb=kb,
                                    ofmap_kb=kb)
            for r in (4, 16) for d in accel.DATAFLOWS for kb in (0.0625, 1.0, 64.0)]
    ref = accel.evaluate_many(ops, cfgs)
    if held is not None:
        monkeypatch.setattr(accel, "HELD_SCHEDULE_VALUES", held)
    got = accel.evaluate_many(ops, cfgs)
    for k in ref:
        np.testing.assert_array_equal(got[k], ref[k])
    one = accel.evaluate(ops, cfgs[0])
    for k in ref:
        assert one[k] == pytest.approx(float(ref[k][0]), rel=0, abs=0)
