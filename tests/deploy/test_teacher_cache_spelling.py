"""The teacher cache's key hashed the data set as spelt: ``csv:d.csv``, ``csv:./d.csv`` and the
file's absolute path each trained the same teacher again.  The key now holds the set's path
made absolute and the digest of its contents (``deploy.ledger.data_record``)."""
import json

from tests._cli import run
from tests.deploy.teachers import teacher_only


def _run(folder, dataset: str, run_dir: str):
    values = {**teacher_only("t", dataset, "mlp_small"),
              "teacher": {"dataset": dataset, "model": "mlp_small", "epochs": 1,
                          "cache": str(folder / "teachers")}}
    (folder / f"{run_dir}.json").write_text(json.dumps(values))
    r = run(["run", str(folder / f"{run_dir}.json"), "--run-dir", str(folder / run_dir)])
    assert r.exit_code == 0, r.output
    return r.output


def test_one_file_spelt_two_ways_trains_one_teacher(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "d.csv").write_text("a,b,label\n" + "".join(
        f"{i % 7},{i % 5 * 0.5},{'xy'[i % 2]}\n" for i in range(60)))
    assert "reusing teacher" not in _run(tmp_path, "csv:d.csv", "r1")
    assert "reusing teacher" in _run(tmp_path, "csv:./d.csv", "r2")
    assert len(list((tmp_path / "teachers").glob("*.pt"))) == 1
    (tmp_path / "d.csv").write_text("a,b,label\n" + "".join(   # other contents: another
        f"{i % 3},{i % 5},{'xy'[i % 2]}\n" for i in range(60)))   # teacher
    assert "reusing teacher" not in _run(tmp_path, "csv:d.csv", "r4")
