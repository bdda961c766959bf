"""`nnsynth secret --model M --class-names ...` says in which order it takes the words (h236).

A network of digits[9,3,7] (its outputs: 9, 3, 7), scored with `--dataset digits
--class-names three,seven,nine`: the words were given to the outputs in the model's order, so
class 9 was fitted to "three", 3 to "seven" and 7 to "nine", and the result listed
class_names ["three", "seven", "nine"] beside dataset "digits[9,3,7]" without a word.  The
order is the model's (output i takes word i, as the scores need); a warning now pairs each
word with its class where that order is not the one the named set lists.  (And a network
that predicts one class for every test sample is named: its 'base' figure is that share.)
"""
import pytest
import torch

from synth.checkpoint import save_checkpoint
from synth.data import load_dataset
from synth.models import build
from synth.secret_eval import fuse_network


@pytest.fixture(scope="module")
def model_937(tmp_path_factory):
    path = tmp_path_factory.mktemp("h236") / "d937.pt"
    data = load_dataset("digits[9,3,7]")
    torch.manual_seed(0)
    model = build({"family": "mlp", "hidden": [16], "bn": False, "dropout": 0.0},
                  data.input_shape, data.num_classes)
    save_checkpoint(path, model, dataset=data.metadata(), metrics={})
    return str(path)


def test_words_in_another_order_than_the_named_sets_are_paired_with_their_classes(model_937):
    out = fuse_network(model_937, "digits", class_names=["three", "seven", "nine"])
    assert out["dataset"] == "digits[9,3,7]"
    assert "'three' for '9'" in out["warning"] and "'nine' for '7'" in out["warning"]
    assert "--class-names" in out["warning"]


def test_no_word_when_the_order_is_the_named_sets(model_937):
    out = fuse_network(model_937, "digits[9,3,7]", class_names=["nine", "three", "seven"])
    assert "--class-names" not in out.get("warning", "")
    out = fuse_network(model_937, "digits")   # the set's own names: nothing to pair
    assert "--class-names" not in out.get("warning", "")


def test_a_network_that_answers_one_class_is_named(tmp_path):
    """SECRET's gain over a network that predicts one class for every test sample is a gain
    over that class's share (basicmotions' hlstm: 'base' 0.25), said since h236."""
    data = load_dataset("iris")
    torch.manual_seed(0)
    model = build("mlp_small", data.input_shape, data.num_classes)
    head = [m for m in model.modules() if isinstance(m, torch.nn.Linear)][-1]
    with torch.no_grad():
        head.weight.zero_()
        head.bias.copy_(torch.tensor([5.0, 0.0, 0.0]))
    save_checkpoint(tmp_path / "one.pt", model, dataset=data.metadata(), metrics={})
    out = fuse_network(str(tmp_path / "one.pt"), class_names=["small", "blue", "large"])
    assert abs(out["base_scores"]["accuracy"] - 1 / 3) < 1e-9
    assert "predicts class 'setosa' for every test sample" in out["warning"]
