"""SECRET with a network whose outputs overflow is one line, not a traceback (helper h257).

A checkpoint's finite weights of 3e38 overflow in the forward pass: nnsynth secret --model
ended in scikit-learn's "ValueError: Input X contains infinity or a value too large for
dtype('float64')" with a traceback, exit 1.
"""
import torch

from synth.checkpoint import save_checkpoint
from synth.data import load_dataset
from synth.models import build
from tests._cli import one_error_line, run


def test_overflowing_network_is_refused_in_one_line(tmp_path):
    data = load_dataset("iris")
    torch.manual_seed(0)
    model = build({"family": "mlp", "hidden": [8], "bn": False, "dropout": 0.0},
                  data.input_shape, data.num_classes).eval()
    with torch.no_grad():   # hidden units above 0, each output sums them at 3e38 a weight
        model.net[1].bias.fill_(100.0)
        model.net[-1].weight.fill_(3e38)
    path = save_checkpoint(tmp_path / "m.pt", model, dataset=data.metadata(), metrics={})
    line = one_error_line(run(["secret", "--dataset", "iris", "--model", str(path),
                               "--label-vectors", "random"]))
    # refused on the set's first samples (h265: synth.checkpoint.check_outputs_on) before
    # SECRET's own check of every sample (synth.secret.network_outputs) is reached
    assert line.startswith(f"error: checkpoint {path}: its outputs are NaN or infinite on ")
