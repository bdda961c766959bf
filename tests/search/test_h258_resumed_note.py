"""A finished search resumed with --resume says the notes its first run said (h258).

The summary of a search whose --dataset holds shorter series than its --teacher's carries
eval's padded-series note (``search.run.data_note``, d0cf38f); a finished search's --resume
builds its summary without loading the data (test_h216), and its summary lacked the note.
The run records the note beside the digest of its data (``record_data_note``), and a
finished resume's summary carries it (``saved_data_note``); a search recorded before the
note was kept loads its data for it.  No Ray: the search is written here as ``run_search``
leaves it (``begin_search``, a row appended to results.parquet)."""
import importlib
import json
import time
from pathlib import Path

import pytest

from search.results import append_result
from search.run import (INPUTS_FILE, begin_search, data_note, real_split_seed, run_search,
                        searchable_space)
from search.trial import real_data
from synth.files import claim_dir
from tests.search import test_h256_short_series_teacher

short = test_h256_short_series_teacher.short   # the fixture: h256's search of shorter series


@pytest.fixture
def no_ray(monkeypatch):
    def refuse(*a, **k):
        raise AssertionError("Ray started")
    monkeypatch.setattr(importlib.import_module("cluster.connect"), "connect", refuse)


def _finished(out: Path, config) -> Path:
    """A search of one trial, finished, as ``run_search`` leaves it (the model a stand-in)."""
    out = out.resolve()
    claim_dir(out, "--out")
    begin_search(out, config, searchable_space("mlp"))
    (out / "models").mkdir()
    model = out / "models" / "t0.pt"
    model.write_bytes(b"a model")
    append_result(out / "results.parquet", dict(
        trial_id="t0", spec=json.dumps({"family": "mlp", "hidden": [8]}), accuracy=0.5,
        test_accuracy=0.5, parameters=100, nonzero_parameters=100, flops=100,
        nonzero_flops=100, epochs=1, wall_seconds=1.0, stopped_early=False,
        checkpoint=str(model), finished_at=time.time(), device="cpu",
        selected_on="real_val"))
    return out


def _first_runs_note(config) -> dict:
    """What the first run adds to its summary (search.run._run_locked)."""
    return data_note(real_data(config.dataset, real_split_seed(config), config.teacher),
                     config)


def test_a_search_recorded_before_the_note_loads_its_data_for_it(short, tmp_path, no_ray):
    config, _ = short
    out = _finished(tmp_path / "s", config)
    noted = _first_runs_note(config)
    assert "(at most 4 steps) were left-padded" in noted["note"]
    summary = run_search(None, out, resume=True, progress=False)
    assert summary["note"] == noted["note"]


def test_a_finished_resume_says_the_note_the_run_recorded(short, tmp_path, no_ray,
                                                         monkeypatch):
    from search.run import record_data_note
    config, _ = short
    out = _finished(tmp_path / "s", config)
    noted = _first_runs_note(config)
    record_data_note(out, noted)          # as the run does once its data is loaded
    assert json.loads((out / INPUTS_FILE).read_text())["data_note"] == noted["note"]

    def no_data(*a, **k):
        raise AssertionError("the data set was loaded")
    monkeypatch.setattr(importlib.import_module("search.trial"), "real_data", no_data)
    summary = run_search(None, out, resume=True, progress=False)
    assert summary["note"] == noted["note"]
    record_data_note(out, {})             # a search whose data was not padded: no note
    assert "note" not in run_search(None, out, resume=True, progress=False)
