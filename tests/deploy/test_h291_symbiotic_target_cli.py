"""``nnsynth symbiotic --latency-target`` (h291): a target no candidate can meet on the
platform's table is one line, exit 2, before any training or timing, with nothing written;
a target out of range is told by the option."""
from tests._cli import one_error_line, run


def _text(tmp_path):
    words = "the cat sat on the mat and the dog ran far away then slept".split()
    path = tmp_path / "t.txt"
    path.write_text("\n".join(" ".join(words[(i * 5 + j) % len(words)] for j in range(8))
                              for i in range(200)))
    return f"text:{path}"


def test_an_impossible_target_is_one_line_before_any_training(tmp_path):
    out = tmp_path / "out"
    line = one_error_line(run(["symbiotic", "--dataset", _text(tmp_path), "--platform", "accel",
                               "--out", str(out), "--widths", "8,16", "--min-count", "1",
                               "--no-ray", "--latency-target", "1e-9"]))
    assert line.startswith("error: --latency-target cannot be met on the accel table: its "
                           "fastest candidate, lstm 8, takes "), line
    assert line.endswith("got 1e-09 ms"), line
    assert not out.exists()


def test_a_target_out_of_range_is_told_by_the_option(tmp_path):
    for bad in ("-1", "inf", "nan"):
        line = one_error_line(run(["symbiotic", "--dataset", _text(tmp_path), "--platform",
                                   "accel", "--out", str(tmp_path / "o"), "--widths", "8",
                                   "--latency-target", bad]))
        assert line.startswith("error: --latency-target must be ") and "[0, 1000000], got" in line, line
