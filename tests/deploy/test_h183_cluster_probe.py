"""The Ray side probed as a careless or hostile user would (helper 183): CPU counts, Ray
Train and hwsim-actor requests no cluster can grant, sweep checks that cost seconds per run,
and a submitted job's command line."""
import time

from click.testing import CliRunner

from deploy.cli.main import cli

BASE = """name: b
num_cpus: 1
teacher: {dataset: wine, model: lenet300_100_bn, epochs: 1, cache: ""}
synthesis: {enabled: false}
search: {enabled: false}
refine: {enabled: false}
export: {onnx: false, price: false}
"""


def _sweep(tmp_path, grid: str = "{seed: [1, 2]}"):
    (tmp_path / "base.yaml").write_text(BASE)
    path = tmp_path / "s.yaml"
    path.write_text(f"name: s\nbase: base.yaml\nroot: {tmp_path / 'out'}\ngrid: {grid}\n")
    return path


def test_sweep_refuses_a_local_ray_of_a_trillion_cpus_at_once(tmp_path):
    """`nnsynth sweep --num-cpus 1000000000000` reached ray.init, whose raylet never came up:
    three 30 s start-up windows (4 minutes here), then Ray's 'timed out during startup'
    traceback.  Now one line naming the option, before the sweep directory is made."""
    start = time.monotonic()
    result = CliRunner().invoke(cli, ["sweep", "--num-cpus", "1000000000000",
                                      str(_sweep(tmp_path))])
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert result.exit_code == 2, result.output
    assert lines == ["error: --num-cpus must be in [1, 4096], got 1000000000000"], lines
    assert time.monotonic() - start < 30
    assert not (tmp_path / "out").exists()


def test_sweep_check_does_each_distinct_data_check_once(tmp_path, monkeypatch):
    """tiny's data check prices its search constraints at the space's extremes (4 s a run
    here): `sweep --check` of a grid of 10 seeds took 47 s, 100 seeds 7 minutes, each run
    getting the same answer.  Runs that differ only where check_data does not look (the
    seed, the name) are checked once; a run that differs where it does is checked itself."""
    import deploy.stages
    from deploy.sweep import SweepConfig, data_problems, expand
    real, calls = deploy.stages.check_data, []

    def counted(cfg, stages, data):      # the real check, counted
        calls.append(cfg.name)
        return real(cfg, stages, data)
    monkeypatch.setattr(deploy.stages, "check_data", counted)
    sweep = SweepConfig.from_dict({"name": "s", "base": "tiny", "grid": {"seed": [1, 2, 3]},
                                   "runs": [{"name": "lstm", "teacher.model": "lstm32"}]})
    problems = data_problems(expand(sweep))
    assert calls == ["00-seed=1", "lstm"], calls
    assert len(problems) == 1 and problems[0].startswith(
        "sweep run 3 ('lstm'): teacher.model: 'lstm32' does not fit mnist5k"), problems


def test_a_submitted_jobs_command_reads_every_name_as_a_name(tmp_path):
    """The entrypoint `nnsynth submit` gives Ray, run by a shell as Ray runs it: a config
    named '-t.yaml' failed on the cluster ('No such option: -t'), and a hostile run
    directory must reach `nnsynth run` as one word, never as shell code."""
    import json
    import subprocess
    from deploy.submit import job_command
    (tmp_path / "-t.yaml").write_text(BASE)
    run_dir = "-r $(touch pwned); `touch pwned2` 'x\""
    line = job_command("-t.yaml", run_dir, extra=["--check", "--json"])
    res = subprocess.run(["bash", "-c", line], cwd=tmp_path, capture_output=True, text=True,
                         timeout=120)
    assert res.returncode == 0, line + "\n" + res.stderr[-2000:]
    facts = json.loads(res.stdout.strip().splitlines()[-1])
    assert facts["valid"] and facts["config"] == "-t.yaml" and facts["run_dir"] == run_dir
    assert sorted(p.name for p in tmp_path.iterdir()) == ["-t.yaml"]


def test_a_sweep_refused_for_token_auth_off_writes_nothing(tmp_path, monkeypatch):
    """RAY_AUTH_MODE=disabled is refused (one line, exit 2) -- and the sweep directory,
    made before, was left behind (.nnsynth-owned, .nnsynth.lock)."""
    monkeypatch.setenv("RAY_AUTH_MODE", "disabled")
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    result = CliRunner().invoke(cli, ["sweep", str(_sweep(tmp_path))])
    assert result.exit_code == 2, result.output
    assert result.output.startswith("error: RAY_AUTH_MODE=disabled would start a local Ray "
                                    "without token authentication"), result.output
    assert not (tmp_path / "out").exists()


def test_a_data_seed_out_of_range_is_named_as_data_seed(tmp_path):
    """data_seed 10^20 passed RunConfig (no upper bound); loading the data then said 'seed
    must be in [0, 2147483647]', a key the config had set right (seed: 0)."""
    (tmp_path / "c.yaml").write_text(BASE + "data_seed: 100000000000000000000\n")
    result = CliRunner().invoke(cli, ["run", "--check", str(tmp_path / "c.yaml")])
    assert result.exit_code == 2, result.output
    assert "data_seed must be in [0, 2147483647], got 100000000000000000000" in result.output
