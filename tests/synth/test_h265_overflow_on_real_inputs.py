"""A checkpoint whose outputs overflow only on real inputs is refused where real inputs are
at hand (h265).  Its weights are finite, and on random inputs so are its outputs (an ADI
student's check, ``cluster.pairs.check_student_outputs``, passes it); on digits' own 0s
they are infinite.  nnsynth eval printed an accuracy and 'loss: none' without a word, and a
distill/prune --teacher's real set went on.  ``synth.checkpoint.check_outputs_on`` runs
the first samples of each split through it: the same one line as the student's check."""
import pytest
import torch

from cluster.pairs import check_student_outputs
from synth.checkpoint import load_model, save_checkpoint
from synth.data import load_dataset
from synth.errors import OutputsOverflow
from synth.models import build
from synth.workflows import real_data_or_why
from tests._cli import one_error_line, run


def _zero_detector(tmp_path):
    """A digits MLP (as initialized: it predicts several classes) whose hidden unit 0 fires
    on inputs like the mean 0 of the training split (a projection above 4.5 in units of the
    inputs' std: never on 16 normal draws, on a third of digits' first samples) and whose
    outputs are 3e38 times it."""
    d = load_dataset("digits")
    x, y = d.split("train")
    w = x[y == 0].flatten(1).mean(0)
    torch.manual_seed(0)
    model = build({"family": "mlp", "hidden": [8], "bn": False, "dropout": 0.0},
                  d.input_shape, d.num_classes)
    with torch.no_grad():
        model.net[1].weight[0] = 1e3 * w / w.norm()
        model.net[1].bias[0] = -4.5e3
        model.net[3].weight[:, 0] = 3e38
    return save_checkpoint(tmp_path / "m.pt", model, dataset=d.metadata(), metrics={})


def test_random_inputs_pass_it(tmp_path):
    path = _zero_detector(tmp_path)
    check_student_outputs(path, load_model(path))   # what the random check cannot see


def test_eval_refuses_it_in_one_line(tmp_path):
    path = _zero_detector(tmp_path)
    line = one_error_line(run(["eval", "--model", str(path)]))
    assert line.startswith(f"error: checkpoint {path}: its outputs are NaN or infinite on "), line
    assert line.endswith("of the first 192 samples of data set digits (a weight or an "
                         "activation beyond float32's range); retrain it or give another "
                         "checkpoint"), line


def test_a_teachers_real_set_says_the_model_not_the_set(tmp_path):
    path = _zero_detector(tmp_path)
    with pytest.raises(OutputsOverflow, match=r"^--teacher m\.pt: its outputs are NaN"):
        real_data_or_why(load_model(path), "--teacher m.pt")
