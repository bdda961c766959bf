"""deploy (helper 206).

1. ``nnsynth run --check`` showed nothing for the seconds it spent loading the data set and
   checking the models and the search against it (tiny: ~3 s after the imports);
   ``sweep --check`` draws a bar of its runs since ba8af0b.  ``check_run(progress=)`` now
   draws a bar of the check's steps (the data set, then each part of ``check_data``, named
   as it runs) on stderr when it is a terminal, none under ``-q``.
2. A sweep run refused before it kept any work takes its run directory away (ba8af0b), but
   its error row still named that directory; the row's ``run_dir`` is empty then.
"""
import io
import sys

import pytest

from tests._cli import run

TEACHER_ONLY = ("name: teacher-only\nteacher: {dataset: digits, model: mlp_small, epochs: 1, "
                "cache: ''}\nsynthesis: {enabled: false}\nsearch: {enabled: false}\n"
                "refine: {enabled: false}\nexport: {onnx: false, price: false}\n")


class Terminal(io.StringIO):
    def isatty(self):
        return True


def test_run_check_shows_its_progress_on_stderr_unless_quiet(tmp_path, monkeypatch):
    import deploy.pipeline
    from deploy.pipeline import check_run
    from deploy.run_config import load_run_config
    config = tmp_path / "teacher-only.yaml"
    config.write_text(TEACHER_ONLY)
    cfg = load_run_config(str(config))
    monkeypatch.delenv("TQDM_DISABLE", raising=False)    # an earlier -q in this process
    for progress in (True, False):
        monkeypatch.setattr(sys, "stderr", Terminal())
        assert check_run(cfg, progress=progress) == ["teacher", "export"]
        drawn = sys.stderr.getvalue()
        assert ("check:" in drawn and "/2 [" in drawn and "teacher.model" in drawn
                and "data set digits" in drawn) == progress, drawn
    monkeypatch.undo()
    asked, real = [], deploy.pipeline.check_run
    monkeypatch.setattr(deploy.pipeline, "check_run",
                        lambda *a, progress=False, **k: asked.append(progress) or real(*a, **k))
    for flags in ([], ["-q"]):
        result = run([*flags, "run", str(config), "--check"])
        assert result.exit_code == 0 and "valid" in result.output, result.output
    assert asked == [True, False]
    monkeypatch.delenv("TQDM_DISABLE", raising=False)


def test_a_refused_sweep_runs_row_names_no_directory_it_took_away(tmp_path, monkeypatch):
    """lenet5 on wine's feature vectors: refused by the pipeline's data check after it made
    the run directory (a sweep checks its runs first; a data set that changed since is
    refused here), which it then takes away: the row named it all the same."""
    import ray

    from deploy.run_config import load_run_config
    from deploy.sweep import _run_one
    config = tmp_path / "c.yaml"
    config.write_text(TEACHER_ONLY.replace("digits, model: mlp_small", "wine, model: lenet5"))
    monkeypatch.setattr(ray, "get_runtime_context",
                        lambda: type("Ctx", (), {"get_node_id": lambda self: "n"})())
    monkeypatch.chdir(tmp_path)
    run_dir = tmp_path / "sw" / "r"
    row = _run_one(load_run_config(str(config)).to_dict(), str(run_dir), None)
    assert "does not fit wine" in row["error"], row
    assert not run_dir.exists() and row["run_dir"] == "", row
    run_dir.mkdir(parents=True)          # a directory that stays (a user's, refused) is named
    row = _run_one(load_run_config(str(config)).to_dict(), str(run_dir), None)
    assert row["error"] and row["run_dir"] == str(run_dir), row


