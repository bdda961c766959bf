"""A search whose step floor its data set cannot make within the epoch limit is refused in
one line before Ray starts and --out is written (h285): each trial raised it inside Ray and
was tried again, and the search ended 'finished no trial' (27 s for 2 trials of iris), its
--out then holding a search that could never run."""
from click.testing import CliRunner

from deploy.cli.main import cli


def test_an_unmakeable_floor_is_refused_before_the_search_starts(tmp_path):
    out = tmp_path / "s"
    done = CliRunner().invoke(cli, ["search", "--space", "mlp", "--dataset", "iris",
                                    "--searcher", "random", "--trials", "2", "--epochs", "1",
                                    "--min-steps", "1000000", "--no-hardware",
                                    "--out", str(out)])
    assert done.exit_code == 2, done.output
    assert ("--min-steps 1,000,000 needs 500,000 passes over 108 inputs; the limit is 100,000 "
            "(lower --min-steps)" in done.output)   # the option typed (h288)
    assert "Traceback" not in done.output and not out.exists()
