"""Probe of prune, continual and distill --data-free on sets and families the other tests do
not use (h156).

* ``nnsynth prune --model`` of a 2-class model with ``--synth`` of a 3-class teacher's set
  ended in PyTorch's 'IndexError: Target 2 is out of bounds' traceback (Taylor importance's
  cross-entropy on the set's labels): now one line naming the class.
* ``nnsynth continual`` (deepinversion) used only the first len(new) synthesized inputs:
  iris's 36 samples of a new class took 36 of the 256 inverted, the rest paid for and
  dropped while the result said ``synthesized_images`` 256.
"""
from __future__ import annotations

import torch
from click.testing import CliRunner

from deploy.cli.main import cli
from synth.checkpoint import save_checkpoint
from synth.continual import ContinualConfig, class_subset, learn_new_classes
from synth.data import load_dataset, write_parquet
from synth.models import build

MLP_BN = {"family": "mlp", "hidden": [8], "bn": True, "dropout": 0.0}


def test_prune_set_of_another_teachers_classes_is_one_line(tmp_path):
    torch.manual_seed(0)
    meta2 = {"input_shape": [5], "num_classes": 2, "mean": [0.0] * 5, "std": [1.0] * 5}
    model = build(MLP_BN, (5,), 2).eval()
    ckpt = save_checkpoint(tmp_path / "m.pt", model, dataset=meta2)
    x = torch.randn(30, 5)
    write_parquet(tmp_path / "synth" / "s.parquet", x, torch.arange(30) % 3,
                  {**meta2, "num_classes": 3})
    r = CliRunner().invoke(cli, ["prune", "--model", str(ckpt), "--synth",
                                 str(tmp_path / "synth"), "--ratio", "0.5", "--kd-steps", "0",
                                 "--out", str(tmp_path / "p.pt")])
    assert r.exit_code == 2, r.output
    lines = r.output.strip().splitlines()
    assert len(lines) == 1 and "class 2" in lines[0] and "2 classes" in lines[0], r.output
    assert not (tmp_path / "p.pt").exists()


def test_continual_uses_every_synthesized_input():
    iris = load_dataset("iris", seed=0)
    torch.manual_seed(0)
    old = build({"family": "mlp", "hidden": [8], "bn": False, "dropout": 0.0},
                iris.input_shape, 2).eval()
    new = class_subset(iris, [2], offset=2)
    assert len(new.y_train) < 100
    synth_x = torch.randn(100, *iris.input_shape) * 5 + 100   # far from the real inputs
    seen = []
    old.register_forward_pre_hook(lambda m, args: seen.append(args[0].detach().cpu()))
    config = ContinualConfig(epochs=1, min_steps=0, batch_size=64, device="cpu",
                             progress=False)
    _, metrics = learn_new_classes(old, new, config, synth_x)
    inputs = torch.cat(seen)
    used = {tuple(r.tolist()) for r in inputs[inputs.mean(1) > 50]}
    assert len(used) == len(synth_x), (len(used), len(new.y_train))
    assert metrics["synthesized_images"] == len(synth_x)


def test_adi_rounds_say_low_fidelity_once_and_in_the_result(caplog):
    """``nnsynth distill --data-free`` of a weak teacher printed each round's low-fidelity
    warning (8 by default) and its --json result carried none."""
    from synth.distill import DistillConfig, adi_distill
    from synth.inversion import InversionConfig
    torch.manual_seed(0)
    spec = {"family": "convnet", "widths": [4], "kernels": [3], "strides": [1], "bn": True,
            "pool": "avg", "hidden": []}
    teacher = build(spec, (1, 8, 8), 10).eval()
    student = build(spec, (1, 8, 8), 10)
    config = DistillConfig(rounds=3, images_per_round=10, kd_steps_per_round=1,
                           final_kd_steps=1, min_steps=0, device="cpu", progress=False)
    inversion = InversionConfig(iterations=1, min_iterations=1, min_fidelity=1.0,
                                device="cpu")
    low, high = torch.full((1,), -2.0), torch.full((1,), 2.0)
    with caplog.at_level("WARNING"):
        metrics = adi_distill(student, teacher, (low, high), config, inversion)
    assert metrics["fidelity"] < 1.0
    lines = [r.getMessage() for r in caplog.records if "fidelity" in r.getMessage()]
    assert len(lines) == 1, lines
    assert "of 3 rounds" in metrics["warning"] and metrics["warning"] == lines[0]
