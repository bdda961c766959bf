"""A checkpoint scored on another file of its kind sees that file in the model's training
normalization (synth.checkpoint.in_model_scale), not the file's own."""
import numpy as np
import torch

from synth.checkpoint import checkpoint_dataset, load_model, save_checkpoint
from synth.data import load_dataset
from synth.models import build


def _write_csv(path, x, y):
    rows = ["f0,f1,f2,label"] + [",".join(f"{v:.6g}" for v in r) + f",{c}" for r, c in zip(x, y)]
    path.write_text("\n".join(rows) + "\n")


def _two_files(tmp_path, scale=(1.0, 1.0, 1.0), offset=(0.0, 0.0, 0.0), hidden=4):
    """a.csv (120 readings of 3 features, labelled by feature 0's side of its mean), b.csv
    (the same readings x 2 + 3: a new sensor's units) and an MLP checkpoint of a.csv.
    Returns (path of the checkpoint, a.csv's data set)."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(120, 3)) * list(scale) + list(offset)
    y = (x[:, 0] > offset[0]).astype(int)
    _write_csv(tmp_path / "a.csv", x, y)
    _write_csv(tmp_path / "b.csv", x * 2 + 3, y)
    a = load_dataset(f"csv:{tmp_path / 'a.csv'}")
    path = save_checkpoint(tmp_path / "m.pt", build({"family": "mlp", "hidden": [hidden]},
                                                     (3,), 2), dataset=a.metadata())
    return path, a


def test_another_file_is_scored_in_the_models_normalization(tmp_path):
    """The training file's readings and the same readings shifted by +3 and scaled by 2 (a new
    sensor's units): each file was standardized by its own mean and std, so the shifted file
    reached the model as the very same inputs and scored what the original did.  Now the new
    file is standardized with the training file's statistics: raw values survive."""
    path, a = _two_files(tmp_path, (1.0, 5.0, 0.1), (10.0, -2.0, 0.5))
    model = load_model(path)
    own = checkpoint_dataset(model)                          # its own file: unchanged
    assert torch.equal(own.x_test, a.x_test) and own.mean == a.mean
    b = checkpoint_dataset(model, f"csv:{tmp_path / 'b.csv'}")
    b_own = load_dataset(f"csv:{tmp_path / 'b.csv'}")        # as it loads by itself
    assert b.mean == list(a.mean) and b.std == list(a.std)
    ma, sa = torch.tensor(a.mean), torch.tensor(a.std)
    mb, sb = torch.tensor(b_own.mean), torch.tensor(b_own.std)
    for split in ("train", "val", "test"):
        raw = b_own.split(split)[0] * sb + mb                 # b's raw readings
        assert torch.allclose(b.split(split)[0], (raw - ma) / sa, atol=1e-4)
        assert torch.equal(b.split(split)[1], b_own.split(split)[1])
    # before: b was its own standardization, i.e. the same inputs as a (shift and gain gone)
    assert not torch.allclose(b.x_test, b_own.x_test, atol=0.1)


def test_sequence_padding_stays_padding():
    """A sequence set's left padding is zeros at every channel (its train mean): rescaled, it
    would have become a value the model never saw as padding."""
    from synth.checkpoint import in_model_scale
    from synth.data import Dataset
    x = torch.from_numpy(np.random.default_rng(1).normal(size=(30, 2, 5)).astype(np.float32))
    x[:10, :, :2] = 0.0                                      # two padded steps
    y = torch.arange(30) % 2
    data = Dataset("seq", x[:20], y[:20], x[20:25], y[20:25], x[25:], y[25:], (2, 5), 2,
                   ["a", "b"], [1.0, 2.0], [1.0, 1.0])
    meta = {**data.metadata(), "mean": [0.0, 0.0], "std": [2.0, 2.0]}
    out = in_model_scale(data, meta)
    assert torch.equal(out.x_train[:10, :, :2], torch.zeros(10, 2, 2))
    assert torch.allclose(out.x_train[:, 0, 2:], (data.x_train[:, 0, 2:] * 1 + 1) / 2)
    assert torch.allclose(out.x_train[:, 1, 2:], (data.x_train[:, 1, 2:] * 1 + 2) / 2)


def test_eval_scores_a_whole_file(tmp_path):
    """`nnsynth eval --dataset OTHER` scored only OTHER's 20% test split: a TEST file of
    another recording could not be scored whole.  --split all takes every sample."""
    from click.testing import CliRunner
    from deploy.cli.main import cli
    import json
    path, _ = _two_files(tmp_path)
    r = CliRunner().invoke(cli, ["eval", "--model", str(path), "--dataset",
                                 f"csv:{tmp_path / 'a.csv'}", "--split", "all", "--json"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["samples"] == 120   # a.csv is m.pt's own file: warned (stderr)
    assert "includes the samples it trained on" in r.stderr
    r = CliRunner().invoke(cli, ["eval", "--model", str(path), "--split", "all"])
    assert r.exit_code == 0 and "includes the samples it trained on" in r.output


def test_grow_prune_of_a_checkpoint_on_another_file_keeps_its_scale(tmp_path):
    """`nnsynth grow-prune --model A.pt --dataset csv:B.csv`: B was standardized by its own
    statistics, so the pruned model was retrained on rescaled inputs and its checkpoint
    recorded B's normalization.  Now B is in A's scale and the checkpoint records A's."""
    from click.testing import CliRunner
    from deploy.cli.main import cli
    path, a = _two_files(tmp_path, hidden=8)
    r = CliRunner().invoke(cli, ["grow-prune", "--model", str(path), "--dataset",
                                 f"csv:{tmp_path / 'b.csv'}", "--prune-steps",
                                 "1", "--retrain-epochs", "1", "--retrain-min-steps", "0",
                                 "--growth-rounds", "0", "--no-distill",
                                 "--out", str(tmp_path / "p.pt")])
    assert r.exit_code == 0, r.output
    meta = load_model(tmp_path / "p.pt").checkpoint_info["dataset"]
    assert (meta["mean"], meta["std"]) == (list(a.mean), list(a.std))
