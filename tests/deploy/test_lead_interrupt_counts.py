"""Ctrl-C of ``nnsynth search`` and ``nnsynth symbiotic`` says what was kept (lead, 12-06).

``nnsynth search --out s1`` interrupted before its first trial said "interrupted: finished
work is kept; rerun it with --resume s1 to continue" of a folder the search had taken away
again (``--resume s1`` then finds nothing), and of one holding no trial; ``symbiotic`` said
"finished work is kept" before any candidate's training had finished.  The lines now count
what is there: results.parquet's rows, <--out>/cache/candidates' files."""
import pyarrow as pa
import pyarrow.parquet as pq

from deploy.cli.main import interrupted_line


def test_search_line_counts_the_finished_trials(tmp_path):
    out = tmp_path / "s"
    line = interrupted_line("search", {"out": str(out)})
    assert line == "interrupted: no search was begun yet; rerun the same command to start it"
    out.mkdir()
    (out / "search_config.json").write_text("{}")
    line = interrupted_line("search", {"out": str(out)})
    assert line == (f"interrupted: no trial had finished yet; rerun it with --resume {out} "
                    f"to start them")
    pq.write_table(pa.table({"trial_id": ["a", "b", "c"]}), out / "results.parquet")
    line = interrupted_line("search", {"resume_dir": str(out)})
    assert line == f"interrupted: 3 finished trials kept; rerun it with --resume {out} to run the rest"
    (out / "results.parquet").write_bytes(b"not parquet")    # unreadable: no count claimed
    line = interrupted_line("search", {"out": str(out)})
    assert line == f"interrupted: finished work is kept; rerun it with --resume {out} to continue"


def test_symbiotic_line_counts_the_finished_trainings(tmp_path):
    line = interrupted_line("symbiotic", {"out": str(tmp_path / "o")})
    assert "no training had finished yet" in line and "kept" not in line, line
    kept = tmp_path / "o" / "cache" / "candidates"
    kept.mkdir(parents=True)
    line = interrupted_line("symbiotic", {"out": str(tmp_path / "o")})
    assert "no training had finished yet" in line, line
    (kept / "0123.pt").write_bytes(b"x")
    line = interrupted_line("symbiotic", {"out": str(tmp_path / "o")})
    assert line == "interrupted: 1 finished training kept; rerun the same command to skip them"
    (kept / "4567.pt").write_bytes(b"x")
    assert interrupted_line("symbiotic", {"out": str(tmp_path / "o")}).startswith(
        "interrupted: 2 finished trainings kept")
