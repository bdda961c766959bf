"""A value that passes an option's own type check but fails the library's config check is
told by the option the user typed, with the range the option really allows (one line, exit
2): `nnsynth train --epochs 99999999999` said "epochs must be in [0, 100000]" -- the
config's field, and a lower bound --epochs (an IntRange(min=1)) never allowed.
"""
from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from deploy.cli.main import cli

HUGE = "99999999999"


def _line(args: list[str]) -> str:
    r = CliRunner().invoke(cli, args)
    lines = r.output.strip().splitlines()
    assert r.exit_code == 2 and len(lines) == 1, (r.exit_code, r.output[-2000:])
    return lines[0]


def _train(tmp, *extra):
    return ["train", "--dataset", "digits", "--model", "mlp_small", "--out",
            str(tmp / "m.pt"), *extra]


@pytest.mark.parametrize("extra,expected", [
    # the config's [0, 100000] narrowed to the option's IntRange(min=1)
    (["--epochs", HUGE], f"error: --epochs must be in [1, 100000], got {HUGE}"),
    (["--lr", "100"], "error: --lr must be in (0, 10], got 100.0"),
    (["--lr", "inf"], "error: --lr must be in (0, 10], got inf"),
    (["--lr", "-1"], "error: --lr must be in (0, 10], got -1.0"),
    (["--lr", "nan"], "error: --lr must be a number in (0, 10], got nan"),
])
def test_train_names_the_option(tmp_path, extra, expected):
    assert _line(_train(tmp_path, *extra)) == expected
    assert not (tmp_path / "m.pt").exists()


M, O = "{missing}", "{out}"   # filled in per test: a checkpoint that is not there, an --out


@pytest.mark.parametrize("args,expected", [
    (["prune", "--model", M, "--ratio", "1", "--out", O],
     "error: --ratio must be in [0, 1), got 1.0"),
    (["prune", "--model", M, "--ratio", "0.5", "--kd-steps", HUGE, "--out", O],
     f"error: --kd-steps must be in [0, 1000000], got {HUGE}"),
    # a field with underscores
    (["grow-prune", "--dataset", "digits", "--model", "mlp_small", "--prune-fraction", "2",
      "--out", O], "error: --prune-fraction must be in (0, 1), got 2.0"),
    (["distill", "--teacher", M, "--student", "mlp_small", "--data-free", "--epochs", HUGE,
      "--out", O], f"error: --epochs must be in [1, 100000], got {HUGE}"),
    # a dotted field (scaling.num_workers), narrowed to the option's min 1
    (["distill", "--teacher", M, "--student", "mlp_small", "--synth", "{tmp}",
      "--num-workers", "9999999", "--out", O],
     "error: --num-workers must be in [1, 4096], got 9999999"),
    (["continual", "--model", M, "--new-dataset", "digits", "--new-classes", "5", "--lr", "11",
      "--out", O], "error: --lr must be in (0, 10], got 11.0"),
    (["incremental", "--model", M, "--old", "digits", "--new", "digits", "--replay-ratio",
      "inf"], "error: --replay-ratio must be a finite number in [0, inf), got inf"),
    (["search", "--dataset", "digits", "--epochs", HUGE, "--out", "{tmp}/s"],
     f"error: --epochs must be in [1, 10000], got {HUGE}"),
    # a field of another name (DseConfig.area_budget_mm2)
    (["hwsim", "dse", "--model", "lenet5", "--area-budget", "-1"],
     "error: --area-budget must be in (0, 1000000.0], got -1.0"),
    # hwsim.tables' repeats check (check_range since 34c0142), narrowed to the option's min 4
    (["hwsim", "table", "--device", "cpu", "--model", "lenet5", "--input-shape", "1x28x28",
      "--repeats", HUGE], f"error: --repeats must be in [4, 10000], got {HUGE}"),
    # a check_range error after the library's prefix (synth.models.check_shape's "model: ")
    (["hwsim", "eval", "--spec", "lenet5", "--input-shape", "1x28x28", "--num-classes", HUGE],
     f"error: --num-classes must be in [2, 100000], got {HUGE}"),
])
def test_each_command_names_its_option(tmp_path, args, expected):
    names = {"missing": str(tmp_path / "missing.pt"), "out": str(tmp_path / "o.pt"),
             "tmp": str(tmp_path)}
    assert _line([a.format(**names) for a in args]) == expected
    assert not (tmp_path / "o.pt").exists() and not (tmp_path / "s").exists()


def _bn_teacher(path):
    """A tiny untrained BN MLP checkpoint with iris's metadata (invert's input)."""
    from synth.checkpoint import save_checkpoint
    from synth.models import build
    return save_checkpoint(path, build({"family": "mlp", "hidden": [8], "bn": True}, (4,), 3),
                           dataset={"name": "iris", "input_shape": [4], "num_classes": 3,
                                    "mean": [0.0] * 4, "std": [1.0] * 4})


def test_invert_kd_steps_is_named(tmp_path):
    """invert --adi --kd-steps fills DistillConfig.kd_steps_per_round: the error said
    'kd_steps_per_round must be in [0, 1000000]' of no option the user typed."""
    teacher = _bn_teacher(tmp_path / "t.pt")
    line = _line(["invert", "--teacher", str(teacher), "--num-images", "3", "--adi",
                  "--student", "mlp_small", "--kd-steps", HUGE, "--out", str(tmp_path / "s")])
    assert line == f"error: --kd-steps must be in [0, 1000000], got {HUGE}"
    assert not (tmp_path / "s").exists()


def test_a_value_the_option_did_not_give_keeps_the_configs_words(tmp_path):
    """A field set by a JSON option (the option left at its default) is not blamed on the
    option: --schedule's prune_steps is --schedule's, not --prune-steps' (named by the JSON
    option that gave it since h250)."""
    line = _line(["grow-prune", "--dataset", "digits", "--model", "mlp_small", "--schedule",
                  json.dumps({"prune_steps": 5000}), "--out", str(tmp_path / "o.pt")])
    assert line == "error: --schedule: prune_steps must be in [0, 1000], got 5000"


@pytest.mark.parametrize("args,option", [
    (["--batch-size", "100001"], "--batch-size"),
    (["--seed", "-1"], "--seed"),
    (["--epochs", "0"], "--epochs"),
])
def test_click_bounded_options_still_say_click_words(tmp_path, args, option):
    """--batch-size and --seed carry the config's bounds as their click range already
    (passes before and after): click's own one-line usage error names them."""
    line = _line(_train(tmp_path, *args))
    assert line.startswith(f"error: Invalid value for '{option}'") and \
        line.endswith(" train -h)"), line


@pytest.mark.parametrize("weight", ["inf", "2"])
def test_invert_adi_weight_without_adi_is_refused(tmp_path, weight):
    """invert --adi-weight without --adi ran plain DeepInversion and ignored the weight
    without a word (inf included), as --student and --kd-steps without --adi are refused."""
    line = _line(["invert", "--teacher", str(tmp_path / "missing.pt"), "--num-images", "10",
                  "--adi-weight", weight, "--out", str(tmp_path / "s")])
    assert line == ("error: --adi-weight is used only with --adi (Adaptive DeepInversion); "
                    "add --adi or leave --adi-weight out")
    assert not (tmp_path / "s").exists()
