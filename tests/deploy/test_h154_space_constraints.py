"""`run --check` and `sweep --check` name a search bound no member of the space meets
(helper 154).

``deploy.stages.check_data`` asked whether the space's members build with the config's
constraints left out but the space file's own kept: a space whose own ``parameters>=1e8``
no member meets was "give a space whose models take feature vectors (features,), or auto"
from both checks -- wrong advice for a space of feature-vector models.  And `run --check`
did not price ``search.options.constraints`` at all (only `sweep --check` did, 25beb03): a
run asking the mlp space for 1e8 parameters said valid.  Both checks now share
``deploy.stages.check_search_constraints``.  No Ray: --check loads iris and prices specs."""
from click.testing import CliRunner

from deploy.cli.main import cli

SPACE = """family: mlp
params:
  hidden: {list: [8, 16, 64], length: [1, 2]}
"""
RUN = """name: c
teacher: {dataset: iris, model: lenet300_100_bn, epochs: 1, cache: ""}
synthesis: {student: ""}
search:
  options: {space: %s, trials: 2%s}
"""


def _files(tmp_path, own: str = "", given: str = ""):
    space = tmp_path / "space.yaml"
    space.write_text(SPACE + (f"constraints: [{own!r}]\n" if own else ""))
    run = tmp_path / "run.yaml"
    run.write_text(RUN % (space, f", constraints: [{given!r}]" if given else ""))
    sweep = tmp_path / "sweep.yaml"
    sweep.write_text(f"name: s\nbase: {run}\nroot: {tmp_path / 'sweeps'}\nruns:\n  - {{name: a}}\n")
    return run, sweep


def _check(*args):
    result = CliRunner().invoke(cli, [*args, "--check"])
    return result.exit_code, [line for line in result.output.splitlines() if line.strip()]


def test_the_space_files_own_unmeetable_bound_is_named(tmp_path):
    run, sweep = _files(tmp_path, own="parameters>=100000000")
    bound = ("search.options.space's constraints: parameters>=1e+08 cannot be met: the "
             "costliest member of the space has parameters 4,675 ")
    code, lines = _check("run", str(run))
    assert code == 2 and len(lines) == 1 and lines[0].startswith(f"error: {bound}"), lines
    code, lines = _check("sweep", str(sweep))
    assert code == 2 and len(lines) == 1, lines
    assert lines[0].startswith(f"error: {sweep}: sweep run 0 ('a'): {bound}"), lines
    assert "models take" not in lines[0]


def test_run_check_prices_the_configs_constraints(tmp_path):
    run, _ = _files(tmp_path, given="parameters>=100000000")
    code, lines = _check("run", str(run))
    assert code == 2 and len(lines) == 1, lines
    assert lines[0].startswith("error: search.options.constraints: parameters>=1e+08 cannot "
                               "be met: the costliest member of the space has parameters "
                               "4,675 "), lines


def test_a_bound_only_the_largest_member_meets_passes(tmp_path):
    """A control: hidden [64, 64] (4,675 parameters), 1 of the 12 members, meets both."""
    run, sweep = _files(tmp_path, own="parameters>=4600", given="parameters>=4000")
    assert _check("run", str(run))[0] == 0
    assert _check("sweep", str(sweep))[0] == 0
