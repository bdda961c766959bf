"""A rerun of ``nnsynth run`` after an edit never leaves an answer of the earlier config
looking current: outputs of an invalidated stage are removed before it runs again (and a
failing stage's partial ones after it fails), config.json is the config the ledger matches,
the log names what changed (the search's settings, or its teacher or synthesized set), and
the summary and the result name this run's stages and run directory only.

No test starts Ray: the teacher comes from a teacher cache filled here
(tests/deploy/teachers.py), and the stages whose work is not the point (synthesis, the
search's trials, refine) are replaced by stand-ins that write what the real ones write.
"""
import dataclasses
import json
import logging
import shutil

import pytest

from deploy import stages as stage_impl
from deploy.ledger import Ledger, RunContext
from deploy.pipeline import run_pipeline
from deploy.run_config import RunConfig
from synth.errors import UserError
from tests.deploy.teachers import seed_teacher_cache

# a BatchNorm MLP: run checks before any work that synthesis can invert the teacher (792b830)
TEACHER = {"dataset": "digits", "model": '{"family": "mlp", "hidden": [16], "bn": true}',
           "epochs": 1}
BASE = {"name": "stale", "scaling": {"num_workers": 0}, "teacher": TEACHER,
        "synthesis": {"enabled": False}, "search": {"enabled": False},
        "refine": {"enabled": False}, "export": {"onnx": True, "price": False}}
FULL = {**BASE, "synthesis": {"num_images": 40, "student": ""},
        "search": {"options": {"trials": 1}}, "refine": {},
        "export": {"onnx": False, "price": False}}
EXPORTS = ("final.pt", "model.onnx", "summary.md")


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    """A teacher cache with the teachers of TEACHER at 1 and 2 epochs (no Ray Train)."""
    root = tmp_path_factory.mktemp("teachers")
    for epochs in (1, 2):
        seed_teacher_cache(_config(BASE, root, epochs=epochs), root)
    return root


def _config(values, cache, **teacher) -> RunConfig:
    values = json.loads(json.dumps(values))
    values["teacher"].update(cache=str(cache), **teacher)
    return RunConfig.from_dict(values)


def _run(run_dir, values, cache, teacher=None, **kw):
    logs = []
    result = run_pipeline(_config(values, cache, **(teacher or {})), run_dir, progress=False,
                          log=logs.append, **kw)
    return result, logs


def _with(values, section, **changes):
    values = json.loads(json.dumps(values))
    values[section] = {**values[section], **changes}
    return values


def _stand_in(monkeypatch, stage, run):
    monkeypatch.setitem(stage_impl.STAGE_REGISTRY, stage,
                        dataclasses.replace(stage_impl.STAGE_REGISTRY[stage], run=run))


def _failing(message):
    def run(ctx):
        raise UserError(message)
    return run


# --------------------------------------------------------------------------- stand-ins
def _fake_synthesis(ctx):
    """A Parquet set of ``synthesis.num_images`` samples in synthetic/ (its contents follow
    the settings, as the real set's do) and images.png."""
    import torch
    from synth.checkpoint import read_checkpoint
    from synth.data import write_parquet
    from synth.files import claim_dir, write_text_atomic
    info = read_checkpoint(ctx.path("teacher.pt"))
    n = ctx.config.synthesis.num_images
    g = torch.Generator().manual_seed(n)
    x = torch.randn((n, *info["input_shape"]), generator=g)
    meta = {"input_shape": list(info["input_shape"]), "num_classes": info["num_classes"],
            "mean": [0.0], "std": [1.0]}
    out = claim_dir(ctx.path("synthetic"))
    write_parquet(out / "shard-0.parquet", x, torch.arange(n) % info["num_classes"], meta)
    write_text_atomic(ctx.path("images.png"), "grid")
    return {"dataset": "synthetic", "summary": {}, "image_grid": "images.png"}


def _fake_run_search(config, out_dir, *, resume=False, progress=True, address=None,
                     given=None):
    """What search.run.run_search leaves in out_dir as a new search begins (its saved config,
    space and inputs' digest), then its results and best.pt (here the teacher)."""
    from search.run import (INPUTS_FILE, input_digest, save_space, searchable_space,
                            with_absolute_paths, with_data_space)
    from synth.files import claim_dir, copy_atomic, write_json_atomic, write_text_atomic
    out = claim_dir(out_dir)
    if not resume:
        config = with_absolute_paths(with_data_space(config))
        save_space(out, searchable_space(config.space))
        write_json_atomic(out / INPUTS_FILE, {"digest": input_digest(config)})
        write_json_atomic(out / "search_config.json", config.to_dict())
    for name in ("results.parquet", "pareto.png"):
        write_text_atomic(out / name, name)
    copy_atomic(config.teacher, out / "best.pt")
    return {"trials": 1, "best_spec": {"family": "mlp"}, "best_accuracy": 0.5,
            "best_parameters": 10}


