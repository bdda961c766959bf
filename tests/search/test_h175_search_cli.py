"""h175: `nnsynth search` refuses a search that could never run a trial before Ray starts.

Before, a space none of whose members builds for the data (convnet on iris) or a bound no
member meets (parameters<=0) started Ray, ran no trial and said 'finished no trial' after
~25 s; --out then held that search, and the corrected command into it was refused ('holds
an earlier search').  The pipeline's data check refused both before any work already."""
import pytest
from click.testing import CliRunner

from deploy.cli.main import cli


@pytest.mark.parametrize("args, message", [
    (["--space", "convnet"], "space convnet: none of 64 random members of the space builds "
                             "for input shape (4,)"),
    (["--space", "mlp", "--constraint", "parameters<=10"],
     "parameters<=10 cannot be met: the cheapest member of the space has parameters 131"),
    (["--space", "mlp", "--constraint", "parameters>=100000000"],
     "parameters>=1e+08 cannot be met: the costliest member of the space has parameters "
     "532,483"),
])
def test_a_search_that_can_run_no_trial_is_refused_before_any_work(tmp_path, args, message):
    out = tmp_path / "s"
    r = CliRunner().invoke(cli, ["search", *args, "--dataset", "iris", "--trials", "2",
                                 "--out", str(out)])
    lines = r.output.strip().splitlines()
    assert r.exit_code == 2 and len(lines) == 1, r.output
    assert lines[0].startswith("error: ") and message in lines[0], lines[0]
    assert not out.exists()          # nothing written: the corrected command may use it


def test_the_space_files_own_bound_is_priced_too(tmp_path):
    space = tmp_path / "tight.yaml"
    space.write_text("family: mlp\nparams: {hidden: {list: [8, 16], length: [1, 2]}}\n"
                     "constraints: ['parameters<=5']\n")
    r = CliRunner().invoke(cli, ["search", "--space", str(space), "--dataset", "iris",
                                 "--out", str(tmp_path / "s")])
    assert r.exit_code == 2, r.output
    assert "parameters<=5 cannot be met: the cheapest member of the space has parameters 67" \
        in r.output
