"""Run directory, ledger and resume, config validation, summary, eval reproduces it."""
import json

import pytest
from click.testing import CliRunner

from deploy.cli.main import cli
from deploy.pipeline import Ledger, run_pipeline
from deploy.run_config import RunConfig, load_run_config
from synth.errors import ConfigError

# A fast config: a small MLP teacher on digits, no synthesis/search/refine; trained in this
# process (Ray Train's local mode; tests/cluster covers the workers).  The runs join the
# suite's shared Ray (``ray_local``): the first of them started one of all the machine's CPUs.
FAST = {"name": "fast", "scaling": {"num_workers": 0},
        "teacher": {"dataset": "digits", "model": '{"family": "mlp", "hidden": [32]}',
                    "epochs": 3, "min_steps": 0, "cache": ""},   # exactly 3 epochs: the
        "synthesis": {"enabled": False}, "search": {"enabled": False},   # 500-step floor
        "refine": {"enabled": False}, "export": {"price": True}}   # is not the point here


def _run(tmp_path, values, **kw):
    logs = []
    result = run_pipeline(RunConfig.from_dict(values), tmp_path / "run", progress=False,
                          log=logs.append, **kw)
    return result, logs


@pytest.mark.parametrize("values, message", [
    ({"teachr": {}}, "unknown config key 'teachr'"),
    ({"teacher": {"epoch": 3}}, "unknown config key 'teacher.epoch'"),
    ({"search": {"enabled": "yes"}}, "search.enabled must be true or false"),
    ({"teacher": {"epochs": 0}}, r"teacher.epochs must be in \[1, 1000\], got 0"),
    ({"synthesis": {"pairs": 0}}, "synthesis.pairs must be in"),
    ({"export": {"tolerance": 2}}, "export.tolerance"),
    ({"synthesis": {"enabled": False}}, "search.enabled needs synthesis.enabled"),
    # run --check called a misspelt data set valid; the run failed once Ray was up
    ({"teacher": {"dataset": "mnist"}}, "teacher.dataset: unknown data set 'mnist'"),
    # an empty path read the current folder (someone else's .parquet files)
    ({"teacher": {"dataset": "parquet:"}},
     "teacher.dataset: data set 'parquet:' has no path: expected parquet:<path>"),
    ({"teacher": {"dataset": "parquet:/no/such/dir"}}, None),   # a path is checked when loaded
    # ignored and never validated (check_stages checks it only when pricing)
    ({"export": {"price": False, "accel": {"rows": 0}}}, "export.accel configures the pricing"),
])
def test_bad_configs_are_rejected_by_name(values, message):
    if message is None:
        RunConfig.from_dict(values)
        return
    with pytest.raises(ConfigError, match=message):
        RunConfig.from_dict(values)


def test_component_sections_checked_before_work(tmp_path):
    values = json.loads(json.dumps(FAST))
    values["export"]["accel"] = {"no_such_knob": 1}
    with pytest.raises(ConfigError, match="export.accel.no_such_knob"):
        _run(tmp_path, values)
    assert not (tmp_path / "run").exists()   # nothing was written: no work started


def test_bundled_configs_are_valid():
    for name in ("default", "tiny"):
        cfg = load_run_config(name)
        assert cfg.synthesis.enabled and cfg.search.enabled and cfg.refine.enabled


def test_run_check_reads_lr_1e_3_as_a_number(tmp_path):
    """'lr: 1e-3' is a string in YAML 1.1: run --check said "teacher.lr must be a number,
    got '1e-3'"."""
    cfg = tmp_path / "lr.yaml"
    cfg.write_text("teacher:\n  lr: 1e-3\n  dataset: mnist5k\n")   # lenet5_bn fits 28 px
    res = CliRunner().invoke(cli, ["run", str(cfg), "--check"])
    assert res.exit_code == 0 and "valid" in res.output, res.output
    assert load_run_config(str(cfg)).teacher.lr == 0.001


