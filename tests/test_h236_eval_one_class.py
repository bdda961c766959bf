"""`nnsynth eval` says when the model predicts one class for every scored sample (h236).

`nnsynth grow-prune --dataset basicmotions --model '{"family": "hlstm", ...}'` warned "the
model predicts class 'standing' for every test sample", but `nnsynth eval` of the same
checkpoint printed "accuracy: 0.2500" (that class's share of the 16 test windows) and
nothing else; train, prune and distill say it since 2d8902c (h237).
"""
import torch

from synth.checkpoint import save_checkpoint
from synth.data import load_dataset
from synth.models import build
from synth.workflows import evaluate_checkpoint


def test_a_model_of_one_answer_is_named(tmp_path):
    data = load_dataset("iris")
    torch.manual_seed(0)
    model = build("mlp_small", data.input_shape, data.num_classes)
    head = [m for m in model.modules() if isinstance(m, torch.nn.Linear)][-1]
    with torch.no_grad():   # every input gets class 1 ('versicolor')
        head.weight.zero_()
        head.bias.copy_(torch.tensor([0.0, 5.0, 0.0]))
    save_checkpoint(tmp_path / "one.pt", model, dataset=data.metadata(), metrics={})
    result, notes = evaluate_checkpoint(str(tmp_path / "one.pt"))
    assert abs(result["accuracy"] - 1 / 3) < 1e-9   # iris's test split is balanced
    said = [n for n in notes if "every test sample" in n]
    assert len(said) == 1 and said[0].startswith("warning: ") and "versicolor" in said[0]
    _, notes = evaluate_checkpoint(str(tmp_path / "one.pt"), split="all")
    assert [n for n in notes if "for every sample: its accuracy" in n and "the set," in n]
    # a model that answers more than one class says nothing of the kind
    from synth.train import TrainConfig, fit
    torch.manual_seed(0)
    model = build("mlp_small", data.input_shape, data.num_classes)
    fit(model, data, TrainConfig(epochs=10, progress=False))
    save_checkpoint(tmp_path / "two.pt", model, dataset=data.metadata(), metrics={})
    _, notes = evaluate_checkpoint(str(tmp_path / "two.pt"))
    assert not [n for n in notes if "for every" in n], notes