def test_diabdeep_json_keeps_a_forests_comparisons_out_of_its_flops(tmp_path):
    """The report's JSON (and the resume state, and the benchmark's cache) carried a random
    forest's comparisons per window in flops/nonzero_flops, MACs to every reader but the
    table (404b06c).  A fresh forest row has null flops and its ``comparisons``; a resume
    state kept before still loads, its forest row moved to the new keys."""
    import json

    from synth.data import load_dataset
    from synth.diabdeep import DiabDeepConfig, _Done, forest_row, run_diabdeep, table
    data = load_dataset("basicmotions", seed=0)
    config = DiabDeepConfig.from_dict({"dataset": "basicmotions", "steps": 5,
                                       "baselines": ["forest"], "forest_trees": 3,
                                       "latency_repeats": 1})
    row = forest_row(data, config)
    assert row["flops"] is None and row["nonzero_flops"] is None, row
    assert isinstance(row["comparisons"], int) and row["comparisons"] > 0, row
    # a state of the same settings written before: its forest row's comparisons in flops
    report = tmp_path / "r.json"
    names = ["server_diabnn", "edge_diabnn", "forest"]
    old = _Done(tmp_path / "r.json.resume", config, False, data, names)
    net = {"spec": {"family": "mlp"}, "test_accuracy": 0.5, "nonzero_parameters": 10,
           "recurrent_weights": 0, "flops": 20, "nonzero_flops": 10, "latency_ms": 0.1}
    old.add("server_diabnn", {**net, "model": "server_diabnn"}, [{"phase": "grow"}])
    old.add("edge_diabnn", {**net, "model": "edge_diabnn"}, [{"phase": "grow"}])
    old.add("forest", {"model": "forest", "spec": {"random_forest": 3}, "test_accuracy": 0.6,
                       "nonzero_parameters": 40, "recurrent_weights": 0, "flops": 17,
                       "nonzero_flops": 17, "latency_ms": 0.2}, None)
    result = run_diabdeep(config, data=data, report=str(report))   # resumed: nothing trains
    rows = {r["model"]: r for r in json.loads(report.read_text())["rows"]}
    assert rows["forest"]["flops"] is None and rows["forest"]["nonzero_flops"] is None
    assert rows["forest"]["comparisons"] == 17 and rows["server_diabnn"]["flops"] == 20
    forest = next(line for line in table(result).splitlines() if line.startswith("forest "))
    assert " - " in forest and "17" not in forest


def test_a_resumed_synthesis_says_it_resumes(digits, tmp_path, monkeypatch, caplog):
    """`nnsynth invert` interrupted after 3 of 8 shards and rerun (the same command) went on
    without a word, its bar counting the shards left from 0 (0/5): a rerun that resumes
    looked like one that started over.  It now says how many shards an earlier run wrote
    (the bar starts at 3/8).  No Ray: the job stops where Ray would start."""
    import logging

    import importlib

    import torch

    from cluster.pairs import plan_shards, run_synthesis, shard_path
    from synth.checkpoint import save_checkpoint
    from synth.data import write_parquet
    from synth.inversion import InversionConfig
    from synth.models import build
    from tests.synth._tiny import TINY_SPEC

    class NoRay(Exception):
        pass

    def no_ray(*a, **k):
        raise NoRay
    monkeypatch.setattr(importlib.import_module("cluster.connect"), "connect", no_ray)
    torch.manual_seed(0)
    path = save_checkpoint(tmp_path / "t.pt", build(TINY_SPEC, digits.input_shape,
                                                    digits.num_classes),
                           dataset=digits.metadata())
    config = InversionConfig.preset("mnist28", iterations=5, device="cpu")
    out = tmp_path / "set"
    with caplog.at_level(logging.WARNING, logger="cluster.pairs"):
        with pytest.raises(NoRay):   # the job's manifest is written; no shard yet
            run_synthesis(path, out, 30, 1, config, shard_size=10)
        assert "resuming" not in caplog.text
        shard = plan_shards(30, digits.num_classes, 10, seed=0)[0]   # an earlier run's shard
        write_parquet(shard_path(out, 0), torch.randn(10, *digits.input_shape),
                      torch.tensor(shard["labels"]), digits.metadata())
        with pytest.raises(NoRay):
            run_synthesis(path, out, 30, 1, config, shard_size=10)
    assert f"resuming the synthesis in {out}: 1 of 3 shards were written by an earlier run " \
           f"of this job; 2 left" in caplog.text, caplog.text


