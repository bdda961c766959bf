"""Run configs and sweeps as users write them (user probe round 10, helper 78): YAML 1.1
booleans where a string belongs, errors that name the file and the key, ``~`` in paths,
a sweep's base relative to the sweep file, and sweeps whose runs share a directory."""
from __future__ import annotations

import re

import pytest
from click.testing import CliRunner

from deploy.cli.main import cli
from deploy.run_config import RunConfig, load_run_config
from synth.errors import ConfigError


@pytest.mark.parametrize("values, message", [
    # each of these passed: `student: no` / `cache: no` (YAML: False) ran as "none"
    ({"synthesis": {"student": False}}, "synthesis.student must be a model variant name"),
    ({"teacher": {"cache": False}}, r"teacher.cache must be a folder \('' = no cache\), got False"),
    ({"teacher": {"cache": 5}}, "teacher.cache must be a folder"),
    # these named no key, or the wrong one ("synthesis.inversion: unknown ... preset True")
    ({"synthesis": {"preset": True}}, "synthesis.preset must be auto or one of mnist28"),
    ({"synthesis": {"preset": "mnist29"}}, "synthesis.preset must be auto or one of .* got 'mnist29'"),
    ({"teacher": {"model": True}}, "teacher.model must be a model variant name or spec"),
    ({"teacher": {"model": "nosuchnet"}}, "teacher.model: unknown model 'nosuchnet'"),
    ({"synthesis": {"student": "nosuchnet"}}, "synthesis.student: unknown model 'nosuchnet'"),
    ({"name": True}, r"name must be a run name, got True \(YAML reads unquoted yes/no/on/off"),
    ({"device": False}, "device must be auto, cpu, cuda, cuda:N or mps, got False"),
    # the list was shown as the tuple from_dict made of it: "got (1,)"
    ({"scaling": [1]}, r"scaling must be a mapping of option: value, got \[1\]"),
])
def test_run_config_values_are_checked_by_key(values, message):
    with pytest.raises(ConfigError, match=message):
        RunConfig.from_dict(values)


def test_run_config_accepts_what_readme_documents():
    cfg = RunConfig.from_dict({"synthesis": {"student": ""}, "teacher": {"cache": "",
                              "model": {"family": "convnet", "widths": [4, 8]}}})
    assert cfg.synthesis.student == "" and cfg.teacher.cache == ""


def test_run_config_file_errors_name_the_file_and_key(tmp_path):
    bad = tmp_path / "mine.yaml"
    bad.write_text("teacher:\n  epochs: 3\n  foo: 1\n")
    with pytest.raises(ConfigError, match=r"mine.yaml: unknown config key 'teacher.foo'"):
        load_run_config(str(bad))
    res = CliRunner().invoke(cli, ["run", str(bad), "--check"])
    lines = [line for line in res.output.splitlines() if line.strip()]
    assert res.exit_code == 2 and len(lines) == 1 and "mine.yaml: unknown config key" in lines[0]


