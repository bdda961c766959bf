"""h179: ``nnsynth hwsim`` CLI probes (each test failed before its fix)."""
import pytest
from click.testing import CliRunner

from deploy.cli.main import cli


def _run(args):
    return CliRunner().invoke(cli, args)


@pytest.mark.parametrize("ref", ["lenet5@", '{"family": "mlp", "hidden": [4]}@'])
def test_an_at_without_a_shape_is_one_line(ref):
    """`hwsim dse --model lenet5@` priced lenet5 on the default 1x28x28 as a network named
    'lenet5@'; the JSON spec's '{...}@' failed as 'model spec is not valid JSON'."""
    res = _run(["hwsim", "dse", "--model", ref, "--budget", "2"])
    assert res.exit_code == 2, res.output
    line = res.output.strip()
    assert "\n" not in line and "give a shape after @" in line, line
