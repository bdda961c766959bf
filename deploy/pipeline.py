"""Stage orchestration for ``nnsynth run``: one run directory, a ledger, resume.

    teacher ─► synthesis ─► search ─► refine ─► export (price, ONNX, summary.md)

Every stage writes into the run directory and, when it has finished, records itself in
``ledger.json`` (written atomically: temp file + ``os.replace``).  Rerunning the same
command reads the ledger and skips every stage whose fingerprint (a hash of its config
section, the sections before it, the top-level keys and the contents of the files they name:
the real data set, a search space file) still matches; a changed section, or a data folder
or space file whose contents changed, re-runs that stage and the ones after it.  The data
set's file named another way (``./x.csv``, a link, a path from another folder) with its
contents unchanged is the data the stages were made from (``deploy.ledger.spelt_as_recorded``).
A stage that was killed half-way is simply
run again; the long ones resume inside themselves (the search stage passes
``resume=True`` so Tune's finished trials are kept, see ``search.run.run_search``).

Outputs of a stage that is to run again are not left looking current (as make's
``.DELETE_ON_ERROR`` and dvc's removal of outputs before a stage runs): before a stage runs,
the files it and every later stage write at the top of the run directory (``Stage.products``:
``final.pt``, ``summary.md``...) are removed, so a rerun after an edit that fails half-way
leaves no report or final model of the earlier config beside a ledger of the new one; a
stage that fails has its partial products removed too, and the ledger records the failure.
The directories the long stages resume from (``synthetic/``, ``search/``) are theirs to keep
or replace.  ``config.json`` is the config the ledger's stages match: it is written once the
inputs have been read, not before (a data folder that cannot be read changes nothing).

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
from deploy.ledger import (LEDGER, OUTPUT_PATHS, Ledger, RunContext, changes, data_record,
                           name_changes, spelt_as_recorded)
from deploy.run_config import STAGES, RunConfig, enabled_stages
from synth.config import short_repr
from synth.errors import UserError
from synth.files import absolute_path, remove_stale_temps, working_dir, write_json_atomic

def default_run_dir(config: RunConfig, root: str | os.PathLike = "runs") -> Path:
    return Path(root) / config.name


__all__ = ["check_run", "default_run_dir", "enabled_stages", "run_pipeline"]
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
    given = Path(run_dir) if run_dir is not None else default_run_dir(config)
    from cluster.connect import check_start
    check_start(address)             # an address nothing answers at: before any file is made
    # never a directory of user files; one run at a time writes there; made by a call that
    # fails before any stage kept work, it is taken away again.  Worked in absolute, named
    # in messages as given (synth.files.shown_path)
    with working_dir(absolute_path(given), "--run-dir", "run directory",
                     scratch=("config.json", LEDGER), given=given) as run_dir:
        return _run_locked(config, stages, run_dir, address=address, progress=progress, log=log,
                           stop_after=stop_after, given=given)


def check_run(config: RunConfig, progress: bool = False) -> list[str]:
    """``nnsynth run --check``: what ``run_pipeline`` checks before any work -- the option
    sections (``check_stages``) and, with the real data set loaded, whether the models, the
    inversion preset and the search space fit its inputs (``check_data``); the stages.
    ``progress``: a bar of the check's steps (the data set's loading, then each part of
    ``check_data``, named as it runs) on stderr when it is a terminal, as ``sweep --check``
    draws one of its runs (``deploy.sweep.data_problems``): tiny's check spent seconds
    loading and pricing its search's constraints without a word."""
    from tqdm.auto import tqdm

    from synth.data import load_dataset
    stages = enabled_stages(config)
    stage_impl.check_stages(config, stages)
    parts = stage_impl.data_check_parts(stages)
    # on a terminal only (tqdm's disable=None): piped or captured, stderr keeps its error
    # line alone
    with tqdm(total=1 + len(parts), desc="check", unit="step", leave=False,
              disable=None if progress else True) as bar:
        bar.set_postfix_str(f"data set {config.teacher.dataset}")
        data = load_dataset(config.teacher.dataset, seed=config.data_seed)

        def step(part: str) -> None:          # the previous step is done; name the next
            bar.update()
            bar.set_postfix_str(part)
        stage_impl.check_data(config, stages, data, step=step)
        bar.update()
    return stages


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
                stop_after, given: Path | None = None) -> dict:
    remove_stale_temps(run_dir)    # a killed run's half-written files (this run holds the lock)
    ledger = Ledger(run_dir)
    ctx = RunContext(config, run_dir, address=address, progress=progress, log=log,
                     given=given)
    inputs = input_digests(ctx, stages)
    stage_impl.check_data(config, stages, ctx.real_data())   # the models fit its inputs
    write_json_atomic(run_dir / "config.json", config.to_dict())
    data = data_record(ctx.real_data())
    earlier = (ledger.stages.get("teacher") or {}).get("made_from")
    respelt = spelt_as_recorded(earlier, config, inputs, ctx.real_data(), data)
    if respelt is not None:   # the stages are compared with the data set named as recorded
        log(f"teacher.dataset {config.teacher.dataset} is the file the ledger's stages read as "
            f"{respelt[0].teacher.dataset}, spelt another way (its contents unchanged)")
        config, inputs = respelt
    made_from = ctx.made_from = {"config": config.to_dict(), "inputs": inputs, "data": data}
    for i, stage in enumerate(stages, 1):
        if stop_after is not None and STAGES.index(stage) > STAGES.index(stop_after):
            # stop_after is a stage this config turns off: stop where it would have run (a
            # run told --stop-after refine with refine.enabled false went on into export)
            log(f"{stop_after} is turned off in this config: stopping before {stage}")
            _forget_stale(config, stages[i - 1:], inputs, run_dir, ledger, log)
            break
        fingerprint = config.stage_fingerprint(stage, inputs)
        entry = ledger.done(stage, fingerprint)
        ledger.check_made(stage, entry)
        lost = missing_outputs(run_dir, entry)
        if lost:
            log(f"[{i}/{len(stages)}] {stage}: done earlier, but {', '.join(lost)} "
                f"{'is' if len(lost) == 1 else 'are'} missing from the run directory: "
                f"re-running it and the stages after it")
            entry = None
        if entry is not None:
            log(f"[{i}/{len(stages)}] {stage}: done earlier ({entry['seconds']:.0f} s), skipped")
            ctx.outputs[stage] = entry["outputs"]
        else:
            recorded = ledger.stages.get(stage)
            dropped = ledger.invalidate_from(stage)
            if dropped and dropped[0] == stage and not lost:
                changed = changes((recorded or {}).get("made_from"), made_from, stage)
                log(f"[{i}/{len(stages)}] {stage}: config or data changed, re-running "
                    f"{', '.join(dropped)}" + (f" (changed: {name_changes(changed)})"
                                              if changed else ""))
            removed = remove_products(run_dir, STAGES[STAGES.index(stage):])
            if removed:
                log(f"[{i}/{len(stages)}] {stage}: removed the outputs of the earlier run "
                    f"that it and the stages after it make: {', '.join(removed)}")
            ctx.earlier[stage] = ledger.begin(stage, made_from)
            log(f"[{i}/{len(stages)}] {stage} ...")
            start = time.perf_counter()
            try:
                outputs = run_stage(stage, ctx)
            except BaseException as e:             # an error, Ctrl-C: nothing half-made stays
                _failed(run_dir, ledger, stage, e, log)
                raise
            seconds = time.perf_counter() - start
            ledger.record(stage, fingerprint, outputs, seconds, made_from=made_from)
            ctx.outputs[stage] = outputs
            log(f"[{i}/{len(stages)}] {stage}: finished in {seconds:.0f} s")
        if stage == stop_after:
            _forget_stale(config, stages[i:], inputs, run_dir, ledger, log)
            break
    if all(s in ctx.outputs for s in stages):
        ledger.clear_failure()                   # every stage of this config is done
    result = {"run_dir": str(run_dir), "stages": {s: ledger.stages.get(s, {}).get("seconds")
                                                  for s in stages}}
    if "export" in ctx.outputs:
        result.update(ctx.outputs["export"].get("summary", {}))
        # the ledger's absolute path is where the run directory was when export ran
        result["final_checkpoint"] = str(run_dir / ctx.outputs["export"]["checkpoint"])
    return result


