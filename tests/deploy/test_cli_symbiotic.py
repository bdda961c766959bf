"""``nnsynth symbiotic``: bad input is a one-line error (exit 2) before any training."""
from click.testing import CliRunner

from deploy.cli.main import cli


def test_symbiotic_cli_errors(tmp_path):
    (tmp_path / "file").write_text("x")
    base = ["symbiotic", "--out", str(tmp_path / "out")]
    cases = [
        (["--dataset", "nope", "--platform", "host"], "unknown text set 'nope'"),
        (["--dataset", "enwiki", "--platform", "gpu"], "--platform must be one of host, accel"),
        (["--dataset", "enwiki", "--platform", "host", "--widths", "32,x"],
         "--widths must be comma-separated integers"),
        (["--dataset", "enwiki", "--platform", "host", "--cells", "gru"], "cells must be"),
        (["--dataset", "enwiki", "--platform", "host", "--sparsities", "1.5"],
         "--sparsities: each value must be in (0, 1), got 1.5"),
        (["--dataset", "text:/no/such.txt", "--platform", "host"], "text file not found"),
    ]
    for extra, message in cases:
        r = CliRunner().invoke(cli, base + extra)
        assert r.exit_code == 2 and message in r.output, (extra, r.output)
        assert "Traceback" not in r.output
    r = CliRunner().invoke(cli, ["symbiotic", "--dataset", "enwiki", "--platform", "host",
                                 "--out", str(tmp_path / "file")])
    assert r.exit_code == 2 and "is a file" in r.output
    assert (tmp_path / "file").read_text() == "x"
    mine = tmp_path / "mine"                # report.md, latency.png would have replaced them
    mine.mkdir()
    (mine / "report.md").write_text("my notes")
    r = CliRunner().invoke(cli, ["symbiotic", "--dataset", "enwiki", "--platform", "host",
                                 "--out", str(mine)])
    assert r.exit_code == 2 and "holds files nnsynth did not write" in r.output, r.output
    assert [p.name for p in mine.iterdir()] == ["report.md"]


def test_symbiotic_cli_end_to_end_on_a_tiny_text(tmp_path):
    import json
    words = "the cat sat on the mat and the dog ran far away then slept".split()
    text = "\n".join(" ".join(words[(i * 5 + j) % len(words)] for j in range(8)).capitalize()
                     + "." for i in range(150))
    (tmp_path / "t.txt").write_text(text)
    out = tmp_path / "out"
    args = ["symbiotic", "--dataset", f"text:{tmp_path / 't.txt'}", "--platform", "accel",
            "--out", str(out), "--cells", "lstm", "--widths", "4,8", "--baseline-width", "8",
            "--epochs", "1", "--max-batches", "2", "--min-count", "1", "--rounds", "2",
            "--sparsities", "0.5", "--no-ray", "--json"]
    r = CliRunner().invoke(cli, ["-v"] + args)   # -v: the log lines go to stderr alone
    assert r.exit_code == 0, r.output
    result = json.loads(r.stdout)                  # stdout is the one JSON object
    assert r.stdout.count("\n") == 1, r.stdout
    assert set(result["models"]) == {"baseline", "plain", "plain_pruned", "symbiotic"}
    assert {p.name for p in out.iterdir()} >= {"report.json", "report.md", "latency.png"}
    png = (out / "latency.png").read_bytes()       # a real image (about 70 kB here)
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and png[12:16] == b"IHDR" and len(png) > 1024
    assert png.endswith(b"IEND\xaeB`\x82")
    report = json.loads((out / "report.json").read_text())
    assert report["platform"] == "accel" and report["tables"]["accel"]["rows"]
    assert result["choice"]["symbiotic"][0] == "lstm"
    r = CliRunner().invoke(cli, args)                  # its own --out: run again there
    assert r.exit_code == 0, r.output


def test_report_json_has_no_nan(tmp_path, monkeypatch):
    """--cells hlstm left the baseline's cell (lstm) out of the latency table: its table_ms
    was NaN, written as NaN into report.json (not JSON to most readers).  The baseline's
    row is now in the table, and a figure that could not be measured (here the report's
    perplexities, made NaN) is null in report.json and "none" in report.md."""
    import json
    import math
    import deploy.symbiotic as symbiotic
    words = "the cat sat on the mat and the dog ran far away then slept".split()
    text = "\n".join(" ".join(words[(i * 5 + j) % len(words)] for j in range(8)).capitalize()
                     + "." for i in range(150))
    (tmp_path / "t.txt").write_text(text)
    # the report's perplexities: none could be measured; the baseline's test perplexity,
    # which the report takes from its training since h265, neither (its val is the target)
    monkeypatch.setattr(symbiotic, "perplexity", lambda *a, **kw: math.nan)
    trained = symbiotic.train_candidate

    def untested(*args, **kw):
        return {**trained(*args, **kw), "test_perplexity": math.nan}
    monkeypatch.setattr(symbiotic, "train_candidate", untested)
    out = tmp_path / "out"
    r = CliRunner().invoke(cli, ["symbiotic", "--dataset", f"text:{tmp_path / 't.txt'}",
                                 "--platform", "accel", "--out", str(out), "--cells", "hlstm",
                                 "--widths", "4,8", "--baseline-width", "8", "--epochs", "1",
                                 "--max-batches", "2", "--min-count", "1", "--rounds", "2",
                                 "--sparsities", "0.5", "--no-ray", "--json"])
    assert r.exit_code == 0, r.output

    def strict(constant):
        raise AssertionError(f"report.json holds {constant}")
    report = json.loads((out / "report.json").read_text(), parse_constant=strict)
    assert report["models"]["baseline"]["cell"] == "lstm"
    assert report["models"]["baseline"]["table_ms"] > 0
    assert json.loads(r.output.strip().splitlines()[-1])["models"]["baseline"]["table_ms"] > 0
    assert report["models"]["baseline"]["test_perplexity"] is None
    rows = [line for line in (out / "report.md").read_text().splitlines()
            if line.startswith("| baseline ")]
    assert rows and " | none | " in rows[0] and "nan" not in rows[0], rows
