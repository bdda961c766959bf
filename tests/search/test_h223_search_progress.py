"""``nnsynth search``'s progress on stderr is its own: a start line and one line per finished
trial.  It was Ray Tune's: an experiment box, 'Trial status' tables, a 'started with
configuration' box and a 30-line result box per trial, a TensorBoard hint (~45 lines a
trial, ~190 for 4 trials); those now show only under ``-v``, and ``-q`` shows no progress at
all.  stdout holds the summary alone in every case.  Three tiny iris searches through the
CLI in this process, on the module's Ray (the figures of a priced trial: test_h223_trial_line)."""
import re

import pytest
from click.testing import CliRunner

from deploy.cli.main import cli

TUNE_TEXT = ("Trial status", "started with configuration", "TensorBoard",
             "Configuration for experiment", "╭", "View detailed results")
TRIAL_LINE = re.compile(r"^trial (\d)/(\d)  acc \d\.\d{3} \((best so far|best \d\.\d{3})\)  "
                        r"[\d,]+ params  .* s  mlp .*hidden=\[[\d,]+\]", re.M)


@pytest.fixture(scope="module")
def ray_session(ray_local):
    return ray_local


def _search(tmp_path, name: str, *options: str, trials: int = 1):
    args = [*options, "search", "--dataset", "iris", "--space", "mlp", "--searcher", "random",
            "--trials", str(trials), "--concurrency", "2", "--epochs", "1",
            "--no-hardware", "--out", str(tmp_path / name)]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output[-3000:]
    # stdout: the summary line, and nothing of the progress
    assert result.stdout.strip().count("\n") == 0 and "best validation accuracy" in result.stdout, \
        result.stdout[-2000:]
    return result.stderr


def test_default_progress_is_a_line_per_trial_without_tunes_boxes(ray_session, tmp_path):
    err = _search(tmp_path, "s", trials=2)
    assert (f"search: 2 trials, searcher random, 2 at a time, no hardware pricing; results in "
            f"{tmp_path / 's'}") in err, err[-3000:]
    lines = TRIAL_LINE.findall(err)
    assert sorted(i for i, _, _ in lines) == ["1", "2"] and {n for _, n, _ in lines} == {"2"}, \
        err[-3000:]
    assert " ms " not in err and " mJ " not in err, err[-3000:]   # not priced: not shown
    assert not [t for t in TUNE_TEXT if t in err], err[-3000:]
    assert len(err.strip().splitlines()) <= 5, err[-3000:]


def test_verbose_adds_tunes_boxes(ray_session, tmp_path):
    err = _search(tmp_path, "v", "-v")
    assert "search: 1 trial, searcher random" in err and TRIAL_LINE.search(err), err[-3000:]
    assert "Trial status" in err and "started with configuration" in err, err[-3000:]


def test_quiet_shows_no_progress(ray_session, tmp_path):
    err = _search(tmp_path, "q", "-q")
    assert "search:" not in err and not TRIAL_LINE.search(err), err[-3000:]
    assert not [t for t in TUNE_TEXT if t in err], err[-3000:]
