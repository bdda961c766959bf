"""Functions that evaluate a model hand each submodule its own train/eval mode back: a
BatchNorm the user froze in eval mode inside a training model stays frozen (its running
statistics would otherwise move on the next forward)."""
import pytest
import torch
from torch import nn

from hwsim.workload import extract, sample_work
from synth.distill import teacher_logits
from synth.masked import accumulate_gradients, attach_masks, sparse_flops
from synth.models import build, count_flops
from synth.train import evaluate


def frozen_bn_model():
    model = build("lenet5_bn", (1, 28, 28), 10)
    model.train()
    bns = [m for m in model.modules() if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d))]
    bns[0].eval()   # the user freezes one BatchNorm's statistics for fine-tuning
    return model, bns[0]


X, Y = torch.randn(8, 1, 28, 28), torch.randint(0, 10, (8,))
CALLS = {
    "evaluate": lambda m: evaluate(m, X, Y),
    "teacher_logits": lambda m: teacher_logits(m, X),
    "count_flops": lambda m: count_flops(m, (1, 28, 28)),
    "hwsim.extract": lambda m: extract(m, (1, 28, 28)),
    "hwsim.sample_work": lambda m: sample_work(m, (1, 28, 28)),
}


@pytest.mark.parametrize("name", sorted(CALLS))
def test_a_frozen_batchnorm_stays_frozen(name):
    model, bn = frozen_bn_model()
    CALLS[name](model)
    assert model.training and not bn.training, name


def test_a_masked_models_frozen_batchnorm_stays_frozen():
    model, bn = frozen_bn_model()
    attach_masks(model)
    sparse_flops(model, (1, 28, 28))
    accumulate_gradients(model, X, Y, batches=1, batch_size=8)
    assert model.training and not bn.training


def test_the_mode_comes_back_when_the_work_raises():
    model, bn = frozen_bn_model()
    with pytest.raises(Exception):
        evaluate(model, torch.randn(4, 3, 5, 5), Y[:4])   # wrong input shape
    assert model.training and not bn.training