def test_run_config_path_expands_home(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    (tmp_path / "c.yaml").write_text("seed: 7\n")
    assert load_run_config("~/c.yaml").seed == 7


def _sweep(tmp_path, text, name="s.yaml"):
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_sweep_base_is_relative_to_the_sweep_file_not_the_cwd(tmp_path, monkeypatch):
    """README: "base: a path (relative to this file)".  A base missing beside the sweep
    file was read from the working directory instead, silently another config."""
    from deploy.sweep import load_sweep
    monkeypatch.chdir(tmp_path)
    (tmp_path / "b.yaml").write_text("seed: 7\n")           # in the cwd, not beside it
    path = _sweep(tmp_path, "base: b.yaml\ngrid: {data_seed: [1]}\n", "sub/s.yaml")
    head = re.escape(str(path))   # the sweep file, then its base: "base: ..." named no sweep
    with pytest.raises(ConfigError, match=rf"^{head}: base: config file not found: .*sub/b.yaml"):
        load_sweep(path)
    (tmp_path / "sub" / "b.yaml").write_text("seed: 5\n")
    assert load_sweep(path)[1][0][1].seed == 5


def test_sweep_base_expands_home_and_its_errors_name_it(tmp_path, monkeypatch):
    from deploy.sweep import load_sweep
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    (tmp_path / "home").mkdir()
    (tmp_path / "home" / "b.yaml").write_text("seed: 5\n")
    path = _sweep(tmp_path, "base: ~/b.yaml\ngrid: {data_seed: [1]}\n")
    assert load_sweep(path)[1][0][1].seed == 5
    (tmp_path / "home" / "b.yaml").write_text("teacher: {foo: 1}\n")
    head = re.escape(str(path))   # the sweep file, then its base file
    with pytest.raises(ConfigError, match=rf"^{head}: base: .*b.yaml: unknown config key 'teacher"):
        load_sweep(path)


def test_sweep_file_errors_name_the_sweep_file(tmp_path):
    path = _sweep(tmp_path, "nam: s\ngrid: {seed: [1]}\n", "mysweep.yaml")
    res = CliRunner().invoke(cli, ["sweep", str(path), "--check"])
    lines = [line for line in res.output.splitlines() if line.strip()]
    assert res.exit_code == 2 and len(lines) == 1, res.output
    assert "mysweep.yaml: unknown config key 'nam'" in lines[0]


@pytest.mark.parametrize("text, message", [
    # the same config twice (a grid value listed twice; a run equal to a grid point)
    ("grid: {seed: [0, 0]}\n", r"sweep runs 0 .* and 1 .* are the same config"),
    ("grid: {seed: [0]}\nruns:\n  - {seed: 0}\n", r"sweep runs 0 .* and 1 .* are the same config"),
    # one directory on a case-insensitive file system (macOS)
    ("runs:\n  - {name: A, seed: 1}\n  - {name: a, seed: 2}\n",
     "sweep runs 0 and 1 both write the run directory 'A' / 'a'"),
    ("runs:\n  - {name: x, seed: 1}\n  - {name: x, seed: 2}\n",
     "sweep runs 0 and 1 both write the run directory 'x'"),
    # names the sweep directory uses itself
    ("runs:\n  - {name: sweep.parquet}\n", "name 'sweep.parquet' is taken by the sweep's own"),
    ("runs:\n  - {name: .nnsynth-owned}\n", "name '.nnsynth-owned' is taken"),
    ("runs:\n  - {name: Teachers, seed: 3}\n", "name 'Teachers' is taken by the teacher cache"),
])
def test_sweep_runs_may_not_share_a_directory_or_a_config(tmp_path, text, message):
    from deploy.sweep import load_sweep
    with pytest.raises(ConfigError, match=message):
        load_sweep(_sweep(tmp_path, "name: s\nbase: tiny\n" + text))


def test_sweep_root_expands_home(tmp_path, monkeypatch):
    """`root: ~/sweeps` made a folder named '~' in the working directory."""
    import deploy.sweep as sweep_mod
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    seen = {}
    monkeypatch.setattr(sweep_mod, "_run_locked",
                        lambda sweep, runs, root, **kw: seen.setdefault("root", root) and [])
    sweep = sweep_mod.SweepConfig(name="s", root="~/sweeps", grid={"seed": [0]})
    sweep_mod.run_sweep(sweep, [], echo=lambda m: None)
    assert seen["root"] == tmp_path / "home" / "sweeps" / "s"
    assert not (tmp_path / "~").exists()


@pytest.mark.parametrize("text, message", [
    ("name: s\ngrid: {seed.x: [1]}\n", r"^sweep run 0 \('00-x=1'\): cannot set seed.x"),
    ("name: on\ngrid: {seed: [1]}\n", r"name must be a non-empty string, got True \(YAML reads"),
])
def test_sweep_errors_name_the_run_and_explain_yaml_booleans(tmp_path, text, message):
    from deploy.sweep import SweepConfig, expand
    from deploy.run_config import read_yaml
    path = _sweep(tmp_path, text)
    with pytest.raises(ConfigError, match=message):
        expand(SweepConfig.from_dict(read_yaml(path)))


def test_a_sweep_file_given_as_a_run_config_or_as_its_own_base(tmp_path):
    """`nnsynth run sweep.yaml` and a sweep whose base is itself said only "unknown config
    key 'base' for RunConfig"."""
    from deploy.sweep import load_sweep
    path = _sweep(tmp_path, "name: me\nbase: s.yaml\ngrid: {seed: [1]}\n")
    res = CliRunner().invoke(cli, ["run", str(path), "--check"])
    lines = [line for line in res.output.splitlines() if line.strip()]
    assert res.exit_code == 2 and len(lines) == 1, res.output
    assert "s.yaml is a sweep file (base, grid), not a run config" in lines[0]
    head = re.escape(str(path))   # the sweep file, then its base (itself)
    with pytest.raises(ConfigError, match=rf"^{head}: base: .*s.yaml is a sweep file"):
        load_sweep(path)


def test_a_huge_grid_is_refused_in_one_short_line():
    """2,000 keys of 2 values: the error printed the product, a 603-digit number."""
    from deploy.sweep import SweepConfig
    with pytest.raises(ConfigError) as e:
        SweepConfig(grid={f"k{i}": [1, 2] for i in range(2000)})
    assert "at most 10,000 runs; this one has more than 10,000" in str(e.value)
    assert len(str(e.value)) < 200
    with pytest.raises(ConfigError, match="this one has 10,001"):
        SweepConfig(grid={"seed": list(range(10_000))}, runs=({"seed": 1},))


@pytest.mark.parametrize("values, key", [
    ({"export": {"accel": [1]}}, "export.accel"),
    ({"synthesis": {"inversion": []}}, "synthesis.inversion"),
    ({"refine": {"schedule": ["growth_rounds"]}}, "refine.schedule"),
])
def test_a_list_for_an_option_section_is_shown_as_written(values, key):
    with pytest.raises(ConfigError, match=rf"^{key} must be a mapping of option: value, got \["):
        RunConfig.from_dict(values)


def test_a_folder_named_like_a_bundled_config_does_not_hide_it(tmp_path, monkeypatch):
    """`nnsynth run tiny` in a folder holding a directory `tiny` said "config file not
    found: tiny"."""
    from deploy.sweep import load_sweep
    monkeypatch.chdir(tmp_path)
    (tmp_path / "tiny").mkdir()
    assert load_run_config("tiny").name == load_run_config("tiny", {}).name
    res = CliRunner().invoke(cli, ["run", "tiny", "--check"])
    assert res.exit_code == 0, res.output
    assert len(load_sweep(_sweep(tmp_path, "base: tiny\ngrid: {seed: [3]}\n"))[1]) == 1
