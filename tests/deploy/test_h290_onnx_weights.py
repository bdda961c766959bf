"""h290: what ``nnsynth export``'s onnx_weights counts, recounted from the file by hand.

The help said 'the weights in the ONNX file, fewer where a BatchNorm is folded into the
layer before it'; an mlp [32, 16] with bn exported 2,970 of them for 2,874 parameters: the
exporter folds a BatchNorm into a convolution only, and one after a Linear layer stays a
BatchNormalization node storing its running mean and variance too.
"""
import onnx
import torch
from click.testing import CliRunner

from deploy.cli.main import cli
from deploy.onnx_export import export_onnx, onnx_weight_count
from synth.models import build, count_parameters


def _stored(path):
    graph = onnx.load(str(path)).graph
    return {t.name: int(torch.tensor(list(t.dims)).prod()) for t in graph.initializer}


def test_onnx_weights_of_bn_after_linear_and_after_conv(tmp_path):
    torch.manual_seed(0)
    mlp = build({"family": "mlp", "hidden": [32, 16], "bn": True}, (1, 8, 8), 10).eval()
    with torch.no_grad():   # statistics of a trained model (the exporter stores a tensor
        for bn in mlp.batchnorm_layers():   # equal to another once: a fresh BN's 0s and 1s)
            bn.running_mean.uniform_(-1, 1)
            bn.running_var.uniform_(0.5, 2)
            bn.bias.uniform_(-1, 1)
    export_onnx(mlp, tmp_path / "mlp.onnx")
    stored = _stored(tmp_path / "mlp.onnx")
    assert sum(stored.values()) == onnx_weight_count(tmp_path / "mlp.onnx")
    assert onnx_weight_count(tmp_path / "mlp.onnx") == count_parameters(mlp) + 2 * (32 + 16)
    conv = build("convnet_small", (1, 8, 8), 10).eval()   # bias-free convs, each with BN
    export_onnx(conv, tmp_path / "conv.onnx")
    # each BN folded: its weight and bias become the conv's bias
    assert onnx_weight_count(tmp_path / "conv.onnx") == count_parameters(conv) - (16 + 32)


def test_the_export_help_says_what_onnx_weights_counts():
    text = " ".join(CliRunner().invoke(cli, ["export", "--help"]).output.split())
    assert "running mean and variance" in text
