"""Helper 318: an interrupted search leaves nothing that ``--resume`` does not account for.

- A trial saves its model (models/<trial id>.pt) and then reports; the driver writes its
  results row when the report arrives.  A search ended between the two (SIGTERM, SIGKILL,
  Ctrl-C as a trial finished; reproduced by a SIGTERM while the driver's callback was
  writing) kept a checkpoint no row names: ``--resume`` trained the trial again and the old
  file stayed in models/ for good.  A resume removes such a file -- only one nnsynth saved
  for a trial of this search: named for the trial id its metrics hold, role "search
  trial" -- and says so in one line; a user's files in models/ are left alone, and the
  summary never names the removed one.
- ``kill -- -PGID`` (or ``timeout``, which signals its whole group) of a search reached
  Ray's own processes too: the raylet and GCS went with the command, and after its
  'interrupted:' line Ray waited 60 s for the dead GCS, printed 'Failed to connect to GCS
  within 60 seconds' and ended the process with status 1 (or ended it at once with
  status 1).  Ray's processes now run in a process group of their own (killed with the
  process by Ray's fate sharing), and a command whose local Ray is gone anyway (a job's
  end signals every process) ends without waiting for it.  ``deferred_sigint`` left Ray's
  SIGTERM handler in place where SIGINT was ignored (a command started with '&' by a
  script): ``kill`` then aborted the process in Ray's crash handler (exit 134, a stack).

No Ray for the resumes: the searches are written as ``run_search`` writes them
(test_h216's ``_search``), and the orphan as ``search.trial.train_candidate`` saves it.
"""
import json
import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from search.results import read_results
from search.run import run_search
from search.unfinished import TRIAL_ROLE, trial_checkpoint, unrecorded_checkpoints
from tests._cli import run
# the fixture that makes cluster.connect.connect raise NoRay (a resume that must not start Ray)
from tests.search.test_h216_search_state import NoRay, _search, no_ray  # noqa: F401

ROOT = Path(__file__).resolve().parents[2]


def _trial_model(path: Path, trial_id: str, role: str = TRIAL_ROLE) -> Path:
    """A model saved as a search trial saves it (``train_candidate``): its metrics are the
    row it was about to report."""
    from synth.checkpoint import save_checkpoint
    from synth.models import build
    model = build({"family": "mlp", "hidden": [8]}, (4,), 3)
    return save_checkpoint(path, model, metrics={
        "trial_id": trial_id, "spec": json.dumps({"family": "mlp", "hidden": [8]}),
        "accuracy": 1.0, "test_accuracy": 1.0, "checkpoint": str(path)},
        extra={"role": role})


def _interrupted(out: Path) -> tuple[Path, dict[str, bytes]]:
    """``out`` as a search killed between a trial's save and its row leaves it (the trial
    t9, the best accuracy of any), beside files of models/ that nnsynth did not write
    there as a trial's: (the orphan, {name: bytes} of those)."""
    orphan = _trial_model(trial_checkpoint(out, "t9"), "t9")
    models = out / "models"
    (models / "notes.txt").write_text("mine")
    _trial_model(models / "mine.pt", "mine", role="")            # nnsynth train's, say
    _trial_model(models / "ab12cd34.pt", "t3")                   # a trial's, copied by hand
    (models / "garbage.pt").write_bytes(b"not a model")
    elsewhere = _trial_model(out.parent / "link.pt", "link")
    (models / "link.pt").symlink_to(elsewhere)                   # through a link: not ours
    (models / "dir.pt").mkdir()
    kept = {p.name: p.read_bytes() for p in models.iterdir()
            if p.is_file() and not p.is_symlink() and p != orphan}
    return orphan, kept


def _kept(out: Path, kept: dict) -> None:
    models = out / "models"
    assert {n: (models / n).read_bytes() for n in kept} == kept
    assert (models / "link.pt").is_symlink() and (models / "dir.pt").is_dir()


REMOVED = ("resume: 1 checkpoint of an unfinished trial removed (models/t9.pt: saved, but "
           "the search was interrupted before its row in results.parquet was written)")


def _said(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if "resume:" in r.getMessage()]


