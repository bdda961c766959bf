"""``nnsynth sweep SWEEP.yaml``: many run configs, each in its own run directory, in
parallel under Ray.

A sweep file names a base run config and varies it by a grid (the cross product of
dotted keys) and/or an explicit list of overrides::

    name: pairs-vs-images
    base: tiny                      # bundled name or a path to a run config
    root: runs/sweeps               # run directories: <root>/<name>/<run name>
    max_parallel: 2
    grid:
      synthesis.pairs: [1, 2]
      seed: [0, 1]
    runs:                           # optional; each entry is one more run
      - {synthesis.num_images: 256}

Every run is validated before anything starts (``expand``; the runs' data sets are
loaded and checked by ``data_problems`` as ``nnsynth run`` checks them,
``deploy.stages.check_data``: a search's constraints are priced at its space's extremes).
Each run is a Ray task (``num_cpus=0``: it only orchestrates; the stages inside ask Ray
for their own CPUs, so parallel runs share the cluster without deadlocking on nested Tune
trials).  Each run
resumes from its own ledger, so rerunning a sweep skips what finished.  The sweep
writes ``sweep.parquet`` (one row per run: overrides, accuracy, parameters, costs).
"""
from __future__ import annotations

import copy
import dataclasses
import itertools
import json
import os
import re
from pathlib import Path
from typing import Any, Callable, Mapping

from deploy.run_config import (BUNDLED, RunConfig, check_mapping,
                               load_run_config, read_yaml, yaml_bool_hint)
from synth.config import Config, check_name, check_range, short_repr
from synth.errors import ConfigError, UserError
from synth.files import (LOCK_FILE, OWNER_MARKER, absolute_path, remove_stale_temps,
                         working_dir)


MAX_RUNS = 10_000


@dataclasses.dataclass(frozen=True)
class SweepConfig(Config):
    name: str = "sweep"
    base: str = "tiny"
    root: str = "runs/sweeps"
    max_parallel: int = 2
    grid: Mapping = dataclasses.field(default_factory=dict)
    runs: tuple = ()

    def validate(self) -> None:
        for key in ("name", "base", "root"):
            value = getattr(self, key)
            if not isinstance(value, str) or not value:
                # `name: on` (YAML 1.1: True) said only "got True"
                raise ConfigError(f"{key} must be a non-empty string, got "
                                  f"{short_repr(value)}{yaml_bool_hint(value)}")
        check_name("name", self.name)
        check_range("max_parallel", self.max_parallel, 1, 1024, integer=True)
        if not isinstance(self.grid, Mapping):   # from_dict made YAML's [1] the tuple (1,)
            grid = list(self.grid) if isinstance(self.grid, tuple) else self.grid
            raise ConfigError(f"grid must be a mapping of dotted config key: list of values, "
                              f"got {short_repr(grid)}")
        size = 1
        for key, values in self.grid.items():
            if not isinstance(key, str) or not key:
                raise ConfigError(f"grid keys must be dotted config keys, got {short_repr(key)}")
            if not isinstance(values, (list, tuple)) or not values:
                raise ConfigError(f"grid.{key} must be a non-empty list of values, got {short_repr(values)}")
            size = min(size * len(values), MAX_RUNS + 1)   # 2,000 keys of 2 values printed
        if not isinstance(self.runs, (list, tuple)):      # a 603-digit count in the error
            raise ConfigError(f"runs must be a list of overrides, got {short_repr(self.runs)}")
        if size + len(self.runs) > MAX_RUNS:
            count = (f"more than {MAX_RUNS:,}" if size > MAX_RUNS else
                     f"{size + len(self.runs):,}")
            raise ConfigError(f"a sweep may have at most {MAX_RUNS:,} runs; this one has {count}"
                              f" (the grid's product plus the listed runs)")
        for i, run in enumerate(self.runs):
            check_mapping(f"runs[{i}]", run)
            for key in run:
                if not isinstance(key, str) or not key:
                    raise ConfigError(f"runs[{i}] keys must be dotted config keys, got "
                                      f"{short_repr(key)}")
        if not self.grid and not self.runs:
            raise ConfigError("a sweep needs a grid or a list of runs (or both)")


