"""Messages that named the wrong thing or showed a value other than the one given (h261):
an ADI student whose outputs overflow failed at the end as the output folder's 'column x
holds NaN or infinite values'; prune's 'requested ratio 1.0000' of --ratio 0.9999999; scann's
--components 1e30 shown as a 31-digit integer; grow-prune's --target-accuracy nan 'must be in
[0, 1]' where every range says 'must be a number in'; search/run/sweep's folder under a file
'cannot be created or written: Not a directory'."""
from __future__ import annotations

import logging

import pytest
import torch
from click.testing import CliRunner

from deploy.cli.main import cli
from synth.errors import UserError
from synth.files import claim_dir, working_dir


def _line(args: list[str]) -> str:
    r = CliRunner().invoke(cli, args)
    lines = r.output.strip().splitlines()
    assert r.exit_code == 2 and len(lines) == 1, (r.exit_code, r.output[-2000:])
    return lines[0]


def _mlp(bn: bool = False):
    from synth.models import build
    return build({"family": "mlp", "hidden": [8], "bn": bn}, (4,), 3)


IRIS = {"name": "iris", "input_shape": [4], "num_classes": 3, "mean": [0.0] * 4,
        "std": [1.0] * 4}


def test_an_overflowing_student_is_named_before_any_work(tmp_path):
    from synth.checkpoint import save_checkpoint
    teacher = save_checkpoint(tmp_path / "t.pt", _mlp(bn=True), dataset=IRIS)
    student = _mlp()
    with torch.no_grad():
        next(student.parameters()).fill_(3e38)   # finite weights, infinite outputs
    student = save_checkpoint(tmp_path / "s.pt", student, dataset=IRIS)
    line = _line(["invert", "--teacher", str(teacher), "--num-images", "3", "--adi",
                  "--student", str(student), "--out", str(tmp_path / "o")])
    assert line.startswith(f"error: student {student}: its outputs are NaN or infinite on ")
    assert "--student" in line and not (tmp_path / "o").exists()


def test_prune_warning_shows_the_ratio_as_given(caplog):
    from synth.dfprune import PruneConfig, prune
    torch.manual_seed(0)
    x, y = torch.randn(6, 4), torch.tensor([0, 1, 2, 0, 1, 2])
    with caplog.at_level(logging.WARNING, logger="synth.dfprune"):
        prune(_mlp(), x, y, PruneConfig(ratio=0.9999999, importance="magnitude",
                                        progress=False, device="cpu"))
    said = [r.getMessage() for r in caplog.records if "requested ratio" in r.getMessage()]
    assert len(said) == 1 and "requested ratio 0.9999999:" in said[0], said


def test_scann_components_shown_readably():
    line = _line(["scann", "--dataset", "iris", "--components", "1e30"])
    assert line == "error: --components must be at most the 4 features of iris, got 1e+30"


def test_target_accuracy_nan_says_a_number(tmp_path):
    line = _line(["grow-prune", "--dataset", "iris", "--model", "mlp", "--out",
                  str(tmp_path / "m.pt"), "--target-accuracy", "nan"])
    assert line == "error: --target-accuracy must be a number in [0, 1], got nan"


def test_claimed_folder_under_a_file_is_said_as_check_out_dir_says_it(tmp_path):
    plain = tmp_path / "f"
    plain.write_text("the user's")
    for option in ("--out", "--run-dir"):   # search's, run's
        with pytest.raises(UserError, match=f"^{option} {plain / 'out'} cannot be written: "
                                            f"{plain} is a file, not a directory$"):
            claim_dir(plain / "out", option)
    with pytest.raises(UserError, match=f"^sweep root {plain / 'a' / 'b'} cannot be written: "
                                        f"{plain} is a file, not a directory$"):
        with working_dir(plain / "a" / "b", "sweep root", "sweep directory"):
            pass
    assert plain.read_text() == "the user's"
