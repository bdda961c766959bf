"""h326: ``nnsynth diabdeep --steps``'s help said "[default: 50, or T when shorter]", but the
default reads frames of ceil(T/50) samples, ceil(T/frame) steps: aeon's ArrowHead (251
samples a window) ran in 42 steps of 6, and its report said 42 beside a help that promised 50."""
import math

import numpy as np
from click.testing import CliRunner

from deploy.cli.main import cli
from synth.choices import DIABDEEP_STEPS
from synth.data import load_dataset
from synth.diabdeep import frame_for


def test_the_steps_help_says_what_the_default_gives(tmp_path):
    rng = np.random.default_rng(0)
    lines = ["@problemName arrow", "@timeStamps false", "@missing false", "@univariate true",
             "@equalLength true", "@classLabel true a b", "@data"]
    lines += [",".join(f"{v:.3f}" for v in rng.normal(size=251)) + f":{'ab'[i % 2]}"
              for i in range(12)]
    (tmp_path / "arrow.ts").write_text("\n".join(lines) + "\n")
    data = load_dataset(f"ts:{tmp_path / 'arrow.ts'}", seed=0)
    frame = frame_for(data, None)
    assert (frame, math.ceil(251 / frame)) == (math.ceil(251 / DIABDEEP_STEPS), 42)
    text = " ".join(CliRunner().invoke(cli, ["diabdeep", "--help"]).output.split())
    assert (f"[default: frames of ceil(T/{DIABDEEP_STEPS}) samples: {DIABDEEP_STEPS} steps or "
            f"fewer (42 for T=251), T when shorter]") in text, text
