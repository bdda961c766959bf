"""``nnsynth secret`` on a user's table whose names SECRET cannot tell apart (h327): a class
named by the other classes' words together ("rain/snow" beside "rain" and "snow") is one
line, exit 2 (it ran, and the semantic space never chose that class, F1 0.0000, silently);
--class-names 'cat,,dog' names the empty name's position (it said "class '' has no words")."""
import csv

import numpy as np
import pytest
from click.testing import CliRunner

from deploy.cli.main import cli


def _table(path, labels, per_class=20):
    rng = np.random.default_rng(0)
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["a", "b", "c", "label"])
        for k, lab in enumerate(labels):
            for _ in range(per_class):
                w.writerow([*(rng.normal(k, 1, 3)), lab])
    return path


@pytest.mark.parametrize("labels, extra, says", [
    (["rain", "snow", "rain/snow"], [],
     "error: the label vector of class 'rain/snow' is the mean of the other classes' ('rain', "
     "'snow')"),
    (["0", "1", "2"], ["--class-names", "cat,,dog"],
     "error: --class-names gives '' at position 2 of 3, a name of no words"),
])
def test_names_secret_cannot_tell_apart_are_one_line(tmp_path, labels, extra, says):
    path = _table(tmp_path / "t.csv", labels)
    r = CliRunner().invoke(cli, ["secret", "--dataset", f"csv:{path}", *extra])
    lines = [line for line in r.output.splitlines() if line.strip()]
    assert r.exit_code == 2 and len(lines) == 1 and lines[0].startswith(says), r.output
