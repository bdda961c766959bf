"""Helper 216: what a search keeps for --resume records what wrote it, and a finished
search resumes without its data set.

- ``begin_search`` records ``search.run.SEARCH_STATE_FORMAT`` with the nnsynth and Ray
  versions in search_inputs.json.  A resume of a state of another format is refused in one
  line naming the nnsynth that wrote it and the one running; one whose Tune experiment a
  Ray of another major.minor release pickled is refused before Ray starts; a state with no
  record (written before it) resumes as it always did.
- ``nnsynth search --resume`` of a finished search loaded the data set (and imported the
  searchers: torch's predictors and Ray Tune) before it saw that nothing was left to run.

No Ray: the searches are written here as ``run_search`` writes them (``begin_search``, rows
appended to results.parquet), and starting Ray fails the test.
"""
import importlib
import json
import subprocess
import sys
import time
from importlib.metadata import version
from pathlib import Path

import pytest

from search.results import append_result, read_results
from search.run import (INPUTS_FILE, SEARCH_STATE_FORMAT, SearchConfig, begin_search,
                        check_same_ray, check_state_format, run_search, searchable_space,
                        state_record)
from synth.errors import UserError
from synth.files import claim_dir
from tests._cli import one_error_line, run

CONFIG = SearchConfig(space="mlp", dataset="iris", trials=2, concurrency=1, n_initial=2,
                      searcher="random", epochs=2, hardware=False, seed=3)


class NoRay(Exception):
    pass


@pytest.fixture
def no_ray(monkeypatch):
    def refuse(*a, **k):
        raise NoRay
    monkeypatch.setattr(importlib.import_module("cluster.connect"), "connect", refuse)


def _search(out: Path, rows: int = 2, trials: int = 2) -> Path:
    """A search directory as ``run_search`` leaves it after ``rows`` trials of ``trials``."""
    out = out.resolve()
    claim_dir(out, "--out")
    begin_search(out, CONFIG.replace(trials=trials), searchable_space("mlp"))
    (out / "models").mkdir()
    for i in range(rows):
        model = out / "models" / f"t{i}.pt"
        model.write_bytes(b"a model")
        append_result(out / "results.parquet", dict(
            trial_id=f"t{i}", spec=json.dumps({"family": "mlp", "hidden": [8 * (i + 1)]}),
            accuracy=0.5 + i / 4, test_accuracy=0.5, parameters=100 * (i + 1),
            nonzero_parameters=100, flops=100, nonzero_flops=100, epochs=2, wall_seconds=1.0,
            stopped_early=False, checkpoint=str(model), finished_at=time.time(),
            device="cpu", selected_on="real_val"))
    return out


def _record(out: Path, **changes) -> None:
    """Set (a value) or drop (None) keys of the search's record of what wrote it."""
    path = out / INPUTS_FILE
    record = json.loads(path.read_text())
    for key, value in changes.items():
        if value is None:
            record.pop(key, None)
        else:
            record[key] = value
    path.write_text(json.dumps(record))


def test_a_search_records_what_wrote_its_state(tmp_path):
    out = _search(tmp_path / "s")
    record = json.loads((out / INPUTS_FILE).read_text())
    assert state_record() == {"state_format": SEARCH_STATE_FORMAT,
                              "nnsynth": version("nnsynth"), "ray": version("ray")}
    assert {k: record[k] for k in state_record()} == state_record()


