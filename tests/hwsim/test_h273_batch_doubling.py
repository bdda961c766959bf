"""h273: twice the batch costs at most (1 + CYCLES_TOLERANCE) x twice the cycles on the
accelerator model.  The batch schedules (``hwsim.accel.chunk_schedules``) were floor(S / b)
chunks of b samples and one of S mod b: 2 + 1 samples was a schedule of batch 3, but
2 + 1 + 2 + 1 was none of batch 6, so Linear(50, 300) on a 1 x 16 ws array with 1 KiB pads
ran batch 6 one sample at a time, 96,894 cycles, 2.9x its 33,248 at batch 3 (the chunks of 2
or 3 that batch 6 had move more than twice its compulsory bytes).  The schedules now include
2^k runs of S / 2^k samples, so every schedule of S, run twice, is one of 2S."""
import random

import numpy as np
import torch
from torch import nn

from hwsim import accel, extract, spring
from hwsim.accel import CYCLES_TOLERANCE, AcceleratorConfig

CFG = AcceleratorConfig(rows=1, cols=16, dataflow="ws", ifmap_kb=1.0, filter_kb=1.0,
                        ofmap_kb=1.0)


def _cycles(layer, shape, batch, cfg=CFG):
    torch.manual_seed(0)
    return accel.evaluate(extract(layer, shape, batch=batch), cfg)["cycles"]


def test_linear_at_batch_6_costs_twice_batch_3():
    layer = nn.Linear(50, 300)
    assert _cycles(layer, (50,), 3) == 33248                # 2 + 1 samples
    assert _cycles(layer, (50,), 6) == 2 * 33248            # 2 + 1 + 2 + 1 (was 96,894)


def _runs(b, P, S):
    """The chunk sizes a schedule (b, P) of S samples runs, with their counts."""
    full, rest = divmod(P, b)
    out = {b: S // P * full}
    if rest:
        out[rest] = out.get(rest, 0) + S // P
    return tuple(sorted(out.items()))


def test_every_schedule_of_a_batch_run_twice_is_a_schedule_of_twice_the_batch():
    def schedules(S):
        return {_runs(int(b[0]), int(P[0]), S)
                for b, P in accel.chunk_schedules(np.array([float(S)]))}
    for S in range(1, 70):
        doubled = {tuple((b, 2 * n) for b, n in s) for s in schedules(S)}
        assert doubled <= schedules(2 * S), S
        # and each schedule runs S samples, none listed twice
        assert all(sum(b * n for b, n in s) == S for s in schedules(S))
        assert len(schedules(S)) == len(accel.chunk_schedules(np.array([float(S)])))


def test_random_layers_and_configs_at_most_double():
    rng = random.Random(0)
    layers = [(nn.Linear(50, 300), (50,)), (nn.Conv2d(3, 5, 1), (3, 6, 6)),
              (nn.Conv2d(6, 9, 3, groups=3), (6, 7, 7)), (nn.Linear(13, 1), (13,))]
    for _ in range(40):
        layer, shape = rng.choice(layers)
        kb = lambda: rng.choice([0.05, 0.25, 1.0, 4.0])
        cfg = AcceleratorConfig(rows=rng.choice([1, 3, 7, 16]), cols=rng.choice([1, 5, 13, 16]),
                                dataflow=rng.choice(["ws", "os", "is"]), ifmap_kb=kb(),
                                filter_kb=kb(), ofmap_kb=kb())
        S = rng.choice([2, 3, 5, 6])
        once, twice = _cycles(layer, shape, S, cfg), _cycles(layer, shape, 2 * S, cfg)
        assert twice <= 2 * (1 + CYCLES_TOLERANCE) * once, (layer, shape, S, cfg)


def test_spring_runs_the_same_schedules():
    """SPRING tiles a batch with the accelerator's schedules: its fewest cycles at batch 6
    are at most twice those at batch 3 (a Linear without sparsity: the same work per
    sample)."""
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(50, 300), nn.ReLU(), nn.Linear(300, 3))
    cfg = spring.SpringConfig(pes=1, lanes=1, act_buffer_mb=1e-4, weight_buffer_mb=1e-3,
                              sparsity=False)
    three, six = (spring.evaluate(extract(model, (50,), batch=b), cfg)["cycles"] for b in (3, 6))
    assert six <= 2 * three
