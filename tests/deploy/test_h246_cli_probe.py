"""h246: CLI probes (each test failed before its fix)."""
import pytest
from click.testing import CliRunner

from deploy.cli.main import cli


def _run(args):
    return CliRunner().invoke(cli, args)


@pytest.mark.parametrize("budget", ["0", "100000"])
def test_dse_seed_with_the_whole_grid_is_refused(budget):
    """`hwsim dse --seed 3 --budget 0` evaluated the whole grid and took the seed without a
    word (it draws only a --budget sample)."""
    res = _run(["hwsim", "dse", "--model", "lenet5", "--seed", "3", "--budget", budget])
    assert res.exit_code == 2, res.output
    line = res.output.strip()
    assert "\n" not in line and "--seed" in line and "whole grid" in line, line


def test_dse_seed_with_a_sample_still_runs():
    res = _run(["hwsim", "dse", "--model", "lenet5", "--seed", "3", "--budget", "3", "--json"])
    assert res.exit_code == 0, res.output


def test_symbiotic_threads_has_the_commands_cap():
    """`symbiotic --threads 1000 --no-ray` was taken (other commands cap --threads at
    options.THREADS, threads_option's range); now the same range, checked before any data
    is read."""
    res = _run(["symbiotic", "--dataset", "text:/nonexistent.txt", "--platform", "host",
                "--out", "/tmp/h246_never", "--threads", "1000", "--no-ray"])
    assert res.exit_code == 2, res.output
    assert "--threads" in res.output and "1000" in res.output, res.output


def test_an_inverted_left_padded_sequence_set_keeps_its_padding(tmp_path):
    """A set `nnsynth invert` wrote from a left-padded sequence teacher (japanesevowels) holds
    left-padded inputs and says so in its metadata; parquet:DIR dropped "padding" and
    "lengths", so a student trained on it recorded none and its ONNX preprocessing line said
    nothing of the padding (the teacher's did)."""
    import torch
    from deploy.onnx_export import onnx_metadata
    from synth.data import write_parquet
    from synth.data_registry import load_dataset
    padding = "left, zeros after normalization (the channel's train mean), to 6 steps"
    meta = {"name": "inverted:seq", "input_shape": [2, 6], "num_classes": 2,
            "class_names": ["a", "b"], "mean": [0.0, 0.0], "std": [1.0, 1.0],
            "kind": "sequence", "layout": "channels x steps", "padding": padding,
            "lengths": [3, 6]}
    x = torch.randn(20, 2, 6)
    x[:, :, :2] = 0
    write_parquet(tmp_path / "shard-00000.parquet", x, torch.arange(20) % 2, meta)
    data = load_dataset(f"parquet:{tmp_path}")
    assert data.metadata()["padding"] == padding
    assert data.metadata()["lengths"] == [3, 6]
    line = onnx_metadata(data.metadata(), (2, 6))["preprocessing"]
    assert "padding: left" in line, line


def write_table(path, rows, seed, split=None):
    """A CSV of ``rows`` random rows (3 features, labels a/b by the first), with a split
    column from ``split(i)`` when given (also test_h247_export_notes's tables)."""
    import numpy as np
    rng = np.random.default_rng(seed)
    lines = ["f1,f2,f3,label" + (",split" if split else "")]
    for i in range(rows):
        f = rng.normal(size=3)
        lines.append(",".join(f"{v:.5f}" for v in f) + f",{'ab'[int(f[0] > 0)]}"
                     + (f",{split(i)}" if split else ""))
    path.write_text("\n".join(lines) + "\n")


def test_eval_on_a_file_of_the_samples_it_trained_on_is_warned(tmp_path):
    """`eval --dataset csv:B` where B holds the rows of the model's own set A (aeon's
    JapaneseVowels_TEST.ts for a japanesevowels model, which pools TRAIN and TEST, scored
    264 of its 370 samples trained on) printed the accuracy as held out, without a word."""
    own, same, other = tmp_path / "a.csv", tmp_path / "b.csv", tmp_path / "c.csv"
    write_table(own, 80, 0)
    write_table(same, 80, 0, split=lambda i: "test" if i >= 60 else "train")   # the rows of a.csv
    write_table(other, 40, 1)
    model = tmp_path / "m.pt"
    res = _run(["train", "--dataset", f"csv:{own}", "--model", "mlp_small", "--epochs", "1",
                "--min-steps", "0",
                "--out", str(model)])
    assert res.exit_code == 0, res.output
    res = CliRunner().invoke(cli, ["eval", "--model", str(model), "--dataset", f"csv:{same}"])
    assert res.exit_code == 0, res.output
    lines = [line for line in res.output.splitlines() if "not a held-out figure" in line]
    assert len(lines) == 1 and "of the 20 samples of" in lines[0], res.output
    res = CliRunner().invoke(cli, ["eval", "--model", str(model), "--dataset", f"csv:{other}"])
    assert res.exit_code == 0 and "held-out" not in res.output, res.output


def test_eval_and_export_json_carry_their_warnings(tmp_path):
    """`eval --json` and `export --json` printed their warnings on stderr only (classes
    scored by index here): the JSON a script reads had no "warning", as train's has."""
    import json
    own, renamed = tmp_path / "a.csv", tmp_path / "b.csv"
    write_table(own, 60, 0)
    renamed.write_text(own.read_text().replace(",a\n", ",x\n").replace(",b\n", ",y\n"))
    model = tmp_path / "m.pt"
    assert _run(["train", "--dataset", f"csv:{own}", "--model", "mlp_small", "--epochs", "1",
                 "--min-steps", "0",
                 "--out", str(model)]).exit_code == 0
    for args in (["eval"], ["export", "--out", str(tmp_path / "m.onnx")]):
        res = _run(args + ["--model", str(model), "--dataset", f"csv:{renamed}", "--json"])
        assert res.exit_code == 0, res.output
        warning = json.loads(res.stdout.strip().splitlines()[-1]).get("warning") or ""
        assert "are not the model's" in warning, (args[0], res.output)
