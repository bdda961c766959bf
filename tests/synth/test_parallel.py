"""Data-parallel batch objectives (synth.parallel): K ranks computing parts of one batch get the
single-process loss and gradients, and a data-parallel generator warm-up leaves every rank with
the same weights.  The ranks are threads of this process joined by an in-memory gloo group."""
import copy
import datetime
import threading

import pytest
import torch
from torch import nn

from synth.amortized import AmortizedConfig, Generator, train_generator
from synth.errors import UserError
from synth.inversion import BNFeatureHooks, InversionConfig, _objective
from synth.parallel import DataParallel, SyncedBNHooks, local_sgd_state, synced_batchnorm
from tests.synth._tiny import tiny_teacher


def _ranks(size: int, work):
    """Run ``work(parallel)`` on ``size`` threads joined by a gloo group on 127.0.0.1; returns
    the results by rank (re-raises the first error)."""
    from torch.distributed import HashStore, ProcessGroupGloo
    store, out, errors = HashStore(), [None] * size, []

    def run(rank):
        try:
            options = ProcessGroupGloo._Options()
            options._devices = [ProcessGroupGloo.create_device(hostname="127.0.0.1")]
            options._timeout = datetime.timedelta(seconds=60)
            group = ProcessGroupGloo(store, rank, size, options)
            out[rank] = work(DataParallel(group, rank, size))
        except BaseException as e:   # noqa: BLE001  (reported in the main thread)
            errors.append(e)
    threads = [threading.Thread(target=run, args=(r,)) for r in range(size)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    if errors:
        raise errors[0]
    return out


@pytest.fixture(scope="module")
def teacher(digits):
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    model, _ = tiny_teacher(digits, epochs=1)
    yield model, digits.pixel_range()
    torch.set_num_threads(old)


def test_parts_cover_the_batch():
    parts = [DataParallel(None, r, 3).part(10) for r in range(3)]
    assert [(p.start, p.stop) for p in parts] == [(0, 4), (4, 7), (7, 10)]


def test_ranks_get_the_single_process_loss_and_gradient(teacher):
    """Generator BatchNorm and the teacher's Eq. 4 statistics over the whole batch, the loss
    split into shares: the summed gradient is the single-process gradient (up to rounding)."""
    model, pr = teacher
    config = InversionConfig.preset("mnist28", jitter=0, device="cpu")
    torch.manual_seed(3)
    gen = Generator(model.input_shape, model.num_classes, 8, 4, pr, depth=1)
    z, y = torch.randn(12, 8), torch.arange(12) % model.num_classes

    def gradient(g, teacher, hooks, zz, yy, share):
        loss, per_image, _, bn = _objective(teacher, None, hooks, g(zz, yy), yy, config)
        if share is not None:
            loss = per_image.sum() / len(y) + config.bn_weight * bn / share
        g.zero_grad()
        loss.backward()
        return float(loss.detach()), [p.grad.clone() for p in g.parameters()]

    model.requires_grad_(False)
    hooks = BNFeatureHooks(model)
    single_loss, single = gradient(gen, model, hooks, z, y, None)
    hooks.remove()

    def work(parallel):
        g, part = copy.deepcopy(gen), parallel.part(len(y))
        m = copy.deepcopy(model)     # a rank's own teacher: hooks are per module
        h = SyncedBNHooks(m, parallel)
        with synced_batchnorm(g, parallel):
            loss, grads = gradient(g, m, h, z[part], y[part], parallel.size)
        h.remove()
        total = parallel.sum_(torch.tensor([loss], dtype=torch.float64))
        parallel.sum_grads(g.parameters())
        return float(total), [p.grad for p in g.parameters()]
    # rounding scale: the largest gradient entry (the stem's bias, before a BatchNorm, has a
    # true gradient of 0: its entries are rounding alone, ~1e-8 here)
    scale = max(float(g.abs().max()) for g in single)
    results = _ranks(3, work)   # parts of 4, 4, 4
    for loss, grads in results:
        assert loss == pytest.approx(single_loss, rel=1e-5)
        for a, b in zip(grads, single):
            assert torch.allclose(a, b, rtol=1e-3, atol=1e-5 * scale)
    uneven = _ranks(5, work)    # parts of 3, 3, 2, 2, 2
    assert uneven[0][0] == pytest.approx(single_loss, rel=1e-5)
    for a, b in zip(uneven[0][1], single):
        assert torch.allclose(a, b, rtol=1e-3, atol=1e-5 * scale)


def _same_generator_on_two_ranks(model, config, pr):
    """``train_generator`` on two ranks; checks both end with the same weights, bit for bit,
    and the same history, and returns rank 0's stats."""
    out = _ranks(2, lambda parallel: train_generator(copy.deepcopy(model), config,
                                                     pixel_range=pr, seed=4, parallel=parallel))
    (g0, s0), (g1, s1) = out
    a, b = g0.state_dict(), g1.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert s0["history"] == s1["history"]
    return s0


def test_data_parallel_warm_up_leaves_every_rank_the_same_generator(teacher):
    model, pr = teacher
    config = AmortizedConfig(steps=6, batch_size=16, width=4, latent_dim=8, check_every=3,
                             early_stop=False, sync_every=0, device="cpu")   # exact mode
    single, single_stats = train_generator(model, config, pixel_range=pr, seed=4)
    s0 = _same_generator_on_two_ranks(model, config, pr)
    # the same objective as one process: the first check's mean loss agrees to rounding
    assert s0["history"][0]["loss"] == pytest.approx(single_stats["history"][0]["loss"], rel=1e-4)
    with pytest.raises(UserError, match="batch_size"):   # a rank with no input: refused
        train_generator(model, config.replace(batch_size=2), pixel_range=pr,
                        parallel=DataParallel(None, 0, 3))


def test_synced_batchnorm_changes_nothing_without_a_group():
    bn = nn.BatchNorm1d(3)
    with synced_batchnorm(bn, None):
        assert "forward" not in bn.__dict__


def test_local_sgd_warm_up_leaves_every_rank_the_same_generator_and_its_loss_falls(teacher):
    """``sync_every`` = k: each rank trains its own copy on its part of every batch and the
    copies (weights, BatchNorm buffers, Adam moments) are averaged every k steps, at every
    check and at the end: the ranks end bit-identical, with one collective per k steps."""
    model, pr = teacher
    config = AmortizedConfig(steps=12, batch_size=16, width=4, latent_dim=8, check_every=6,
                             early_stop=False, sync_every=4, lr=0.02, device="cpu")
    s0 = _same_generator_on_two_ranks(model, config, pr)
    history = s0["history"]
    assert [h["step"] for h in history] == [6, 12]
    assert history[-1]["loss"] < history[0]["loss"]             # the ranks' mean loss falls
    assert s0["parallel"]["mode"] == "local" and s0["parallel"]["sync_every"] == 4
    # 1 broadcast; averages at steps 4, 6 (check), 8, 12 (check and end); per check one
    # loss sum, one fidelity sum and one buffer average
    assert s0["parallel"]["collectives"] == 1 + 4 + 2 * 3
    # the exact mode meets at every step (whole-batch statistics, summed gradients)
    exact = _same_generator_on_two_ranks(model, config.replace(sync_every=0), pr)
    assert exact["parallel"]["mode"] == "exact"
    assert exact["parallel"]["collectives"] > 7 * config.steps
    # a rank's own BatchNorm statistics need two inputs: 3 ranks take batches of 6 or more
    assert config.replace(batch_size=5).max_ranks() == 2 and config.max_ranks() == 8
    with pytest.raises(UserError, match="twice"):
        train_generator(model, config.replace(batch_size=5), pixel_range=pr,
                        parallel=DataParallel(None, 0, 3))


def test_local_sgd_averages_weights_and_adam_moments():
    """``average_`` over ``local_sgd_state``: every rank ends with the mean of the ranks'
    weights, running statistics and Adam moments; the step count and integer buffers stay."""
    def work(parallel):
        torch.manual_seed(parallel.rank)
        net = nn.Sequential(nn.Linear(3, 2), nn.BatchNorm1d(2))
        opt = torch.optim.Adam(net.parameters(), lr=0.1)
        net(torch.randn(5, 3)).square().sum().backward()
        opt.step()
        before = [t.clone() for t in local_sgd_state(net, opt)]
        parallel.average_(local_sgd_state(net, opt))
        return before, local_sgd_state(net, opt), opt, net
    out = _ranks(2, work)
    (before0, after0, opt0, net0), (before1, after1, _, net1) = out
    assert len(after0) == 4 + 2 + 2 * 4     # weights, running mean/var, exp_avg(_sq) of each
    for x0, x1, y0, y1 in zip(before0, before1, after0, after1):
        assert torch.equal(y0, y1)
        assert torch.allclose(y0, (x0 + x1) / 2, rtol=1e-6, atol=1e-7)
    assert all(float(s["step"]) == 1 for s in opt0.state.values())
    assert int(net0[1].num_batches_tracked) == int(net1[1].num_batches_tracked) == 1
