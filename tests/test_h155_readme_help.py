"""A new user's first hour (helper h155): the --help texts and README claims a user reads
first say what the code does."""
from __future__ import annotations

import torch
from click.testing import CliRunner

from deploy.cli.main import cli
from synth.inversion import settings_for
from synth.models import build


def _help(*words: str) -> str:
    r = CliRunner().invoke(cli, [*words, "--help"], terminal_width=10_000)
    assert r.exit_code == 0, r.output
    return " ".join(r.output.split())


def test_invert_method_help_names_the_sequence_generator():
    """settings_for picks the generator for a convnet1d teacher on a bounded set; the
    --method help, which says what the default is, must say so (it named images only)."""
    teacher = build("convnet1d_small", input_shape=(3, 40), num_classes=4)
    lo, hi = torch.full((3, 1), -2.0), torch.full((3, 1), 2.0)
    assert settings_for(teacher, value_range=(lo, hi)).method == "amortized"
    text = _help("invert")
    method = text[text.index("--method"):text.index("--out")]
    assert "sequence" in method and "Conv1d" in method, method
