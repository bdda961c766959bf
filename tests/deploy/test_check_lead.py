"""`nnsynth run CONFIG --check` and the config base, on what a user's YAML gets wrong (found
by helper 78's probe): a quoted "no" for a flag was taken as true; a missing or family-less
search space passed the check and failed only when the search stage began, after the
teacher and synthesis; an unknown scaling key was named 'scaling.scaling.KEY'."""
import numpy as np
import pytest
from click.testing import CliRunner

from deploy.cli.main import cli
from search.run import SearchConfig
from synth.errors import ConfigError


@pytest.mark.parametrize("value", ["no", "false", 0, 1, [1], None])
def test_a_flag_that_is_not_true_or_false_is_refused(value):
    with pytest.raises(ConfigError, match="asha must be true or false"):
        SearchConfig(asha=value)


def test_a_numpy_bool_flag_is_a_bool():
    config = SearchConfig(asha=np.bool_(True), hardware=np.bool_(False))
    assert config.asha is True and config.hardware is False


def _check(tmp_path, text):
    path = tmp_path / "c.yaml"
    path.write_text("teacher: {dataset: digits}\n" + text)
    result = CliRunner().invoke(cli, ["run", str(path), "--check"])
    return result.exit_code, result.output.strip()


def test_check_refuses_a_quoted_flag_in_search_options(tmp_path):
    code, out = _check(tmp_path, "search:\n  options: {asha: 'no'}\n")
    assert code == 2 and "asha must be true or false" in out and len(out.splitlines()) == 1


def test_check_refuses_a_missing_search_space(tmp_path):
    code, out = _check(tmp_path, "search:\n  options: {space: nospace.yaml}\n")
    assert code == 2 and "search.options.space" in out and "nospace" in out, out


def test_check_refuses_a_space_without_a_family(tmp_path):
    code, out = _check(tmp_path, "search:\n  options:\n    space: {params: {a: {int: [1, 3]}}}\n")
    assert code == 2 and "no model family" in out, out


def test_an_unknown_scaling_key_is_named_once(tmp_path):
    code, out = _check(tmp_path, "scaling: {num_wrkers: 2}\n")
    assert code == 2 and "'scaling.num_wrkers'" in out and "scaling.scaling" not in out, out


def test_submit_checks_the_config_before_connecting(tmp_path):
    """A bad config was uploaded and failed on the cluster (here: no cluster at all, so
    the error was the connection's, and the config's mistake went unnamed)."""
    path = tmp_path / "bad.yaml"
    path.write_text("teacher: {dataset: digits, epocs: 3}\n")
    result = CliRunner().invoke(cli, ["submit", str(path), "--address", "http://127.0.0.1:9"])
    out = result.output.strip()
    assert result.exit_code == 2 and "teacher.epocs" in out and len(out.splitlines()) == 1, out
