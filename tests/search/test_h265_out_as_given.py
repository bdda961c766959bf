"""nnsynth search names its --out (--resume) folder as the user typed it (h265): a relative
--out runs/s was shown as '/home/u/.../runs/s' in the start line, the summary line and its
refusals, where invert and train name their --out as given.  No Ray: the refusals come
before it starts, the lines are made from their functions."""
from click.testing import CliRunner

from deploy.cli.commands.search import summary_text
from deploy.cli.main import cli
from search.run import SearchConfig, start_text


def _line(args):
    r = CliRunner().invoke(cli, args)
    lines = r.output.strip().splitlines()
    assert r.exit_code == 2 and len(lines) == 1, (r.exit_code, r.output[-2000:])
    return lines[0]


def test_refusals_name_the_folder_as_given(tmp_path, monkeypatch):
    from synth.files import claim_dir
    monkeypatch.chdir(tmp_path)
    assert _line(["search", "--resume", "runs/s"]) == (
        "error: nothing to resume in runs/s: no search_config.json")
    claim_dir(tmp_path / "old", "--out")   # an earlier search's folder (nnsynth's marker)
    (tmp_path / "old" / "search_config.json").write_text("{}")
    (tmp_path / "old" / "results.parquet").write_bytes(b"")
    assert _line(["search", "--out", "old", "--dataset", "iris", "--space", "mlp",
                  "--trials", "1", "--no-hardware"]) == (
        "error: old holds an earlier search; resume it with --resume old or choose another "
        "--out")


def test_lines_name_the_folder_as_given(tmp_path):
    config = SearchConfig(space="mlp", dataset="iris", trials=2, hardware=False)
    out = tmp_path / "runs" / "s"
    assert start_text(config, out, resume=False, given="runs/s").endswith("results in runs/s")
    summary = {"trials": 2, "trials_errored": 1, "out_dir": str(out), "best_accuracy": 1.0,
               "best_test_accuracy": 0.75, "best_parameters": 10, "best_latency_ms": None,
               "pareto_front": ["a"], "pareto_png": str(out / "pareto.png")}
    line = summary_text(summary, "runs/s")
    assert str(tmp_path) not in line, line
    assert line.startswith("2 trials, 1 more failed (their errors: runs/s/") and (
        " in runs/s; " in line and line.endswith(": runs/s/pareto.png"))
    assert summary_text(summary) == summary_text(summary, None)   # no --out: as it is