def _fake_refine(ctx):
    from synth.files import copy_atomic
    copy_atomic(ctx.output("search"), ctx.path("refined.pt"))
    return {"checkpoint": "refined.pt"}


@pytest.fixture
def stand_ins(monkeypatch):
    """Synthesis, the search's trials and refine replaced; the search stage itself is real."""
    import search.run
    _stand_in(monkeypatch, "synthesis", _fake_synthesis)
    _stand_in(monkeypatch, "refine", _fake_refine)
    monkeypatch.setattr(search.run, "run_search", _fake_run_search)
    monkeypatch.setattr(RunContext, "connect_ray", lambda self: None)


# --------------------------------------------------------------------------- tests
def test_failed_rerun_after_an_export_edit_leaves_no_report_of_the_old_run(tmp_path, cache,
                                                                           monkeypatch):
    """The run's summary.md, final.pt and model.onnx stayed after a rerun of an edited
    config failed in export: a reader (or a script reading final.pt) took the earlier
    config's result for the new one's.  The export's own half-written final.pt (written
    before its ONNX check failed) stayed too."""
    run = tmp_path / "run"
    _run(run, BASE, cache)
    assert all((run / n).is_file() for n in EXPORTS)
    import deploy.onnx_export

    def onnx_fails(*a, **k):
        raise UserError("ONNX export of model.onnx differs from PyTorch by 0.1 > tolerance 1e-07")
    monkeypatch.setattr(deploy.onnx_export, "export_and_verify", onnx_fails)
    edited = _with(BASE, "export", tolerance=1e-7)   # not the default (1e-6)
    with pytest.raises(UserError, match="differs from PyTorch"):
        _run(run, edited, cache)
    assert not any((run / n).exists() for n in EXPORTS), sorted(p.name for p in run.iterdir())
    ledger = Ledger(run)
    assert set(ledger.stages) == {"teacher"} and (run / "teacher.pt").is_file()
    assert ledger.failed["stage"] == "export" and "differs from PyTorch" in ledger.failed["error"]
    assert json.loads((run / "config.json").read_text())["export"]["tolerance"] == 1e-7

    monkeypatch.undo()
    _, logs = _run(run, edited, cache)                  # fixed: the run finishes, no failure
    assert all((run / n).is_file() for n in EXPORTS) and Ledger(run).failed is None
    assert any("teacher: done earlier" in line for line in logs)


def test_failed_rerun_after_a_teacher_edit_leaves_nothing_of_the_old_run(tmp_path, cache,
                                                                          monkeypatch):
    """Edit the teacher section, and the rerun fails in the teacher stage: teacher.pt,
    final.pt and summary.md of the earlier teacher stayed beside a ledger that no longer
    listed them.  The log names what changed."""
    run = tmp_path / "run"
    _run(run, BASE, cache)
    _stand_in(monkeypatch, "teacher", _failing("teacher.dataset: cannot be read"))
    with pytest.raises(UserError, match="cannot be read"):
        _, logs = _run(run, BASE, cache, teacher={"epochs": 2})
    assert not any((run / n).exists() for n in ("teacher.pt",) + EXPORTS)
    assert Ledger(run).stages == {} and Ledger(run).failed["stage"] == "teacher"


def test_rerun_log_names_the_changed_keys(tmp_path, cache):
    run = tmp_path / "run"
    _run(run, BASE, cache)
    _, logs = _run(run, _with(BASE, "export", tolerance=5e-4), cache)
    line = next(l for l in logs if "config or data changed" in l)
    assert line.endswith("re-running export (changed: export.tolerance)"), line
    assert any("removed the outputs of the earlier run" in l and "final.pt" in l for l in logs)


def test_unreadable_data_leaves_config_json_and_outputs_of_the_config_they_match(tmp_path,
                                                                                  cache):
    """config.json was written before the inputs were read: a rerun whose data set could not
    be loaded left config.json naming the new config beside the ledger, final.pt and
    summary.md of the old one.  Nothing is invalidated by data that cannot be read (a folder
    not mounted yet): the next run with the old config skips every stage."""
    run = tmp_path / "run"
    _run(run, BASE, cache)
    before = (run / "config.json").read_text()
    with pytest.raises(UserError):
        _run(run, BASE, cache, teacher={"dataset": f"parquet:{tmp_path / 'absent'}"})
    assert (run / "config.json").read_text() == before
    assert all((run / n).is_file() for n in EXPORTS)
    _, logs = _run(run, BASE, cache)
    assert sum("done earlier" in line for line in logs) == 2