def test_a_finished_search_resumed_removes_the_orphan_and_never_names_it(tmp_path, no_ray,
                                                                          caplog):
    out = _search(tmp_path / "s", rows=2, trials=2)
    orphan, kept = _interrupted(out)
    with caplog.at_level(logging.WARNING, logger="search"):
        r = run(["search", "--resume", str(out), "--json"])
    assert r.exit_code == 0, r.output
    summary = json.loads(r.stdout.strip().splitlines()[-1])
    assert not orphan.exists()
    _kept(out, kept)
    assert _said(caplog) == [REMOVED]
    assert summary["best_trial"] == "t1" and summary["trials"] == 2
    assert "t9" not in summary["pareto_front"]
    assert (out / "best.pt").read_bytes() == (out / "models" / "t1.pt").read_bytes()
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="search"):
        again = run(["search", "--resume", str(out)])             # nothing more to say
    assert again.exit_code == 0 and _said(caplog) == [], again.output


def test_an_unfinished_search_removes_it_before_its_trials_run(tmp_path, no_ray, caplog):
    out = _search(tmp_path / "s", rows=1, trials=3)
    orphan, kept = _interrupted(out)
    assert orphan == out / "models" / "t9.pt"
    assert unrecorded_checkpoints(out, read_results(out / "results.parquet")) == [orphan]
    r = run(["search", "--resume", str(out), "--trials", "5"])   # other settings: refused,
    assert r.exit_code == 2 and orphan.exists(), r.output       # nothing removed
    with caplog.at_level(logging.WARNING, logger="search"), pytest.raises(NoRay):
        run_search(None, out, resume=True, progress=False)      # removed, then Ray starts
    assert not orphan.exists()
    _kept(out, kept)
    assert _said(caplog) == [REMOVED]
    assert len(read_results(out / "results.parquet")) == 1


def test_sigterm_handler_is_put_back_where_sigint_is_ignored():
    from cluster.connect import deferred_sigint

    def ours(signum, frame):
        pass

    before = signal.signal(signal.SIGINT, signal.SIG_IGN), signal.signal(signal.SIGTERM, ours)
    try:
        with deferred_sigint():
            signal.signal(signal.SIGTERM, lambda s, f: sys.exit(s))   # as ray.init does
        assert signal.getsignal(signal.SIGTERM) is ours
        assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
    finally:
        signal.signal(signal.SIGINT, before[0])
        signal.signal(signal.SIGTERM, before[1])


LOST_RAY = """
import os, signal, sys
from cluster.connect import connect
connect(num_cpus=1)
from ray import tune
tune.register_trainable("h318_lost", lambda config: None)   # Tune's exit hook, as a search's
from ray._private import worker
node = worker._global_node
procs = [p.process for name in ("gcs_server", "raylet") for p in node.all_processes[name]]
print(json.dumps([os.getpgid(p.pid) != os.getpgrp() for p in procs]), flush=True)
for p in procs:
    os.kill(p.pid, signal.SIGKILL)     # a job's end: every process of it signalled
for p in procs:
    p.wait()
from deploy.cli.main import exit_without_teardown, lost_ray_abandoned
print(json.dumps(lost_ray_abandoned()), flush=True)
exit_without_teardown(SystemExit(143))   # the nnsynth script's exit
"""


def test_a_command_whose_local_ray_is_gone_ends_at_once():
    """Ray's processes are in a group of their own (``kill -- -PGID`` of the command does
    not reach them), and where they are gone all the same the command's exit does not wait
    60 s for their GCS.  A process of its own: it kills its Ray."""
    start = time.monotonic()
    done = subprocess.run([sys.executable, "-c", "import json\n" + LOST_RAY], cwd=ROOT,
                          capture_output=True, text=True, timeout=50,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    lines = done.stdout.strip().splitlines()
    assert done.returncode == 143, (done.returncode, done.stdout, done.stderr[-2000:])
    assert json.loads(lines[0]) == [True, True] and json.loads(lines[1]) is True, done.stdout
    assert "Failed to connect to GCS" not in done.stderr, done.stderr[-2000:]
    assert time.monotonic() - start < 45
