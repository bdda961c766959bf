"""Stage orchestration for ``nnsynth run``: one run directory, a ledger, resume.

    teacher ─► synthesis ─► search ─► refine ─► export (price, ONNX, summary.md)

Every stage writes into the run directory and, when it has finished, records itself in
``ledger.json`` (written atomically: temp file + ``os.replace``).  Rerunning the same
command reads the ledger and skips every stage whose fingerprint (a hash of its config
section, the sections before it, the top-level keys and the contents of the files they name:
the real data set, a search space file) still matches; a changed section, or a data folder
or space file whose contents changed, re-runs that stage and the ones after it.  A stage that was killed half-way is simply
run again; the long ones resume inside themselves (the search stage passes
``resume=True`` so Tune's finished trials are kept, see ``search.run.run_search``).

Before any work, ``check_stages`` validates the option sections of every enabled stage
with their components' own configs, so a typo in the last stage fails in the first second.
"""
from __future__ import annotations

import logging
import os
import time
from pathlib import Path
from typing import Callable

from deploy import stages as stage_impl
from deploy.ledger import Ledger, RunContext
from deploy.run_config import STAGES, RunConfig, enabled_stages
from synth.config import short_repr
from synth.errors import UserError
from synth.files import claim_dir, lock_dir, write_json_atomic

def default_run_dir(config: RunConfig, root: str | os.PathLike = "runs") -> Path:
    return Path(root) / config.name


__all__ = ["default_run_dir", "enabled_stages", "run_pipeline"]
logger = logging.getLogger(__name__)


def run_pipeline(config: RunConfig, run_dir: str | os.PathLike | None = None, *,
                 address: str | None = None, progress: bool = True,
                 log: Callable[[str], None] | None = None,
                 stop_after: str | None = None) -> dict:
    """Run (or resume) every enabled stage into ``run_dir``; returns the summary dict.

    ``stop_after`` ends the run after that stage (for inspection and tests)."""
    log = log or (lambda msg: logger.info("%s", msg.strip()))
    if stop_after is not None and stop_after not in STAGES:
        raise UserError(f"stop_after must be one of {', '.join(STAGES)}, got {short_repr(stop_after)}")
    stages = enabled_stages(config)
    stage_impl.check_stages(config, stages)          # every option validated before any work
    run_dir = Path(run_dir) if run_dir is not None else default_run_dir(config)
    run_dir = claim_dir(run_dir.resolve(), "--run-dir")   # never a directory of user files
    with lock_dir(run_dir, "run directory"):              # one run at a time writes here
        return _run_locked(config, stages, run_dir, address=address, progress=progress, log=log,
                           stop_after=stop_after)


def input_digests(ctx: RunContext, stages: list[str]) -> dict[str, str]:
    """Stage -> digest of the files it reads that the config only names: the teacher's real
    data set (``Dataset.digest``: a ``parquet:`` folder's files can change between two runs
    of one config) and the search's space when ``search.options.space`` is a file."""
    import hashlib
    out = {"teacher": ctx.data_digest()}
    space = ctx.config.search.options.get("space")
    if "search" in stages and isinstance(space, str) and Path(space).expanduser().is_file():
        out["search"] = hashlib.sha256(Path(space).expanduser().read_bytes()).hexdigest()[:16]
    return out


def _run_locked(config: RunConfig, stages: list[str], run_dir: Path, *, address, progress, log,
                stop_after) -> dict:
    write_json_atomic(run_dir / "config.json", config.to_dict())
    ledger = Ledger(run_dir)
    ctx = RunContext(config, run_dir, address=address, progress=progress, log=log)
    inputs = input_digests(ctx, stages)
    for i, stage in enumerate(stages, 1):
        fingerprint = config.stage_fingerprint(stage, inputs)
        entry = ledger.done(stage, fingerprint)
        if entry is not None:
            log(f"[{i}/{len(stages)}] {stage}: done earlier ({entry['seconds']:.0f} s), skipped")
            ctx.outputs[stage] = entry["outputs"]
        else:
            dropped = ledger.invalidate_from(stage)
            if dropped and dropped[0] == stage:
                log(f"[{i}/{len(stages)}] {stage}: config or data changed, re-running "
                    f"{', '.join(dropped)}")
            log(f"[{i}/{len(stages)}] {stage} ...")
            start = time.perf_counter()
            outputs = stage_impl.STAGE_REGISTRY[stage].run(ctx)
            seconds = time.perf_counter() - start
            ledger.record(stage, fingerprint, outputs, seconds)
            ctx.outputs[stage] = outputs
            log(f"[{i}/{len(stages)}] {stage}: finished in {seconds:.0f} s")
        if stage == stop_after:
            break
    result = {"run_dir": str(run_dir), "stages": {s: ledger.stages.get(s, {}).get("seconds")
                                                  for s in stages}}
    result.update(ctx.outputs.get("export", {}).get("summary", {}))
    return result
