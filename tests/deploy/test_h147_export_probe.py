"""Probe of ``nnsynth export`` across families and checkpoint kinds (helper h147)."""
import numpy as np
import onnx
import pytest
import torch
from onnx import numpy_helper

from deploy.onnx_export import export_onnx, onnx_predict
from synth.masked import attach_masks, masked_layers, random_masks
from synth.models import build

SEQ = (3, 11)   # channels x steps


def _zero_weights(model) -> int:
    return sum(int((layer.weight == 0).sum()) for _, layer, _ in masked_layers(model))


@pytest.mark.parametrize("spec", [
    {"family": "lstm", "hidden": [6], "dropout": 0.0, "frame": 1},
    {"family": "hlstm", "hidden": [5], "gate_hidden": 4, "dropout": 0.0, "frame": 1},
    {"family": "convnet1d", "widths": [4], "kernels": [3], "strides": [1], "bn": True,
     "pool": "avg", "hidden": []}])
def test_masked_sequence_model_exports_its_zeros(tmp_path, spec):
    """A masked lstm/hlstm (grow-prune --no-compact, incremental's output) was a traceback:
    'Cannot trace a model while caching parametrizations' (their forward computes the masked
    weight once per call).  The export now traces plain weights: onnxruntime matches PyTorch
    on batch sizes 1 and 5, the file holds the pruned zeros, and the model is left masked."""
    torch.manual_seed(0)
    model = build(spec, SEQ, 4)
    attach_masks(model, random_masks(model, 0.5, seed=0))
    model.eval()
    zeros = _zero_weights(model)
    assert zeros > 0
    path = export_onnx(model, tmp_path / "m.onnx")
    x = torch.randn(5, *SEQ)
    with torch.no_grad():
        ref = model(x).numpy()
    assert np.abs(onnx_predict(path, x) - ref).max() <= 1e-4
    assert np.abs(onnx_predict(path, x[:1]) - ref[:1]).max() <= 1e-4
    weights = [numpy_helper.to_array(i) for i in onnx.load(str(path)).graph.initializer]
    assert not any(w.dtype == bool for w in weights)            # no mask left to multiply
    assert sum(int((w == 0).sum()) for w in weights if w.ndim >= 2) >= zeros
    assert masked_layers(model) and _zero_weights(model) == zeros   # the model is untouched
    with torch.no_grad():
        assert torch.equal(model(x), torch.from_numpy(ref))


@pytest.mark.parametrize("quant, detail", [({"int_bits": 99}, "int_bits must be in"),
                                           ([1], "must be a mapping"),
                                           ({"foo": 1}, "unknown config key 'foo'")])
def test_bad_fixed_point_record_names_the_checkpoint(tmp_path, quant, detail):
    """A checkpoint's fixed-point record (extra.quant_config, what eval and export run it
    in) that is not a QuantConfig said 'error: int_bits must be in [1, 32], got 99': nothing
    the user typed, and not which file held it."""
    from synth.checkpoint import load_model, save_checkpoint
    from synth.errors import UserError
    model = build({"family": "mlp", "hidden": [3], "bn": False, "dropout": 0.0}, (4,), 2)
    path = save_checkpoint(tmp_path / "q.pt", model, extra={"quant_config": quant})
    with pytest.raises(UserError, match=rf"^checkpoint {path}: extra\.quant_config: .*{detail}"):
        load_model(path)


def test_export_warns_of_classes_scored_by_index_as_eval_does(tmp_path):
    """A checkpoint of iris whose class names are not iris's: nnsynth eval warns that output
    i is scored as iris's class i; nnsynth export scored its check on the same set the same
    way without a word, and wrote those names into the file."""
    from click.testing import CliRunner

    from deploy.cli.main import cli
    from synth.checkpoint import save_checkpoint
    from synth.data import load_dataset
    data = load_dataset("iris")
    model = build({"family": "mlp", "hidden": [3], "bn": False, "dropout": 0.0}, (4,), 3)
    meta = {**data.metadata(), "class_names": ["a", "b", "c"]}
    path = save_checkpoint(tmp_path / "m.pt", model, dataset=meta)
    runs = {cmd: CliRunner().invoke(cli, [cmd, "--model", str(path), *extra])
            for cmd, extra in (("eval", []), ("export", ["--out", str(tmp_path / "m.onnx")]))}
    for cmd, result in runs.items():
        assert result.exit_code == 0, result.output
        assert ("warning: iris's classes ['setosa', 'versicolor', 'virginica'] are not the "
                "model's ['a', 'b', 'c']; output i is scored as iris's class i") in result.stderr


def test_eval_on_an_incremental_models_old_set_uses_its_recorded_split(tmp_path):
    """`nnsynth incremental --old A --new B --seed 3` trains on A's train split of seed 3 and
    records it (extra.incremental_old_dataset) beside B, the checkpoint's own set.  `nnsynth
    eval --dataset A` split A by seed 0: a test split holding rows the model trained on."""
    import pandas as pd

    from synth.checkpoint import save_checkpoint
    from synth.data import load_dataset
    from synth.workflows import evaluate_checkpoint
    iris = load_dataset("iris", seed=3)
    frame = pd.DataFrame(torch.cat([iris.x_train, iris.x_val]).numpy(), columns=list("abcd"))
    frame["label"] = torch.cat([iris.y_train, iris.y_val]).numpy()
    frame.to_csv(tmp_path / "new.csv", index=False)
    new = load_dataset(f"csv:{tmp_path / 'new.csv'}", seed=3)
    model = build({"family": "mlp", "hidden": [3], "bn": False, "dropout": 0.0}, (4,), 3)
    path = save_checkpoint(tmp_path / "inc.pt", model, dataset=new.metadata(), extra={
        "incremental_old_dataset": {"name": "iris", "split_seed": 3}})
    result, _ = evaluate_checkpoint(path, "iris")
    assert result["split_seed"] == 3 and result["samples"] == len(iris.y_test)
