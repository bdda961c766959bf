"""An error about a value of a JSON option names the option (h250).

``nnsynth diabdeep --dataset basicmotions --options '{"prune_steps": 100000000}'`` said
'error: prune_steps must be in [0, 1000], got 100000000' and grow-prune --schedule
'{"growth_batches": 0}' 'growth_batches must be in [1, 1000], got 0': no option was named
(an option's own value is told by the option: '--prune-fraction must be ...').  Both are
refused before any data set loads."""
import pytest
from click.testing import CliRunner

from deploy.cli.main import cli


@pytest.mark.parametrize("args, line", [
    (["diabdeep", "--dataset", "basicmotions", "--options", '{"prune_steps": 100000000}'],
     "error: --options: prune_steps must be in [0, 1000], got 100000000"),
    (["diabdeep", "--dataset", "basicmotions", "--options", '{"baselines": ["x"]}'],
     "error: --options: baselines must be among"),
    (["grow-prune", "--dataset", "iris", "--model", "mlp_small", "--out", "{o}",
      "--schedule", '{"growth_batches": 0}'],
     "error: --schedule: growth_batches must be in [1, 1000], got 0"),
    (["grow-prune", "--dataset", "iris", "--model", "mlp_small", "--out", "{o}",
      "--prune-fraction", "2"], "error: --prune-fraction must be in (0, 1), got 2.0"),
])
def test_a_json_options_bad_value_names_the_option(tmp_path, args, line):
    r = CliRunner().invoke(cli, [a.replace("{o}", str(tmp_path / "o.pt")) for a in args])
    assert r.exit_code == 2, r.output
    assert len(r.output.strip().splitlines()) == 1 and r.output.startswith(line), r.output
