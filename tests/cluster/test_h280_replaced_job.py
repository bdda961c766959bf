"""A synthesis job replaced by another (``run_synthesis(replace=True)``: ``nnsynth run``'s
``synthetic/`` after its synthesis section changed) deletes only what a job writes there: the
students folder was removed whole (``shutil.rmtree``), with whatever else it held."""
import json

from cluster.pairs import _check_manifest


def test_a_replaced_job_keeps_files_it_did_not_write(tmp_path):
    (tmp_path / "job.json").write_text(json.dumps({"num_images": 20}))
    (tmp_path / "shard-00000.parquet").write_bytes(b"the old job's shard")
    students = tmp_path / "students"
    students.mkdir()
    (students / "pair-0.pt").write_bytes(b"the old job's student")
    (students / "pair-0.kd.pt").write_bytes(b"its KD state")
    (students / "my_notes.txt").write_text("not nnsynth's")
    _check_manifest(tmp_path, {"num_images": 40}, replace=True)
    assert json.loads((tmp_path / "job.json").read_text()) == {"num_images": 40}
    assert not (tmp_path / "shard-00000.parquet").exists()
    assert sorted(p.name for p in students.iterdir()) == ["my_notes.txt"]


def test_a_replaced_job_removes_its_students_folder_when_that_empties_it(tmp_path):
    (tmp_path / "job.json").write_text(json.dumps({"num_images": 20}))
    (tmp_path / "students").mkdir()
    (tmp_path / "students" / "pair-1.pt").write_bytes(b"student")
    # a pair killed as it saved (process id 2**30: no running process)
    (tmp_path / "students" / f".pair-1.pt.tmp{2**30}.0123456789ab").write_bytes(b"half")
    _check_manifest(tmp_path, {"num_images": 40}, replace=True)
    assert not (tmp_path / "students").exists()
