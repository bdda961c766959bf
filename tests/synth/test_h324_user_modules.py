"""The Python API on a user's own ``nn.Module`` (h324): grow-and-prune, distillation,
structured pruning, compaction, SCANN, checkpoints and the ONNX export.  Each either works
with figures that agree with the weights, or refuses in one line naming what it needs.

Before: a forward returning a tuple or a dict was a TypeError/AttributeError traceback
(evaluation, training, KD, the ONNX check); a frozen sub-module was pruned by grow-and-prune
and its BatchNorm statistics moved in ``fit``; structured pruning and compaction said
'got None'; a module with a ``spec`` of its own was checkpointed to a file that could not be
loaded; SCANN was a KeyError/AttributeError traceback."""
import copy

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from synth.errors import UserError
from synth.models import prunable_layers


class _CNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.c1, self.b1 = nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4)
        self.fc = nn.Linear(4, 10)

    def forward(self, x):
        return self.fc(F.relu(self.b1(self.c1(x))).mean((2, 3)))


class _Tuple(_CNN):
    def forward(self, x):
        return super().forward(x), x.mean()


class _Dict(_CNN):
    def forward(self, x):
        return {"logits": super().forward(x)}


class _Frozen(nn.Module):
    """A frozen backbone (requires_grad off, eval mode: its BN statistics kept) and a head."""
    def __init__(self):
        super().__init__()
        self.feat = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU())
        self.feat.requires_grad_(False)
        self.feat.eval()
        self.head = nn.Sequential(nn.Flatten(), nn.Linear(4 * 64, 10))

    def forward(self, x):
        return self.head(self.feat(x))


def _small(digits, n=96):
    from dataclasses import replace
    return replace(digits, x_train=digits.x_train[:n], y_train=digits.y_train[:n],
                   x_val=digits.x_val[:48], y_val=digits.y_val[:48],
                   x_test=digits.x_test[:48], y_test=digits.y_test[:48])


def _schedule(**kw):
    from synth.grow_prune import GrowPruneSchedule
    return GrowPruneSchedule(**{"prune_steps": 2, "prune_fraction": 0.3, "retrain_epochs": 1,
                                "criterion": "magnitude", **kw})


@pytest.mark.parametrize("cls", [_Tuple, _Dict])
def test_a_forward_that_returns_no_tensor_is_refused_in_one_line(cls, digits, tmp_path):
    from deploy.onnx_export import export_onnx, verify_onnx
    from synth.distill import DistillConfig, distill
    from synth.grow_prune import grow_and_prune
    from synth.train import TrainConfig, evaluate, fit
    data = _small(digits)
    kind = cls.__name__.strip("_").lower()
    expected = rf"\({cls.__name__}\)'s forward returns a {kind}, not a tensor: .*logits"
    user, plain = cls(), _CNN()
    plain.load_state_dict(user.state_dict())
    config = DistillConfig(epochs=1, min_steps=2, progress=False)
    calls = [lambda: evaluate(user, data.x_val, data.y_val),
             lambda: fit(user, data, TrainConfig(epochs=1, progress=False)),
             lambda: grow_and_prune(cls(), data, _schedule()),
             lambda: distill(user, plain, data.x_train, data, config),    # the student
             lambda: distill(_CNN(), user, data.x_train, data, config),   # the teacher
             lambda: export_onnx(user, tmp_path / "m.onnx", (1, 8, 8))]
    for call in calls:
        with pytest.raises(UserError, match=expected) as e:
            call()
        assert "\n" not in str(e.value)
    export_onnx(plain, tmp_path / "p.onnx", (1, 8, 8))   # the file of the plain twin, checked
    with pytest.raises(UserError, match=expected):          # against the user's module
        verify_onnx(tmp_path / "p.onnx", user, data.x_val)
    assert not (tmp_path / "m.onnx").exists()


def test_grow_and_prune_of_a_user_module_reports_what_its_weights_hold(digits):
    from synth.grow_prune import final_row, grow_and_prune
    torch.manual_seed(0)
    data = _small(digits)
    model, history = grow_and_prune(_CNN(), data, _schedule())
    row = final_row(history)
    weights = [layer.weight for _, layer in prunable_layers(model)]
    zeros = sum(int((w == 0).sum()) for w in weights)
    assert row["sparsity"] == round(zeros / sum(w.numel() for w in weights), 6) > 0.3
    assert row["nonzero_parameters"] == sum(int((p != 0).sum()) for p in model.parameters())
    with torch.no_grad():
        acc = (model.eval()(data.x_test).argmax(1) == data.y_test).float().mean().item()
    assert row["test_accuracy"] == pytest.approx(acc)