def missing_outputs(run_dir: Path, entry: dict | None) -> list[str]:
    """The files a finished stage's ledger entry names (``OUTPUT_PATHS``: final.pt,
    teacher.pt, synthetic/...) that are no longer in the run directory.  Such a stage is run
    again, as make remakes a missing target: skipped, a rerun said 'export: done earlier,
    skipped' and its result named as final_checkpoint a final.pt the user had deleted."""
    if entry is None:
        return []
    names = (entry["outputs"].get(key) for key in OUTPUT_PATHS)
    return [name for name in names if name and not (run_dir / name).exists()]


def run_stage(stage: str, ctx: RunContext) -> dict:
    """``stage``'s runner, with Ctrl-C's handler as it was before it once it returns or fails.
    Ray Train's ``trainer.fit`` (the teacher's and refine's trainings) installs its own SIGINT
    handler -- abort that training -- and leaves it installed: a Ctrl-C in a later stage (the
    synthesis, the export) went to that handler of a finished training and was swallowed (the
    log said "Gracefully aborting the training run" and the run went on)."""
    import signal
    import threading
    main = threading.current_thread() is threading.main_thread()
    previous = signal.getsignal(signal.SIGINT) if main else None
    try:
        return stage_impl.STAGE_REGISTRY[stage].run(ctx)
    finally:
        if previous is not None and signal.getsignal(signal.SIGINT) is not previous:
            signal.signal(signal.SIGINT, previous)


