"""Helper 228: ``nnsynth search --resume`` of a finished search imports no torch.  It read
the search's saved space as a search that runs reads it, its family looked up (and its
ranges checked) in ``synth.models``' registry, which imports torch (~4 s of a loaded
2-core machine's import time), to print the summary of results.parquet.  The summary reads
the space unchecked (its constraints and size); the family is checked against the trials'
own, and looked up where the search runs.  A bad saved space is still one line, exit 2.

No Ray: the searches are written as ``run_search`` writes them (test_h216's ``_search``).
"""
import importlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

from search.run import SPACE_FILE, run_search
from search.space import Space
from tests._cli import one_error_line, run
from tests.search.test_h216_search_state import NoRay, _search

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def no_ray(monkeypatch):
    def refuse(*a, **k):
        raise NoRay
    monkeypatch.setattr(importlib.import_module("cluster.connect"), "connect", refuse)


def test_a_finished_resume_imports_no_torch(tmp_path):
    out = _search(tmp_path / "s")
    code = ("import json, sys\n"
            "from deploy.cli.main import cli\n"
            "try:\n"
            f"    cli(['-q', 'search', '--resume', {str(out)!r}])\n"
            "except SystemExit as e:\n"
            "    assert not e.code, e.code\n"
            "print(json.dumps([m for m in ('torch', 'synth.models') if m in sys.modules]))\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=ROOT, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    lines = done.stdout.strip().splitlines()
    assert lines[0].startswith(f"2 trials in {out}"), done.stdout
    assert json.loads(lines[-1]) == [], lines[-1]


def _edit_space(out: Path, **changes) -> None:
    path = out / SPACE_FILE
    definition = json.loads(path.read_text())
    path.write_text(json.dumps({**definition, **changes}))


def test_a_bad_saved_space_is_still_refused_in_one_line(tmp_path, no_ray):
    finished = _search(tmp_path / "f")
    _edit_space(finished, family="nosuch")                  # another family than its trials'
    line = one_error_line(run(["search", "--resume", str(finished)]))
    assert line == (f"error: {finished / SPACE_FILE} is corrupt (its family 'nosuch' is not "
                    f"that of the search's trials, 'mlp'); start a new search with another "
                    f"--out")
    _edit_space(finished, family="mlp")
    out = _search(tmp_path / "u", rows=1, trials=3)          # one to run: checked in full
    _edit_space(out, params={"hidden": {"list": [8, 16], "length": [1, 2]},
                             "colour": {"choice": [1, 2]}})   # no key of the mlp family
    line = one_error_line(run(["search", "--resume", str(out)]))
    assert line == (f"error: {out / SPACE_FILE} is corrupt (not the search space the search "
                    f"started with); start a new search with another --out")
    (out / SPACE_FILE).write_text('{"family": "mlp", "par')     # cut short
    line = one_error_line(run(["search", "--resume", str(out)]))
    assert line.startswith(f"error: {out / SPACE_FILE} is corrupt"), line
    (finished / SPACE_FILE).write_text('{"family": "mlp", "par')
    line = one_error_line(run(["search", "--resume", str(finished)]))
    assert line.startswith(f"error: {finished / SPACE_FILE} is corrupt"), line


def test_an_unfinished_resume_checks_the_family(tmp_path, no_ray):
    out = _search(tmp_path / "u", rows=1, trials=3)
    with pytest.raises(NoRay):                              # a good space: on to Ray
        run_search(None, out, resume=True, progress=False)
    _edit_space(out, family="nosuch")
    line = one_error_line(run(["search", "--resume", str(out)]))
    assert line == (f"error: {out / SPACE_FILE} is corrupt (not the search space the search "
                    f"started with); start a new search with another --out")


@pytest.mark.parametrize("definition", [
    {"family": "mlp", "params": {"hidden": {"list": [8, 16], "length": [1, 3]},
                                 "bn": {"choice": [False, True]},
                                 "dropout": {"choice": [0.0, 0.2], "when": {"bn": True}}}},
    {"family": "convnet", "params": {"widths": {"list": [4, 8], "length": [1, 2]},
                                     "kernels": {"list": [1, 3], "length": "widths"}},
     "constraints": ["parameters<=5000"]},
    {"a": {"int": [1, 4]}, "c": {"choice": [1, 2]}, "b": {"choice": ["x", "y"], "when": {"c": 1}}},
    {"family": "mlp", "params": {"hidden": {"list": [8, 16, 32, 64], "length": [1, 8]}}},
])
def test_counted_members_are_the_listed_ones(definition):
    checked, unchecked = Space(definition), Space(definition, check_family=False)
    members = checked.members()
    assert unchecked.count_members() == (None if members is None else len(members))
    assert unchecked.constraints == checked.constraints
    assert unchecked.family == checked.family
