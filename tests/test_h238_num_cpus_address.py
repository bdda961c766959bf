"""--num-cpus with a cluster address is refused, not dropped (h238).

Before: ``nnsynth run cfg.yaml --address HOST:6379 --num-cpus 2`` (and sweep, invert; or
RAY_ADDRESS set in the environment) joined the cluster and ignored --num-cpus without a
word.  Now one line, exit 2, before anything is read or started.
"""
import pytest
from click.testing import CliRunner

from deploy.cli.main import cli


@pytest.mark.parametrize("args", [
    ["run", "tiny", "--address", "10.0.0.5:6379", "--num-cpus", "2"],
    ["run", "tiny", "--num-cpus", "2", "--address", "10.0.0.5:6379"],
    ["sweep", "nothing.yaml", "--num-cpus", "2", "--address", "10.0.0.5:6379"],
])
def test_num_cpus_with_an_address_is_refused(args):
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 2, result.output
    assert "--num-cpus sizes a local Ray; --address 10.0.0.5:6379" in result.output
    assert "Traceback" not in result.output


def test_ray_address_from_the_environment_is_named():
    result = CliRunner().invoke(cli, ["run", "tiny", "--num-cpus", "2", "--check"],
                                env={"RAY_ADDRESS": "10.0.0.5:6379"})
    assert result.exit_code == 2, result.output
    assert "RAY_ADDRESS 10.0.0.5:6379" in result.output and "unset RAY_ADDRESS" in result.output


def test_a_local_address_takes_num_cpus():
    result = CliRunner().invoke(cli, ["run", "tiny", "--num-cpus", "2", "--address", "local",
                                      "--check"], env={"RAY_ADDRESS": None})
    assert "--num-cpus sizes" not in result.output, result.output
