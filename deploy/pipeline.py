"""Stage orchestration for ``nnsynth run``: one run directory, a ledger, resume.

    teacher ─► synthesis ─► search ─► refine ─► export (price, ONNX, summary.md)

Every stage writes into the run directory and, when it has finished, records itself in
``ledger.json`` (written atomically: temp file + ``os.replace``).  Rerunning the same
command reads the ledger and skips every stage whose fingerprint (a hash of its config
section, the sections before it and the top-level keys) still matches; a changed section
re-runs that stage and the ones after it.  A stage that was killed half-way is simply
run again; the long ones resume inside themselves (the search stage passes
``resume=True`` so Tune's finished trials are kept, see ``search.run.run_search``).

Before any work, ``check_stages`` validates the option sections of every enabled stage
with their components' own configs, so a typo in the last stage fails in the first second.
"""
from __future__ import annotations

import datetime
import json
import os
import time
from pathlib import Path
from typing import Callable

from deploy.run_config import STAGES, RunConfig
from synth.errors import UserError

from synth.files import write_json_atomic, write_text_atomic  # noqa: E402,F401  (re-exported)

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
                                f"(ledger version {data.get('version')!r})")
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

    def path(self, name: str) -> Path:
        return self.run_dir / name

    def real_data(self):
        """The teacher's real data set (train for the teacher only; test for reporting)."""
        if self._data is None:
            from synth.data import load_dataset
            self._data = load_dataset(self.config.teacher.dataset, seed=self.config.data_seed)
        return self._data

    def connect_ray(self) -> None:
        """Start (or join) Ray once, for the stages that fan out."""
        from cluster.connect import connect
        connect(self.address, self.config.num_cpus or None, quiet=not self.progress)


def default_run_dir(config: RunConfig, root: str | os.PathLike = "runs") -> Path:
    return Path(root) / config.name


def enabled_stages(config: RunConfig) -> list[str]:
    skip = {"synthesis": not config.synthesis.enabled, "search": not config.search.enabled,
            "refine": not config.refine.enabled}
    return [s for s in STAGES if not skip.get(s, False)]


def run_pipeline(config: RunConfig, run_dir: str | os.PathLike | None = None, *,
                 address: str | None = None, progress: bool = True,
                 log: Callable[[str], None] | None = None,
                 stop_after: str | None = None) -> dict:
    """Run (or resume) every enabled stage into ``run_dir``; returns the summary dict.

    ``stop_after`` ends the run after that stage (for inspection and tests)."""
    from deploy import stages as stage_impl
    log = log or (lambda msg: None)
    if stop_after is not None and stop_after not in STAGES:
        raise UserError(f"stop_after must be one of {', '.join(STAGES)}, got {stop_after!r}")
    todo = enabled_stages(config)
    stage_impl.check_stages(config, todo)            # every option validated before any work
    run_dir = Path(run_dir) if run_dir is not None else default_run_dir(config)
    run_dir = run_dir.resolve()
    run_dir.mkdir(parents=True, exist_ok=True)
    write_json_atomic(run_dir / "config.json", config.to_dict())
    ledger = Ledger(run_dir)
    ctx = RunContext(config, run_dir, address=address, progress=progress, log=log)
    for i, stage in enumerate(todo, 1):
        fingerprint = config.stage_fingerprint(stage)
        entry = ledger.done(stage, fingerprint)
        if entry is not None:
            log(f"[{i}/{len(todo)}] {stage}: done earlier ({entry['seconds']:.0f} s), skipped")
            ctx.outputs[stage] = entry["outputs"]
        else:
            dropped = ledger.invalidate_from(stage)
            if dropped and dropped[0] == stage:
                log(f"[{i}/{len(todo)}] {stage}: config changed, re-running "
                    f"{', '.join(dropped)}")
            log(f"[{i}/{len(todo)}] {stage} ...")
            start = time.perf_counter()
            outputs = stage_impl.RUNNERS[stage](ctx)
            seconds = time.perf_counter() - start
            ledger.record(stage, fingerprint, outputs, seconds)
            ctx.outputs[stage] = outputs
            log(f"[{i}/{len(todo)}] {stage}: finished in {seconds:.0f} s")
        if stage == stop_after:
            break
    result = {"run_dir": str(run_dir), "stages": {s: ledger.stages.get(s, {}).get("seconds")
                                                  for s in todo}}
    result.update(ctx.outputs.get("export", {}).get("summary", {}))
    return result