def test_ctrl_c_in_a_ray_train_fit_is_the_commands_line_alone(monkeypatch):
    """Ctrl-C in `nnsynth run`'s teacher or refine stage (Ray Train): Ray's handler logged
    "Received SIGINT. Gracefully aborting the training run -- this may take a few seconds
    ..." (INFO, on stderr) above the command's own `interrupted: ...` line.  Its fit is
    faked here: it logs as Ray's does, then ends as Ray's does at a Ctrl-C (SystemExit)."""
    import logging

    import ray.train.v2.api.data_parallel_trainer as dpt

    from cluster.train import Scaling, train_model

    class Trainer:
        def __init__(self, *a, **k):
            pass

        def fit(self):
            logging.getLogger(dpt.__name__).info("Received SIGINT. Gracefully aborting")
            raise SystemExit(0)
    monkeypatch.setattr(dpt, "DataParallelTrainer", Trainer)
    logger = logging.getLogger(dpt.__name__)   # Ray's loggers do not propagate to the root

    class Seen(logging.Handler):
        lines: list = []

        def emit(self, record):
            self.lines.append(record.getMessage())
    seen = Seen(logging.INFO)
    logger.addHandler(seen)
    level = logger.level
    try:
        logger.setLevel(logging.INFO)
        with pytest.raises(KeyboardInterrupt):
            train_model(lambda inputs, parallel: None, {}, scaling=Scaling(num_workers=0))
        assert logger.level == logging.INFO      # as it was
    finally:
        logger.removeHandler(seen)
        logger.setLevel(level)
    assert not seen.lines, seen.lines


def test_a_sweep_run_said_finished_has_its_row_written(tmp_path, monkeypatch):
    """Ctrl-C right after `finished 00-...` (the user saw a run finish) left no
    sweep.parquet: the row was written after the line.  Ray is faked: each run's task
    returns its row at once; the echo of the first "finished" line is the Ctrl-C."""
    import importlib

    import pyarrow.parquet as pq
    import ray

    from deploy.sweep import SweepConfig, _run_locked, expand
    sweep = SweepConfig.from_dict({"name": "s", "base": "tiny", "grid": {"seed": [1, 2]},
                                   "max_parallel": 1})
    runs = expand(sweep)

    class Task:
        def remote(self, config, run_dir, address):   # a ref: get gives the run's row
            return type("Ref", (), {"row": {"run_dir": run_dir, "error": ""}})()
    monkeypatch.setattr(importlib.import_module("cluster.connect"), "connect",
                        lambda *a, **k: None)
    monkeypatch.setattr(ray, "remote", lambda **k: lambda f: Task())
    monkeypatch.setattr(ray, "wait", lambda refs, num_returns: (refs[:1], refs[1:]))
    monkeypatch.setattr(ray, "get", lambda ref: ref.row)

    def echo(line):
        if line.startswith("finished"):
            raise KeyboardInterrupt
    with pytest.raises(KeyboardInterrupt):
        _run_locked(sweep, runs, tmp_path, address=None, num_cpus=None, echo=echo)
    rows = pq.read_table(tmp_path / "sweep.parquet").to_pylist()
    assert [r["name"] for r in rows] == [runs[0][1].name], rows


def test_ctrl_c_line_is_not_glued_to_a_progress_bar(monkeypatch):
    """Ctrl-C in grow-prune's loop: its bar was left mid-line and the interrupted line was
    written after it ('... conn=1271, val=0.9167]interrupted: finished work is kept ...'),
    on a terminal as on a pipe.  The bars still open are closed first."""
    import re

    from tqdm.auto import tqdm

    import synth.workflows

    def interrupted(*a, **k):
        bar = tqdm(total=17, desc="grow-prune", file=sys.stderr, disable=False)
        bar.update(3)
        bar.set_postfix(conn=1271)
        raise KeyboardInterrupt
    monkeypatch.setattr(synth.workflows, "grow_prune_checkpoint", interrupted)
    result = run(["grow-prune", "--dataset", "iris", "--model", "mlp_small", "--out",
                  "/nonexistent-h206/m.pt"])
    assert result.exit_code == 130 and "3/17" in result.output, result.output
    assert re.search(r"(^|\n)interrupted: ", result.output), repr(result.output)
    assert "Traceback" not in result.output