def set_dotted(values: dict, key: str, value: Any) -> None:
    """``set_dotted(d, "search.options.trials", 12)`` sets d["search"]["options"]["trials"]."""
    parts = key.split(".")
    node = values
    for part in parts[:-1]:
        node = node.setdefault(part, {})
        if not isinstance(node, dict):
            raise ConfigError(f"cannot set {key}: {part} is not a section")
    node[parts[-1]] = value


def base_config_path(base: str, base_dir: Path | None = None) -> str:
    """``base`` as ``load_run_config`` takes it: a bundled name as given (unless the sweep's
    folder holds a file of that name), ``~`` expanded, and a relative path taken from the
    sweep file's folder (``base_dir``), as README says.  It fell back to the working
    directory when the file was not beside the sweep, so a same-named config there was
    silently used instead."""
    if base_dir is None:
        return base
    path = Path(base).expanduser()
    if path.is_absolute():
        return str(path)
    if base in BUNDLED and not (base_dir / base).is_file():
        return base
    return str(base_dir / path)


# Entries of the sweep directory that are not run directories: a run of one of these names
# collided with the sweep's table, its marker or its lock (a run named sweep.parquet made
# write_rows fail on a directory); the teacher cache is checked per sweep (see _reserved).
SWEEP_FILES = ("sweep.parquet", OWNER_MARKER, LOCK_FILE)


def _reserved(configs: list[RunConfig]) -> dict[str, str]:
    """Lower-cased names a run may not take -> what uses them (case-folded: a sweep on a
    case-insensitive file system, macOS's default, has one directory for 'A' and 'a')."""
    out = {n.casefold(): "the sweep's own file" for n in SWEEP_FILES}
    for cfg in configs:
        cache = Path(cfg.teacher.cache).expanduser() if cfg.teacher.cache else None
        if cache is not None and not cache.is_absolute() and cache.parts and \
                cache.parts[0] not in (".", ".."):
            out[cache.parts[0].casefold()] = f"the teacher cache (teacher.cache: {cfg.teacher.cache})"
    return out


def expand(sweep: SweepConfig, base_dir: Path | None = None,
           where: str = "") -> list[tuple[dict, RunConfig]]:
    """``[(overrides, RunConfig)]``: the grid's cross product, then the listed runs; every
    config validated here, its stages' option sections included (``check_enabled_stages``, as
    ``run --check`` does), before any work; errors name the run and the key.  Two runs may
    not share a run directory (names equal but for case, or a name the sweep directory
    uses itself) nor be the same config (a grid value listed twice).  ``where`` (the sweep
    file) starts the errors about runs, as it starts every other error of the file; the
    base's errors name the base file."""
    from deploy.stages import check_enabled_stages
    base_path = base_config_path(sweep.base, base_dir)
    try:
        base = load_run_config(base_path).to_dict()
    except UserError as e:     # the message names the base file (load_run_config); the
        # sweep file first, as every other error of the file does (it was "base: ...")
        raise ConfigError(f"{_prefix(where)}base: {e}") from None
    keys = list(sweep.grid)
    combos = [dict(zip(keys, vals)) for vals in itertools.product(*(sweep.grid[k] for k in keys))]
    combos = [c for c in combos if c] + [dict(r) for r in sweep.runs]
    out = []
    for i, overrides in enumerate(combos):
        values = copy.deepcopy(base)
        label = "_".join(f"{k.split('.')[-1]}={v}" for k, v in overrides.items()
                         if k != "name") or "base"
        # an explicit name is validated as given (RunConfig: no '.', '..' or separators);
        # a generated one keeps only characters that are safe in a file name
        name = overrides["name"] if "name" in overrides else re.sub(
            r"[^A-Za-z0-9_.=,+-]+", "-", f"{i:02d}-{label}")[:128]
        try:   # set_dotted's "cannot set seed.x: seed is not a section" named no run either
            for key, value in overrides.items():
                set_dotted(values, key, value)
            values["name"] = name
            cfg = RunConfig.from_dict(values)
            check_enabled_stages(cfg)
            out.append((overrides, cfg))
        except UserError as e:
            raise ConfigError(f"{_prefix(where)}sweep run {i} ({short_repr(name)}): {e}") from None
    _check_distinct([cfg for _, cfg in out], where)
    return out


