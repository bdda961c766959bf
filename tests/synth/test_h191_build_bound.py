"""build()'s fit check (a forward pass on two zero samples) is bounded by its work (h185/h191):
a 329 kB resnet8_w16 checkpoint recording input_shape (1, 4096, 4096) -- within
MAX_INPUT_ELEMENTS -- took 70-100 s and 8.7 GB in ``nnsynth export``/``eval`` before its
shape mismatch was reported.  Now one line, naming the file, the shape and the limit, before
the stem's 16 x 4096 x 4096 output a sample is made."""
import time

import pytest
import torch

from synth.checkpoint import save_checkpoint
from synth.errors import UserError
from synth.models import build
from synth.models.registry import (MAX_RECURRENT_STEPS, MAX_SAMPLE_VALUES, bounded_work)
from tests._cli import one_error_line, run


@pytest.fixture
def hostile(tmp_path):
    path = tmp_path / "rn_big.pt"
    save_checkpoint(path, build("resnet8_w16", (1, 8, 8), 10))
    payload = torch.load(path, weights_only=True)
    payload["input_shape"] = [1, 4096, 4096]   # resnet's weights do not depend on it
    torch.save(payload, path)
    return path


@pytest.mark.parametrize("args", [["export", "--out", "{d}/m.onnx"],
                                  ["eval", "--dataset", "digits"]])
def test_a_checkpoint_recording_a_huge_input_is_refused_fast_in_one_line(hostile, args):
    args = [a.format(d=hostile.parent) for a in args] + ["--model", str(hostile)]
    start = time.monotonic()
    line = one_error_line(run(args))
    assert time.monotonic() - start < 5, line
    assert str(hostile) in line and "(1, 4096, 4096)" in line
    assert f"{MAX_SAMPLE_VALUES:,}" in line and "stem.0" in line


def test_a_recurrent_spec_over_the_step_limit_is_refused_before_it_runs():
    start = time.monotonic()
    with pytest.raises(UserError, match=f"the limit is {MAX_RECURRENT_STEPS:,}"):
        build("lstm32", (1, 16_000_000), 2)
    assert time.monotonic() - start < 5


def test_legit_models_still_build():
    build("resnet8_w16", (3, 224, 224), 10)
    build("lstm64", (3, 2000), 5)
    # the largest images the loaders accept (synth.data.MAX_IMAGE_SIDE) on resnet18, and
    # ImageNet's: checked on the meta device (shapes only; the real pass takes minutes)
    for shape in ((3, 224, 224), (3, 1024, 1024)):
        shell = build("resnet18", shape, 1000, meta=True)
        with torch.no_grad(), bounded_work(shell, shape, 2, lambda: "resnet18"):
            shell(torch.empty((2,) + shape, device="meta"))
