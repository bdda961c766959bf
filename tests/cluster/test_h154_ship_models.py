"""Masked models reach Ray Train workers, and Ctrl-C in a Ray Train training is an interrupt
(helper 154).

``nnsynth run`` with ``refine.distill_epochs > 0`` always died with torch's "Serialization
of parametrized modules is only supported through state_dict()": ``fit_on_workers`` gave the
grown-and-pruned (masked) student to ``ray.put``; ``grow_prune_on_worker`` did the same with
a masked searched model.  ``cluster.train.for_workers`` now sends a masked model as its spec,
weights and masks (``ShippedModel``), rebuilt on the worker.

Ctrl-C during a Ray Train training ended ``nnsynth run`` with exit 1, no message and the
ledger error "1": Ray Train's SIGINT handler aborts the run and ``fit`` raises SystemExit(1).
It is now a KeyboardInterrupt (the CLI's "interrupted: finished work is kept", exit 130),
and the handler Ray Train installed is taken down again."""
import os
import signal

import pytest
import torch


def _masked_mlp(digits, seed=0):
    from synth.masked import attach_masks, random_masks
    from synth.models import build
    torch.manual_seed(seed)
    model = build({"family": "mlp", "hidden": [32]}, digits.input_shape, digits.num_classes)
    return attach_masks(model, random_masks(model, 0.5, seed))


def _pruned(model) -> dict:
    from synth.masked import masked_layers
    return {name: ~m.mask for name, _, m in masked_layers(model)}


def test_a_masked_model_survives_the_trip_whole(digits):
    """No Ray: what a worker unpickles is the model itself -- masks, the weights behind
    them (also where pruned), modes, frozen parameters, hooks, checkpoint_info -- and a
    loss function that closes over it closes over the same rebuilt model."""
    from cluster.train import for_workers, from_driver
    from synth.masked import masked_layers, masks_of, original_weight
    model = _masked_mlp(digits)
    for _, layer, _m in masked_layers(model):
        with torch.no_grad():
            original_weight(layer).add_(1.0)          # nonzero behind every pruned weight
    model.checkpoint_info = {"dataset": {"name": "digits"}}
    first = next(m for _, m, _mask in masked_layers(model))
    first.bias.requires_grad_(False)
    first.eval()
    first.register_forward_hook(lambda module, args, out: out + 1.0)   # as a rounding hook
    loss_fn = lambda m, x, t: model(x).sum()          # noqa: E731  (a KD teacher's closure)
    got = from_driver(for_workers({"model": model, "loss_fn": loss_fn, "epochs": 3}))
    rebuilt = got["model"]
    assert got["epochs"] == 3 and rebuilt is not model
    assert rebuilt.checkpoint_info == model.checkpoint_info
    assert {k: torch.equal(v, masks_of(model)[k]) for k, v in masks_of(rebuilt).items()} \
        == {name: True for name, _, _m in masked_layers(model)}
    assert all(torch.equal(v, model.state_dict()[k]) for k, v in rebuilt.state_dict().items())
    assert [m.training for m in rebuilt.modules()] == [m.training for m in model.modules()]
    assert [p.requires_grad for p in rebuilt.parameters()] == \
        [p.requires_grad for p in model.parameters()]
    x = digits.x_test[:5]
    assert torch.equal(rebuilt(x), model(x))                  # the hook's + 1 included
    assert got["loss_fn"](None, x, None) == loss_fn(None, x, None)
    # the caller's model keeps its parametrized weights
    assert all(layer.parametrizations.weight.original is not None
               for _, layer, _m in masked_layers(model))


@pytest.fixture(scope="module")
def ray2(ray_local):
    return ray_local


def test_a_masked_model_trains_on_a_worker_with_its_masks(ray2, digits):
    """refine's final KD: fit_on_workers of a masked model (was torch's RuntimeError)."""
    from cluster.train import Scaling, fit_on_workers
    from synth.masked import masks_of
    from synth.train import TrainConfig, evaluate
    model = _masked_mlp(digits)
    masks = masks_of(model)
    untrained = evaluate(model, digits.x_test, digits.y_test)["accuracy"]
    trained, metrics = fit_on_workers(model, digits,
                                      TrainConfig(epochs=1, progress=False, device="cpu"),
                                      scaling=Scaling(num_workers=1, cpus_per_worker=1))
    assert {k: torch.equal(v, masks[k]) for k, v in masks_of(trained).items()} == \
        {k: True for k in masks}
    for name, pruned in _pruned(model).items():
        weight = dict(trained.named_modules())[name].weight
        assert not weight[pruned].any() and weight[~pruned].abs().sum() > 0
    assert evaluate(trained, digits.x_test, digits.y_test)["accuracy"] == pytest.approx(
        metrics["test_accuracy"])
    assert metrics["test_accuracy"] > untrained + 0.15          # it trained


def test_grow_prune_on_a_worker_takes_a_masked_model(ray2, digits):
    """refine's grow-and-prune of a masked search/best.pt (a space with grow_prune)."""
    from cluster.train import Scaling, grow_prune_on_worker
    from synth.grow_prune import GrowPruneSchedule
    from synth.masked import connections, masked_layers
    model = _masked_mlp(digits)
    schedule = GrowPruneSchedule.from_dict({"device": "cpu", "prune_steps": 1,
                                            "retrain_epochs": 1})
    refined, grown = grow_prune_on_worker(model, digits, schedule,
                                          scaling=Scaling(cpus_per_worker=1))
    assert grown["history"] and masked_layers(refined)
    assert 0 < connections(refined) < connections(model)       # one prune step of 20%


def test_ctrl_c_in_a_ray_train_training_is_keyboard_interrupt(ray2, digits):
    """The worker sends this process SIGINT at its first step, as Ctrl-C would."""
    from cluster.train import Scaling, fit_on_workers
    from synth.models import build
    from synth.train import TrainConfig
    driver = os.getpid()

    def interrupt(model, _sent=[]):
        import time
        if not _sent:
            _sent.append(os.kill(driver, signal.SIGINT))
        time.sleep(0.01)                 # the training outlasts Ray Train's abort

    before = signal.getsignal(signal.SIGINT)
    try:
        with pytest.raises(KeyboardInterrupt):
            fit_on_workers(build({"family": "mlp", "hidden": [32]}, digits.input_shape,
                                 digits.num_classes), digits,
                           TrainConfig(epochs=200, progress=False, device="cpu"),
                           after_step=interrupt, scaling=Scaling(num_workers=1,
                                                                 cpus_per_worker=1))
        assert signal.getsignal(signal.SIGINT) is before    # Ray Train's handler taken down
    finally:
        signal.signal(signal.SIGINT, before)
