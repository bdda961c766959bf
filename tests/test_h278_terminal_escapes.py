"""Escape sequences in what nnsynth prints on stderr (helper h278): a config file named
'c<ESC>[2J.yaml' that is not valid YAML was named raw in its error line, and on a terminal
the line cleared the screen (click strips escape sequences only where stderr is no
terminal, as under CliRunner: there the sequence vanished).  Error lines, warnings and a
command's own lines now print control characters escaped."""
import logging

from click.testing import CliRunner

from deploy.cli.main import cli, one_line
from deploy.cli.options import _LogFormat, terminal_safe

ESC = "\x1b[2J"


def test_an_error_naming_a_file_with_an_escape_sequence_prints_it_escaped(tmp_path):
    bad = tmp_path / f"c{ESC}.yaml"
    bad.write_text("name: x\nseed: [1\n")
    r = CliRunner().invoke(cli, ["run", str(bad), "--check"])
    lines = [l for l in r.stderr.splitlines() if l.strip()]
    assert r.exit_code == 2 and len(lines) == 1, r.stderr
    assert "c\\x1b[2J.yaml is not valid YAML" in lines[0], lines


def test_one_line_escapes_control_characters_and_keeps_text():
    assert one_line(f"a{ESC}b\nc  d\u202e é") == "a\\x1b[2Jb c d\\u202e é"


def test_a_warning_prints_its_control_characters_escaped():
    record = logging.LogRecord("synth.x", logging.WARNING, "", 0, "file %s is odd",
                               (f"a{ESC}.csv",), None)
    assert _LogFormat(named=False).format(record) == "warning: file a\\x1b[2J.csv is odd"
    assert terminal_safe(f"two\nlines{ESC}") == "two\nlines\\x1b[2J"   # lines kept