def test_a_state_of_another_format_is_refused_by_name(tmp_path, no_ray):
    out = _search(tmp_path / "s")
    rows = read_results(out / "results.parquet")
    _record(out, state_format=SEARCH_STATE_FORMAT + 1, nnsynth="9.1.0")
    line = one_error_line(run(["search", "--resume", str(out)]))
    assert line == (f"error: the search in {out} was written by nnsynth 9.1.0 (search state "
                    f"format {SEARCH_STATE_FORMAT + 1}); this is nnsynth {version('nnsynth')} "
                    f"(format {SEARCH_STATE_FORMAT}), which cannot resume it: resume it with "
                    f"the nnsynth that began it, or start the search over in a new directory")
    assert read_results(out / "results.parquet").equals(rows) and not (out / "best.pt").exists()
    _record(out, state_format="1", nnsynth=None)          # not the number nnsynth writes
    with pytest.raises(UserError, match=r"written by another nnsynth \(search state format '1'\)"):
        check_state_format(out)
    _record(out, state_format=2, nnsynth="0.9\nerror: planted")   # one line all the same
    with pytest.raises(UserError, match=r"written by nnsynth '0.9\\nerror: planted' \(search"):
        check_state_format(out)


def test_a_state_without_a_record_resumes_as_before(tmp_path, no_ray):
    """A search begun before the record: format 1, any Ray (the previous session had to
    revert a change that made such searches unresumable, 84c4fb3)."""
    out = _search(tmp_path / "s")
    _record(out, state_format=None, nnsynth=None, ray=None)
    check_state_format(out)
    check_same_ray(out)
    (out / INPUTS_FILE).unlink()                           # before search_inputs.json itself
    check_state_format(out)
    check_same_ray(out)
    out = _search(tmp_path / "t")
    _record(out, state_format=None, nnsynth=None, ray=None)
    r = run(["search", "--resume", str(out)])
    assert r.exit_code == 0 and r.stdout.startswith(f"2 trials in {out}"), r.output


def test_a_tune_state_of_another_ray_release_is_refused_before_ray_starts(tmp_path, no_ray):
    out = _search(tmp_path / "s", rows=1, trials=3)        # interrupted: Tune restores it
    with pytest.raises(NoRay):                             # as written: Ray is started
        run_search(None, out, resume=True, progress=False)
    (out / "tune").mkdir()
    (out / "tune" / "tuner.pkl").write_bytes(b"Tune's pickled experiment")
    running = version("ray")
    major, minor = running.split(".")[:2]
    older = f"{major}.{int(minor) - 1}.0"
    _record(out, ray=older)
    with pytest.raises(UserError) as caught:
        run_search(None, out, resume=True, progress=False)
    assert str(caught.value) == (
        f"the search in {out} was begun under Ray {older} and this is Ray {running}: Ray "
        f"Tune's saved experiment (pickled) is read only by the Ray release that wrote it; "
        f"resume it under Ray {older}, or start the search over in a new directory")
    for same in (f"{major}.{minor}.99", None):             # a patch release; no record
        _record(out, ray=same)
        with pytest.raises(NoRay):
            run_search(None, out, resume=True, progress=False)
    (out / "tune" / "tuner.pkl").unlink()                  # nothing of Tune's to restore
    _record(out, ray=older)
    with pytest.raises(NoRay):
        run_search(None, out, resume=True, progress=False)


def test_a_finished_resume_loads_no_data_set(tmp_path, monkeypatch, no_ray):
    out = _search(tmp_path / "s")

    def no_data(*a, **k):
        raise AssertionError("the data set was loaded")
    monkeypatch.setattr(importlib.import_module("search.trial"), "real_data", no_data)
    summary = run_search(None, out, resume=True, progress=False)
    assert summary["trials"] == 2 and summary["best_trial"] == "t1"


def test_a_finished_resume_imports_neither_ray_nor_the_searchers(tmp_path):
    out = _search(tmp_path / "s")
    code = ("import json, sys\n"
            "from deploy.cli.main import cli\n"
            "try:\n"
            f"    cli(['-q', 'search', '--resume', {str(out)!r}])\n"
            "except SystemExit as e:\n"
            "    assert not e.code, e.code\n"
            "print(json.dumps([m for m in ('ray', 'search.searchers', 'search.predictors',"
            " 'search.trial', 'synth.data') if m in sys.modules]))\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=Path(__file__).resolve().parents[2], timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    lines = done.stdout.strip().splitlines()
    assert lines[0].startswith(f"2 trials in {out}"), done.stdout
    assert json.loads(lines[-1]) == [], lines[-1]
