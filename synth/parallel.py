"""Data parallelism for the batch-level objectives of synthesis: K processes, one batch.

DeepInversion's feature term (Eq. 4, ``synth.inversion``) and a generator's own BatchNorm
layers depend on the statistics of the *whole* batch, so splitting a batch across processes
and averaging their gradients (plain data parallelism) would optimize a different objective:
each part's statistics instead of the batch's.  ``DataParallel`` keeps the objective exact:

* ``part(n)`` is this process's contiguous slice of a batch of ``n`` (the first ``n % K``
  ranks take one more);
* ``sum(t)`` is a differentiable all-reduce (sum over the ranks; its backward sums the
  incoming gradients the same way), so statistics computed from it are the batch's and their
  gradients reach every part;
* ``synced_batchnorm(module, parallel)`` makes a module's BatchNorm layers (in training mode)
  normalize with the batch's statistics across the ranks;
* ``SyncedBNHooks`` is ``BNFeatureHooks`` with the batch's statistics: each layer's local
  moment sums are collected during the forward pass and reduced in one call (the teacher is
  frozen, so its own forward pass does not need them);
* ``sum_grads(parameters)`` sums the parameters' gradients over the ranks in one call;
* ``average_(tensors)`` replaces tensors by their mean over the ranks, in one call (local SGD:
  ranks that train their own copies meet only every few steps, ``local_sgd_state`` lists what
  a model and its optimizer hold).

With each rank's loss its *share* of the batch's loss (per-input terms summed over its part
and divided by ``n``, batch-level terms divided by K), the summed gradient equals the
single-process gradient up to floating-point rounding (sums taken in another order), and
every rank applies the same update.  ``seconds`` and ``calls`` count the wall time spent in
the collectives (waiting for the slowest rank included) and how many there were.

The process group is any object with torch's ``ProcessGroup.allreduce`` and ``broadcast``
(``cluster.collective`` makes a gloo group on 127.0.0.1); this module does no I/O.
"""
from __future__ import annotations

import contextlib
import functools
import time

import torch
from torch import nn

from synth.inversion import BNFeatureHooks, bn_statistics_gap


class DataParallel:
    """Rank ``rank`` of ``size`` processes sharing a batch through ``group``."""

    def __init__(self, group, rank: int, size: int):
        if not 0 <= rank < size:
            raise ValueError(f"rank must be in [0, {size}), got {rank}")
        self.group, self.rank, self.size = group, int(rank), int(size)
        self.seconds, self.calls = 0.0, 0   # wall time in (and number of) collectives

    def _wait(self, work) -> None:
        start = time.perf_counter()
        work.wait()
        self.seconds += time.perf_counter() - start
        self.calls += 1

    def part(self, n: int) -> slice:
        """This rank's contiguous slice of ``n`` inputs."""
        base, extra = divmod(int(n), self.size)
        start = self.rank * base + min(self.rank, extra)
        return slice(start, start + base + (self.rank < extra))

    def sum_(self, t: torch.Tensor) -> torch.Tensor:
        """In-place sum of ``t`` over the ranks (no autograd); returns ``t``."""
        self._wait(self.group.allreduce([t]))
        return t

    def sum(self, t: torch.Tensor) -> torch.Tensor:
        """Differentiable sum of ``t`` over the ranks (every rank gets the same values)."""
        return _AllReduceSum.apply(t, self)

    def broadcast_(self, tensors, root: int = 0) -> None:
        """Overwrite ``tensors`` (in place) with rank ``root``'s, flattened into one call."""
        tensors = list(tensors)
        if not tensors:
            return
        flat = _flat64(tensors)
        self._wait(self.group.broadcast(flat, root))
        _unflatten_(flat, tensors)

    def sum_grads(self, parameters) -> None:
        """Sum the ``.grad`` of ``parameters`` over the ranks, in one call (a parameter
        without a gradient counts as zeros on this rank)."""
        params = [p for p in parameters if p.requires_grad]
        if not params:
            return
        flat = torch.cat([(p.grad if p.grad is not None else torch.zeros_like(p)).reshape(-1)
                          for p in params])
        self.sum_(flat)
        offset = 0
        for p in params:
            g = flat[offset:offset + p.numel()].view_as(p)
            p.grad = g.clone() if p.grad is None else p.grad.copy_(g)
            offset += p.numel()

    def average_(self, tensors) -> None:
        """Overwrite floating-point ``tensors`` (in place) with their mean over the ranks, in
        one call (summed in float64; every rank gets the same bits)."""
        tensors = [t for t in tensors if t.is_floating_point()]
        if not tensors:
            return
        flat = _flat64(tensors)
        self.sum_(flat).div_(self.size)
        _unflatten_(flat, tensors)


def _flat64(tensors) -> torch.Tensor:
    """``tensors`` flattened into one float64 vector (one collective for all of them)."""
    return torch.cat([t.detach().reshape(-1).to(torch.float64) for t in tensors])


@torch.no_grad()
def _unflatten_(flat: torch.Tensor, tensors) -> None:
    """Copy ``flat`` (as ``_flat64`` made it) back into ``tensors``, in their dtypes."""
    offset = 0
    for t in tensors:
        t.copy_(flat[offset:offset + t.numel()].view_as(t).to(t.dtype))
        offset += t.numel()


