"""nnsynth grow-prune refuses options the run would not read (h250).

``--model ir.pt --epochs 5`` (a checkpoint: --epochs trains a spec densely) and
``--growth-ratio 0.9`` without growth rounds (the default --growth-rounds 0) ran and said
nothing, as if the option had been used.  Both are one line, exit 2, before any work."""
import pytest
from click.testing import CliRunner

from deploy.cli.main import cli


@pytest.mark.parametrize("args, words", [
    (["--epochs", "5"], "--epochs"),
    (["--growth-ratio", "0.9"], "--growth-ratio"),
])
def test_an_option_the_run_would_ignore_is_refused(tmp_path, args, words):
    ckpt = tmp_path / "m.pt"
    ckpt.write_bytes(b"")   # refused before it is read (a file: a checkpoint)
    model = str(ckpt) if words == "--epochs" else "mlp_small"
    r = CliRunner().invoke(cli, ["grow-prune", "--dataset", "iris", "--model", model,
                                 "--out", str(tmp_path / "o.pt"), *args])
    assert r.exit_code == 2, r.output
    lines = r.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: " + words), r.output
    assert not (tmp_path / "o.pt").exists()


@pytest.mark.parametrize("model, args", [
    ("checkpoint", ["--growth-rounds", "1", "--growth-ratio", "0.9"]),
    ('{"family": "nosuch"}', ["--epochs", "3"]),
])
def test_an_option_the_run_reads_is_taken(tmp_path, model, args):
    """--growth-ratio with growth rounds, --epochs with a spec: not refused; the run goes on
    to what follows the check (the empty checkpoint, the unknown family: refused there)."""
    ckpt = tmp_path / "m.pt"
    ckpt.write_bytes(b"")
    r = CliRunner().invoke(cli, ["grow-prune", "--dataset", "iris", "--model",
                                 str(ckpt) if model == "checkpoint" else model,
                                 "--out", str(tmp_path / "o.pt"), *args])
    assert r.exit_code == 2, r.output
    assert "--growth-ratio" not in r.output and "--epochs" not in r.output, r.output
    assert ("m.pt" if model == "checkpoint" else "nosuch") in r.output, r.output
