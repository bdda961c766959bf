"""`nnsynth run` on a data file named another way (h301): the run's stages are kept.

A run directory made with ``csv:<abs>/x.csv`` and rerun with the same file spelt
``csv:./x.csv`` (or through a symbolic link, or ``../data/x.csv`` from another folder) re-ran
every stage and said '(changed: teacher.dataset, the files of teacher.dataset)': the ledger's
fingerprint hashes the name and ``Dataset.digest`` hashes the name too, so only the spelling
changed.  The same file with the same contents is now the data the stages were made from
(compared as the ledger recorded it, ``Dataset.as_recorded``); a change of its contents still
re-runs them, and says so.

No Ray: the teacher comes from a teacher cache filled here (tests/deploy/teachers.py)."""
import json
import os

from deploy.ledger import Ledger
from deploy.pipeline import run_pipeline
from deploy.run_config import RunConfig
from tests.deploy.teachers import seed_teacher_cache, teacher_only

MODEL = '{"family": "mlp", "hidden": [8], "bn": true}'


def _csv(path, shift=0.0):
    rows = ["a,b,label"] + [f"{i * 0.1 + shift:.2f},{(i % 7) * 0.3:.2f},{'yes' if i % 2 else 'no'}"
                            for i in range(60)]
    path.write_text("\n".join(rows) + "\n")


def _config(dataset, cache) -> RunConfig:
    values = teacher_only("h301", dataset, MODEL)
    values["teacher"]["cache"] = str(cache)
    return RunConfig.from_dict(values)


def _run(run_dir, dataset, cache):
    logs = []
    run_pipeline(_config(dataset, cache), run_dir, progress=False, log=logs.append)
    return logs


def test_the_same_file_spelt_another_way_keeps_the_stages(tmp_path, monkeypatch):
    data, cache = tmp_path / "data", tmp_path / "teachers"
    data.mkdir()
    _csv(data / "x.csv")
    os.symlink(data / "x.csv", tmp_path / "link.csv")
    (tmp_path / "other").mkdir()
    monkeypatch.chdir(tmp_path)
    first = "csv:data/x.csv"
    seed_teacher_cache(_config(first, cache), cache)
    run = tmp_path / "run"
    _run(run, first, cache)
    recorded = Ledger(run).stages
    for spelt, where in ((f"csv:{data / 'x.csv'}", tmp_path), ("csv:./data/x.csv", tmp_path),
                         ("csv:link.csv", tmp_path), ("csv:../data/x.csv", tmp_path / "other")):
        monkeypatch.chdir(where)
        logs = _run(run, spelt, cache)
        assert sum("done earlier" in line for line in logs) == 2, (spelt, logs)
        assert not any("config or data changed" in line for line in logs), (spelt, logs)
        assert any("spelt another way" in line for line in logs), (spelt, logs)
        assert Ledger(run).stages["teacher"]["fingerprint"] == recorded["teacher"]["fingerprint"]
    # its contents changed: the teacher and export run again, and the line says the files
    # changed (the name too: it is not the name the ledger recorded)
    monkeypatch.chdir(tmp_path)
    _csv(data / "x.csv", shift=1.0)
    seed_teacher_cache(_config("csv:./data/x.csv", cache), cache)
    logs = _run(run, "csv:./data/x.csv", cache)
    line = next(line for line in logs if "config or data changed" in line)
    assert "re-running teacher, export" in line and "the files of teacher.dataset" in line, line
    assert not any("done earlier" in line for line in logs), logs


def test_another_file_of_the_same_contents_is_another_data_set(tmp_path, monkeypatch):
    """A copy is not the file the checkpoints record: the stages run again, and the line
    names the data set's name as what changed, not its files (their contents are those the
    stages were made from)."""
    data, cache = tmp_path / "data", tmp_path / "teachers"
    data.mkdir()
    _csv(data / "x.csv")
    _csv(data / "copy.csv")
    monkeypatch.chdir(tmp_path)
    seed_teacher_cache(_config("csv:data/x.csv", cache), cache)
    seed_teacher_cache(_config("csv:data/copy.csv", cache), cache)
    run = tmp_path / "run"
    _run(run, "csv:data/x.csv", cache)
    logs = _run(run, "csv:data/copy.csv", cache)
    line = next(line for line in logs if "config or data changed" in line)
    assert line.endswith("(changed: teacher.dataset)"), line


def test_the_ledger_records_the_data_as_it_was_read(tmp_path, monkeypatch):
    """Each stage's made_from names the data set's file resolved (found from any folder) and
    a digest of its contents that does not depend on how it is spelt."""
    data, cache = tmp_path / "data", tmp_path / "teachers"
    data.mkdir()
    _csv(data / "x.csv")
    monkeypatch.chdir(tmp_path)
    seed_teacher_cache(_config("csv:data/x.csv", cache), cache)
    _run(tmp_path / "run", "csv:data/x.csv", cache)
    made = json.loads((tmp_path / "run" / "ledger.json").read_text())["stages"]["teacher"]
    record = made["made_from"]["data"]
    assert record["resolved"] == f"csv:{data / 'x.csv'}"
    assert isinstance(record["content"], str) and len(record["content"]) == 16
