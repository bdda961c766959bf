"""``nnsynth export`` gives the ONNX file's own weight count beside PyTorch's.

Its ``parameters`` was the PyTorch count, while the file holds fewer weights once the
exporter folds BatchNorm into the convolution before it (convnet_small: 5,178 reported,
5,130 in the file); ``onnx_weights`` counts the file's floating-point initializers."""
import math

import onnx
import torch

from deploy.onnx_export import export_checkpoint
from synth.checkpoint import save_checkpoint
from synth.data import load_dataset
from synth.models import build, count_parameters


def test_export_counts_the_weights_in_the_file(tmp_path):
    data = load_dataset("digits", seed=0)
    torch.manual_seed(0)
    spec = {"family": "convnet", "widths": [4, 8], "kernels": [3, 3], "strides": [1, 2],
            "bn": True, "pool": "avg", "hidden": []}
    model = build(spec, data.input_shape, data.num_classes).eval()
    path = save_checkpoint(tmp_path / "c.pt", model, dataset=data.metadata())
    result, _ = export_checkpoint(path, tmp_path / "c.onnx")
    file = onnx.load(str(tmp_path / "c.onnx")).graph
    in_file = sum(math.prod(t.dims) for t in file.initializer)
    bn_channels = 4 + 8   # each BatchNorm's scale and shift fold into its conv's weight/bias
    assert result["parameters"] == count_parameters(model)
    assert result["onnx_weights"] == in_file < result["parameters"]
    assert result["parameters"] - result["onnx_weights"] == bn_channels