def data_problems(runs: list[tuple[dict, RunConfig]], where: str = "",
                  progress: bool = False) -> list[str]:
    """``nnsynth run``'s data check of every run (``deploy.stages.check_data``: the teacher,
    the ADI student, the inversion preset and the search space against the real data set's
    inputs), which ``expand`` cannot do without loading the data: one line per bad run,
    naming it as ``expand`` does; empty when every run fits.  `sweep --check` passed a run
    pairing lenet5 with a sequence set, and the sweep then failed it as an error row.  Each
    data set is loaded once per split seed, and each distinct check is done once
    (``data_check_key``): the check of tiny's search prices its constraints at the space's
    extremes, 4 s a run here, so a grid of 100 seeds spent 7 minutes on one answer.
    ``progress``: a bar of the runs checked on stderr when it is a terminal (a check of
    tiny's runs asks each one's searcher for a first proposal: seconds a run, which went by
    without a word)."""
    from deploy.run_config import enabled_stages
    from deploy.stages import check_data
    from synth.data import load_dataset
    from tqdm.auto import tqdm
    loaded: dict[tuple, Any] = {}     # (dataset, data_seed) -> the set, or its UserError
    checked: dict[str, str] = {}      # data_check_key -> "" or the problem
    problems = []
    # on a terminal only (tqdm's disable=None): piped or captured, the sweep's error and
    # result lines stay the whole of its stderr
    for i, (_, cfg) in enumerate(tqdm(runs, desc="check", unit="run", leave=False,
                                      disable=None if progress else True)):
        key = (cfg.teacher.dataset, cfg.data_seed)
        if key not in loaded:
            try:
                loaded[key] = load_dataset(cfg.teacher.dataset, seed=cfg.data_seed)
            except UserError as e:
                loaded[key] = e
        stages = enabled_stages(cfg)
        same = data_check_key(cfg, stages)
        if same not in checked:
            try:
                if isinstance(loaded[key], UserError):
                    raise loaded[key]
                check_data(cfg, stages, loaded[key])   # constraints priced too
                checked[same] = ""
            except UserError as e:
                checked[same] = str(e)
        if checked[same]:
            problems.append(f"{_prefix(where)}sweep run {i} ({short_repr(cfg.name)}): "
                            f"{checked[same]}")
    return problems


def data_check_key(cfg: RunConfig, stages: list[str]) -> str:
    """What ``deploy.stages.check_data`` reads of a run: the data set and its split, the
    teacher model, the device, the synthesis and search sections, the accelerator the search's
    bounds are priced on (``RunConfig.search_accel``: export.accel; two runs differing in it
    alone shared one answer, h297) and the enabled stages (the seed only as the search's,
    whose range RunConfig has checked already).  Runs with the same key get the same
    answer."""
    d = cfg.to_dict()
    return json.dumps({"dataset": cfg.teacher.dataset, "model": d["teacher"]["model"],
                       "data_seed": cfg.data_seed, "device": cfg.device,
                       "synthesis": d["synthesis"], "search": d["search"],
                       "search_accel": cfg.search_accel(), "stages": stages},
                      sort_keys=True, default=repr)


def _prefix(where: str) -> str:
    return f"{where}: " if where else ""


