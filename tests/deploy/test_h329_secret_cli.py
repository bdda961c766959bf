"""h329: ``nnsynth secret``'s unknown-word error gives the command line's remedy
(--class-names), not the library's parameters (class_names={...}, label_vectors={...}) that
it told a command-line user before."""
from click.testing import CliRunner

from deploy.cli.main import cli


def test_the_unknown_word_error_names_the_option_not_the_parameters():
    r = CliRunner().invoke(cli, ["secret", "--dataset", "iris"])
    lines = [line for line in r.output.splitlines() if line.strip()]
    assert r.exit_code == 2 and len(lines) == 1, r.output
    line = lines[0]
    assert line.startswith("error: class 'setosa': the word 'setosa' has no GloVe vector")
    assert "--class-names" in line
    assert "class_names=" not in line and "label_vectors" not in line
