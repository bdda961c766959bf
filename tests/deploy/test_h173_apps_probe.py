"""h173's probe of `nnsynth secret` and `nnsynth diabdeep` as a user runs them."""
import json
import logging

import synth.diabdeep as diabdeep
from tests._cli import one_error_line, run

# a DiabDeep run of a few seconds (basicmotions, 6 x 100)
TINY = {"server_hidden": [8], "edge_hidden": 4, "gate_hidden": 2, "growth_rounds": 1,
        "growth_batches": 1, "prune_steps": 1, "retrain_epochs": 1, "final_epochs": 0,
        "latency_repeats": 1, "forest_trees": 2}


def _diabdeep(out=None):
    args = ["-q", "diabdeep", "--dataset", "basicmotions", "--steps", "4", "--epochs", "1",
            "--baselines", "forest", "--options", json.dumps(TINY)]
    return run(args + (["--out", str(out)] if out else []))


def test_ctrl_c_of_diabdeep_with_out_says_that_a_rerun_resumes(tmp_path, monkeypatch, caplog):
    """nnsynth diabdeep --out r.json, Ctrl-C during the edge DiabNN: the finished server row
    was in r.json.resume and a rerun resumed after it, but the message said "this command
    writes its output at the end, so none was written; rerun it to start again"."""
    real = diabdeep.synthesize

    def ctrl_c_at_the_edge(kind, *a, **k):   # the user's Ctrl-C, once the server row is kept
        if kind == "edge":
            raise KeyboardInterrupt
        return real(kind, *a, **k)
    monkeypatch.setattr(diabdeep, "synthesize", ctrl_c_at_the_edge)
    out = tmp_path / "r.json"
    r = _diabdeep(out)
    assert r.exit_code == 130, r.output
    assert "none was written" not in r.output, r.output
    assert f"kept in {out}.resume; rerun the same command to resume" in r.output, r.output
    assert (tmp_path / "r.json.resume").is_file() and not out.exists()

    monkeypatch.setattr(diabdeep, "synthesize", real)   # the rerun resumes, as it said
    trained = []
    monkeypatch.setattr(diabdeep, "synthesize",
                        lambda kind, *a, **k: trained.append(kind) or real(kind, *a, **k))
    with caplog.at_level(logging.WARNING):
        r = _diabdeep(out)
    assert r.exit_code == 0, r.output
    assert trained == ["edge"] and "resuming DiabDeep after 1 finished rows" in caplog.text
    assert out.is_file() and not (tmp_path / "r.json.resume").exists()


def test_ctrl_c_of_diabdeep_before_any_row_or_without_out_promises_no_resume(tmp_path,
                                                                             monkeypatch):
    def ctrl_c(*a, **k):
        raise KeyboardInterrupt
    monkeypatch.setattr(diabdeep, "synthesize", ctrl_c)
    for out in (tmp_path / "r.json", None):
        r = _diabdeep(out)
        assert r.exit_code == 130, r.output
        assert "resume" not in r.output and "start again" in r.output, r.output
    assert list(tmp_path.iterdir()) == []


def test_diabdeep_out_whose_resume_name_is_a_folder_is_refused_before_training(tmp_path,
                                                                              monkeypatch):
    """nnsynth diabdeep --out r.json with a folder r.json.resume: the server DiabNN trained,
    then keeping its row ended in an IsADirectoryError traceback (the work lost)."""
    (tmp_path / "r.json.resume").mkdir()
    (tmp_path / "r.json.resume" / "mine.txt").write_text("keep")
    trained = []
    real = diabdeep.synthesize
    monkeypatch.setattr(diabdeep, "synthesize",
                        lambda kind, *a, **k: trained.append(kind) or real(kind, *a, **k))
    line = one_error_line(_diabdeep(tmp_path / "r.json"))
    assert "r.json.resume is a directory" in line and "--out" in line, line
    assert trained == [] and (tmp_path / "r.json.resume" / "mine.txt").read_text() == "keep"
    (tmp_path / "x.json.resume").symlink_to(tmp_path / "nowhere")   # a link of the user's
    line = one_error_line(_diabdeep(tmp_path / "x.json"))
    assert "x.json.resume is a link to nothing" in line and trained == [], line
    assert (tmp_path / "x.json.resume").is_symlink()


def test_diabdeep_sizes_every_network_before_the_first_trains(monkeypatch):
    """--options '{"edge_hidden": 1000000}': the server DiabNN trained (minutes on blink),
    then the edge H-LSTM's 264,001,668 parameters were refused."""
    trained = []
    monkeypatch.setattr(diabdeep, "synthesize", lambda kind, *a, **k: trained.append(kind))
    monkeypatch.setattr(diabdeep, "dense_baseline", lambda name, *a, **k: trained.append(name))
    for options, name in [({"edge_hidden": 1000000}, "edge_diabnn"),
                          ({"edge_hidden": 3000}, "lstm2")]:   # the edge fits, lstm2 not
        line = one_error_line(run(["diabdeep", "--dataset", "basicmotions", "--baselines",
                                   "lstm2", "--options", json.dumps(options)]))
        assert line.startswith(f"error: diabdeep's {name}: model spec") and "parameters" in line
    assert trained == []
