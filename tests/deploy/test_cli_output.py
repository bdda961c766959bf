"""``--json`` changes stdout only: ``nnsynth run --json`` still shows its progress on
stderr, and the root group's ``-q`` silences it; the JSON object is stdout's last line."""
import json

import yaml
from click.testing import CliRunner

from deploy.cli.main import cli

FAST = {"name": "fast", "scaling": {"num_workers": 0}, "teacher": {"dataset": "digits", "model": '{"family": "mlp", "hidden": [16]}',
                                    "epochs": 1, "cache": ""},
        "synthesis": {"enabled": False}, "search": {"enabled": False},
        "refine": {"enabled": False}, "export": {"price": False, "onnx": False}}


def test_json_keeps_progress_on_stderr_and_quiet_silences_it(ray_local, tmp_path, monkeypatch):
    # the run's teacher stage joins the suite's shared Ray (it started one of its own, ~7 s
    # of start and stop: nothing here depends on a fresh one)
    monkeypatch.delenv("TQDM_DISABLE", raising=False)
    config = tmp_path / "fast.yaml"
    config.write_text(yaml.safe_dump(FAST))
    args = ["run", str(config), "--run-dir", str(tmp_path / "run"), "--num-cpus", "2", "--json"]
    try:
        loud = CliRunner().invoke(cli, args)
        assert loud.exit_code == 0, loud.output
        assert "[1/2] teacher ..." in loud.stderr and "finished in" in loud.stderr
        assert json.loads(loud.stdout.strip().splitlines()[-1])["final_test_accuracy"] > 0.5
        quiet = CliRunner().invoke(cli, ["-q"] + args)      # resumes: both stages done
        assert quiet.exit_code == 0, quiet.output
        assert "teacher" not in quiet.stderr and "[1/2]" not in quiet.stderr
        assert json.loads(quiet.stdout.strip().splitlines()[-1])["final_test_accuracy"] > 0.5
    finally:
        monkeypatch.delenv("TQDM_DISABLE", raising=False)


def test_quiet_silences_the_bars_of_commands_that_used_to_key_them_on_json(tmp_path, monkeypatch):
    """diabdeep and symbiotic showed their bars under ``-q`` (they passed ``progress=not
    --json`` to the library, and an explicit ``disable=False`` outranks tqdm's TQDM_DISABLE)
    and hid them under ``--json``, the reverse of the rule above."""
    from tests.deploy.test_cli_diabdeep import TINY
    words = "the cat sat on the mat and the dog ran far away then slept".split()
    (tmp_path / "t.txt").write_text("\n".join(
        " ".join(words[(i * 5 + j) % len(words)] for j in range(8)).capitalize() + "."
        for i in range(150)))
    commands = {
        "grow-prune": ["diabdeep", "--dataset", "basicmotions", "--steps", "5", "--epochs", "1",
                       "--baselines", "none", "--options", json.dumps(TINY)],
        "lstm [": ["symbiotic", "--dataset", f"text:{tmp_path / 't.txt'}", "--platform", "accel",
                  "--cells", "lstm", "--widths", "4", "--baseline-width", "4", "--epochs", "1",
                  "--max-batches", "2", "--min-count", "1", "--rounds", "1", "--sparsities",
                  "0.5", "--no-ray"]}
    monkeypatch.delenv("TQDM_DISABLE", raising=False)
    try:
        for i, (bar, args) in enumerate(commands.items()):
            out = ["--out", str(tmp_path / f"out{i}")]
            loud = CliRunner().invoke(cli, args + [out[0], out[1] + "a", "--json"])
            assert loud.exit_code == 0, loud.output
            assert "it/s" in loud.stderr and bar in loud.stderr, (args[0], loud.stderr[-500:])
            quiet = CliRunner().invoke(cli, ["-q"] + args + [out[0], out[1] + "b"])
            monkeypatch.delenv("TQDM_DISABLE", raising=False)
            assert quiet.exit_code == 0, quiet.output
            assert "it/s" not in quiet.stderr and "%|" not in quiet.stderr, (args[0],
                                                                            quiet.stderr[-500:])
    finally:
        monkeypatch.delenv("TQDM_DISABLE", raising=False)


def test_a_figure_with_no_value_reads_none_as_in_the_json(tmp_path, monkeypatch):
    """A Parquet set without a split column has no test rows: --json said null, the text
    said test_accuracy: nan."""
    import torch
    from synth.data import write_parquet
    meta = {"input_shape": [4], "num_classes": 3, "mean": [0.0] * 4, "std": [1.0] * 4}
    write_parquet(tmp_path / "set.parquet", torch.randn(60, 4), torch.arange(60) % 3, meta)
    args = ["train", "--dataset", f"parquet:{tmp_path / 'set.parquet'}", "--model", "mlp_small",
            "--epochs", "1", "--min-steps", "0", "--out", str(tmp_path / "m.pt")]
    monkeypatch.setenv("TQDM_DISABLE", "1")     # -q sets it; restored after the test
    text = CliRunner().invoke(cli, ["-q"] + args)
    assert text.exit_code == 0, text.output
    assert "test_accuracy: none" in text.stdout and "nan" not in text.stdout
    data = CliRunner().invoke(cli, ["-q"] + args + ["--json"])
    assert json.loads(data.stdout.strip().splitlines()[-1])["test_accuracy"] is None