def test_ctrl_c_of_invert_promises_a_resume_only_with_work_kept(tmp_path):
    """`nnsynth invert` interrupted during its imports or Ray's start said "finished work is
    kept; rerun the same command to resume" of a --out that did not exist, or held only the
    job's manifest."""
    from deploy.cli.main import interrupted_line
    out = tmp_path / "set"
    for made in (None, "job.json"):
        if made:
            out.mkdir()
            (out / made).write_text("{}")
        line = interrupted_line("invert", {"out": str(out)})
        assert "kept" not in line and "no shard was written yet" in line, line
    for work in ("shard-00000.parquet", "generator.pt"):
        (out / work).write_bytes(b"x")
        line = interrupted_line("invert", {"out": str(out)})
        assert line == "interrupted: finished work is kept; rerun the same command to resume"
        (out / work).unlink()


def test_ctrl_c_while_ray_starts_is_not_lost(monkeypatch):
    """Ctrl-C 4 s into `nnsynth invert` (Ray starting: ray.init forks its processes) printed
    "Exception ignored in: <function _releaseLock ...> KeyboardInterrupt" and the command
    ran to its end: the interrupt was raised in logging's at-fork handler, where Python
    ignores exceptions.  ray.init is faked: a Ctrl-C arrives inside such a handler (an
    object's __del__, where exceptions are ignored too)."""
    import gc
    import importlib
    import os
    import signal

    import ray
    connect_module = importlib.import_module("cluster.connect")

    class AtFork:
        def __del__(self):
            os.kill(os.getpid(), signal.SIGINT)
            for _ in range(1000):   # the handler runs here, between bytecodes
                pass

    def init(**kwargs):
        AtFork()
        gc.collect()
    monkeypatch.setattr(ray, "is_initialized", lambda: False)
    monkeypatch.setattr(ray, "init", init)
    monkeypatch.setattr(ray, "get_runtime_context", lambda: "ray")
    monkeypatch.setattr(connect_module, "_require_token_auth", lambda: None)
    monkeypatch.setattr(connect_module, "_check_token_auth_started", lambda: None)
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    with pytest.raises(KeyboardInterrupt):
        connect_module.connect()
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_a_rerun_removes_the_temporary_files_of_a_killed_run(tmp_path, monkeypatch):
    """A sweep killed during a run's export left `.model.onnx.tmp19468.4d60e0c70a53` in that
    run's directory (atomic_path's temporary file: its writer, a Ray worker, was killed),
    and the rerun kept it.  A run removes such files under its lock before any stage; files
    named otherwise stay.  The run here is refused by its data check, after the lock."""
    from deploy.pipeline import run_pipeline
    from deploy.run_config import load_run_config
    from synth.errors import UserError
    from synth.files import claim_dir
    config = tmp_path / "c.yaml"
    config.write_text(TEACHER_ONLY.replace("digits, model: mlp_small", "wine, model: lenet5"))
    monkeypatch.chdir(tmp_path)
    run_dir = claim_dir(tmp_path / "run")
    stale = [run_dir / ".model.onnx.tmp19468.4d60e0c70a53",
             run_dir / "synthetic" / ".shard-00001.parquet.tmp77.0123456789ab"]
    kept = [run_dir / ".notes.tmp", run_dir / "model.onnx.tmp1.0123456789ab",
            run_dir / ".x.tmp12.0123456789abc"]
    for path in stale + kept:
        path.parent.mkdir(exist_ok=True)
        path.write_text("half")
    with pytest.raises(UserError, match="does not fit wine"):
        run_pipeline(load_run_config(str(config)), run_dir, progress=False)
    assert [p.exists() for p in stale + kept] == [False] * len(stale) + [True] * len(kept)
