"""`nnsynth sweep --check` prices the search's constraints at the extremes of its space
(helper 149): a sweep run asking for ``parameters>=100000000`` of tiny's convnet space (its
costliest member has ~3.5M parameters on mnist5k), or ``latency_ms<=1e-7`` (its cheapest
~0.001 ms on hwsim), said valid, and the sweep then spent each run's teacher and synthesis
before a search that could propose nothing.  Now each such run is one error line naming the
sweep file, the run, the config key and the bound, with the extreme figure; exit 2."""
from click.testing import CliRunner

from deploy.cli.main import cli


def _sweep(tmp_path, runs: str):
    path = tmp_path / "s.yaml"
    path.write_text(f"name: s\nbase: tiny\nroot: {tmp_path / 'sweeps'}\nruns:\n{runs}")
    return path


def test_sweep_check_refuses_bounds_no_member_of_the_space_meets(tmp_path):
    path = _sweep(tmp_path,
                  "  - {name: ok, search.options.constraints: ['parameters<=50000']}\n"
                  "  - {name: big, search.options.constraints: ['parameters>=100000000']}\n"
                  "  - {name: fast, search.options.constraints: ['latency_ms<=0.0000001']}\n")
    result = CliRunner().invoke(cli, ["sweep", str(path), "--check"])
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert result.exit_code == 2, result.output
    assert len(lines) == 2, result.output
    big, fast = lines
    assert big.startswith(f"error: {path}: sweep run 1 ('big'): search.options.constraints: "
                          f"parameters>=1e+08 cannot be met: the costliest member of the "
                          f"space has parameters "), big
    assert fast.startswith(f"error: {path}: sweep run 2 ('fast'): search.options.constraints: "
                           f"latency_ms<=1e-07 cannot be met: the cheapest member of the "
                           f"space has latency_ms "), fast
    assert not (tmp_path / "sweeps").exists()


def test_sweep_check_passes_bounds_only_the_largest_members_meet(tmp_path):
    """A bound met by few members (over 2M parameters: ~0.35% of the members, none of the 40
    random ones a searcher draws for its first proposals) passes the extremes' pricing (they
    are searched for, not sampled) and the run's searcher's first proposal (asked as
    ``nnsynth search`` asks it): since h194 a searcher whose draws meet no bound seeks members
    that do (``search.costs.seek_feasible``); before, tiny's localbo proposed none, and the
    check refused a bound that members of the space meet."""
    path = _sweep(tmp_path,
                  "  - {name: wide, search.options.constraints: ['parameters>=2000000']}\n"
                  "  - {name: quick, search.options.constraints: ['latency_ms<=0.0011']}\n")
    result = CliRunner().invoke(cli, ["sweep", str(path), "--check"])
    assert result.exit_code == 0 and result.stdout.split() == ["wide", "quick"], result.output
