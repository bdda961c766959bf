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