def test_cli_bad_key_is_one_line_exit_2(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("teacher:\n  epochs: 2\nsearch:\n  trails: 12\n")
    res = CliRunner().invoke(cli, ["run", str(bad)])
    assert res.exit_code == 2
    assert "unknown config key 'search.trails'" in res.output
    assert "Traceback" not in res.output


def test_run_resume_and_eval_reproduces_summary(ray_local, tmp_path):
    result, logs = _run(tmp_path, FAST)
    run = tmp_path / "run"
    for name in ("ledger.json", "config.json", "teacher.pt", "final.pt", "model.onnx",
                 "summary.md"):
        assert (run / name).is_file(), name
    assert result["final_onnx_max_abs_diff"] <= 1e-4
    import onnx   # the pipeline's model.onnx says how to feed it, as nnsynth export's does
    props = {p.key: p.value for p in onnx.load(str(run / "model.onnx")).metadata_props}
    assert json.loads(props["class_names"]) == [str(i) for i in range(10)], props
    assert len(json.loads(props["mean"])) == 1 and "preprocessing" in props
    assert result["final_latency_ms"] > 0 and result["final_spring_energy_mj"] > 0
    text = (run / "summary.md").read_text()
    assert f"{result['final_test_accuracy']:.2%}" in text and "SPRING" in text
    # the real set's digest in the teacher's and final model's records (trained_record): eval
    # warns when the set was rewritten since; nnsynth run's checkpoints recorded none
    from synth.checkpoint import read_checkpoint
    digests = {read_checkpoint(run / n)["dataset"].get("digest") for n in ("teacher.pt",
                                                                         "final.pt")}
    assert len(digests) == 1 and None not in digests, digests
    first = Ledger(run).stages

    again, logs2 = _run(tmp_path, FAST)          # rerun: everything skipped
    assert Ledger(run).stages == first
    assert sum("skipped" in line for line in logs2) == 2
    assert again["final_test_accuracy"] == result["final_test_accuracy"]

    changed = json.loads(json.dumps(FAST))       # a later section changed: only it re-runs
    changed["export"]["tolerance"] = 5e-4
    _, logs3 = _run(tmp_path, changed)
    stages = Ledger(run).stages
    assert stages["teacher"] == first["teacher"]
    assert stages["export"]["fingerprint"] != first["export"]["fingerprint"]
    assert any(line.startswith("[1/2] teacher: done earlier") for line in logs3)

    res = CliRunner().invoke(cli, ["eval", "--model", str(run / "final.pt"), "--json"])
    assert res.exit_code == 0, res.output
    ev = json.loads(res.output.strip().splitlines()[-1])
    assert ev["accuracy"] == pytest.approx(result["final_test_accuracy"], abs=1e-9)
    assert ev["parameters"] == result["final_parameters"]
    assert ev["flops"] == result["final_flops"]


def test_interrupted_run_keeps_finished_stages(ray_local, tmp_path):
    """stop_after ends the run like a kill between stages; the rerun skips the teacher.
    A changed teacher section invalidates every later stage."""
    _run(tmp_path, FAST, stop_after="teacher")
    run = tmp_path / "run"
    assert set(Ledger(run).stages) == {"teacher"}
    teacher_entry = Ledger(run).stages["teacher"]
    _, logs = _run(tmp_path, FAST)
    assert Ledger(run).stages["teacher"] == teacher_entry
    assert set(Ledger(run).stages) == {"teacher", "export"}
    changed = json.loads(json.dumps(FAST))
    changed["teacher"]["epochs"] = 4
    _run(tmp_path, changed)
    assert Ledger(run).stages["teacher"]["fingerprint"] != teacher_entry["fingerprint"]


def test_teacher_cache_is_reused(ray_local, tmp_path):
    values = json.loads(json.dumps(FAST))
    values["teacher"]["cache"] = str(tmp_path / "cache")
    run_pipeline(RunConfig.from_dict(values), tmp_path / "a", progress=False, stop_after="teacher")
    run_pipeline(RunConfig.from_dict(values), tmp_path / "b", progress=False, stop_after="teacher")
    a, b = Ledger(tmp_path / "a").stages["teacher"], Ledger(tmp_path / "b").stages["teacher"]
    assert not a["outputs"]["reused"] and b["outputs"]["reused"]
    assert a["outputs"]["test_accuracy"] == b["outputs"]["test_accuracy"]


def _tabular_set(folder, seed: int) -> str:
    """A parquet: set of 2-feature, 2-class samples (train, val and test files)."""
    import torch
    from synth.data import write_parquet
    g = torch.Generator().manual_seed(seed)
    meta = {"input_shape": [2], "num_classes": 2, "class_names": ["a", "b"],
            "mean": [0.0, 0.0], "std": [1.0, 1.0]}
    for split, n in (("train", 40), ("val", 10), ("test", 10)):
        x = torch.randn(n, 2, generator=g)
        write_parquet(folder / f"{split}.parquet", x, (x[:, 0] > 0).long(), meta, split=split)
    return f"parquet:{folder}"


def test_teacher_cache_tells_apart_what_its_name_cannot(ray_local, tmp_path):
    """The cache key was a slug of the settings: parquet:<d>/a-b and parquet:<d>/a/b slug
    alike, so the second run reused the first set's teacher; and a set whose files changed
    kept its old teacher.  Each must train its own."""
    values = json.loads(json.dumps(FAST))
    values["teacher"].update(cache=str(tmp_path / "cache"), model='{"family": "mlp", "hidden": [4]}')

    def teacher(dataset, run):
        values["teacher"]["dataset"] = dataset
        run_pipeline(RunConfig.from_dict(values), tmp_path / run, progress=False,
                     stop_after="teacher")
        return Ledger(tmp_path / run).stages["teacher"]["outputs"]["reused"]

    (tmp_path / "d" / "a").mkdir(parents=True)
    (tmp_path / "d" / "a-b").mkdir()
    (tmp_path / "d" / "a" / "b").mkdir()
    assert not teacher(_tabular_set(tmp_path / "d" / "a-b", 0), "r1")
    assert not teacher(_tabular_set(tmp_path / "d" / "a" / "b", 1), "r2")
    assert teacher(f"parquet:{tmp_path / 'd' / 'a-b'}", "r3")          # same set: reused
    _tabular_set(tmp_path / "d" / "a-b", 2)                              # its files changed
    assert not teacher(f"parquet:{tmp_path / 'd' / 'a-b'}", "r4")


def test_resume_reruns_stages_whose_data_changed(ray_local, tmp_path):
    """A resumed run skipped the teacher stage after the files of its parquet: set had
    changed (the ledger's fingerprint hashed the config only): its teacher and everything
    after it came from the old data."""
    values = json.loads(json.dumps(FAST))
    (tmp_path / "set").mkdir()
    values["teacher"].update(dataset=_tabular_set(tmp_path / "set", 0),
                             model='{"family": "mlp", "hidden": [4]}')
    _run(tmp_path, values, stop_after="teacher")
    first = Ledger(tmp_path / "run").stages["teacher"]
    _, logs = _run(tmp_path, values, stop_after="teacher")          # same data: skipped
    assert Ledger(tmp_path / "run").stages["teacher"] == first
    _tabular_set(tmp_path / "set", 1)
    _, logs = _run(tmp_path, values, stop_after="teacher")
    assert Ledger(tmp_path / "run").stages["teacher"]["fingerprint"] != first["fingerprint"]
    assert any("config or data changed, re-running teacher" in line for line in logs)


def test_a_changed_space_file_changes_the_search_stage_only(ray_local, tmp_path):
    """The ledger skipped a finished search after its space file was edited (the fingerprint
    hashed the file's name, not its contents)."""
    from deploy.ledger import RunContext
    from deploy.pipeline import input_digests
    space = tmp_path / "space.yaml"
    space.write_text("family: mlp\nparams:\n  hidden: {list: [4, 8], length: [1, 1]}\n")
    values = json.loads(json.dumps(FAST))
    values.update(synthesis={"enabled": True}, search={"enabled": True,
                                                       "options": {"space": str(space)}})
    config = RunConfig.from_dict(values)
    ctx = RunContext(config, tmp_path / "run", address=None, progress=False, log=lambda m: None)
    stages = ["teacher", "synthesis", "search"]
    before = {s: config.stage_fingerprint(s, input_digests(ctx, stages)) for s in stages}
    space.write_text("family: mlp\nparams:\n  hidden: {list: [16], length: [1, 1]}\n")
    after = {s: config.stage_fingerprint(s, input_digests(ctx, stages)) for s in stages}
    assert before["teacher"] == after["teacher"] and before["synthesis"] == after["synthesis"]
    assert before["search"] != after["search"]


def test_sweep_expansion_and_validation(tmp_path):
    from deploy.sweep import SweepConfig, expand, load_sweep
    sweep = SweepConfig(name="g", base="tiny", grid={"seed": [0, 1], "synthesis.pairs": [1, 2]},
                        runs=({"name": "big", "synthesis.num_images": 512},))
    runs = expand(sweep)
    assert len(runs) == 5 and runs[-1][1].name == "big"
    assert {(c.seed, c.synthesis.pairs) for _, c in runs[:4]} == {(0, 1), (0, 2), (1, 1), (1, 2)}
    with pytest.raises(ConfigError, match="sweep run 0 .*unknown config key 'synthesis.pair'"):
        expand(SweepConfig(base="tiny", grid={"synthesis.pair": [1]}))
    with pytest.raises(ConfigError, match="grid.seed must be a non-empty list"):
        SweepConfig(grid={"seed": 3})
    bad = tmp_path / "s.yaml"
    bad.write_text("base: tiny\ngrids: {seed: [0]}\n")
    with pytest.raises(ConfigError, match="unknown config key 'grids'"):
        load_sweep(bad)


@pytest.mark.parametrize("override, message", [
    ("{synthesis.inversion.bogus: 1}", "unknown config key 'synthesis.inversion.bogus'"),
    ("{search.options: {trials: -3}}", "search.options: trials must be in"),
    ("{export.accel: {rows: 0}}", "export.accel: rows must be in"),
])
def test_sweep_check_validates_each_runs_stage_sections(tmp_path, override, message):
    """`sweep --check` said valid (exit 0) for runs whose component sections (an inversion
    key, the search's options, the accelerator) were wrong: only `sweep` without --check
    checked them, after --check had passed."""
    sweep = tmp_path / "s.yaml"
    sweep.write_text(f"base: tiny\nruns:\n  - {{seed: 1}}\n  - {override}\n")
    res = CliRunner().invoke(cli, ["sweep", str(sweep), "--check"])
    lines = [l for l in res.output.splitlines() if l.strip()]
    assert res.exit_code == 2 and len(lines) == 1, res.output
    assert lines[0].startswith(f"error: {sweep}: sweep run 1 (") and message in lines[0], lines[0]
