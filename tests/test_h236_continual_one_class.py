"""`nnsynth continual` says when the enlarged model predicts one class for every test sample
(h236).  `nnsynth continual --model gpm01.pt --new-dataset csv:odd_str.csv --new-classes emu
--method lwf` (18 new samples, 50 epochs) reported test_accuracy 0.0625, accuracy_old 0.0,
accuracy_new 1.0 without a word: the model answered 'emu' for every sample, which `nnsynth
eval` of the checkpoint names; train, prune, distill and grow-prune say it in their result.
"""
import torch

import synth.continual
from synth.checkpoint import read_checkpoint, save_checkpoint
from synth.continual import ContinualConfig
from synth.data import load_dataset
from synth.models import build
from synth.workflows import continual_checkpoint


def test_a_model_that_answers_one_class_is_named(tmp_path, monkeypatch):
    data = load_dataset("iris[0,1]")
    torch.manual_seed(0)
    old = build("mlp_small", data.input_shape, data.num_classes)
    save_checkpoint(tmp_path / "old.pt", old, dataset=data.metadata(), metrics={})
    learn = synth.continual.learn_new_classes

    def one_answer(old_model, new_data, config, synth_x=None):   # the training collapsed
        model, metrics = learn(old_model, new_data, config, synth_x)
        head = [m for m in model.modules() if isinstance(m, torch.nn.Linear)][-1]
        with torch.no_grad():
            head.weight.zero_()
            head.bias.copy_(torch.tensor([0.0, 0.0, 5.0]))
        return model, metrics
    monkeypatch.setattr(synth.continual, "learn_new_classes", one_answer)
    result = continual_checkpoint(str(tmp_path / "old.pt"), "iris", [2], tmp_path / "new.pt",
                                  ContinualConfig(method="finetune", epochs=1, min_steps=0,
                                                  progress=False))
    assert result["accuracy_new"] == 1.0 and result["accuracy_old"] == 0.0
    assert "predicts class 'virginica' for every test sample" in result["warning"]
    saved = read_checkpoint(tmp_path / "new.pt")
    assert "virginica" in saved["metrics"]["warning"]
