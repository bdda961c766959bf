"""Helper 228: the trial module (``search.trial``) imported ``search.searchers`` for one
constant, the key of a trial's last report, and with it Ray Tune's ``Searcher`` (the
searchers' base class).  Every new ``nnsynth search`` imports the trial
module to check its data and space before Ray starts, so a search refused there (a bound no
member meets) imported Ray Tune to print its one line: 4.4-4.5 s of CPU, 3.2-3.4 s without
(load ~6.6 on 2 cores).  The key lives in ``search.choices`` (constants, no imports), still
public as ``search.searchers.DONE_KEY``."""
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_a_refused_search_imports_no_ray(tmp_path):
    code = ("import json, sys\n"
            "from deploy.cli.main import cli\n"
            "try:\n"
            "    cli(['search', '--dataset', 'iris', '--space', 'mlp', '--constraint',\n"
            f"         'parameters<=10', '--no-hardware', '--out', {str(tmp_path / 's')!r}])\n"
            "except SystemExit as e:\n"
            "    assert e.code == 2, e.code\n"
            "print(json.dumps([m for m in ('ray', 'ray.tune', 'search.searchers')\n"
            "                  if m in sys.modules]))\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=ROOT, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "parameters<=10 cannot be met" in done.stderr, done.stderr[-3000:]
    assert json.loads(done.stdout.strip().splitlines()[-1]) == [], done.stdout
    assert not (tmp_path / "s").exists()


def test_the_key_is_the_searchers_too():
    from search.choices import DONE_KEY
    from search.searchers import DONE_KEY as searchers_key
    assert DONE_KEY == searchers_key == "trial_final"