def local_sgd_state(model: nn.Module, optimizer: torch.optim.Optimizer) -> list[torch.Tensor]:
    """What local SGD averages: ``model``'s parameters and floating-point buffers (BatchNorm
    running statistics) and the optimizer's per-parameter floating-point state (Adam's first
    and second moments; its step count is the same on every rank and left out)."""
    out = list(model.parameters()) + [b for b in model.buffers() if b.is_floating_point()]
    for p in model.parameters():
        for key, value in sorted(optimizer.state.get(p, {}).items()):
            if key != "step" and torch.is_tensor(value) and value.is_floating_point():
                out.append(value)
    return out


class _AllReduceSum(torch.autograd.Function):
    @staticmethod
    def forward(ctx, t, parallel):
        ctx.parallel = parallel
        return parallel.sum_(t.detach().clone())

    @staticmethod
    def backward(ctx, grad):
        return ctx.parallel.sum_(grad.detach().clone().contiguous()), None


def local_moments(x: torch.Tensor) -> torch.Tensor:
    """[count, sum per channel, sum of squares per channel] of ``x`` (channels: dim 1; the
    rest summed), float64: what ranks add up to get a batch's statistics."""
    dims = [0] + list(range(2, x.dim()))
    xd = x.to(torch.float64)
    count = torch.full((1,), float(x.numel() // max(1, x.shape[1])), dtype=torch.float64)
    return torch.cat([count, xd.sum(dims), xd.square().sum(dims)])


def moments(x: torch.Tensor, parallel: DataParallel) -> tuple[torch.Tensor, torch.Tensor, int]:
    """(mean, biased variance, count) per channel (all dims but 1) of the batch whose part is
    ``x``: the moment sums are summed over the ranks in one call."""
    total = parallel.sum(local_moments(x))
    return (*_finish(total, x.shape[1], x.dtype), int(total[0]))


def _finish(total: torch.Tensor, c: int, dtype) -> tuple[torch.Tensor, torch.Tensor]:
    """(mean, biased variance) from the summed [count, sums (c), sums of squares (c)]."""
    n = total[0].detach().clamp_min(1)
    mean = total[1:1 + c] / n
    var = (total[1 + c:1 + 2 * c] / n - mean.square()).clamp_min(0)
    return mean.to(dtype), var.to(dtype)


def _synced_bn_forward(module: nn.modules.batchnorm._BatchNorm, parallel: DataParallel,
                       x: torch.Tensor) -> torch.Tensor:
    """A BatchNorm layer's forward pass with the statistics of the whole batch (training
    mode: the running averages are updated as torch does, unbiased variance); in evaluation
    mode the layer's own forward pass."""
    if not module.training:
        return type(module).forward(module, x)
    mean, var, n = moments(x, parallel)
    shape = (1, -1) + (1,) * (x.dim() - 2)
    y = (x - mean.view(shape)) * torch.rsqrt(var + module.eps).view(shape)
    if module.affine:
        y = y * module.weight.view(shape) + module.bias.view(shape)
    if module.track_running_stats:
        with torch.no_grad():
            module.num_batches_tracked.add_(1)
            factor = (1.0 / float(module.num_batches_tracked) if module.momentum is None
                      else module.momentum)
            unbiased = var * n / max(n - 1, 1)
            module.running_mean.mul_(1 - factor).add_(factor * mean)
            module.running_var.mul_(1 - factor).add_(factor * unbiased)
    return y


@contextlib.contextmanager
def synced_batchnorm(module: nn.Module, parallel: DataParallel | None):
    """While inside, every BatchNorm layer of ``module`` normalizes (in training mode) with the
    statistics of the batch across ``parallel``'s ranks; nothing changes when it is None."""
    layers = [] if parallel is None else [
        m for m in module.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    for m in layers:
        m.forward = functools.partial(_synced_bn_forward, m, parallel)
    try:
        yield module
    finally:
        for m in layers:
            m.__dict__.pop("forward", None)


class SyncedBNHooks(BNFeatureHooks):
    """``BNFeatureHooks`` whose Eq. 4 gaps use the batch's statistics across ``parallel``'s
    ranks: the forward pass collects each layer's local count, sum and sum of squares
    (float64), and ``loss`` reduces them in one call before taking the gaps."""

    def __init__(self, model: nn.Module, parallel: DataParallel):
        super().__init__(model)
        self.parallel = parallel
        self.local: list = []

    def _hook(self, module, inputs, output):
        if not self.active:
            return
        self.local.append((module, inputs[0].dtype, local_moments(inputs[0])))

    def loss(self, first_multiplier: float) -> torch.Tensor:
        local, self.local = self.local, []
        total = self.parallel.sum(torch.cat([t for _, _, t in local]))
        offset = 0
        for module, dtype, t in local:
            c = (t.numel() - 1) // 2
            stats = _finish(total[offset:offset + t.numel()], c, dtype)
            offset += t.numel()
            self.gaps.append(bn_statistics_gap(None, module.running_mean, module.running_var,
                                               statistics=stats))
        return super().loss(first_multiplier)