def test_result_names_the_run_directory_it_ran_in(tmp_path, cache):
    """A rerun in a copied run directory skipped export and returned final_checkpoint of the
    directory it was copied from (the ledger's absolute path)."""
    _run(tmp_path / "a", BASE, cache)
    shutil.copytree(tmp_path / "a", tmp_path / "b", symlinks=True)
    result, logs = _run(tmp_path / "b", BASE, cache)
    assert sum("done earlier" in line for line in logs) == 2
    assert result["final_checkpoint"] == str((tmp_path / "b" / "final.pt").resolve())


def test_summary_lists_only_this_configs_stages(tmp_path, cache, stand_ins):
    """Turn refine off after a full run: export ran again, and its summary.md listed the
    refine stage (with its earlier seconds) among the stages of a run that had none."""
    run = tmp_path / "run"
    _run(run, FULL, cache)
    assert "| refine |" in (run / "summary.md").read_text()
    result, _ = _run(run, _with(FULL, "refine", enabled=False), cache)
    text = (run / "summary.md").read_text()
    assert "| refine |" not in text and "best searched student" in text, text
    assert set(result["stages"]) == {"teacher", "synthesis", "search", "export"}


def test_changed_synthesis_removes_the_later_stages_outputs_before_it_runs(tmp_path, cache,
                                                                           stand_ins,
                                                                           monkeypatch):
    """A changed synthesis section, and the synthesis fails: images.png, results.parquet,
    pareto.png, refined.pt, final.pt and summary.md of the earlier set stayed."""
    run = tmp_path / "run"
    _run(run, FULL, cache)
    later = ("images.png", "results.parquet", "pareto.png", "refined.pt", "final.pt",
             "summary.md")
    assert all((run / n).is_file() for n in later)
    _stand_in(monkeypatch, "synthesis", _failing("synthesis failed"))
    with pytest.raises(UserError, match="synthesis failed"):
        _run(run, _with(FULL, "synthesis", num_images=50), cache)
    assert not any((run / n).exists() for n in later)
    assert set(Ledger(run).stages) == {"teacher"} and (run / "teacher.pt").is_file()


def _search_log(caplog, run, values, cache, teacher=None) -> str:
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="deploy.pipeline"):
        run_pipeline(_config(values, cache, **(teacher or {})), run, progress=False,
                     stop_after="search")
    lines = [r.getMessage() for r in caplog.records if "starting the search over" in
             r.getMessage()]
    assert len(lines) == 1, [r.getMessage() for r in caplog.records]
    return lines[0]


def test_search_restart_names_what_changed(tmp_path, cache, stand_ins, caplog):
    """The search stage said "search settings changed: starting the search over" whatever
    had changed: after a new synthesized set or a new teacher (the search's inputs) too."""
    run = tmp_path / "run"
    run_pipeline(_config(FULL, cache), run, progress=False, log=lambda m: None,
                 stop_after="search")
    line = _search_log(caplog, run, _with(FULL, "synthesis", num_images=50), cache)
    assert "the synthesized set changed (synthesis.num_images)" in line, line
    assert "settings" not in line and "teacher" not in line, line

    line = _search_log(caplog, run, _with(FULL, "synthesis", num_images=50), cache,
                       teacher={"epochs": 2})
    assert "the teacher changed (teacher.epochs), and with it the synthesized set" in line, line
    assert "settings" not in line, line

    values = _with(FULL, "synthesis", num_images=50)
    values["search"] = {"options": {"trials": 2}}
    line = _search_log(caplog, run, values, cache, teacher={"epochs": 2})
    assert line.strip() == "the search settings changed (trials): starting the search over"


def test_stop_after_forgets_the_later_stages_the_edit_invalidated(tmp_path, cache):
    """`--stop-after teacher` after an export edit wrote config.json of the new config and
    left final.pt and summary.md of the old one (and their ledger entry) beside it."""
    run = tmp_path / "run"
    _run(run, BASE, cache)
    _, logs = _run(run, BASE, cache, stop_after="teacher")          # nothing changed: kept
    assert all((run / n).is_file() for n in EXPORTS) and "export" in Ledger(run).stages
    _, logs = _run(run, _with(BASE, "export", tolerance=5e-4), cache, stop_after="teacher")
    assert not any((run / n).exists() for n in EXPORTS)
    assert set(Ledger(run).stages) == {"teacher"}
    assert any("export and the stages after it do not match this config" in l for l in logs)
