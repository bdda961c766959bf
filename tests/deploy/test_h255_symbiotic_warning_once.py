"""``nnsynth symbiotic`` says 'no candidate keeps perplexity' once in human mode (h255): it
echoed the warning on stderr and then printed report.md, whose '**warning:**' line says it
again.  --json keeps it in the object (and on stderr, as every command's warnings)."""
import json

from click.testing import CliRunner

from deploy.cli.main import cli

WARNED = "no candidate keeps perplexity"


def test_the_warning_is_said_once(tmp_path):
    words = "the cat sat on the mat and the dog ran far away then slept".split()
    (tmp_path / "t.txt").write_text("\n".join(
        " ".join(words[(i * 5 + j) % len(words)] for j in range(8)).capitalize() + "."
        for i in range(150)))
    args = ["-q", "symbiotic", "--dataset", f"text:{tmp_path / 't.txt'}", "--platform",
            "host", "--cells", "lstm", "--widths", "2,4", "--baseline-width", "16",
            "--epochs", "1", "--max-batches", "2", "--min-count", "1", "--rounds", "2",
            "--sparsities", "0.5", "--no-ray", "--tolerance", "0"]
    done = CliRunner().invoke(cli, [*args, "--out", str(tmp_path / "j"), "--json"])
    assert done.exit_code == 0, done.output
    assert WARNED in json.loads(done.stdout)["warning"]   # tiny widths miss tolerance 0
    assert done.stderr.count(WARNED) == 1, done.stderr
    done = CliRunner().invoke(cli, [*args, "--out", str(tmp_path / "h")])
    assert done.exit_code == 0, done.output
    assert done.output.count(WARNED) == 1, done.output
    assert f"**warning:** {WARNED}" in done.stdout, done.stdout   # report.md's line
