"""Wall-clock timing of a callable, shared by synth's reports and hwsim's latency tables."""
from __future__ import annotations

import time
from typing import Callable

import torch


def wall_times_ms(fn: Callable[[], object], repeats: int, warmup: int = 1) -> list[float]:
    """``repeats`` wall times of ``fn()`` under ``torch.no_grad()``, milliseconds, after
    ``warmup`` untimed calls."""
    with torch.no_grad():
        for _ in range(warmup):
            fn()
        times = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            fn()
            times.append((time.perf_counter() - t0) * 1e3)
    return times
