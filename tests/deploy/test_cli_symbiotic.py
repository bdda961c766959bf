"""``nnsynth symbiotic``: bad input is a one-line error (exit 2) before any training."""
from click.testing import CliRunner

from deploy.cli.main import cli


def test_symbiotic_cli_errors(tmp_path):
    (tmp_path / "file").write_text("x")
    base = ["symbiotic", "--out", str(tmp_path / "out")]
    cases = [
        (["--dataset", "nope", "--platform", "host"], "unknown text set 'nope'"),
        (["--dataset", "enwiki", "--platform", "gpu"], "--platform must be one of host, accel"),
        (["--dataset", "enwiki", "--platform", "host", "--widths", "32,x"],
         "--widths must be comma-separated integers"),
        (["--dataset", "enwiki", "--platform", "host", "--cells", "gru"], "cells must be"),
        (["--dataset", "enwiki", "--platform", "host", "--sparsities", "1.5"], "sparsities[]"),
        (["--dataset", "text:/no/such.txt", "--platform", "host"], "text file not found"),
    ]
    for extra, message in cases:
        r = CliRunner().invoke(cli, base + extra)
        assert r.exit_code == 2 and message in r.output, (extra, r.output)
        assert "Traceback" not in r.output
    r = CliRunner().invoke(cli, ["symbiotic", "--dataset", "enwiki", "--platform", "host",
                                 "--out", str(tmp_path / "file")])
    assert r.exit_code == 2 and "is a file" in r.output
    assert (tmp_path / "file").read_text() == "x"
