"""A training batch of one sample through a BatchNorm model: PyTorch refuses it in training
mode ('Expected more than 1 value per channel when training').  `nnsynth train --dataset wine
--model lenet300_100_bn --batch-size 63` ended in that traceback (127 training rows = 2 x 63
+ 1); incremental's train_until had its own fix (b8d0975), now the same helper."""
import torch

from synth.data import load_dataset
from synth.models import build
from synth.train import TrainConfig, fit, lone_sample_norms


def test_fit_takes_a_last_batch_of_one_sample():
    data = load_dataset("wine")
    n = len(data.y_train)
    batch = (n - 1) // 2                       # two full batches and one of a single sample
    assert n == 2 * batch + 1
    torch.manual_seed(0)
    model = build("lenet300_100_bn", data.input_shape, data.num_classes)
    metrics = fit(model, data, TrainConfig(epochs=2, batch_size=batch, seed=0, progress=False))
    assert metrics["test_accuracy"] > 0.5


def test_a_lone_sample_leaves_the_running_statistics_and_the_mode():
    norm = torch.nn.BatchNorm1d(4)
    norm.train()
    before = norm.running_mean.clone()
    with lone_sample_norms([norm], 1):
        norm(torch.randn(1, 4))
    assert torch.equal(norm.running_mean, before) and norm.training
    with lone_sample_norms([norm], 2):          # any other size trains as usual
        norm(torch.randn(2, 4) + 5)
    assert not torch.equal(norm.running_mean, before)
