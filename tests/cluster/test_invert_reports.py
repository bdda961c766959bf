"""``nnsynth invert`` reports the settings it ran with: --min-fidelity is one of them (it sets
the stopping rule), and --batch-size is bounded before any work."""
import json

import pytest
from click.testing import CliRunner

from deploy.cli.main import cli
from synth.inversion import InversionConfig, allowed_misses
from tests.synth._tiny import one_thread_teacher_checkpoint


@pytest.fixture(scope="module")
def teacher_path(digits, tmp_path_factory):
    return one_thread_teacher_checkpoint(digits, tmp_path_factory.mktemp("t"))


def _invert(teacher, out, *extra):
    return CliRunner().invoke(cli, ["invert", "--teacher", str(teacher), "--num-images", "20",
                                    "--iterations", "2", "--batch-size", "20", "--out",
                                    str(out), "--json", *extra])


def _summary(result) -> dict:
    return json.loads(next(line for line in result.stdout.splitlines() if line.startswith("{")))


def test_min_fidelity_is_the_setting_the_job_runs_and_reports(ray_local, teacher_path, tmp_path):
    """--min-fidelity 0.99 reported settings with min_fidelity 0.95: the user's value was used
    for the final check only, while the job (its stopping rule, job.json, the set's metadata)
    ran with 0.95, which lets a batch of 20 stop with a miss (19/20 = 0.95 < 0.99)."""
    out = tmp_path / "strict"
    r = _invert(teacher_path, out, "--min-fidelity", "0.99")
    summary = _summary(r)   # 2 iterations reach far less: exit 2, the summary printed first
    assert r.exit_code == 2 and "error: --min-fidelity 0.99 not reached" in r.output, r.output
    assert summary["settings"]["min_fidelity"] == 0.99
    assert summary["settings"]["stop_fidelity"] == 0.99
    job = InversionConfig.from_dict(json.loads((out / "job.json").read_text())["config"])
    assert job.min_fidelity == 0.99
    assert allowed_misses(20, job) == 0                          # the rule aims for 0.99 ...
    assert allowed_misses(20, job.replace(min_fidelity=0.95)) == 1   # ... not 0.95
    import pyarrow.parquet as pq
    from synth.data import PARQUET_META_KEY
    schema = pq.read_schema(next(out.glob("shard-*.parquet")))
    meta = json.loads(schema.metadata[PARQUET_META_KEY])   # the set's own record
    assert meta["synthesis"]["config"]["min_fidelity"] == 0.99
    # above the default stop_fidelity (0.99) the stopping rule is raised with it
    r = _invert(teacher_path, tmp_path / "all", "--min-fidelity", "1")
    assert r.exit_code == 2 and _summary(r)["settings"]["stop_fidelity"] == 1.0, r.output

    # the same directory with another threshold is another job: one line, nothing redone
    shards = sorted(p.stat().st_mtime_ns for p in out.glob("shard-*.parquet"))
    r = _invert(teacher_path, out)
    lines = r.output.strip().splitlines()
    assert r.exit_code == 2 and len(lines) == 1 and "Traceback" not in r.output, r.output
    assert "made for min_fidelity 0.99, not 0.95" in lines[0] and "--out" in lines[0], lines[0]
    assert sorted(p.stat().st_mtime_ns for p in out.glob("shard-*.parquet")) == shards
    # the same threshold resumes it (nothing left to synthesize)
    r = _invert(teacher_path, out, "--min-fidelity", "0.99")
    assert r.exit_code == 2 and _summary(r)["skipped"] == 1, r.output


def test_without_min_fidelity_the_settings_keep_their_own(ray_local, teacher_path, tmp_path):
    r = _invert(teacher_path, tmp_path / "default")
    assert r.exit_code == 0, r.output
    settings = _summary(r)["settings"]
    assert settings["min_fidelity"] == 0.95 and settings["stop_fidelity"] == 0.99
    assert "below 0.95" in r.stderr


HUGE = str(10 ** 9)


@pytest.mark.parametrize("args", [
    ["invert", "--num-images", "20", "--batch-size", HUGE],
    ["train", "--dataset", "iris", "--model", "mlp_small", "--epochs", "1", "--min-steps", "0",
     "--batch-size", str(10 ** 30)],
])
def test_cli_batch_sizes_are_bounded_before_any_work(args, tmp_path):
    """`nnsynth invert --batch-size 1000000000` loaded the teacher first and then failed on
    InversionConfig's 'batch_size' (not the option); `nnsynth train --batch-size 1e30` trained
    (a batch larger than the set is the whole set, one step an epoch) without a word."""
    from cluster.limits import MAX_BATCH_SIZE
    out = tmp_path / "out"
    where = (["--teacher", str(tmp_path / "missing.pt"), "--out", str(out)]
             if args[0] == "invert" else ["--out", str(out / "m.pt")])
    r = CliRunner().invoke(cli, args + where)
    lines = r.output.strip().splitlines()
    assert r.exit_code == 2 and len(lines) == 1 and "Traceback" not in r.output, r.output
    assert "--batch-size" in lines[0] and f"{MAX_BATCH_SIZE}" in lines[0], lines[0]
    assert not out.exists()


def test_run_config_teacher_batch_size_is_bounded():
    from cluster.limits import MAX_BATCH_SIZE
    from deploy.run_config import RunConfig
    from synth.errors import ConfigError
    assert RunConfig.from_dict({"teacher": {"batch_size": MAX_BATCH_SIZE}}).teacher.batch_size \
        == MAX_BATCH_SIZE
    with pytest.raises(ConfigError, match=r"teacher.batch_size must be .*100000.* got 1000000000"):
        RunConfig.from_dict({"teacher": {"batch_size": 10 ** 9}})


def test_the_shared_batch_bound_is_the_inversion_configs():
    """One bound: the CLI's and the run config's MAX_BATCH_SIZE is what the inversion and
    generator configs accept (a larger --batch-size was refused later, by another number)."""
    from cluster.limits import MAX_BATCH_SIZE
    from synth.amortized import AmortizedConfig
    from synth.errors import UserError
    for config in (InversionConfig, AmortizedConfig):
        assert config(batch_size=MAX_BATCH_SIZE).batch_size == MAX_BATCH_SIZE
        with pytest.raises(UserError, match="batch_size"):
            config(batch_size=MAX_BATCH_SIZE + 1)
