"""h188: the warning a host CPU table used under other conditions logs is one printable line
of bounded length, whatever its file says it was measured at."""
from hwsim.latency import condition_mismatch, host_identity


def test_recorded_conditions_print_escaped_and_bounded():
    """A table file's conditions ({"cpu": "evil\\x1b[2J...\\nsecond line"}, nnsynth hwsim
    table --table FILE) went into the warning raw: the escape sequence cleared the terminal
    and the newline made a second, forged line on stderr.  A 100,000-character value was a
    100,000-character warning."""
    now = host_identity(1)
    line = condition_mismatch({**now, "cpu": "evil\x1b[2Jcpu\nsecond line",
                               "torch": "x" * 100_000}, 1)
    assert line.isprintable() and "\n" not in line
    assert "evil\\x1b[2Jcpu\\nsecond line" in line        # shown, escaped
    assert len(line) < 1000
    assert condition_mismatch(now, 1) is None
    # an ordinary mismatch reads as before
    assert "torch 1.0.0" in condition_mismatch({**now, "torch": "1.0.0"}, 1)
