"""nnsynth run's report warns when a model predicts one class for every test input (h238).

Before: a run on digits whose searched convnet (1x1 kernels at stride 2: it saw one pixel,
always 0) predicted class '0' for all 360 test images said 'final model: test accuracy
0.1000' in summary.md and on stdout, without a word that its accuracy was that class's
share.  Here the cached teacher is such a model and search and refine are off, so the final
model is the teacher; no Ray.
"""
import json

import torch

from deploy.pipeline import run_pipeline
from deploy.run_config import RunConfig
from deploy.stages import teacher_cache_key
from synth.checkpoint import read_checkpoint, save_checkpoint
from synth.data import load_dataset
from synth.models import build
from tests.test_h238_missing_outputs import BASE as MISSING_BASE

SPEC = MISSING_BASE["teacher"]["model"]
BASE = {**MISSING_BASE, "name": "one-class"}   # a teacher-and-export run, no Ray


def test_a_one_class_final_model_is_named_in_the_report(tmp_path):
    values = json.loads(json.dumps(BASE))
    values["teacher"]["cache"] = str(tmp_path / "teachers")
    config = RunConfig.from_dict(values)
    data = load_dataset("digits", seed=config.data_seed)
    model = build(SPEC, data.input_shape, data.num_classes)
    with torch.no_grad():                 # the logits are the last layer's bias: class 3
        last = [m for m in model.modules() if isinstance(m, torch.nn.Linear)][-1]
        last.weight.zero_()
        last.bias.zero_()
        last.bias[3] = 1.0
    cache = tmp_path / "teachers"
    cache.mkdir()
    save_checkpoint(cache / teacher_cache_key(config, data), model,
                    dataset=data.metadata(), metrics={}, extra={"role": "teacher"})
    run_dir = tmp_path / "run"
    result = run_pipeline(config, run_dir, progress=False, log=lambda m: None)
    assert "predicts class '3' for every test sample" in result["final_warning"]
    assert "predicts class '3'" in read_checkpoint(run_dir / "final.pt")["metrics"]["warning"]
    report = (run_dir / "summary.md").read_text()
    assert "warning: final model: the model predicts class '3' for every test sample" in report