def test_grow_and_prune_leaves_a_frozen_sub_module_as_it_is(digits):
    from synth.grow_prune import grow_and_prune
    torch.manual_seed(0)
    data = _small(digits)
    model = _Frozen()
    before = copy.deepcopy(model.feat.state_dict())
    model, history = grow_and_prune(model, data, _schedule(seed_density=0.5, growth_rounds=1))
    assert int((model.feat[0].weight == 0).sum()) == 0     # 6 of 36 were pruned
    assert torch.equal(model.feat[0].weight, before["0.weight"])
    assert int((model.head[1].weight == 0).sum()) > 0        # the head is pruned
    for key in ("1.running_mean", "1.running_var"):          # its BN kept its statistics
        assert torch.equal(model.feat.state_dict()[key], before[key])
    frozen = nn.Sequential(nn.Flatten(), nn.Linear(64, 10)).requires_grad_(False)
    with pytest.raises(UserError, match="only frozen ones"):
        grow_and_prune(frozen, data, _schedule())


def test_fit_keeps_a_sub_module_the_user_put_in_eval_mode_in_eval_mode(digits):
    from synth.distill import DistillConfig, distill
    from synth.train import TrainConfig, fit
    data = _small(digits)
    model = _Frozen()
    before = copy.deepcopy(model.feat.state_dict())
    fit(model, data, TrainConfig(epochs=1, progress=False))
    distill(model, _CNN(), data.x_train, data, DistillConfig(epochs=1, min_steps=2,
                                                             progress=False))
    assert all(torch.equal(v, before[k]) for k, v in model.feat.state_dict().items())
    assert model.training and not model.feat.training and not model.feat[1].training


def test_operations_that_rebuild_from_a_spec_name_what_they_need(digits, tmp_path):
    from synth.checkpoint import save_checkpoint
    from synth.compact import compact
    from synth.dfprune import PruneConfig, prune
    from synth.scann import ScannConfig, synthesize
    data = _small(digits)
    user = _CNN()
    needs = r"needs a model built by synth.models.build \(families: .*\); the _CNN was not"
    with pytest.raises(UserError, match=needs + ": it has no spec"):
        prune(user, data.x_train, data.y_train, PruneConfig(progress=False))
    with pytest.raises(UserError, match="structured pruning " + needs):
        prune(user, data.x_train, data.y_train, PruneConfig(progress=False))
    with pytest.raises(UserError, match="compaction " + needs):
        compact(user)
    with pytest.raises(UserError, match="SCANN needs an mlp built by synth.models.build"):
        synthesize(user, data, ScannConfig())
    user.spec, user.input_shape, user.num_classes = {"family": "mine"}, (1, 8, 8), 10
    with pytest.raises(UserError, match=needs + ": its spec names family 'mine'"):
        save_checkpoint(tmp_path / "m.pt", user)   # was written, and not loadable
    assert not (tmp_path / "m.pt").exists()


def test_data_free_distillation_names_as_teacher_for_a_user_teacher(digits):
    from synth.distill import DistillConfig, adi_distill
    config = DistillConfig(rounds=1, images_per_round=4, kd_steps_per_round=1,
                           final_kd_steps=1, min_steps=0, progress=False)
    with pytest.raises(UserError, match=r"teacher _CNN records no input_shape.*as_teacher\("):
        adi_distill(_CNN(), _CNN(), digits.pixel_range(), config, data=digits)


def test_a_module_that_does_not_fit_the_data_is_refused_in_one_line(digits):
    from synth.data import load_dataset
    from synth.distill import DistillConfig, distill
    from synth.grow_prune import grow_and_prune
    from synth.train import TrainConfig, fit
    iris, data = load_dataset("iris"), _small(digits)
    three = nn.Sequential(nn.Flatten(), nn.Linear(64, 3))
    config = DistillConfig(epochs=1, min_steps=1, progress=False)
    for call, match in [
            (lambda: fit(_CNN(), iris, TrainConfig(epochs=1, progress=False)),
             r"the model \(_CNN\) does not take data set iris's inputs of shape \(4,\): "),
            (lambda: grow_and_prune(_CNN(), iris, _schedule()), "does not take data set iris"),
            (lambda: grow_and_prune(three, data, _schedule()),   # was IndexError: Target 5
             r"gives 3 logits per input; data set digits has 10 classes"),
            (lambda: distill(_CNN(), three, data.x_train, data, config),
             r"the teacher \(Sequential\) gives 3 logits")]:
        with pytest.raises(UserError, match=match) as e:
            call()
        assert "\n" not in str(e.value)


def test_distillation_refuses_a_student_of_other_logits_than_its_teacher(digits):
    from synth.distill import DistillConfig, distill
    data = _small(digits)
    wide = nn.Sequential(nn.Flatten(), nn.Linear(64, 12))   # was 'The size of tensor a (10)
    with pytest.raises(UserError, match=r"the student \(Sequential\) gives 12 logits per "
                                        r"input, the teacher \(_CNN\) 10"):   # must match'
        distill(wide, _CNN(), data.x_train, data,
                DistillConfig(epochs=1, min_steps=1, progress=False))
