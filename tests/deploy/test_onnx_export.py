"""ONNX export: onnxruntime reproduces PyTorch within 1e-4 on the real test split."""
import pytest
import torch

from deploy.onnx_export import export_and_verify, export_onnx, onnx_predict, verify_onnx
from synth.errors import UserError
from synth.models import build
from synth.train import TrainConfig, fit


@pytest.fixture(scope="module")
def trained_lenet(mnist):
    torch.manual_seed(0)
    model = build("lenet5_bn", mnist.input_shape, mnist.num_classes)
    n = 2000
    fit(model, mnist, TrainConfig(epochs=1, optimizer="adam", lr=3e-3, progress=False),
        train_xy=(mnist.x_train[:n], mnist.y_train[:n]))
    return model.eval()


def test_lenet_matches_on_test_split(tmp_path, mnist, trained_lenet):
    check = export_and_verify(trained_lenet, tmp_path / "m.onnx", mnist.x_test, mnist.y_test)
    assert check["samples"] == len(mnist.y_test) == 1000
    assert check["max_abs_diff"] <= 1e-4
    assert check["prediction_mismatches"] == 0
    assert check["onnx_accuracy"] == check["torch_accuracy"] > 0.5


@pytest.mark.parametrize("spec", ["resnet8_w16",
                                  {"family": "convnet", "widths": [8, 16], "kernels": [3, 3],
                                   "strides": [1, 2], "bn": True, "pool": "avg", "hidden": [32]}])
def test_other_families_and_dynamic_batch(tmp_path, mnist, spec):
    torch.manual_seed(1)
    model = build(spec, mnist.input_shape, mnist.num_classes).eval()
    path = export_onnx(model, tmp_path / "m.onnx")
    x = mnist.x_test[:37]   # a batch size not seen at export: the batch axis is dynamic
    assert verify_onnx(path, model, x)["max_abs_diff"] <= 1e-4
    assert onnx_predict(path, x).shape == (37, 10)


def test_masked_model_exports_effective_weights(tmp_path, mnist, trained_lenet):
    """A grow-and-prune model (masked layers) exports its masked weights, not the dense ones."""
    import copy
    masked = pytest.importorskip("synth.masked")
    model = copy.deepcopy(trained_lenet)
    masked.attach_masks(model)
    masked.prune_connections(model, 0.5)
    model.eval()
    path = export_onnx(model, tmp_path / "masked.onnx")
    check = verify_onnx(path, model, mnist.x_test, mnist.y_test)
    assert check["max_abs_diff"] <= 1e-4
    dense = verify_onnx(path, trained_lenet, mnist.x_test)
    assert dense["max_abs_diff"] > 1e-3   # the export differs from the unpruned weights


def test_tolerance_violation_removes_file(tmp_path, mnist, trained_lenet):
    with pytest.raises(UserError, match="differs from PyTorch"):
        export_and_verify(trained_lenet, tmp_path / "m.onnx", mnist.x_test[:50],
                          tolerance=1e-30, rtol=0.0)
    assert not (tmp_path / "m.onnx").exists()


def test_not_onnx_is_a_user_error(tmp_path):
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"not a model")
    with pytest.raises(UserError):
        onnx_predict(bad, torch.zeros(1, 1, 28, 28))
    with pytest.raises(UserError, match="not found"):
        onnx_predict(tmp_path / "missing.onnx", torch.zeros(1, 1, 28, 28))


def test_cli_export_compacts_a_masked_checkpoint(tmp_path, mnist, trained_lenet):
    """`nnsynth export` on a grow-and-prune checkpoint: compacted (fewer parameters), then
    exported and checked on the test split."""
    import copy
    import json
    from click.testing import CliRunner
    from deploy.cli.main import cli
    from synth.checkpoint import save_checkpoint
    masked = pytest.importorskip("synth.masked")
    model = copy.deepcopy(trained_lenet)
    masked.attach_masks(model)
    masked.prune_connections(model, 0.9)
    ckpt = save_checkpoint(tmp_path / "m.pt", model, dataset=mnist.metadata(),
                           masks=masked.masks_of(model))
    res = CliRunner().invoke(cli, ["export", "--model", str(ckpt), "--out",
                                   str(tmp_path / "m.onnx"), "--json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.output.strip().splitlines()[-1])
    assert out["max_abs_diff"] <= 1e-4 and out["samples"] == 1000
    assert out["parameters"] <= 62136 and out["nonzero_parameters"] < 0.2 * 62136


def test_failed_verification_keeps_an_existing_export(tmp_path, mnist, trained_lenet):
    """Issue 13 sibling of item 8: the new export replaced the file at --out before it was
    verified, then a failed check deleted it -- the user's earlier model.onnx was lost."""
    earlier = export_onnx(trained_lenet, tmp_path / "m.onnx").read_bytes()  # an ONNX file:
    with pytest.raises(UserError, match="differs from PyTorch"):      # anything else is
        export_and_verify(trained_lenet, tmp_path / "m.onnx", mnist.x_test[:50],  # refused
                          tolerance=1e-30, rtol=0.0)
    assert (tmp_path / "m.onnx").read_bytes() == earlier
    assert [p.name for p in tmp_path.iterdir()] == ["m.onnx"]      # no temporary left


def test_export_out_replaces_only_onnx_files_and_tolerance_is_a_number(tmp_path):
    """nnsynth export --out notes.txt replaced the user's file with the ONNX graph, and
    --tolerance nan ran the export and then reported '5.96e-08 > tolerance nan'."""
    from click.testing import CliRunner
    from deploy.cli.main import cli
    from synth.checkpoint import save_checkpoint
    ckpt = tmp_path / "m.pt"
    save_checkpoint(ckpt, build("mlp_small", (4,), 3), dataset={"name": "iris"})
    notes = tmp_path / "notes.txt"
    notes.write_text("mine")
    for out, extra, phrase in [(notes, [], "is not an ONNX model"),
                               (ckpt, [], "is not an ONNX model"),
                               (tmp_path / "m.onnx", ["--tolerance", "nan"], "tolerance")]:
        r = CliRunner().invoke(cli, ["export", "--model", str(ckpt), "--out", str(out), *extra])
        lines = [l for l in r.output.splitlines() if l.strip()]
        assert r.exit_code == 2 and len(lines) == 1 and lines[0].startswith("error:"), r.output
        assert phrase in lines[0], lines[0]
    assert notes.read_text() == "mine" and not (tmp_path / "m.onnx").exists()
    r = CliRunner().invoke(cli, ["export", "--model", str(ckpt), "--out", str(tmp_path / "m.onnx")])
    assert r.exit_code == 0, r.output
    r = CliRunner().invoke(cli, ["export", "--model", str(ckpt), "--out", str(tmp_path / "m.onnx")])
    assert r.exit_code == 0, r.output                   # its own export: replaced
