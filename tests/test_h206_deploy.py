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
