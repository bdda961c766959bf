"""The run directory's ledger and the context the stages share.

``ledger.json`` records which stages of ``nnsynth run`` finished, with their fingerprint,
outputs and time (written atomically through ``synth.files``); ``RunContext`` carries the
config, the run directory and earlier stages' outputs to each stage runner.
"""
from __future__ import annotations

import datetime
import json
import os
from pathlib import Path
from typing import Callable

from deploy.run_config import STAGES, RunConfig
from synth.config import short_repr
from synth.errors import UserError
from synth.files import write_json_atomic

LEDGER = "ledger.json"
LEDGER_VERSION = 1


class Ledger:
    """``ledger.json``: which stages finished, with their fingerprint, outputs and time."""

    def __init__(self, run_dir: str | os.PathLike):
        self.path = Path(run_dir) / LEDGER
        self.stages: dict[str, dict] = {}
        if self.path.is_file():
            try:
                data = json.loads(self.path.read_text())
            except json.JSONDecodeError:
                raise UserError(f"{self.path} is corrupt; delete it to start the run over") from None
            if data.get("version") != LEDGER_VERSION:
                raise UserError(f"{self.path} was written by another nnsynth version "
                                f"(ledger version {short_repr(data.get('version'))})")
            self.stages = data.get("stages", {})

    def done(self, stage: str, fingerprint: str) -> dict | None:
        """The stage's recorded outputs when it finished with this fingerprint, else None."""
        entry = self.stages.get(stage)
        if entry and entry.get("fingerprint") == fingerprint:
            return entry
        return None

    def record(self, stage: str, fingerprint: str, outputs: dict, seconds: float) -> None:
        self.stages[stage] = {
            "fingerprint": fingerprint, "outputs": outputs, "seconds": round(seconds, 2),
            "finished": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")}
        self.save()

    def invalidate_from(self, stage: str) -> list[str]:
        """Forget ``stage`` and every later one (their inputs changed)."""
        dropped = [s for s in STAGES[STAGES.index(stage):] if s in self.stages]
        for s in dropped:
            del self.stages[s]
        if dropped:
            self.save()
        return dropped

    def save(self) -> None:
        write_json_atomic(self.path, {"version": LEDGER_VERSION, "stages": self.stages})


class RunContext:
    """What stages share: the config, the run directory, earlier stages' outputs, logging."""

    def __init__(self, config: RunConfig, run_dir: Path, *, address: str | None,
                 progress: bool, log: Callable[[str], None]):
        self.config = config
        self.run_dir = run_dir
        self.address = address
        self.progress = progress
        self.log = log
        self.outputs: dict[str, dict] = {}
        self._data = None
        self._data_digest: str | None = None

    def path(self, name: str) -> Path:
        return self.run_dir / name

    def output(self, stage: str, key: str = "checkpoint") -> Path:
        """A file an earlier stage recorded in the ledger (``outputs[stage][key]``, relative
        to the run directory): stages read their inputs from here, not by file name."""
        return self.path(self.outputs[stage][key])

    def real_data(self):
        """The teacher's real data set (train for the teacher only; test for reporting)."""
        if self._data is None:
            from synth.data import load_dataset
            self._data = load_dataset(self.config.teacher.dataset, seed=self.config.data_seed)
        return self._data

    def data_digest(self) -> str:
        """``Dataset.digest`` of ``real_data()``, hashed once: the ledger's fingerprints and
        the teacher cache's key both take it."""
        if self._data_digest is None:
            self._data_digest = self.real_data().digest()
        return self._data_digest

    def train_placement(self) -> dict:
        """Where trainings run (``cluster.train`` keywords): the ``scaling`` section, with
        checkpoints under the run directory unless it names shared storage."""
        from cluster.train import Scaling
        return {"scaling": Scaling.from_dict(self.config.scaling, where="scaling"),
                "storage_path": self.path("ray_train")}

    def connect_ray(self) -> None:
        """Start (or join) Ray once, for the stages that fan out."""
        from cluster.connect import check_cluster_device, connect
        connect(self.address, self.config.num_cpus or None, quiet=not self.progress)
        check_cluster_device(self.config.device)
