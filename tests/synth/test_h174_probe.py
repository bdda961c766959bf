"""h174's probe of symbiotic / SCANN / incremental learning / compaction."""
import torch

from synth.incremental import IncrementalConfig, Meter, steps_of, train_until
from synth.models import build


def _bn_mlp():
    torch.manual_seed(0)
    return build({"family": "mlp", "hidden": [8], "bn": True}, (5,), 3)


def test_incremental_training_takes_a_batch_of_one_sample_with_batchnorm():
    """nnsynth incremental --model (a BN MLP of wine) --old wine --new wine --target 1.0
    --max-epochs 0.5118 --min-steps 0 ended in PyTorch's 'Expected more than 1 value per
    channel when training' traceback: the budget of 65 samples ended one sample into the
    second batch (a replay set of 65 samples at batch 64 did the same).  That step now
    normalizes by the running statistics; every step and sample is counted."""
    x, y = torch.randn(65, 5), torch.randint(3, (65,))
    cfg = IncrementalConfig(check_every=10 ** 6)
    for samples, budget in ((65, 65), (100, 65), (65, 130)):   # pass end, budget end, both
        model, meter = _bn_mlp(), Meter((x[:10], y[:10]), (5,))
        assert not train_until(model, x[:samples], y[:samples], 2.0, budget, cfg, meter, 0)
        assert meter.samples == budget
        assert meter.steps == steps_of(budget, samples, cfg.batch_size)
        assert all(m.training for m in model.modules())   # BatchNorm back in training mode


def test_a_lone_sample_step_leaves_the_running_statistics():
    x, y = torch.randn(65, 5), torch.randint(3, (65,))
    model, meter = _bn_mlp(), Meter((x[:10], y[:10]), (5,))
    cfg = IncrementalConfig(check_every=10 ** 6)
    train_until(model, x, y, 2.0, 64, cfg, meter, 0)      # the first batch alone
    norm = model.net[2]
    after_one = norm.running_mean.clone(), norm.num_batches_tracked.clone()
    model2, meter2 = _bn_mlp(), Meter((x[:10], y[:10]), (5,))
    train_until(model2, x, y, 2.0, 65, cfg, meter2, 0)    # ... and the lone sample
    assert torch.equal(model2.net[2].running_mean, after_one[0])
    assert torch.equal(model2.net[2].num_batches_tracked, after_one[1])
