"""Class-incremental learning: head surgery, class lists, old answers kept, errors, CLI."""
import json

import pytest
import torch
import torch.nn.functional as F
from click.testing import CliRunner

from deploy.cli.main import cli
from synth.checkpoint import load_model, save_checkpoint
from synth.config import ConfigError
from synth.continual import (ContinualConfig, check_classes, class_subset, extend_head,
                             incremental, learn_new_classes, per_class_accuracy, synthesize_old)
from synth.errors import UserError
from synth.inversion import InversionConfig
from synth.models import build
from synth.train import TrainConfig, fit

OLD, NEW = [0, 1, 2, 3, 4], [5, 6, 7, 8, 9]


@pytest.fixture(scope="module")
def old_model(digits):
    torch.manual_seed(0)
    model = build("convnet_digits", digits.input_shape, len(OLD))
    fit(model, class_subset(digits, OLD), TrainConfig(epochs=2, progress=False))
    return model.cpu().eval()   # trained on CUDA where there is one; the tests feed CPU tensors


@pytest.mark.parametrize("variant,shape", [("lenet5_bn", (1, 28, 28)), ("resnet8_w16", (1, 8, 8)),
                                           ("lenet300_100", (1, 8, 8))])
def test_extend_head_keeps_old_logits(variant, shape):
    torch.manual_seed(0)
    model = build(variant, shape, 5).eval()
    big = extend_head(model, 3).eval()
    x = torch.randn(8, *shape)
    assert big.num_classes == 8 and big(x).shape == (8, 8)
    torch.testing.assert_close(big(x)[:, :5], model(x), rtol=0, atol=1e-5)


def test_class_subset(digits):
    sub = class_subset(digits, [3, 7], offset=2)
    assert sub.num_classes == 4 and set(sub.y_train.tolist()) == {2, 3}
    assert len(sub.y_test) == int(((digits.y_test == 3) | (digits.y_test == 7)).sum())
    assert torch.equal(sub.x_train[sub.y_train == 3], digits.x_train[digits.y_train == 7])


def test_class_list_errors():
    assert check_classes([0, 1], [2], 10, 2) == ([0, 1], [2])
    bad = [(([0, 1], []), "at least one"), (([0, 0], [2]), "distinct"),
           (([0, 1], [10]), r"in \[0, 10\), got 10"), (([0, 1], [1, 2]), "must not repeat"),
           (([0, 1, 2], [5]), "2 outputs")]
    for (old, new), message in bad:
        with pytest.raises(UserError, match=message):
            check_classes(old, new, 10, 2)
    with pytest.raises(ConfigError, match="method"):
        ContinualConfig(method="ewc")


def test_deepinversion_keeps_old_answers(digits, old_model):
    old_test = class_subset(digits, OLD)
    before = old_model(old_test.x_test).argmax(1)
    inv = InversionConfig.preset("mnist28", iterations=30, min_iterations=10, batch_size=64)
    synth_x = synthesize_old(old_model, 64, digits.pixel_range(), inv)
    new_data = class_subset(digits, NEW, offset=len(OLD))
    cfg = ContinualConfig(method="deepinversion", epochs=2, progress=False)
    model, metrics = learn_new_classes(old_model, new_data, cfg, synth_x)
    after = model(old_test.x_test)[:, :len(OLD)].argmax(1)
    agree = float((after == before).float().mean())
    acc = per_class_accuracy(model, class_subset(digits, OLD + NEW))["per_class"]
    assert agree > 0.9, agree           # the old head still answers as before
    assert sum(acc[5:]) / 5 > 0.5, acc  # and the new classes are learned
    assert metrics["synthesized_images"] == 64
    with pytest.raises(UserError, match="synthesized"):
        learn_new_classes(old_model, new_data, cfg, None)
    with pytest.raises(UserError, match="only new classes"):
        learn_new_classes(old_model, class_subset(digits, NEW), cfg, synth_x)


