"""``nnsynth symbiotic --latency-target`` (h291): a target no candidate can meet on the
platform's table is one line, exit 2, before any training or timing, with nothing written;
a target out of range is told by the option."""
from tests._cli import one_error_line, run
from tests._symbiotic import tiny_text


def test_an_impossible_target_is_one_line_before_any_training(tmp_path):
    out = tmp_path / "out"
    text = tiny_text(tmp_path, lines=200)
    line = one_error_line(run(["symbiotic", "--dataset", text, "--platform", "accel",
                               "--out", str(out), "--widths", "8,16", "--min-count", "1",
                               "--no-ray", "--latency-target", "1e-9"]))
    assert line.startswith("error: --latency-target cannot be met on the accel table: its "
                           "fastest candidate, lstm 8, takes "), line
    assert line.endswith("got 1e-09 ms"), line
    assert not out.exists()


def test_a_target_out_of_range_is_told_by_the_option(tmp_path):
    text = tiny_text(tmp_path, lines=200)
    for bad in ("-1", "inf", "nan"):
        line = one_error_line(run(["symbiotic", "--dataset", text, "--platform",
                                   "accel", "--out", str(tmp_path / "o"), "--widths", "8",
                                   "--latency-target", bad]))
        assert line.startswith("error: --latency-target must be ") and "[0, 1000000], got" in line, line


def test_the_report_line_prices_the_choice_again_and_says_a_slower_measurement():
    from deploy.symbiotic import target_line
    report = {"platform": "host", "config": {"bptt": 35}, "load_average": (3.0, 2.0, 1.5),
              "choice": {"latency_target": 0.7},
              "models": {"symbiotic": {"table_ms": 0.669, "host_best_ms": 0.61}}}
    assert target_line(report) == ("latency target: 0.7 ms per 35-token sequence at batch 1 "
                                   "on the host table; the symbiotic model's: 0.669 ms (meets "
                                   "it); measured at the end: best 0.61 ms")
    report["models"]["symbiotic"]["host_best_ms"] = 0.9
    assert "best 0.9 ms, above the target (load average 3.0, 2.0, 1.5" in target_line(report)
    report["platform"] = "accel"   # a model's table: nothing measured to compare
    assert "measured" not in target_line(report)
    report["choice"]["latency_target"] = None
    assert target_line(report) is None