def _forget_stale(config: RunConfig, later: list[str], inputs: dict, run_dir: Path,
                  ledger: Ledger, log) -> None:
    """A run stopped (``stop_after``) before ``later``: the first of them that its config
    would run again, and every stage after it, are dropped from the ledger with their
    products -- config.json names this config now, and final.pt or summary.md of an earlier
    one must not stand beside it as its result."""
    for stage in later:
        if ledger.done(stage, config.stage_fingerprint(stage, inputs)) is None:
            dropped = ledger.invalidate_from(stage)
            removed = remove_products(run_dir, STAGES[STAGES.index(stage):])
            done = ([f"dropped {', '.join(dropped)} from the ledger"] if dropped else []) + \
                ([f"removed {', '.join(removed)}"] if removed else [])
            if done:
                log(f"{stage} and the stages after it do not match this config: "
                    f"{'; '.join(done)}")
            return


def remove_products(run_dir: Path, stages) -> list[str]:
    """Remove the files ``stages`` write at the top of ``run_dir`` (``Stage.products``; the
    run directory is nnsynth's, and these names are its own); the names removed.  Only plain
    files: a link or a folder of that name is left alone."""
    removed = []
    for stage in stages:
        for name in stage_impl.STAGE_REGISTRY[stage].products:
            path = run_dir / name
            if path.is_file() and not path.is_symlink():
                path.unlink()
                removed.append(name)
    return removed


def _failed(run_dir: Path, ledger: Ledger, stage: str, error: BaseException, log) -> None:
    """``stage`` raised ``error``: remove what it wrote of its products, record the failure in
    the ledger.  Never raises (the stage's own error is the one to report)."""
    try:
        removed = remove_products(run_dir, [stage])
        ledger.fail(stage, error)
        if removed:
            what = "interrupted" if isinstance(error, KeyboardInterrupt) else "failed"
            log(f"{stage} {what}: removed what it had written of {', '.join(removed)}")
    except Exception:                         # a full disk: the stage's error still goes up
        logger.debug("could not record the failure of %s", stage, exc_info=True)
