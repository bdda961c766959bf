"""``nnsynth invert`` says its fidelity warning once in human mode (h255): it printed
'warning: inversion reached fidelity ...' on stderr and again as the summary's 'warning: ...'
line on stdout.  --json keeps it in the object."""
import json

import pytest
from click.testing import CliRunner

from deploy.cli.main import cli
from tests.synth._tiny import one_thread_teacher_checkpoint


@pytest.fixture(scope="module")
def teacher_path(digits, tmp_path_factory):
    return one_thread_teacher_checkpoint(digits, tmp_path_factory.mktemp("t"))


def test_the_fidelity_warning_is_printed_once(ray_local, teacher_path, tmp_path):
    args = ["invert", "--teacher", str(teacher_path), "--num-images", "20", "--iterations",
            "2", "--batch-size", "20", "--out", str(tmp_path / "inv")]
    done = CliRunner().invoke(cli, ["-q", *args])   # 2 iterations: far below the fidelity target
    assert done.exit_code == 0, done.output
    assert done.output.count("inversion reached fidelity") == 1, done.output
    assert done.stderr.startswith("warning: inversion reached fidelity"), done.stderr
    lines = done.stdout.splitlines()
    assert any(x.startswith("fidelity: ") for x in lines), done.stdout
    assert not any(x.startswith("warning: ") for x in lines), done.stdout
    again = CliRunner().invoke(cli, [*args, "--json"])   # resumed: the same set, the same line
    assert again.exit_code == 0, again.output
    summary = json.loads(again.stdout.strip().splitlines()[-1])
    assert summary["warning"].startswith("inversion reached fidelity"), summary
    assert summary["warning"].count("inversion reached fidelity") == 1
