"""`nnsynth sweep --check` runs `nnsynth run`'s data check for every run (helper 125): a
sweep whose run paired an image-only model with a sequence set, or a sequence-only model
with an image set, said valid (exit 0), and the sweep then failed each such run at once as
an error row.  Now every bad run is one error line naming the sweep file, the run and the
key; exit 2; nothing is written (no sweep directory)."""
from click.testing import CliRunner

from deploy.cli.main import cli


def _sweep(tmp_path, runs: str):
    path = tmp_path / "s.yaml"
    path.write_text(f"name: s\nbase: tiny\nroot: {tmp_path / 'sweeps'}\nruns:\n{runs}")
    return path


def test_sweep_check_refuses_every_run_whose_models_do_not_fit_its_data(tmp_path):
    path = _sweep(tmp_path, "  - {seed: 1}\n"
                            "  - {name: seq, teacher.dataset: basicmotions}\n"
                            "  - {seed: 2}\n"
                            "  - {name: lstm, teacher.model: lstm32}\n")
    result = CliRunner().invoke(cli, ["sweep", str(path), "--check"])
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert result.exit_code == 2, result.output
    assert len(lines) == 2 and all(line.startswith(f"error: {path}: sweep run ")
                                   for line in lines), result.output
    seq, lstm = lines
    # lenet5_bn (tiny's teacher: images) on the sequence set
    assert "sweep run 1 ('seq'): teacher.model: 'lenet5_bn' does not fit basicmotions" in seq
    assert "takes images (channels, height, width)" in seq, seq
    # an lstm teacher (sequences only) on tiny's mnist5k images
    assert "sweep run 3 ('lstm'): teacher.model: 'lstm32' does not fit mnist5k" in lstm
    assert "takes sequences (channels, steps)" in lstm, lstm
    assert not (tmp_path / "sweeps").exists()


def test_sweep_check_passes_runs_that_fit(tmp_path):
    path = _sweep(tmp_path, "  - {seed: 1}\n  - {name: two, seed: 2}\n")
    result = CliRunner().invoke(cli, ["sweep", str(path), "--check"])
    assert result.exit_code == 0 and result.output.split() == ["00-seed=1", "two"], \
        result.output
    assert not (tmp_path / "sweeps").exists()