def _check_distinct(configs: list[RunConfig], where: str = "") -> None:
    """One run directory per run, one run per config; errors name both runs."""
    head = _prefix(where)
    reserved = _reserved(configs)
    names: dict[str, int] = {}
    seen: dict[str, int] = {}
    for i, cfg in enumerate(configs):
        key = cfg.name.casefold()
        if key in reserved:
            raise ConfigError(f"{head}sweep run {i}: name {short_repr(cfg.name)} is taken by "
                              f"{reserved[key]} in the sweep directory; choose another name")
        if key in names:
            j = names[key]
            raise ConfigError(f"{head}sweep runs {j} and {i} both write the run directory "
                              f"{short_repr(configs[j].name)}" + (
                                  "" if configs[j].name == cfg.name else
                                  f" / {short_repr(cfg.name)} (names differing only in case)")
                              + "; sweep runs must have distinct names")
        names[key] = i
        text = json.dumps({k: v for k, v in cfg.to_dict().items() if k != "name"},
                          sort_keys=True, default=repr)
        if text in seen:
            j = seen[text]
            raise ConfigError(f"{head}sweep runs {j} ({short_repr(configs[j].name)}) and {i} "
                              f"({short_repr(cfg.name)}) are the same config; list each grid "
                              f"value and run once")
        seen[text] = i


def load_sweep(path: str | os.PathLike) -> tuple[SweepConfig, list[tuple[dict, RunConfig]]]:
    """A sweep file -> its config and validated runs; an error names the file."""
    path = Path(path).expanduser()
    values = read_yaml(path, what="sweep file")
    try:
        sweep = SweepConfig.from_dict(values)
    except ConfigError as e:
        raise ConfigError(f"{path}: {e}") from None
    return sweep, expand(sweep, path.resolve().parent, where=str(path))


def _run_one(config_dict: dict, run_dir: str, address: str | None) -> dict:
    """One run inside a Ray task; errors come back as a row instead of failing the sweep."""
    from cluster.connect import match_torch_threads
    from deploy.pipeline import run_pipeline
    import ray
    match_torch_threads()
    try:
        result = run_pipeline(RunConfig.from_dict(config_dict), run_dir, address=address,
                              progress=False)
        result["error"] = ""
    except Exception as e:  # any failure is this run's row; the sweep goes on
        result = {"run_dir": kept_dir(run_dir), "error": error_text(e)}
    result["node_id"] = ray.get_runtime_context().get_node_id()
    return result


def kept_dir(run_dir: str | os.PathLike) -> str:
    """An error row's ``run_dir``: the run's directory, or "" when there is none to look in
    (a run refused before it kept any work takes away the directory it made, ba8af0b: its
    row named a folder that no longer existed)."""
    return str(run_dir) if Path(run_dir).is_dir() else ""


def run_sweep(sweep: SweepConfig, runs: list[tuple[dict, RunConfig]], *,
              address: str | None = None, num_cpus: int | None = None,
              echo: Callable[[str], None] = print) -> list[dict]:
    """Run every config as a Ray task (at most ``max_parallel`` at once); returns one row
    per run (also written to ``<root>/<name>/sweep.parquet``, after every finished run).  A
    run that fails, with any exception, is a row with its error; the others go on.  The
    sweep directory is owned and locked (``synth.files``): a second sweep of the same name
    at once fails fast.  ``runs`` come from ``expand`` (validated there, stages included)."""
    from cluster.connect import check_start
    check_start(address, num_cpus)      # before the sweep directory is made
    # `root: ~/sweeps` made a folder named '~' in the working directory; a sweep that fails
    # before its first run began (Ray not joined) takes the directory it made away again
    given = Path(sweep.root).expanduser() / sweep.name     # named so in its refusals
    with working_dir(absolute_path(sweep.root) / sweep.name, "sweep root",
                     "sweep directory", given=given) as root:
        return _run_locked(sweep, runs, root, address=address, num_cpus=num_cpus, echo=echo)


def _run_locked(sweep, runs, root: Path, *, address, num_cpus, echo) -> list[dict]:
    import ray
    from cluster.connect import connect
    remove_stale_temps(root, recursive=False)   # a killed sweep's (its runs clean their own)
    connect(address, num_cpus)
    task = ray.remote(num_cpus=0, max_retries=0)(_run_one)
    pending = list(enumerate(runs))[::-1]
    in_flight, rows = {}, [None] * len(runs)
    while pending or in_flight:
        while pending and len(in_flight) < sweep.max_parallel:
            i, (overrides, cfg) = pending.pop()
            ref = task.remote(cfg.to_dict(), str(root / cfg.name), address)
            in_flight[ref] = (i, overrides, cfg)
            echo(f"started {cfg.name}")
        done, _ = ray.wait(list(in_flight), num_returns=1)
        i, overrides, cfg = in_flight.pop(done[0])
        try:
            result = ray.get(done[0])
        except Exception as e:  # the task itself died (worker killed, out of memory...)
            result = {"run_dir": kept_dir(root / cfg.name), "error": error_text(e)}
        rows[i] = {"name": cfg.name, "overrides": repr(overrides), **result}
        # the row first: a Ctrl-C right after "finished NAME" lost it (no sweep.parquet)
        write_rows(root / "sweep.parquet", [r for r in rows if r is not None])
        echo(f"finished {cfg.name}" + (f": error: {result['error']}" if result["error"] else ""))
    return rows


