"""The checkpoints of trials a search did not finish recording.

A trial saves its model (``models/<trial id>.pt``, ``trial_checkpoint``) and then reports;
the driver's results callback writes its row of results.parquet when the report arrives
(``search.run.ResultsCallback``).  A search ended between the two (SIGTERM, SIGKILL, Ctrl-C
as the trial finished) kept a checkpoint that no row names: ``--resume`` trained the trial
again (under its own id where Tune's saved state restarts it, under a new one where the
searcher proposes the architecture again) and the old file stayed in models/ for good.

A resume removes such a file (``remove_unrecorded``) once it is sure nnsynth wrote it for
this search: a plain file named as ``trial_checkpoint`` names it, that loads as an nnsynth
checkpoint (safely, ``synth.checkpoint.read_checkpoint``) of role ``TRIAL_ROLE`` whose
metrics name that trial id and that file.  Every other file in models/ (a user's, another
name, one that does not load) is left as it is.  Not reused as a finished trial: its trial
may still be in Tune's saved state (restarted under its id) or not (the searcher goes on
with as many trials as it knows of), and in the second case a row made from it would be one
trial more than ``--trials`` asked for.  The summary and best.pt read results.parquet's rows
only, so they never named such a file either way.
"""
from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

import pandas as pd

logger = logging.getLogger(__name__)

MODELS_DIR = "models"
TRIAL_ROLE = "search trial"   # a trial's checkpoint's extra["role"]


def trial_checkpoint(out_dir: str | os.PathLike, trial_id: str) -> Path:
    """Where the trial ``trial_id`` of the search in ``out_dir`` saves its model."""
    return Path(out_dir) / MODELS_DIR / f"{trial_id}.pt"


def unrecorded_checkpoints(out_dir: str | os.PathLike, table: pd.DataFrame) -> list[Path]:
    """The checkpoints in ``out_dir``/models that nnsynth saved for a trial of this search
    and that no row of ``table`` (its results.parquet) accounts for, by name.  torch is
    loaded only where a file there is not a recorded trial's."""
    folder = Path(out_dir) / MODELS_DIR
    try:
        names = sorted(os.listdir(folder))
    except OSError:                     # no models/ yet (or not a folder): nothing of ours
        return []
    recorded = set(table["trial_id"].astype(str)) if "trial_id" in table.columns else set()
    candidates = [folder / n for n in names
                  if n.endswith(".pt") and n[:-3] not in recorded and _plain_file(folder / n)]
    return [p for p in candidates if _saved_for_trial(p)]


def _plain_file(path: Path) -> bool:
    """A regular file of this user, not through a link."""
    try:
        st = os.lstat(path)
    except OSError:
        return False
    return stat.S_ISREG(st.st_mode) and st.st_uid == os.geteuid()


def _saved_for_trial(path: Path) -> bool:
    """``path`` is the model a search trial saved there (see the module docstring)."""
    from synth.checkpoint import read_checkpoint
    try:
        payload = read_checkpoint(path)
    except Exception:                   # not an nnsynth checkpoint (or not readable): not ours
        return False
    extra = payload.get("extra") if isinstance(payload.get("extra"), dict) else {}
    metrics = payload.get("metrics") if isinstance(payload.get("metrics"), dict) else {}
    named = metrics.get("checkpoint")
    return (extra.get("role") == TRIAL_ROLE and metrics.get("trial_id") == path.stem
            and isinstance(named, str) and Path(named).name == path.name)


def remove_unrecorded(out_dir: str | os.PathLike, table: pd.DataFrame) -> list[Path]:
    """Remove ``unrecorded_checkpoints`` and say so in one line; the paths removed.  For a
    caller holding the search directory's lock (no trial of it is running)."""
    removed = []
    for path in unrecorded_checkpoints(out_dir, table):
        try:
            path.unlink()
            removed.append(path)
        except OSError as e:            # kept: said, and the resume goes on
            logger.warning("resume: %s of an unfinished trial not removed: %s",
                           path, e.strerror or e)
    if removed:
        n = len(removed)
        shown = ", ".join(f"{MODELS_DIR}/{p.name}" for p in removed[:3]) + (
            f" and {n - 3} more" if n > 3 else "")
        logger.warning("resume: %d checkpoint%s of %s removed (%s: saved, but the search "
                       "was interrupted before %s row in results.parquet was written)",
                       n, "" if n == 1 else "s",
                       "an unfinished trial" if n == 1 else "unfinished trials", shown,
                       "its" if n == 1 else "their")
    return removed
