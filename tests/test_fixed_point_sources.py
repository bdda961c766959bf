"""Every command that runs a checkpoint in float32 refuses one trained in fixed point, before
any work: grow-prune, distill (its teacher) and invert ran a `train --fixed-point` model in
float32, another function than the one `nnsynth eval` scores, and wrote float32 results
without a word; prune and continual refused it only after synthesizing their images."""
import time

import pytest

from tests.test_silent_answers_probe3 import _fixed_point_checkpoint, _one_error_line, _run


@pytest.mark.parametrize("command", [
    ["grow-prune", "--dataset", "wine", "--model", "{src}", "--out", "{out}"],
    ["distill", "--teacher", "{src}", "--student", "mlp_small", "--data-free", "--out", "{out}"],
    ["invert", "--teacher", "{src}", "--num-images", "30", "--out", "{dir}"],
    ["search", "--dataset", "wine", "--teacher", "{src}", "--data", "{tmp}", "--trials", "1",
     "--out", "{dir}"],
    ["prune", "--model", "{src}", "--ratio", "0.25", "--out", "{out}"],      # synthesizes
    ["continual", "--model", "{src}", "--new-dataset", "wine", "--new-classes", "2",
     "--out", "{out}"],                                                    # synthesizes
])
def test_fixed_point_checkpoints_are_refused_before_any_work(tmp_path, command):
    from synth.data import load_dataset
    data = load_dataset("wine[0,1]" if command[0] == "continual" else "wine", seed=0)
    src = _fixed_point_checkpoint(data, tmp_path / "fx.pt")
    args = [a.format(src=src, out=tmp_path / "o.pt", dir=tmp_path / "set", tmp=tmp_path)
            for a in command]
    start = time.perf_counter()
    line = _one_error_line(_run(args))
    assert "fixed point 2.4" in line, line
    assert time.perf_counter() - start < 5                 # no inversion ran first
    assert not (tmp_path / "o.pt").exists() and not (tmp_path / "set").exists()