def _continual_cli(tmp_path, digits, old_model, new_classes: str):
    """``nnsynth continual`` (LwF, one epoch) of ``old_model`` to ``new_classes`` of digits:
    (the saved old checkpoint, the new one's path, the JSON result)."""
    ckpt = save_checkpoint(tmp_path / "old.pt", old_model, dataset=digits.metadata())
    out = tmp_path / "new.pt"
    r = CliRunner().invoke(cli, ["continual", "--model", str(ckpt), "--new-dataset", "digits",
                                 "--new-classes", new_classes, "--method", "lwf", "--epochs",
                                 "1", "--out", str(out), "--json"])
    assert r.exit_code == 0, r.output
    return ckpt, out, json.loads(r.output.strip().splitlines()[-1])


def test_cli(tmp_path, digits, old_model):
    ckpt, out, result = _continual_cli(tmp_path, digits, old_model, "5,6")
    assert result["old_classes"] == OLD and result["new_classes"] == [5, 6] and out.is_file()
    bad = [["--new-classes", "5,x"], ["--new-classes", "3,5"], ["--new-classes", "12"],
           ["--new-classes", "5", "--old-classes", "0,1"]]
    for args in bad:
        r = CliRunner().invoke(cli, ["continual", "--model", str(ckpt), "--new-dataset", "digits",
                                     "--out", str(tmp_path / "bad.pt")] + args)
        assert r.exit_code == 2 and r.output.startswith("error:"), (args, r.output)
        assert len(r.output.strip().splitlines()) == 1
    assert not (tmp_path / "bad.pt").exists()


def test_several_steps(digits, old_model):
    cfg = ContinualConfig(method="lwf", epochs=1, progress=False)
    model, history = incremental(old_model, digits, OLD, [[5, 6], [7]], cfg)
    assert model.num_classes == 8
    assert [h["classes"] for h in history] == [OLD + [5, 6], OLD + [5, 6, 7]]
    assert all(0 <= h["test_accuracy"] <= 1 and len(h["per_class"]) == len(h["classes"])
               for h in history)
    with pytest.raises(UserError, match="must not repeat"):
        incremental(old_model, digits, OLD, [[5], [5]], cfg)


def test_cli_figures_are_on_every_class_and_add_up(tmp_path, digits, old_model):
    """continual's val_accuracy and test_loss were fit's, on the new classes only, beside a
    test_accuracy on every class; accuracy_old/new were means of per-class accuracies, so
    they did not combine into test_accuracy.  Now all on the held-out samples of every
    class, checked against the saved model evaluated here."""
    _, out, got = _continual_cli(tmp_path, digits, old_model, "5,6,7")
    model = load_model(out)
    keep = {s: torch.isin(digits.split(s)[1], torch.tensor(OLD + [5, 6, 7])) for s in
            ("val", "test")}
    with torch.no_grad():
        lv = model(digits.x_val[keep["val"]])
        lt = model(digits.x_test[keep["test"]])
    yv, yt = digits.y_val[keep["val"]], digits.y_test[keep["test"]]   # classes 0-7 keep ids
    right = lt.argmax(1) == yt
    assert got["val_accuracy"] == pytest.approx(float((lv.argmax(1) == yv).float().mean()))
    assert got["test_accuracy"] == pytest.approx(float(right.float().mean()))
    # rel 1e-4: on a GPU the CLI evaluates on CUDA (TF32 convolutions), this test on the CPU
    assert got["test_loss"] == pytest.approx(float(F.cross_entropy(lt, yt)), rel=1e-4)
    assert got["accuracy_old"] == pytest.approx(float(right[yt < 5].float().mean()))
    assert got["accuracy_new"] == pytest.approx(float(right[yt >= 5].float().mean()))
    n_old = int((yt < 5).sum())
    assert got["test_accuracy"] == pytest.approx(
        (n_old * got["accuracy_old"] + (len(yt) - n_old) * got["accuracy_new"]) / len(yt))
