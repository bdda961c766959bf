"""h247: export's and eval's notes (each test failed before its fix)."""
import json

from click.testing import CliRunner

from deploy.cli.main import cli
from tests.deploy.test_h246_cli_probe import write_table


def _run(args):
    return CliRunner().invoke(cli, args)


def _train(tmp_path, csv):
    model = tmp_path / "m.pt"
    res = _run(["train", "--dataset", f"csv:{csv}", "--model", "mlp_small", "--epochs", "1",
                "--min-steps", "0",
                "--out", str(model)])
    assert res.exit_code == 0, res.output
    return model


def test_export_on_a_file_of_the_samples_it_trained_on_is_warned(tmp_path):
    """`export --dataset csv:B`, B holding the rows of the model's own set, reported its
    onnx_accuracy without the warning `eval` gives (02f0716): now the same line, in --json
    under 'warning' too."""
    own, same = tmp_path / "a.csv", tmp_path / "b.csv"
    write_table(own, 80, 0)
    write_table(same, 80, 0, split=lambda i: "test" if i >= 60 else "train")   # the rows of a.csv
    model = _train(tmp_path, own)
    out = str(tmp_path / "m.onnx")
    res = _run(["export", "--model", str(model), "--out", out, "--dataset", f"csv:{same}"])
    assert res.exit_code == 0, res.output
    lines = [line for line in res.output.splitlines() if "not a held-out figure" in line]
    assert len(lines) == 1 and "of the 20 samples of" in lines[0], res.output
    res = _run(["export", "--model", str(model), "--out", out, "--dataset", f"csv:{same}",
                "--json"])
    assert res.exit_code == 0, res.output
    warning = json.loads(res.stdout.strip().splitlines()[-1]).get("warning") or ""
    assert "not a held-out figure" in warning, res.output


def test_no_test_split_note_names_the_sets_kind(tmp_path):
    """A user CSV whose split column has no 'test' rows was told "has no test split (a
    synthesized set?)": now the note names its split column and the remedy; a set nnsynth
    synthesized (Parquet, no split column) is called that."""
    import torch
    from synth.data import write_parquet
    csv = tmp_path / "a.csv"
    write_table(csv, 60, 0, split=lambda i: "val" if i >= 45 else "train")
    model = _train(tmp_path, csv)
    res = _run(["eval", "--model", str(model)])
    assert res.exit_code == 0, res.output
    line = next(x for x in res.output.splitlines() if "evaluating on" in x)
    assert "synthesized" not in line and "split column" in line and "'test'" in line, line
    meta = {"name": "inverted:t", "input_shape": [3], "num_classes": 2, "class_names": ["a", "b"],
            "mean": [0.0] * 3, "std": [1.0] * 3}
    (tmp_path / "set").mkdir()
    write_parquet(tmp_path / "set" / "shard-00000.parquet", torch.randn(40, 3),
                  torch.arange(40) % 2, meta)
    res = _run(["eval", "--model", str(model), "--dataset", f"parquet:{tmp_path / 'set'}"])
    assert res.exit_code == 0, res.output
    line = next(x for x in res.output.splitlines() if "evaluating on" in x)
    assert "synthesized" in line and "?" not in line and "split column" not in line, line


def test_no_compact_of_a_model_without_masks_says_so(tmp_path):
    """`export --no-compact` of a model with no masks (trained by `nnsynth train`) did
    nothing, and nothing said so: a note line, and 'note' in --json."""
    csv = tmp_path / "a.csv"
    write_table(csv, 60, 0)
    model = _train(tmp_path, csv)
    out = str(tmp_path / "m.onnx")
    res = _run(["export", "--model", str(model), "--out", out, "--no-compact"])
    assert res.exit_code == 0, res.output
    lines = [x for x in res.output.splitlines() if "no masks" in x]
    assert len(lines) == 1 and "--no-compact" in lines[0], res.output
    res = _run(["export", "--model", str(model), "--out", out, "--no-compact", "--json"])
    assert res.exit_code == 0, res.output
    note = json.loads(res.stdout.strip().splitlines()[-1]).get("note", "")
    assert "no masks" in note, res.output
    res = _run(["export", "--model", str(model), "--out", out, "--json"])
    assert res.exit_code == 0 and "no masks" not in res.output, res.output


def test_a_symbiotic_candidate_file_is_named_by_eval_and_export(tmp_path):
    """A file nnsynth symbiotic keeps under <out>/cache/candidates/ (a trained language
    model's state, read back by a rerun of symbiotic) was "not an nnsynth checkpoint (no
    spec/state_dict)" to eval and export, as a stranger's file would be; an interrupted
    training's state likewise.  Now one line says what it is and which command reads it."""
    import torch
    from synth import resume
    from synth.symbiotic import CANDIDATE_FORMAT
    cand = tmp_path / "cache" / "candidates" / "abc.pt"
    cand.parent.mkdir(parents=True)
    result = {"spec": {"family": "lm", "cell": "lstm", "embed": 8, "hidden": [8]},
              "val_perplexity": 10.0, "state": {"w": torch.zeros(3)}}
    resume.save_state(cand, CANDIDATE_FORMAT, "k" * 64, {"result": result})
    state = tmp_path / "m.pt.resume"
    resume.save_state(state, "nnsynth-train-state-1", "k" * 64, {"model": {"w": torch.zeros(2)}})
    for args in (["eval"], ["export", "--out", str(tmp_path / "m.onnx")]):
        res = _run(args + ["--model", str(cand)])
        assert res.exit_code == 2 and len(res.output.strip().splitlines()) == 1, res.output
        assert "nnsynth symbiotic" in res.output and "language model" in res.output, res.output
        res = _run(args + ["--model", str(state)])
        assert res.exit_code == 2 and len(res.output.strip().splitlines()) == 1, res.output
        assert "interrupted" in res.output and "nnsynth train" in res.output, res.output
    stranger = tmp_path / "s.pt"
    torch.save({"format": "other", "w": torch.zeros(2)}, stranger)
    res = _run(["eval", "--model", str(stranger)])
    assert res.exit_code == 2 and "is not an nnsynth checkpoint" in res.output, res.output