def kept_runs(sweep: SweepConfig, runs: list[tuple[dict, RunConfig]]) -> tuple[int, int]:
    """(runs finished, runs with only some stages finished) of ``runs`` in the sweep's
    directory, from each run's ledger (a run has finished when its ledger records every
    stage its config enables; a ledger that cannot be read keeps nothing).  A stage counts
    only when the ledger holds it done for the run's config now (``Ledger.done`` of its
    ``stage_fingerprint``, as ``nnsynth run`` skips it; the data's digests as that stage
    recorded them: reading the data again is no work for a Ctrl-C line): a ledger of an
    earlier sweep of other settings counted as finished runs, which the rerun runs again."""
    from deploy.ledger import Ledger
    from deploy.run_config import STAGES, enabled_stages
    root = absolute_path(sweep.root) / sweep.name
    finished = partly = 0
    for _, cfg in runs:
        try:
            ledger = Ledger(root / cfg.name)
            done = {stage for stage, entry in ledger.stages.items() if stage in STAGES and
                    ledger.done(stage, cfg.stage_fingerprint(
                        stage, entry.get("made_from", {}).get("inputs"))) is not None}
        except (UserError, OSError):
            continue
        if done and set(enabled_stages(cfg)) <= done:
            finished += 1
        elif done:
            partly += 1
    return finished, partly


def interrupted_text(sweep_file: str | os.PathLike | None) -> str:
    """What Ctrl-C of ``nnsynth sweep SWEEP_FILE`` leaves for a rerun, as the runs' ledgers
    say: how many runs had finished (a rerun skips them) and how many kept some finished
    stages, or that none had finished.  It said "finished work is kept" before any run had
    finished a stage.  A sweep file that cannot be read counts nothing."""
    again = "rerun the same command to resume"
    try:
        sweep, runs = load_sweep(sweep_file)
        finished, partly = kept_runs(sweep, runs)
    except (UserError, OSError, TypeError):
        return f"{again} (each run keeps the stages it finished in its run directory)"
    more = (f"{partly} more run{'s' if partly != 1 else ''} kept the stages "
            f"{'they' if partly != 1 else 'it'} finished" if partly else "")
    if finished:
        return (f"{finished} of {len(runs)} run{'s' if len(runs) != 1 else ''} had finished "
                f"and {'are' if finished != 1 else 'is'} kept" + (f", and {more}" if more
                                                                  else "")
                + f"; {again} (it skips what finished)")
    if partly:
        return f"no run had finished yet ({more}); {again} (it skips what finished)"
    return "no run had finished yet; rerun the same command to start the sweep"


def error_text(e: BaseException) -> str:
    """One line for a run's error column: the message of a UserError, else the type and
    the first line of the message (bounded)."""
    text = str(e).strip().splitlines()[0] if str(e).strip() else ""
    if not isinstance(e, UserError):
        text = f"{type(e).__name__}: {text}" if text else type(e).__name__
    return text[:500]


def write_rows(path: Path, rows: list[dict]) -> Path:
    """One Parquet row per run (columns: the union of keys; scalars only), atomically."""
    import pyarrow as pa
    from synth.data_parquet import write_parquet_table   # atomic, with page checksums
    keys = sorted({k for r in rows for k, v in r.items() if not isinstance(v, (dict, list))})
    table = pa.table({k: [r.get(k) for r in rows] for k in keys})
    return write_parquet_table(table, path)
