"""``run_search``: one predictor-guided architecture search on Ray Tune, resumable.

out_dir/ holds search_config.json (what to resume), search_space.json (the space's
definition as the search began: a resume reads it, never the space file again), tune/
(Tune's experiment state and the searcher's saved state; with a ``storage_path``,
<storage_path>/tune-<search id> instead: ``tune_experiment``), models/<trial>.pt,
results.parquet (one row per completed trial, those ASHA stopped marked
``stopped_early``), pareto.png and best.pt.  ``resume=True``
restores the Tune experiment (``Tuner.restore``: finished trials stay finished, unfinished
ones restart, the searcher resumes its history) -- only of a search this user started
(``search.trust``: Tune's state is pickled), whose Tune state is as its search process left
it (else the search resumes from results.parquet), in the state format this nnsynth writes
(``SEARCH_STATE_FORMAT``, recorded with the nnsynth and Ray versions) and, to restore Tune's
experiment, under the Ray release that began it; a search with nothing left to run
(``search_finished``) is summarized from results.parquet without starting Ray, importing
the searchers (Ray Tune, the predictors) or loading the data set.
"""
from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import os
import posixpath
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any, Mapping

import pandas as pd

from cluster.train import check_storage_path
from search.choices import (DEFAULT_SEARCHER, DEFAULT_TIEBREAK, LEGACY_TIEBREAK, PREDICTOR_FREE,
                            SEARCH_MIN_STEPS, SEARCHER_NAMES, TIEBREAKS, check_n_initial)
from search.feasibility import LIVE_FIGURES, figure, grow_pruned, measured_figures
from search.results import (accel_note, accel_text, append_result, array_text, failed_trial_line,
                            pareto_axis, pareto_front, plot_pareto, rank_trials, read_results,
                            retried_trial_line, stopped_early, trial_line)
from search.space import HARDWARE_METRICS, Space, load_space, parse_constraint, spec_key
from search.trust import (SEARCH_ID_FILE, check_trusted, forget_search, forget_tune_state,
                          record_tune_state, register_search, unverified_tune_state,
                          verified_reads)
from search.unfinished import remove_unrecorded
from synth.choices import MAX_MIN_STEPS, RECIPE
from synth.config import (Config, check_batch_size, check_choice, check_range, check_seed,
                          short_repr, value_error)
from synth.errors import ConfigError, UserError
from synth.files import (absolute_path, check_folder_writable, claim_dir, copy_atomic,
                         missing_input, printable, read_json, remove_owned, shown_path,
                         working_dir, write_json_atomic, write_text_atomic)

logger = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class SearchConfig(Config):
    space: str = "auto"               # built-in space name, or a YAML/JSON file; auto: the
                                      # built-in one for the data (data_space)
    dataset: str = "digits"           # real data: validation (and training without a teacher)
    teacher: str | None = None        # checkpoint: train by KD on ``data`` instead
    data: str | None = None           # directory of a synthesized Parquet set
    searcher: str = DEFAULT_SEARCHER  # localbo | steerage | chameleon | random (SEARCHERS);
                                      # localbo: fewest trials on every tabular benchmark
                                      # (benchmarks/results/search_efficiency.md)
    trials: int = 16
    concurrency: int = 2
    n_initial: int = 8                # random architectures before the first predictor fit
    constraints: tuple = ()           # e.g. ("latency_ms<=0.05", "parameters<=20000")
    acquisition: str = "ei"           # chameleon: ei | ucb
    epochs: int = 3
    min_steps: int = SEARCH_MIN_STEPS  # at least this many optimizer steps a trial: epochs
                                      # raised on a small training split (0: exactly epochs)
    lr: float = 0.05
    train_batch_size: int = 64
    kd_temperature: float = 3.0
    grow_prune: dict | None = None    # a GrowPruneSchedule dict: refine every trial (nnsynth
                                      # grow-prune's RECIPE where it sets no field: validate)
    hardware: bool = True             # price every trial on hwsim (latency, energy)
    accel: Mapping = dataclasses.field(default_factory=dict)   # hwsim AcceleratorConfig keys
                                      # the trials and constraints are priced on ({}: default)
    pool_shards: int = 2              # hwsim pool actors; 0 = price in the trial process
    pool_cpus: float = 0.25           # CPU per hwsim actor
    asha: bool = False                # ASHA early stopping on per-epoch validation accuracy
    seed: int = 0
    data_seed: int | None = None      # split of the real data set; None: the teacher's recorded
                                      # split when it was trained on ``dataset``, else ``seed``
    device: str = "auto"
    storage_path: str = ""            # Tune's experiment storage: a shared path or a URI
                                      # (s3://..., gs://...); "" = out_dir
    max_failures: int = 2             # retries of a trial lost with its node (finished
                                      # trials are never repeated)
    tiebreak: str = DEFAULT_TIEBREAK  # trials of the best validation accuracy: one_se | val_loss |
                                      # parameters (search.results.TIEBREAKS; a search begun
                                      # before the setting: parameters, saved_settings)

    def validate(self) -> None:
        if not isinstance(self.space, (str, Path, Mapping)) or (
                isinstance(self.space, str) and not self.space.strip()):
            raise ConfigError(f"space must be a built-in space name, a YAML/JSON space file or "
                              f"a mapping of choices, got {short_repr(self.space)} "
                              f"({type(self.space).__name__})")
        check_storage_path("storage_path", self.storage_path)
        check_choice("searcher", self.searcher, SEARCHER_NAMES)
        check_range("max_failures", self.max_failures, -1, 1000, integer=True)
        check_range("trials", self.trials, 1, 100000, integer=True)
        check_range("concurrency", self.concurrency, 1, 1024, integer=True)
        check_range("n_initial", self.n_initial, 1, 100000, integer=True)
        check_n_initial(self.n_initial, self.searcher not in PREDICTOR_FREE)
        check_choice("acquisition", self.acquisition, ("ei", "ucb"))
        check_choice("tiebreak", self.tiebreak, TIEBREAKS)
        check_range("epochs", self.epochs, 1, 10000, integer=True)
        check_range("min_steps", self.min_steps, 0, MAX_MIN_STEPS, integer=True)
        check_range("lr", self.lr, 0, 10, low_open=True)
        check_batch_size("train_batch_size", self.train_batch_size)
        check_range("kd_temperature", self.kd_temperature, 0, 1000, low_open=True)
        check_range("pool_shards", self.pool_shards, 0, 1024, integer=True)
        check_range("pool_cpus", self.pool_cpus, 0, 64, low_open=True)
        check_seed("seed", self.seed)
        if self.data_seed is not None:
            check_seed("data_seed", self.data_seed)
        from synth.device import check_device
        check_device(self.device, "device", available=False)
        if not isinstance(self.constraints, (tuple, list)):
            raise value_error("constraints", self.constraints, "must be a list of 'METRIC<=VALUE'")
        check_constraints([parse_constraint(c) for c in self.constraints], self.hardware)
        object.__setattr__(self, "accel", search_accel(self.accel, self.hardware))
        if bool(self.teacher) != bool(self.data):
            raise ConfigError("teacher and data go together (KD on a synthesized set; nnsynth "
                              "search --teacher CKPT --synth DIR); got "
                              f"teacher={short_repr(self.teacher)}, data={short_repr(self.data)}")
        if self.grow_prune is not None:
            from synth.grow_prune import GrowPruneSchedule
            GrowPruneSchedule.from_dict(self.grow_prune, where="grow_prune")
            # the trials grow and prune with nnsynth grow-prune's recipe where grow_prune sets
            # no field (search.trial.grow_prune_schedule: GrowPruneSchedule.recipe), as the
            # pipeline's refine does; recorded here, so that the search's saved config says
            # what its trials ran, and one begun before resumes with GrowPruneSchedule's
            # library values of the fields it lacks (saved_settings, as_begun).  h288 took the
            # retraining floor alone (60 steps: GrowPruneSchedule's 0 retrained a trial of
            # iris 6 steps a pruning step); h292 the rest (17 steps, not 10; dead weights
            # removed; at most 0.5 pt of validation accuracy given up, where 1.0 set none)
            object.__setattr__(self, "grow_prune", {**RECIPE, **self.grow_prune})


def check_constraints(constraints, hardware: bool) -> None:
    """A latency or energy constraint needs the hardware pricing ``hardware: false`` turns off."""
    for c in constraints:
        if c.metric in HARDWARE_METRICS and not hardware:
            raise ConfigError(f"constraint {c} needs hwsim pricing, which hardware: false "
                              f"(--no-hardware) turns off")


def search_accel(accel, hardware: bool = True) -> dict:
    """The accelerator a search prices on (``SearchConfig.accel``): ``accel``'s fields that
    differ from ``hwsim.AcceleratorConfig``'s defaults (``{}``: the default array, as a search
    begun before the field saved it), validated as ``nnsynth hwsim eval --accel`` validates
    its file.  A search priced every trial and constraint on the default 32x32 array whatever
    accelerator the user's run named (the pipeline's ``export.accel`` priced only the
    summary): a ``latency_ms<=`` bound was met on one array and reported on another (h297)."""
    if not isinstance(accel, Mapping):
        raise ConfigError(f"accel must be a mapping of AcceleratorConfig keys (an nnsynth "
                          f"hwsim eval --accel file's), got {short_repr(accel)}")
    if not accel:
        return {}
    if not hardware:
        raise ConfigError("accel configures the hwsim pricing, which hardware: false "
                          "(--no-hardware) turns off")
    from hwsim import AcceleratorConfig, accel_config
    try:
        given = accel_config(dict(accel)).to_dict()
    except ConfigError as e:   # 'rows must be in ...': named as the search's key
        raise (e if str(e).startswith("unknown config key") else
               ConfigError(f"accel.{e}")) from None
    default = AcceleratorConfig().to_dict()
    return {k: v for k, v in given.items() if v != default[k]}


def real_split_seed(config: SearchConfig) -> int:
    """The split of ``config.dataset`` the trials report on: ``data_seed``, else the teacher's
    recorded split (its test images were never trained on), else ``seed``."""
    if config.data_seed is not None:
        return config.data_seed
    if config.teacher:
        from synth.checkpoint import read_checkpoint, recorded_split_seed
        return recorded_split_seed(read_checkpoint(config.teacher).get("dataset") or {},
                                   config.dataset, source=f"teacher {config.teacher}",
                                   default=config.seed)
    return config.seed


def make_searcher(config: SearchConfig, space, cost_model):
    from search.searchers import SEARCHERS   # torch and Ray Tune: not for a finished resume
    kw: dict[str, Any] = dict(batch_size=config.concurrency, n_initial=config.n_initial,
                              max_trials=config.trials, cost_model=cost_model, seed=config.seed,
                              constraints=[parse_constraint(c) for c in config.constraints])
    if config.searcher == "chameleon":
        kw["acquisition"] = config.acquisition
    return SEARCHERS[config.searcher](space, **kw)


ERRORS_FILE = "trial_errors.json"   # trials that failed (Tune's ERROR state), beside results


def errored_trials(out_dir: Path, finished_ids) -> dict:
    """{trial id: {"spec", "error"}} of the trials that failed and have no row in the results
    (a trial retried after a restore and finished is not counted)."""
    done = set(finished_ids)
    return {k: v for k, v in read_errors(out_dir).items() if k not in done}


MAX_ERRORS_BYTES = 64 << 20   # trial_errors.json: ~200 bytes a failed trial


def read_errors(out_dir: Path) -> dict:
    """``ERRORS_FILE`` of ``out_dir`` as {trial id: record} ({} without one); a file that is
    not such a mapping (cut off, a list, not UTF-8, over ``MAX_ERRORS_BYTES``) is a one-line
    error naming it: it was read as it came, and a list or bad JSON ended a finished
    search's summary in a traceback (h229)."""
    path = Path(out_dir) / ERRORS_FILE
    if not path.is_file():
        return {}
    try:
        errors = read_json(path, MAX_ERRORS_BYTES)
    except ConfigError as e:   # a key given twice (kept last), nested too deep
        raise UserError(f"{e} (the record of failed trials)") from None
    except (OSError, ValueError):
        errors = None
    if not isinstance(errors, dict) or not all(
            isinstance(k, str) and isinstance(v, dict) for k, v in errors.items()):
        raise UserError(f"{path} is corrupt (not the record of failed trials nnsynth writes); "
                        f"move it away to summarize or resume the search without it")
    return errors


class ResultsCallback:
    """Tune callback (driver side): append every finished trial's final report to
    results.parquet (idempotent by trial id), and each failed trial's spec and error to
    ``ERRORS_FILE`` beside it (a search of 20 trials where 3 failed said "17 trials" and
    nothing more).  Built lazily as a ray.tune.Callback."""

    def __new__(cls, path: str):
        from ray.tune import Callback

        from search.choices import DONE_KEY

        class _Results(Callback):
            def __init__(self, path):
                self.path = path

            def on_trial_error(self, iteration, trials, trial, **info):
                errors_path = Path(self.path).parent / ERRORS_FILE
                try:   # one of nnsynth's own, cut off or not a mapping: begun again
                    errors = read_json(errors_path) if errors_path.is_file() else {}
                except (OSError, ValueError):
                    errors = {}
                errors = errors if isinstance(errors, dict) else {}
                error = staged = getattr(trial, "error_file", None) or ""
                # Tune's copy in the search's storage (when a local folder): the one Tune
                # names is in the driver's staging folder under Ray's session folder, /tmp,
                # which is Ray's (written inline, as the rest: this class is pickled with the
                # search, and a name it used that an nnsynth resuming it lacks would fail)
                stored = getattr(trial, "path", None)
                if error and isinstance(stored, str) and os.path.isdir(stored):
                    error = os.path.join(stored, os.path.basename(error))
                errors[trial.trial_id] = {"spec": trial.config.get("spec"),
                                          "error_file": str(error)}
                write_json_atomic(errors_path, errors)
                # its id and reason in the record shown (not new arguments: an nnsynth
                # before them restoring this pickled callback passes the record on as it is)
                report_trial(self.path, error={**errors[trial.trial_id],
                                               "reason": self.reason(staged),
                                               "trial_id": trial.trial_id})

            def on_trial_recover(self, iteration, trials, trial, **info):
                # failed and tried again (max_failures): a line, as Tune's traceback is not
                # shown (_no_trial_failure_logs)
                report_trial(self.path, error={
                    "spec": trial.config.get("spec"), "trial_id": trial.trial_id, "retry": True,
                    "reason": self.reason(getattr(trial, "error_file", None) or "")})

            @staticmethod
            def reason(error_file: str) -> str:
                """The last line of the error file Tune has just written."""
                try:
                    with open(error_file, errors="replace") as f:
                        return ([line.strip() for line in f if line.strip()] or [""])[-1]
                except OSError:
                    return ""

            def on_trial_complete(self, iteration, trials, trial, **info):
                result = dict(trial.last_result or {})
                if "accuracy" not in result:
                    return
                if not result.get(DONE_KEY):  # stopped early by ASHA: last epoch's figure
                    result.update(trial_id=trial.trial_id, spec=trial.config["spec"],
                                  stopped_early=True, epochs=result.get("epoch"))
                if append_result(self.path, result):   # once a trial (a replay is not new)
                    report_trial(self.path, row=result)
        return _Results(path)


# The progress of each search this process runs, by its results.parquet path (``run_search``
# sets it for the time of its ``fit``).  The callback finds it here rather than holding it:
# a resumed search's callback is the one Tune pickled when the search began, with that run's
# settings (a search begun under -q resumed without its lines).
_PROGRESS: dict[str, "TrialProgress"] = {}


def report_trial(path: str, *, row: dict | None = None, error: dict | None = None) -> None:
    """Show a finished trial's ``row`` (or a failed trial's ``error`` record) on the progress
    of the search whose results are at ``path``; nothing where its progress is off."""
    progress = _PROGRESS.get(str(path))
    if progress is None:
        return
    try:
        if row is None:
            progress.failed(error)
        else:
            progress.finished(row)
    except Exception as e:   # a line it could not show must not stop Tune's loop
        logger.warning("trial progress line not shown: %s: %s", type(e).__name__, e)


def progress_line(text: str) -> None:
    """One progress line of a search on stderr (as a tqdm bar would be)."""
    print(text, file=sys.stderr, flush=True)


class TrialProgress:
    """A search's own progress on stderr: a line per trial as it ends (``trial_line``),
    numbered in the order they end, out of ``config.trials``, with the best accuracy so far
    among the trials trained to the end whose models meet the constraints (as ``summarize``
    picks the best).  A resumed search goes on counting from the trials its table holds and
    those that failed (numbered in that order), and a number is a trial's: a failed trial
    that a resume retries keeps its number when it ends again, so no line counts past
    ``config.trials`` (each was counted twice: a 2-trial search whose trials both failed said
    'trial 3/2' and 'trial 4/2' when --resume retried them)."""

    def __init__(self, out_dir: Path, config: SearchConfig):
        self.out_dir = Path(out_dir)
        table = read_results(self.out_dir / "results.parquet")
        failed = errored_trials(self.out_dir, table["trial_id"])
        self.numbers = {str(t): i for i, t in enumerate([*table["trial_id"], *failed], 1)}
        self.unnamed = 0     # trials that ended without an id to find them by again
        self.total = config.trials
        self.constraints = search_constraints(out_dir, config)
        self.pruned = config.grow_prune is not None
        # the array each trial's latency and energy are priced on, said on its line where
        # the search chose one or bounds them (names_accel)
        self.array = array_text(config.accel) if names_accel(config, self.constraints) else None
        finished = table[table["checkpoint"].notna() & ~stopped_early(table)]
        eligible = finished[~outside_constraints(finished, self.constraints, self.pruned)]
        eligible = eligible["accuracy"].dropna()
        self.best = float(eligible.max()) if len(eligible) else None

    @property
    def done(self) -> int:
        """How many of the search's trials have ended (finished or failed), each once."""
        return len(self.numbers) + self.unnamed

    def number(self, trial_id) -> int:
        """The number of the trial ``trial_id`` (None: a trial not known by its id): the one
        it was given when it first ended, else the next."""
        if trial_id is None:
            self.unnamed += 1
            return self.done
        return self.numbers.setdefault(str(trial_id), self.done + 1)

    def finished(self, row: dict) -> None:
        index = self.number(row.get("trial_id"))
        outside = failed_constraints(row, self.constraints, self.pruned)
        accuracy = row.get("accuracy")
        eligible = (not row.get("stopped_early") and bool(row.get("checkpoint")) and not outside
                    and accuracy is not None and not pd.isna(accuracy))
        new_best = eligible and (self.best is None or float(accuracy) > self.best)
        if new_best:
            self.best = float(accuracy)
        progress_line(trial_line(row, index, self.total, self.best, new_best=new_best,
                                 outside=[] if row.get("stopped_early") else outside,
                                 array=self.array))

    def failed(self, error: dict) -> None:
        if error.get("retry"):       # not ended: tried again at once
            progress_line(retried_trial_line(error.get("spec"), error.get("reason", "")))
            return
        index = self.number(error.get("trial_id") or self._failed_id(error))
        progress_line(failed_trial_line(error.get("spec"), index, self.total,
                                        error.get("error_file", ""), error.get("reason", "")))

    def _failed_id(self, error: dict) -> str | None:
        """The id ``ERRORS_FILE`` records ``error`` under, found by its error file (Tune's,
        one a trial): the callback of a search begun before the record carried the id
        passes the record alone.  None without an error file to match."""
        if not error.get("error_file"):
            return None
        try:
            errors = read_errors(self.out_dir)
        except UserError:
            return None
        return next((k for k, v in errors.items() if isinstance(v, dict)
                     and v.get("error_file") == error["error_file"]), None)


def names_accel(config: SearchConfig, constraints) -> bool:
    """Whether a search's trial lines and summary name the accelerator its trials are
    priced on: where it prices them (``hardware``) and the user chose the array
    (``accel``: --accel, the pipeline's export.accel) or bounds latency or energy
    (``constraints``, parsed: the search's and its space's).  The pipeline's trial lines
    said 'trial 2/2 ... 0.00318 ms' of an 8x64 os array without naming it (h297)."""
    return config.hardware and (bool(config.accel) or any(
        c.metric in HARDWARE_METRICS for c in constraints))


def at_once(config: SearchConfig) -> int:
    """Trials trained at once: ``concurrency``, but never more than there are trials.  A
    1-trial search at the default concurrency 2 said '2 at a time' and gave its one trial
    half the free CPUs (its torch threads with them)."""
    return min(config.concurrency, config.trials)


def grow_prune_text(config: SearchConfig) -> str:
    """How a search's trials grow and prune, for its first progress line: '' where they do
    not; else nnsynth grow-prune's recipe and the fields set otherwise (', each trial grown
    and pruned (nnsynth grow-prune's recipe, prune_steps 8)')."""
    if config.grow_prune is None:
        return ""
    changed = ", ".join(f"{k} {v}" for k, v in sorted(config.grow_prune.items())
                        if k not in RECIPE or RECIPE[k] != v)
    return (", each trial grown and pruned (nnsynth grow-prune's recipe"
            + (f", {changed})" if changed else ")"))


def start_text(config: SearchConfig, out_dir: Path, resume: bool,
               given: str | os.PathLike | None = None) -> str:
    """The search's first progress line: how it searches and where it writes (``out_dir``
    named as the user ``given`` it, ``shown_path``); resumed, how
    many of its trials are done and how many failed.  A failed trial was counted as done: a
    2-trial search whose trials both failed resumed with 'resuming: 2 of 2 trials done' and
    then retried both (Tune's saved state retries them; without it they stay failed)."""
    how = (f"{config.trials} trial{'s' if config.trials != 1 else ''}, searcher "
           f"{config.searcher}, {at_once(config)} at a time"
           + (", ASHA early stopping" if config.asha else "")
           + grow_prune_text(config)
           + ("" if config.hardware else ", no hardware pricing")
           + f"; results in {shown_path(out_dir, out_dir, given)}")
    if not resume:
        return f"search: {how}"
    table = read_results(out_dir / "results.parquet")
    failed = len(errored_trials(out_dir, table["trial_id"]))
    return (f"resuming: {len(table)} of {config.trials} trials done"
            + (f", {failed} failed (retried where Tune's saved state allows)" if failed else "")
            + f" ({how})")


def current_results_callback(tuner, results: str) -> None:
    """Put this nnsynth's ``ResultsCallback`` in place of the one a restored Tune experiment
    unpickled: its class is pickled by value with the search, so a resume ran the code of the
    nnsynth that began it -- a search begun before the per-trial progress lines resumed
    without them.  ``Tuner.restore`` takes no callbacks: the restored run config is reached
    through the tuner's local ``TunerInternal`` (Ray 2.60's ``_local_tuner``; the Ray that
    began the search, ``check_same_ray``); where it is not there (Ray client mode, another
    Ray) the callback stays as it was restored.  ``results``: the path where the restored
    callback has none."""
    local = getattr(tuner, "_local_tuner", None)
    run_config = getattr(local, "get_run_config", lambda: None)()
    callbacks = getattr(run_config, "callbacks", None)
    if not isinstance(callbacks, list):
        return
    run_config.callbacks = [
        ResultsCallback(c.path if isinstance(getattr(c, "path", None), str) else results)
        if type(c).__qualname__ == RESULTS_CALLBACK else c for c in callbacks]


# the qualified name of ``ResultsCallback``'s class, as unpickled from any nnsynth's search
RESULTS_CALLBACK = "ResultsCallback.__new__.<locals>._Results"


# the name Tune registered every search's trainable under (a search begun before
# ``trainable_name``: its Tune state restores with this name only)
LEGACY_TRAINABLE = "train_candidate"


def trainable_name(out_dir: Path) -> str:
    """The name the search in ``out_dir`` registers its trainable under with Tune:
    ``train_candidate_<first 8 hex of its search id>``.  Tune keeps trainables by name in the
    Ray job's registry (``ray.tune.registry``: job id, then name), so two searches running at
    once in one job -- ``nnsynth sweep``'s runs are tasks of its driver's job -- both
    registered ``train_candidate``, the later one's settings replaced the earlier's, and the
    earlier search's next trials ran with the other's: a sweep over ``export.accel`` priced a
    128x128 run's trial on the 8x64 run's array and saved its model in that run's folder
    (h297).  Stable for a search, as ``Tuner.restore`` requires."""
    search_id = (Path(out_dir) / SEARCH_ID_FILE).read_text().strip()   # checked by trust
    return f"{LEGACY_TRAINABLE}_{search_id[:8]}"


def _trainable(settings: dict, name: str = LEGACY_TRAINABLE):
    from ray import tune
    from search.trial import train_candidate
    resources = {"cpu": settings["cpus_per_trial"]}
    if settings["gpus_per_trial"] > 0:  # Ray hides GPUs from trials that do not ask for one
        resources["gpu"] = settings["gpus_per_trial"]
    trainable = tune.with_resources(tune.with_parameters(train_candidate, settings=settings),
                                    resources)
    trainable.__name__ = name     # Tune's registry key (trainable_name)
    return trainable


def restore_tuner(path: str, settings: dict, name: str, filesystem):
    """``Tuner.restore`` of the search's experiment at ``path`` with its trainable registered
    as ``name`` (``trainable_name``), or, for a search begun before the per-search names,
    as ``LEGACY_TRAINABLE``, the name its Tune state recorded (Tune refuses another)."""
    from ray import tune
    for i, each in enumerate((name, LEGACY_TRAINABLE)):
        try:
            return tune.Tuner.restore(path, trainable=_trainable(settings, each),
                                      resume_unfinished=True, resume_errored=True,
                                      storage_filesystem=filesystem)
        except ValueError as e:
            if i or "Invalid `trainable`" not in str(e):
                raise


# the smallest CPU share a trial is given (``run_search``: cpus_per_trial)
MIN_TRIAL_CPUS = 0.25

# Tune runs the next trial in the actor (worker process) a finished one leaves, instead of
# starting a process per trial (Ray 2.60's default, ``reuse_actors=False``): every trial asks
# the same resources, and ``train_candidate`` keeps nothing between trials (it seeds torch,
# sets its threads and loads its data itself; the data caches are read-only).  One
# ``nnsynth search`` took 38 s instead of 48 s; 3 one-at-a-time iris trials 15.5 s instead
# of 31.4 s (load 4).  Results equal those of fresh
# processes (tests/search/test_h205_reuse_actors.py).  A search restored from Tune's saved
# state keeps the setting it began with.
REUSE_ACTORS = True


def check_pool_fits(shards: int, cpus_each: float) -> None:
    """The hwsim pool's actors (``shards`` of ``cpus_each`` CPUs) fit the Ray cluster with
    ``MIN_TRIAL_CPUS`` left for the trials: else its actors, or every trial, could never be
    scheduled, and the search waited for them forever without a word."""
    import ray
    total = ray.cluster_resources().get("CPU", 0)
    from cluster.connect import node_cpus
    most = node_cpus()
    if cpus_each > most or shards * cpus_each + MIN_TRIAL_CPUS > total:
        raise UserError(f"the hwsim pool asks for pool_shards {shards} x pool_cpus {cpus_each:g} "
                        f"= {shards * cpus_each:g} CPUs and the trials for at least "
                        f"{MIN_TRIAL_CPUS:g}, but the Ray cluster has {total:g} CPUs (at most "
                        f"{most:g} on one node); lower pool_shards or pool_cpus")


def run_search(config: SearchConfig | None, out_dir: str | os.PathLike, *, resume: bool = False,
               progress: bool = True, address: str | None = None,
               given: str | os.PathLike | None = None) -> dict:
    """Run (or resume) the search; returns a summary dict (best trial, Pareto front, paths).
    With ``resume`` the config saved in ``out_dir`` is used (``config`` may be None).
    ``out_dir`` is owned and locked (``synth.files``): a directory of someone else's files
    is refused, and a second search into it at once fails fast.  ``progress``: a start line
    and a line per trial as it ends on stderr (``TrialProgress``), and Ray Tune's own tables
    too where this module's logger shows INFO (``nnsynth -v``); none without it.
    ``given``: how its messages name ``out_dir`` (default: ``out_dir`` as given here; a
    pipeline's search folder under the --run-dir as typed)."""

    given = out_dir if given is None else given   # in its messages (shown_path); worked in absolute
    out_dir = absolute_path(out_dir)
    saved = out_dir / "search_config.json"
    fresh, synthetic = None, None
    if not resume and config is not None:
        config = with_absolute_paths(with_data_space(config))
        if config.teacher and Path(config.teacher).is_file():   # the trials distill from it
            # in float32 (a missing teacher is reported where the search reads its inputs)
            synthetic = check_teacher_inputs(config)
        fresh = searchable_space(config.space)  # before anything is written to out_dir
    if resume and saved.exists():
        if config is not None:   # dropped without a word: the saved settings ran
            check_same_settings(saved, with_absolute_paths(with_data_space(config)))
        try:
            config = SearchConfig.from_dict(saved_settings(saved), where="search_config")
        except ConfigError as e:   # 'trials must be an integer, got 'many'' named no file
            raise UserError(f"{saved} (the search's saved settings): {e}; start a new search "
                            f"with another --out") from None
    elif resume or config is None:
        place = Path(given).expanduser()
        if resume and os.path.lexists(place) and not place.is_dir():   # a FIFO, a device, a
            raise missing_input(place, "--resume", "the folder of an nnsynth search")  # loop
        raise UserError(f"nothing to resume in {given}: no search_config.json")
    from cluster.connect import check_start
    check_start(address)            # an address nothing answers at: before out_dir is made
    # never a directory of someone else's files; one search at a time writes there; made by
    # a search that fails before its first trial began, it is taken away again
    with working_dir(out_dir, "--out", "search directory", scratch=BOOKKEEPING,
                     on_undo=forget_search, given=given):
        return _run_locked(config, out_dir, resume=resume, fresh_space=fresh, progress=progress,
                           address=address, synthetic=synthetic, given=given)


def check_same_settings(saved: Path, config: SearchConfig) -> None:
    """A resume of the search whose settings are ``saved`` (its search_config.json) given
    ``config`` (paths made absolute, ``auto`` resolved, as saved): a setting that differs is
    one line naming each, saved and given."""
    before, given = saved_settings(saved), json.loads(json.dumps(config.to_dict()))
    changed = [k for k in sorted(set(before) | set(given)) if before.get(k) != given.get(k)]
    # a mapping on both sides by the fields that differ ('grow_prune.remove_dead'): grow_prune
    # holds the recipe's fields too (validate), and its repr, cut short, hid the one that did
    before, given, changed = _by_field(before, given, changed)
    if changed:
        raise UserError(
            f"the search in {saved.parent} began with "
            f"{', '.join(f'{k} {short_repr(before.get(k))}' for k in changed)}; the config "
            f"given has {', '.join(f'{k} {short_repr(given.get(k))}' for k in changed)}: "
            f"resume it with its own settings (config None) or start a new search in another "
            f"directory")


def _by_field(before: dict, given: dict, changed: list) -> tuple[dict, dict, list]:
    """``check_same_settings``' ``changed`` settings, a mapping on both sides named by its
    fields that differ (``key.field``), with ``before`` and ``given`` holding those."""
    before, given, named = dict(before), dict(given), []
    for key in changed:
        old, new = before.get(key), given.get(key)
        if not (isinstance(old, dict) and isinstance(new, dict)):
            named.append(key)
            continue
        for field in sorted(set(old) | set(new)):
            if old.get(field) != new.get(field):
                named.append(f"{key}.{field}")
                before[f"{key}.{field}"], given[f"{key}.{field}"] = old.get(field), new.get(field)
    return before, given, named


def data_note(data, config: SearchConfig, synthetic=None) -> dict:
    """``{"note": line}`` for a search summary where its real set ``data`` (``real_data``), or
    its --synth set ``synthetic`` (``synthesized_for``'s, None: none), of shorter series than
    its teacher's was left-padded to the teacher's steps, said as ``nnsynth eval`` says it
    (``synth.workflows.note_padding``); else {}."""
    from synth.workflows import note_padding, note_synth_padding
    noted = {}
    note_padding(noted, data, config.dataset)
    note_synth_padding(noted, synthetic, config.data)
    return noted


def record_data_note(out_dir: Path, noted: dict) -> None:
    """Keep ``data_note``'s note (None: no note) in the search's ``INPUTS_FILE``, beside the
    digest of the data it was made of, for the summary of a finished search's --resume,
    which loads no data (``saved_data_note``).  A search without that file (begun before it
    was written) keeps none."""
    path = Path(out_dir) / INPUTS_FILE
    try:
        record = read_inputs(out_dir)
    except UserError:
        return
    if isinstance(record, dict) and record.get("data_note", False) != noted.get("note"):
        write_json_atomic(path, {**record, "data_note": noted.get("note")})


def saved_data_note(out_dir: Path, config: SearchConfig) -> dict:
    """``data_note`` of the finished search in ``out_dir`` as its run recorded it
    (``record_data_note``), so that a --resume's summary, made without loading the data,
    carries the notes of the first run's: it lacked the padded-series note.  A search
    recorded before the note was kept: the data is loaded for it where a teacher could have
    padded it (no teacher: no note); {} when that data no longer loads."""
    try:
        record = read_inputs(out_dir)
    except UserError:   # a finished search's summary needs none of it
        record = None
    if isinstance(record, dict) and "data_note" in record:
        note = record["data_note"]
        return {"note": note} if isinstance(note, str) and note else {}
    if not config.teacher:
        return {}
    from search.trial import real_data
    try:
        return data_note(real_data(config.dataset, real_split_seed(config), config.teacher),
                         config)
    except UserError:
        return {}


def check_teacher_inputs(config: SearchConfig):
    """The teacher distils in float32 and takes the inputs of the real set (which selects
    and scores the trials) and of the synthesized set, with the real set's classes in its
    order.  A wine teacher with an iris --dataset (13 features against 4) started Ray and
    failed every trial with 'mat1 and mat2 shapes cannot be multiplied', ending in
    'finished no trial'; now one line, before --out is written."""
    from search.trial import real_data
    from synth.checkpoint import check_model_classes, load_model, synthesized_for
    from synth.quant import refuse_fixed_point
    teacher = load_model(config.teacher)
    refuse_fixed_point(teacher, "the search's KD from its teacher")
    # a table's columns in the teacher's order by name, as the trials take it
    data = real_data(config.dataset, real_split_seed(config), config.teacher)
    where = f"--teacher {config.teacher}"
    if tuple(data.input_shape) != tuple(teacher.input_shape):
        raise UserError(f"{where} takes inputs of shape {tuple(teacher.input_shape)}; the data "
                        f"set {config.dataset} has {tuple(data.input_shape)}: give the set the "
                        f"teacher was trained on")
    if int(data.num_classes) != int(teacher.num_classes):
        raise UserError(f"{where} predicts {teacher.num_classes} classes; the data set "
                        f"{config.dataset} has {data.num_classes}: give the set the teacher "
                        f"was trained on")
    check_model_classes(teacher, data, "teacher")
    if config.data:   # the set, fitted: its padding noted; a path that is no folder of
        # Parquet files (a FIFO, a device, missing) is refused here, before Ray starts
        return synthesized_for(teacher, config.data, owner="teacher", seed=config.seed)
    return None


AUTO_SPACE = "auto"


def data_space(input_shape) -> str:
    """The built-in space for inputs of ``input_shape``: ``convnet`` for images (C, H, W),
    ``convnet1d`` for sequences (C, L) (Conv1d layers over time: the sequences as they come;
    ``mlp`` takes them flattened, a space file a recurrent family), ``mlp`` for feature
    vectors (F,)."""
    shape = tuple(input_shape)
    spaces = {3: "convnet", 2: "convnet1d", 1: "mlp"}
    if len(shape) not in spaces:
        raise UserError(f"no built-in search space takes inputs of shape {shape}: give a "
                        f"space file (--space / search.options.space)")
    return spaces[len(shape)]


def with_data_space(config: SearchConfig) -> SearchConfig:
    """``config`` with ``space: auto`` replaced by the built-in space for its data set's
    inputs (``data_space``), as search_config.json saves it.  The pipeline's default space
    was ``convnet`` whatever the data: on a table of features no member of it built, and the
    search ended with 'finished no trial'."""
    if config.space != AUTO_SPACE:
        return config
    if config.teacher:   # the trials learn the teacher's inputs: its checkpoint records them
        from synth.checkpoint import read_checkpoint
        shape = read_checkpoint(config.teacher)["input_shape"]
    else:                # the real set is loaded again by the search itself (its splits)
        from synth.data import load_dataset
        shape = load_dataset(config.dataset, seed=real_split_seed(config)).input_shape
    return config.replace(space=data_space(shape))


def with_absolute_paths(config: SearchConfig) -> SearchConfig:
    """``config`` with its teacher, synthesized set and ``prefix:<path>`` data set as
    absolute paths, as search_config.json saves it: a resume from another working directory
    read a relative one there (not found, or another file of that name)."""
    def absolute(path):
        return str(absolute_path(path)) if path else path
    prefix, sep, path = config.dataset.partition(":")
    dataset = f"{prefix}:{absolute(path)}" if sep and path.strip() else config.dataset
    return config.replace(teacher=absolute(config.teacher), data=absolute(config.data),
                          dataset=dataset)


def searchable_space(source):
    """The space of a search: every trial builds and trains a model, so it needs a model
    family (a space of plain parameters made every candidate unbuildable, and the search
    ended with 'finished no trial')."""
    space = load_space(source)
    if space.family is None:
        names = ", ".join([p.name for p in space.params] + list(space.fixed)) or "nothing"
        raise ConfigError(f"space {short_repr(str(source))} has no model family: a search "
                          f"trains models, so give family: (one of the `nnsynth models` "
                          f"families) with the choices under params: (it declares {names})")
    return space


SPACE_FILE = "search_space.json"   # in out_dir: the space's definition, as the search began


def save_space(out_dir: Path, space) -> Path:
    """Write ``space``'s definition to ``out_dir/SPACE_FILE`` (atomically, in its own order)
    for a resume to read; a definition JSON would change (a non-string key) is refused."""
    try:
        text = json.dumps(space.definition, indent=2, allow_nan=False)
        same = json.loads(text) == space.definition
    except (TypeError, ValueError):
        same = False
    if not same:
        raise ConfigError(f"space {short_repr(space.definition)} cannot be saved as JSON for "
                          f"--resume: use string keys and plain numbers, strings and lists")
    return write_text_atomic(Path(out_dir) / SPACE_FILE, text + "\n")


def saved_space(out_dir: Path, check_family: bool = True):
    """The space saved by ``save_space`` in ``out_dir``; a missing or corrupt file is a
    one-line error.  ``check_family``: False for what reads the space without running the
    search (its constraints and size, ``Space``'s check_family): its family is looked up in
    ``synth.models``' registry (torch, ~2 s to import) only where it trains."""
    path = Path(out_dir) / SPACE_FILE
    if not path.is_file():
        raise UserError(f"cannot resume {out_dir}: no {SPACE_FILE} (the search space it "
                        f"started with); start a new search with another --out")
    try:
        values = read_json(path)
    except ConfigError as e:   # a key given twice (json kept the last), nested too deep
        raise UserError(f"{e} (the search space the search started with)") from None
    except (OSError, ValueError):
        values = None
    try:
        if values is None:
            raise ValueError("unreadable")
        return searchable_space(Space(values, check_family=check_family))
    except (OSError, ValueError, RecursionError):   # UserError and ConfigError are ValueErrors
        raise UserError(f"{path} is corrupt (not the search space the search started with); "
                        f"start a new search with another --out") from None


def check_trials_family(out_dir: Path, space) -> None:
    """The trials in ``out_dir``'s results are of the family of its saved ``space`` (read
    unchecked: a finished search is summarized without looking the family up in
    ``synth.models``, which imports torch): a space file edited since names another, and
    is refused as ``saved_space`` refuses a corrupt one."""
    table = read_results(Path(out_dir) / "results.parquet")
    for spec in table["spec"]:
        try:
            family = json.loads(spec).get("family")
        except (TypeError, ValueError, AttributeError):
            family = None
        if family != space.family:
            raise UserError(f"{Path(out_dir) / SPACE_FILE} is corrupt (its family "
                            f"{short_repr(space.family)} is not that of the search's trials, "
                            f"{short_repr(family)}); start a new search with another --out")


def space_members(out_dir: Path) -> int | None:
    """How many configurations the search's saved space holds, when it is finite and small
    enough to list (``Space.members``); None otherwise or without a saved space."""
    path = Path(out_dir) / SPACE_FILE
    if not path.is_file():
        return None
    return saved_space(out_dir, check_family=False).count_members()


def runnable_members(out_dir: Path, config: SearchConfig, enough: int) -> int | None:
    """How many members of the search's saved space build for its data and meet its
    constraints (the space's and ``config.constraints``, priced as the searcher prices
    them: ``CostModel.feasible``), counted up to ``enough``; None when the space is too large
    to list or its data does not load.  The searcher proposes only such members, so a search
    that ran fewer trials than requested may simply have run them all: with
    ``--constraint parameters<=140`` one member of the mlp space fits iris, and the summary
    of its one trial said the 3 others "never ran (an interruption lost them ...)".  Each
    member is built (and priced on hwsim under a latency or energy constraint: ~10 ms), so
    ``summarize`` asks only when the trials fell short.  The last count is kept for the
    same search directory, files and question (a resume's ``search_finished`` and its
    summary ask it in turn)."""
    from search.costs import CostModel
    from search.trial import real_data
    out_dir = Path(out_dir)
    key = (str(out_dir), json.dumps(config.to_dict(), sort_keys=True, default=str), enough,
           *((out_dir / n).read_text() if (out_dir / n).is_file() else None
             for n in (SPACE_FILE, INPUTS_FILE)))
    if _RUNNABLE_COUNTED.get("key") == key:
        return _RUNNABLE_COUNTED["count"]
    space = saved_space(out_dir)
    members = space.members()
    if members is None:
        return None
    try:
        data = real_data(config.dataset, real_split_seed(config), config.teacher)
    except UserError:
        return None
    costs = CostModel(data.input_shape, data.num_classes, accel=config.accel)
    constraints = space.all_constraints([parse_constraint(c) for c in config.constraints])
    count = 0
    for member in members:
        if count >= enough:
            break
        count += costs.feasible(member, constraints)
    _RUNNABLE_COUNTED.update(key=key, count=count)
    return count


_RUNNABLE_COUNTED: dict = {}     # runnable_members' last count and what it counted


def resumable(out_dir: str | os.PathLike, config: SearchConfig) -> bool:
    """``out_dir`` holds a search of ``config`` (its saved config, paths made absolute as
    ``run_search`` saves them, and the space it began with equal to ``config.space`` as it
    reads now), so running ``config`` there should resume it rather than start over."""
    out_dir = Path(out_dir)
    saved = out_dir / "search_config.json"
    if not saved.is_file() or not (out_dir / SPACE_FILE).is_file():
        return False
    try:
        config = with_absolute_paths(with_data_space(config))
        return _saved_is(saved, config) and _same_inputs(out_dir, config) and read_json(
            out_dir / SPACE_FILE) == json.loads(json.dumps(load_space(config.space).definition))
    except (OSError, ValueError, RecursionError):   # unreadable (UserError: a ValueError):
        # not this search
        return False


def as_begun(out_dir: str | os.PathLike, config: SearchConfig, given) -> SearchConfig:
    """``config`` for the search in ``out_dir`` where that search began before the trials'
    step floor and ``given`` (the options the caller set) leaves ``min_steps`` at its
    default: its search_config.json has no ``min_steps``, its trials trained exactly their
    epochs, and it resumes so (``min_steps`` 0), as ``run_search(None, resume=True)`` resumes
    it.  A pipeline's run directory of such a search started its search over, every finished
    trial lost, naming min_steps as a changed setting.  Likewise its ``grow_prune`` without
    a field of ``RECIPE`` (begun before the trials took nnsynth grow-prune's recipe: h288's
    ``retrain_min_steps``, h292's others) resumes with GrowPruneSchedule's library value of
    that field (``retrain_min_steps`` 0, ``prune_steps`` 10, ...) unless ``given``'s
    grow_prune sets it: its finished trials are kept, and the rest run as they began."""
    saved = Path(out_dir) / "search_config.json"
    if not saved.is_file():
        return config
    try:
        values = read_json(saved)
    except (OSError, ValueError):   # resumable / the restart reason say what it is
        return config
    if not isinstance(values, dict):
        return config
    if "min_steps" not in given and "min_steps" not in values:
        config = config.replace(min_steps=0)
    if "tiebreak" not in given and "tiebreak" not in values:   # begun before it (h299)
        config = config.replace(tiebreak=LEGACY_TIEBREAK)
    asked = given.get("grow_prune") if hasattr(given, "get") else None
    unsaved = [k for k in _unsaved_recipe(values)
               if not (isinstance(asked, Mapping) and k in asked)]
    if config.grow_prune is not None and unsaved:
        # its trials grew and pruned with the library's values of those fields: resumed so
        config = config.replace(grow_prune={**config.grow_prune, **_library_values(unsaved)})
    return config


INPUTS_FILE = "search_inputs.json"   # digest of the files the config names only by path, the
                                     # directory the search began in (check_in_place), and
                                     # what wrote the search's state (state_record)
# what begin_search writes before any trial: a search directory holding only these (and
# nnsynth's marker and lock) has no work in it
BOOKKEEPING = (SPACE_FILE, INPUTS_FILE, SEARCH_ID_FILE, "search_config.json")


# The format of what a search keeps for --resume: search_config.json's keys, the saved
# space, INPUTS_FILE, results.parquet's columns, ERRORS_FILE, the searchers' saved state and
# the objects Tune pickles in its experiment (the searcher's class among them).  Bump it with
# a change after which a search begun before cannot be resumed (or one begun after cannot be
# resumed by the code before it): 84c4fb3 reverted a change of the searchers' classes under
# which every search interrupted before it hung on --resume.  ``begin_search`` records it
# with the nnsynth and Ray versions; a resume of another format is refused in one line naming
# the nnsynth that wrote it and the one running (``check_state_format``).  Compatibility is
# this number, not the package version: nnsynth 0.1.0 has covered every change so far, some
# that changed the state and most that did not, and a release that keeps the format should
# resume what an earlier one began.  A state with no record (written before it) is format 1,
# this one: it resumes as it always did.
SEARCH_STATE_FORMAT = 1


def _version(distribution: str) -> str:
    from importlib.metadata import PackageNotFoundError, version
    try:
        return version(distribution)
    except PackageNotFoundError:     # a source tree that is not installed
        return "unknown"


def state_record() -> dict:
    """What ``begin_search`` records (in ``INPUTS_FILE``) of the code that wrote a search's
    state: ``SEARCH_STATE_FORMAT`` and the nnsynth and Ray versions."""
    return {"state_format": SEARCH_STATE_FORMAT, "nnsynth": _version("nnsynth"),
            "ray": _version("ray")}


def _written_by(out_dir: Path) -> dict:
    """``state_record``'s keys as the search in ``out_dir`` recorded them; {} for a search
    begun before the record, or whose file is unreadable (``_same_inputs`` says so)."""
    try:
        record = read_inputs(out_dir)
    except UserError:
        return {}
    return {k: record[k] for k in ("state_format", "nnsynth", "ray")
            if isinstance(record, dict) and k in record}


def check_state_format(out_dir: Path) -> None:
    """One-line UserError when the search in ``out_dir`` was written in another
    ``SEARCH_STATE_FORMAT`` than this nnsynth's (no record: format 1)."""
    record = _written_by(out_dir)
    written = record.get("state_format", 1)
    if type(written) is int and written == SEARCH_STATE_FORMAT:
        return
    by = record.get("nnsynth")
    by = f"nnsynth {_shown(by)}" if isinstance(by, str) else "another nnsynth"
    raise UserError(f"the search in {out_dir} was written by {by} (search state format "
                    f"{short_repr(written)}); this is nnsynth {_version('nnsynth')} (format "
                    f"{SEARCH_STATE_FORMAT}), which cannot resume it: resume it with the "
                    f"nnsynth that began it, or start the search over in a new directory")


def _shown(version: str) -> str:
    """A recorded version as a message shows it: as written when it reads as one, else
    quoted and cut short (the file is the user's to edit)."""
    import re
    return version if re.fullmatch(r"[0-9A-Za-z.+_-]{1,40}", version) else short_repr(version)


def _major_minor(text) -> tuple:
    return tuple(str(text).split(".")[:2])


def check_same_ray(out_dir: Path) -> None:
    """One-line UserError when the search in ``out_dir`` recorded a Ray of another
    major.minor release than this one: its Tune experiment is cloudpickled Ray objects (the
    trials, the scheduler, the searcher wrapper), which Ray does not promise to read across
    releases (a patch release is taken as the same).  Asked only where Tune's experiment is
    restored: a finished search is summarized without Ray; no record (a search begun before
    it): resumed as before."""
    written = _written_by(out_dir).get("ray")
    running = _version("ray")
    if not isinstance(written, str) or "unknown" in (written, running) or \
            _major_minor(written) == _major_minor(running):
        return
    raise UserError(f"the search in {out_dir} was begun under Ray {_shown(written)} and this "
                    f"is Ray {running}: Ray Tune's saved experiment (pickled) is read only by "
                    f"the Ray release that wrote it; resume it under Ray {_shown(written)}, or "
                    f"start the search over in a new directory")


def input_digest(config: SearchConfig) -> str:
    """sha256 (16 hex) of the teacher checkpoint's bytes and the synthesized set's Parquet
    files (names and bytes): a resumed search whose teacher or set was rewritten in place
    (nnsynth run after a changed synthesis, or nnsynth invert into the same --out) would
    otherwise keep the trials trained on the old ones; "" without a teacher."""
    import hashlib
    if not config.teacher:
        return ""
    h = hashlib.sha256()
    data = Path(config.data)
    files = [Path(config.teacher)] + (sorted(data.rglob("*.parquet")) if data.is_dir()
                                      else [data])
    for f in files:
        h.update(f.name.encode() + b"\0")
        if not f.is_file():   # a FIFO opened to read waits for a writer, a device never
            h.update(b"\0missing")   # ends: a regular file is read, the rest is 'missing'
            continue
        try:
            with open(f, "rb") as fh:
                for block in iter(lambda: fh.read(1 << 20), b""):
                    h.update(block)
        except OSError:   # missing or unreadable: loading it later says so, in one line
            h.update(b"\0missing")
    return h.hexdigest()[:16]


def data_digest(config: SearchConfig) -> str | None:
    """``Dataset.digest`` of the real set as the trials load it (its contents, split and
    scaling): trials without a teacher train on it, and every trial is scored on it.  None
    when it does not load (loading it later says why, in one line)."""
    from search.trial import real_data
    try:
        return real_data(config.dataset, real_split_seed(config), config.teacher).digest()
    except UserError:
        return None


def _same_inputs(out_dir: Path, config: SearchConfig) -> bool:
    """The search in ``out_dir`` began on the teacher, synthesized set and real data set
    ``config`` names, as they are now (a search saved before this record, or before the data
    set's digest was part of it: assumed so for what it lacks).  Without the data set's
    digest, `search --resume` after a CSV named by --dataset was rewritten kept the trials
    trained on the old file beside new ones trained on the new file, in one results table."""
    record = read_inputs(out_dir)   # unreadable: said so, not blamed on the data (h278)
    if record is None:
        return True
    saved, data = record.get("digest"), record.get("data")
    return saved == input_digest(config) and (data is None or data == data_digest(config))


def read_inputs(out_dir: str | os.PathLike) -> dict | None:
    """The search's ``INPUTS_FILE`` as ``begin_search`` wrote it (a JSON object), or None
    where there is none (a search begun before it).  Anything else there is a one-line
    UserError naming it: read as 'not the same inputs', a damaged file made a resume say
    that the data set had changed since the search began."""
    path = Path(out_dir) / INPUTS_FILE
    if not path.is_file():
        return None
    try:
        record = read_json(path, MAX_INPUTS_BYTES)
    except ConfigError as e:   # a key given twice, nested too deep
        raise UserError(f"{e} (the record of the search's inputs); start a new search with "
                        f"another --out") from None
    except (OSError, ValueError) as e:
        why = (e.strerror if isinstance(e, OSError) else
               "not UTF-8" if isinstance(e, UnicodeDecodeError) else
               f"not JSON: {e.msg}" if isinstance(e, json.JSONDecodeError) else str(e))
        raise UserError(f"{path} (the record of the search's inputs) cannot be read "
                        f"({printable(why)[:80]}): it is damaged; start a new search with "
                        f"another --out") from None
    if not isinstance(record, dict):
        raise UserError(f"{path} (the record of the search's inputs) is a JSON "
                        f"{type(record).__name__}, not the object nnsynth writes: it is "
                        f"damaged; start a new search with another --out")
    return record


MAX_INPUTS_BYTES = 1 << 20   # begin_search writes a few hundred bytes


def no_trial_reason(space, config: SearchConfig, input_shape, num_classes: int,
                    samples: int = 64) -> str | None:
    """Why a search proposed nothing, when random members of the space tell: none of
    ``samples`` builds for the data (the first error), or none meets the constraints (the
    best value seen of each); None when one is fine (the trials failed instead)."""
    import numpy as np
    from search.costs import CostModel
    from synth.models import build
    constraints = space.all_constraints(map(parse_constraint, config.constraints))
    hardware = any(c.metric in HARDWARE_METRICS for c in constraints)
    costs_of, rng, error, seen = (CostModel(input_shape, num_classes, accel=config.accel),
                                  np.random.default_rng(0), None, [])
    for _ in range(samples):
        spec = space.sample(rng)
        blind = costs_of.blind_spot(spec)   # builds, but skips input pixels: never proposed
        costs = None if blind else costs_of.costs(spec, hardware=hardware)
        if costs is None:
            if error is None and blind:
                error = f"{short_repr(spec_key(spec), 120)}: {blind}"
            elif error is None:
                try:
                    build(spec, tuple(input_shape), num_classes)
                except (UserError, ValueError) as e:
                    error = f"{short_repr(spec_key(spec), 120)}: {e}"
            continue
        if all(c.ok(costs) for c in constraints):
            return None
        seen.append(costs)
    if not seen:
        return (f"none of {samples} random members of the space builds for input shape "
                f"{tuple(input_shape)}, e.g. {error}")
    missed = [(c, sum(c.ok(x) for x in seen),
               (min if c.op in ('<=', '<') else max)(x[c.metric] for x in seen))
              for c in constraints if not all(c.ok(x) for x in seen)]
    if all(met == 0 for _, met, _ in missed):
        return (f"none of {samples} random members of the space meets "
                + ", ".join(f"{c} (best seen {value:g})" for c, _, value in missed))
    # bounds each met alone, none together: 'none meets latency_ms<=0.0006 (best seen
    # 0.00042625)' said a bound was missed that its best member met
    return (f"of {samples} random members of the space, "
            + ", ".join(f"{met} meet{'s' if met == 1 else ''} {c} (best seen {value:g})"
                        for c, met, value in missed)
            + f", none {'both' if len(missed) == 2 else 'all of them'}")


def unmeetable_constraint(space, constraints, input_shape, num_classes: int,
                          accel=None) -> str | None:
    """The first of ``constraints`` that no member of ``space`` meets, priced as the
    searcher prices its proposals (``CostModel``; latency and energy on hwsim) at the
    space's extreme (``search.costs.cost_extreme``: the costliest member for a lower bound,
    the cheapest for an upper one), said with the figure and the member; None when each
    bound is met by some member (or nothing builds: ``no_trial_reason`` says that).  A bound
    each of whose extremes passes may still be out of reach jointly with another.  ``accel``:
    the search's accelerator (``SearchConfig.accel``), named in the line where it is not the
    default."""
    from search.costs import CostModel, cost_extreme
    cost_model = CostModel(input_shape, num_classes, accel=accel)
    for c in constraints:
        highest = c.op[0] == ">"
        found = cost_extreme(space, cost_model, c.metric, highest)
        if found is None:
            return None
        value, spec = found
        if not c.ok({c.metric: value}):
            return (f"{c} cannot be met: the {'costliest' if highest else 'cheapest'} member "
                    f"of the space has {c.metric} {value:,.6g} "
                    f"({short_repr(spec_key(spec), 160)}) for input shape "
                    f"{tuple(input_shape)}, {num_classes} classes"
                    + (f", on the accelerator {accel_text(accel)}"
                       if accel and c.metric in HARDWARE_METRICS else ""))
    return None


def check_searchable(config: SearchConfig) -> None:
    """For a search started on its own (``nnsynth search``), what the pipeline's data check
    (``deploy.stages.check_data``) refuses before any work: a space none of whose members
    builds for the data set's inputs, and a constraint that no member meets (priced at the
    space's extremes, ``unmeetable_constraint``).  Found by the search itself, they came
    after Ray started and Tune ran no trial ('finished no trial'), and ``--out`` then held a
    search that could never run: the corrected command into it was refused ('holds an
    earlier search').  Loads the data set once more (the search loads it itself)."""
    import copy
    from search.trial import real_data
    if config.storage_path and "://" not in config.storage_path:   # Tune's folder: a loop
        check_folder_writable(config.storage_path, "storage_path")   # there was a traceback
    config = with_absolute_paths(with_data_space(config))
    space = searchable_space(config.space)
    synthetic = (check_teacher_inputs(config) if config.teacher and Path(config.teacher).is_file()
                 else None)
    data = real_data(config.dataset, real_split_seed(config), config.teacher)
    # a step floor the epoch limit cannot make on this set: every trial failed with it inside
    # Ray, each tried again ('finished no trial', 27 s for 2 trials of iris)
    search_epochs(config, data, synthetic)
    bare = copy.copy(space)      # whether members build at all, before any bound
    bare.constraints = []
    reason = no_trial_reason(bare, config.replace(constraints=()), data.input_shape,
                             data.num_classes)
    if reason:
        raise UserError(f"space {config.space}: {reason}")
    constraints = space.all_constraints([parse_constraint(c) for c in config.constraints])
    reason = unmeetable_constraint(space, constraints, data.input_shape, data.num_classes,
                                   config.accel)
    if reason:
        raise UserError(f"{reason}; relax the bound or widen the space")
    if constraints and first_proposal(config, space, data.input_shape,
                                      data.num_classes) is None:
        # each bound met by some member, none meeting them all (latency_ms<=0.002 with
        # parameters>=5000): the search's own searcher (its seed) would propose nothing
        seen = no_trial_reason(space, config, data.input_shape, data.num_classes)
        raise UserError(f"space {config.space}: the {config.searcher} searcher finds no member "
                        f"that meets {' and '.join(map(str, constraints))}"
                        + (" together" if len(constraints) > 1 else "")
                        + (f" ({seen})" if seen else "")
                        + "; relax a bound or widen the space")


def search_epochs(config: SearchConfig, data, synthetic=None) -> int:
    """The epochs each trial of the search trains (``floor_epochs``) on its training inputs:
    the synthesized set ``synthetic`` of a search with a teacher, else the real set ``data``;
    a floor past the epoch limit is the UserError naming min_steps (or retrain_min_steps)."""
    return floor_epochs(config, len(synthetic.x_train if config.teacher and synthetic is not None
                                    else data.y_train))


def floor_epochs(config: SearchConfig, samples: int) -> int:
    """The epochs each trial trains on ``samples`` training inputs (``search.trial.
    trial_epochs``: ``epochs`` raised to ``min_steps`` optimizer steps), each of its
    grow_prune retrainings checked likewise (``retrain_min_steps``): a floor past the epoch
    limit is ``synth.train.StepFloorError`` naming the field.  ``nnsynth search`` and the
    pipeline's check (``deploy.stages.check_search_floors``, at synthesis.num_images) both
    refuse it before any trial; a retraining's failed every trial inside Ray (h288)."""
    from search.trial import trial_epochs
    epochs = trial_epochs(config.to_dict(), range(samples))
    if config.grow_prune is not None:   # the trials' own schedule
        from search.trial import grow_prune_schedule
        from synth.train import StepFloorError
        try:
            grow_prune_schedule(config.to_dict()).retrain_epochs_for(samples)
        except StepFloorError as e:   # named where the search's user sets it
            raise StepFloorError("grow_prune.retrain_min_steps", e.value, e.raised, e.samples,
                                 "lower the schedule's retrain_min_steps: nnsynth search "
                                 "--schedule") from None
    return epochs


def first_proposal(config: SearchConfig, space, input_shape,
                   num_classes: int) -> dict | None:
    """The first architecture the search's searcher proposes (``make_searcher`` with the
    search's seed and batch: what Tune's first trial would get) for inputs of
    ``input_shape``, or None when it finds no member that builds and meets the constraints
    (the search would run no trial)."""
    from search.costs import CostModel
    return make_searcher(config, space, CostModel(input_shape, num_classes,
                                                  accel=config.accel)).ask()


def _saved_is(saved: Path, config: SearchConfig) -> bool:
    """``saved`` (a search_config.json) holds ``config``, compared as JSON reads it back."""
    return saved_settings(saved) == json.loads(json.dumps(config.to_dict()))


def saved_settings(saved: Path) -> dict:
    """A search's saved settings (its search_config.json) as a resume reads them: a setting
    it was saved without resumes with the value its trials ran (``min_steps`` 0; a RECIPE
    field its ``grow_prune`` lacks, GrowPruneSchedule's library value), as ``as_begun`` gives
    a caller's config.  What ``--resume`` runs, ``check_same_settings`` and ``resumable``
    compare, and the pipeline's restart line names (``deploy.stages.search_restart_reason``).
    An unreadable file: one line (UserError)."""
    saved = Path(saved)
    try:
        values = read_json(saved)
    except ConfigError as e:   # a key given twice: json kept the last (h278)
        raise UserError(f"{e} (the search's saved settings)") from None
    except (OSError, ValueError):
        raise UserError(f"{saved} is corrupt; start a new search with another --out") from None
    if not isinstance(values, dict):
        raise UserError(f"{saved} is not a search config; start a new search with another --out")
    # a search begun before min_steps trained its trials exactly its epochs: resumed so
    values.setdefault("min_steps", 0)
    # and one begun before accel priced on hwsim's default array (h297)
    values.setdefault("accel", {})
    # and one begun before tiebreak chose among tied trials by parameters (h299)
    values.setdefault("tiebreak", LEGACY_TIEBREAK)
    unsaved = _unsaved_recipe(values)   # nor grow-and-pruned with the recipe (h288, h292)
    if unsaved:
        values["grow_prune"] = {**values["grow_prune"], **_library_values(unsaved)}
    return values


def _unsaved_recipe(values) -> list[str]:
    """The fields of nnsynth grow-prune's recipe (``RECIPE``) that ``values`` (a saved search
    config) grow-and-prune without: saved before ``SearchConfig.validate`` recorded them
    (retrain_min_steps before h288, the others before h292), its trials ran with
    GrowPruneSchedule's library values of those (``_library_values``)."""
    grow_prune = values.get("grow_prune") if isinstance(values, dict) else None
    if not isinstance(grow_prune, dict):
        return []
    return [k for k in RECIPE if k not in grow_prune]


def _library_values(fields) -> dict:
    """GrowPruneSchedule's own values of ``fields`` (what a trial's ``from_dict`` took where
    grow_prune set none, before the trials took the recipe)."""
    from synth.grow_prune import GrowPruneSchedule
    library = GrowPruneSchedule().to_dict()
    return {k: library[k] for k in fields}


def begin_search(out_dir: Path, config: SearchConfig, space) -> None:
    """Write what a new search in ``out_dir`` resumes from: its space (``save_space``), the
    digests of its inputs and the directory it runs in (``INPUTS_FILE``), its id
    (``search.trust``) and its config (search_config.json)."""
    save_space(out_dir, space)
    write_json_atomic(out_dir / INPUTS_FILE, {"digest": input_digest(config),
                                              "data": data_digest(config),
                                              "search_dir": str(out_dir), **state_record()})
    register_search(out_dir)            # this user's: a --resume may restore its Tune state
    saved = out_dir / "search_config.json"
    if not saved.exists():
        write_json_atomic(saved, config.to_dict())


def check_in_place(out_dir: Path) -> None:
    """The search in ``out_dir`` began there (``begin_search`` records where; a search begun
    before the record: assumed so).  Tune's saved state names the directory the experiment
    began in: resumed after a copy or a move, its results callback wrote the new trials'
    rows to the original's results.parquet (a copy's line then said they 'never ran'), Tune
    put the trials the searcher proposes next there (each failed once the original was gone:
    'Unable to set up cluster storage'), and best.pt was copied from the original's models
    (a FileNotFoundError traceback when it was gone)."""
    try:
        began = (read_inputs(out_dir) or {}).get("search_dir")
    except UserError:
        return      # unreadable: _same_inputs says so (a finished search's summary
                    # needs none)
    if isinstance(began, str) and Path(began) != Path(out_dir):
        raise UserError(f"{out_dir} holds a search begun in {began} and copied or moved since: "
                        f"Ray Tune's saved state would go on writing to {began}; move it back "
                        f"there to resume it, or start the search over in a new directory")


def _run_locked(config: SearchConfig, out_dir: Path, *, resume: bool, fresh_space,
                progress: bool, address: str | None, synthetic=None,
                given: str | os.PathLike | None = None) -> dict:
    began = time.perf_counter()
    saved = out_dir / "search_config.json"
    shown = shown_path(out_dir, out_dir, given)   # as the user gave it
    if not resume:
        if saved.exists() and (not _saved_is(saved, config)
                               or (out_dir / "results.parquet").exists()):
            # a fresh search would mix its trials with the earlier one's in results.parquet
            raise UserError(f"{shown} holds an earlier search; resume it with --resume "
                            f"{shown} or choose another --out")
        # another table's rows (a pipeline run directory keeps its search's results.parquet
        # and pareto.png at its top): appended to, summarized with the new trials, overwritten
        others = [n for n in ("results.parquet", "pareto.png", "best.pt") if (out_dir / n).exists()]
        if others and not saved.exists():
            raise UserError(f"{shown} holds {others[0]} of another search or run (and no "
                            f"search_config.json of a search to resume); choose another --out")
        begin_search(out_dir, config, fresh_space)   # run_search loaded and checked it
    else:
        check_trusted(out_dir)   # before Tune unpickles anything of it
        check_in_place(out_dir)
        check_state_format(out_dir)
    storage, name = tune_experiment(config, out_dir)
    experiment = f"{storage.rstrip('/')}/{name}"
    # the space the search started with, never config.space again: a relative path resumed
    # from elsewhere was 'not found', or another file of that name was read.  Its own
    # constraints, when it has some, need the pricing the search may have turned off
    unchecked = saved_space(out_dir, check_family=False)
    check_constraints(unchecked.constraints, config.hardware)
    if resume and search_finished(out_dir, config):
        check_trials_family(out_dir, unchecked)
        remove_unrecorded(out_dir, read_results(out_dir / "results.parquet"))
        # nothing left for Tune to run: the summary of the saved results, without Ray, the
        # searchers, the data set or torch (loaded first, the data set and the searchers'
        # imports took ~2 s of CPU to print a line, torch for the space's family ~2 s more);
        # a data set changed since trains and scores nothing here.  Its notes are the
        # first run's, as it recorded them (the padded-series note of its data)
        return {**summarize(out_dir, config, wall_seconds=time.perf_counter() - began),
                **saved_data_note(out_dir, config)}
    space = saved_space(out_dir)        # checked against its family: the search trains it
    if resume and not _same_inputs(out_dir, config):
        named = (f"the teacher {config.teacher}, the set {config.data} or the data set "
                 f"{config.dataset}" if config.teacher else f"the data set {config.dataset}")
        raise UserError(f"{named} changed since the search in {shown} began: its trials "
                        f"were trained and scored on the old one; start a new search with "
                        f"another --out")
    if progress:    # before Ray starts and the data loads (seconds)
        progress_line(start_text(config, out_dir, resume, given))
    if resume:      # a trial's model saved, its row never written: the file of no trial
        remove_unrecorded(out_dir, read_results(out_dir / "results.parquet"))
    if not resume and random_only(config):
        logger.warning("%s", random_only(config))
    from cluster.connect import check_cluster_device, connect
    from search.costs import CostModel
    from search.trial import real_data
    data_seed = real_split_seed(config)
    data = real_data(config.dataset, data_seed, config.teacher, warn=True)
    if synthetic is None and config.teacher and config.data and Path(config.data).is_dir():
        from synth.checkpoint import load_model, synthesized_for   # a resumed search's set
        synthetic = synthesized_for(load_model(config.teacher), config.data, owner="teacher",
                                    seed=config.seed)
    noted = data_note(data, config, synthetic)   # the summary's, after its trials
    record_data_note(out_dir, noted)  # and a finished search's --resume, which loads no data
    from ray import tune
    restore = resume and tune.Tuner.can_restore(experiment)
    if restore:         # Tune's experiment is pickled by the Ray that wrote it: before Ray starts
        check_same_ray(out_dir)
    unverified = unverified_tune_state(out_dir, experiment) if restore else None
    if unverified:      # pickled: never unpickled unless as this user's search process left it
        kept = len(read_results(out_dir / "results.parquet"))
        logger.warning("Tune's saved state in %s is not verified (%s): resuming from "
                       "results.parquet, %d finished trial%s kept", experiment, unverified,
                       kept, "" if kept == 1 else "s")
        restore = False
    samples = config.trials if restore or not resume else trials_left(out_dir, config)
    if samples <= 0:    # what Tune lost could only be retried from its state
        return {**summarize(out_dir, config, wall_seconds=time.perf_counter() - began),
                **noted}
    connect(address)   # the one code path: a local Ray on 127.0.0.1, or the cluster named
    check_cluster_device(config.device)
    import ray
    if config.hardware and config.pool_shards > 0:  # the driver owns the named actors
        from cluster.hwsim_pool import get_pool
        check_pool_fits(config.pool_shards, config.pool_cpus)
        get_pool(num_shards=config.pool_shards, num_cpus=config.pool_cpus)
    # CPUs the trials can have: the cluster's, less this search's hwsim pool, and no more
    # than are free now (a pool left by an earlier search of this session, other jobs'
    # actors): sized on the total, a lone trial asked for 2 CPUs where 1 was free, and waited
    free = min(ray.cluster_resources().get("CPU", 1) - (
        config.pool_shards * config.pool_cpus if config.hardware else 0),
        ray.available_resources().get("CPU", 0))
    gpus = ray.cluster_resources().get("GPU", 0) if config.device != "cpu" else 0
    settings = {**config.to_dict(), "out_dir": str(out_dir), "data_seed": data_seed,
                "cpus_per_trial": max(MIN_TRIAL_CPUS, round(free / at_once(config), 2)),
                "gpus_per_trial": min(1.0, gpus / at_once(config)) if gpus else 0}
    trainable = _trainable(settings, trainable_name(out_dir))
    start = time.perf_counter()
    # Tune reads its experiment through a filesystem that hands out what it may unpickle only
    # as checked above (restored) or as this process wrote it (search.trust.verified_reads;
    # one at gs://, hdfs:// or abfs:// is read as it is when Tune reads it)
    path, filesystem = verified_reads(out_dir, experiment, restored=restore)
    forget_tune_state(out_dir)      # Tune writes it from here on: recorded again as fit ends
    if restore:
        tuner = restore_tuner(path, settings, trainable_name(out_dir), filesystem)
        current_results_callback(tuner, str(out_dir / "results.parquet"))
    else:
        if "://" not in experiment:  # a local experiment Tune cannot restore: start over
            remove_owned(experiment, "--out")
            claim_dir(experiment, "--out")
        from ray.tune.search import ConcurrencyLimiter
        searcher = make_searcher(config, space, CostModel(data.input_shape, data.num_classes,
                                                          accel=config.accel))
        if resume:      # no Tune state to restore (its folder deleted, its storage gone)
            warm_start(searcher, read_results(out_dir / "results.parquet"),
                       pruned=config.grow_prune is not None)
        scheduler = None
        if config.asha:   # a report per epoch a trial trains, and its final one
            from ray.tune.schedulers import ASHAScheduler
            epochs = search_epochs(config, data, synthetic)
            scheduler = ASHAScheduler(time_attr="training_iteration", max_t=epochs + 1,
                                      grace_period=1)
        tuner = tune.Tuner(
            trainable,
            tune_config=tune.TuneConfig(
                metric="accuracy", mode="max", num_samples=samples, scheduler=scheduler,
                search_alg=ConcurrencyLimiter(searcher, config.concurrency, batch=True),
                reuse_actors=REUSE_ACTORS),
            # Tune reports at verbosity 1 whatever the output asked now; what reaches the
            # terminal is chosen below (a resume restores this run_config as it was saved)
            run_config=tune.RunConfig(
                name=name, storage_path=posixpath.dirname(path) if filesystem else storage,
                storage_filesystem=filesystem, verbose=1,
                callbacks=[ResultsCallback(str(out_dir / "results.parquet"))],
                failure_config=tune.FailureConfig(max_failures=config.max_failures)))
    # Tune prints its experiment box, 'Trial status' tables, a box of every trial's config and
    # of its result with print(): to stdout, where nnsynth puts only results (a --json line is
    # the last one).  nnsynth's own progress is a line per trial (TrialProgress); Tune's
    # boxes (~45 lines a trial) go to stderr only where the search logger shows INFO
    # (nnsynth -v), else nowhere, and under -q (no progress) nothing at all
    tune_boxes = progress and logger.isEnabledFor(logging.INFO)
    results = str(out_dir / "results.parquet")
    if progress:
        _PROGRESS[results] = TrialProgress(out_dir, config)
    # and Tune's INFO log lines with them ('Wrote the latest version of all result files and
    # experiment state to ...' where Ray logs at INFO: the search stage of nnsynth run)
    tune_log = logging.getLogger("ray.tune")
    tune_level = tune_log.level
    quieted = [logging.getLogger(n) for n in TRIAL_FAILURE_LOGGERS] if not tune_boxes else []
    if not tune_boxes:
        tune_log.setLevel(max(tune_level, logging.WARNING))
    for log in quieted:
        log.addFilter(_no_trial_failure_logs)
    try:
        with open(os.devnull, "w") as null, \
                contextlib.redirect_stdout(sys.stderr if tune_boxes else null):
            _fit_interruptibly(tuner, out_dir / "results.parquet", config.trials)
    finally:
        # finished, interrupted or failed: what a resume may unpickle (search.trust)
        record_tune_state(out_dir, experiment, filesystem)
        _PROGRESS.pop(results, None)
        tune_log.setLevel(tune_level)
        for log in quieted:
            log.removeFilter(_no_trial_failure_logs)
    if read_results(out_dir / "results.parquet").empty:
        reason = no_trial_reason(space, config, data.input_shape, data.num_classes)
        if reason:
            raise UserError(f"the search in {out_dir} finished no trial: {reason}")
    return {**summarize(out_dir, config, wall_seconds=time.perf_counter() - start), **noted}


def random_only(config: SearchConfig) -> str | None:
    """The warning of a predictor-guided search whose every trial is random: the searcher
    proposes ``n_initial`` random architectures before its predictor's first fit, so with
    ``trials <= n_initial`` the predictor proposes none (``nnsynth search --trials 2`` with
    the default --n-initial 8 reported 'searcher steerage' of two random draws, no word)."""
    if config.searcher in PREDICTOR_FREE or config.trials > config.n_initial:
        return None
    return (f"n_initial {config.n_initial} is not below trials {config.trials}: every trial "
            f"is a random architecture and the {config.searcher} predictor proposes none "
            f"(lower n_initial, or raise trials)")


def trials_left(out_dir: Path, config: SearchConfig) -> int:
    """How many trials a resumed search whose Tune state is gone (its tune/ folder deleted,
    its storage_path no longer there) still runs: those the table and the failed ones do
    not account for.  Resumed so, it ran all ``config.trials`` again beside the rows it
    kept: a 3-trial search stopped after 1 ran 3 more ('trial 4/3', '4 trials')."""
    table = read_results(Path(out_dir) / "results.parquet")
    return config.trials - len(table) - len(errored_trials(out_dir, table["trial_id"]))


def warm_start(searcher, table: pd.DataFrame, pruned: bool = False) -> None:
    """Tell a new ``searcher`` the trials of ``table`` (a search resumed without its Tune
    state, which held the searcher's history): it proposed its first architectures again,
    and the search trained them twice.  A trial ASHA stopped is told as not measured (its
    accuracy is an epoch's); a spec the space no longer holds is skipped.  Its figures are
    those the constraints read (``measured_figures``: a grown-and-pruned model's nonzero
    counts; ``pruned``: the search grows and prunes, for rows that do not say)."""
    stopped = stopped_early(table)
    for (_, row), early in zip(table.iterrows(), stopped):
        figures = {m: v for m, v in measured_figures(row, pruned).items() if v is not None}
        value = None if early or pd.isna(row.get("accuracy")) else float(row["accuracy"])
        try:
            searcher.tell(json.loads(row["spec"]), value, figures)
        except (ValueError, TypeError):    # ConfigError: not a member (a changed space)
            continue


def search_finished(out_dir: Path, config: SearchConfig) -> bool:
    """The search in ``out_dir`` has nothing left to run: a row for every trial it asked for
    (those ASHA stopped count, as ``--trials`` counts them) -- or for every member of its
    saved space that builds and meets its constraints, where fewer -- and no failed trial
    (a resume retries those).  ``nnsynth search --resume`` of such a search started Ray and
    restored Tune's experiment only to print the summary of the saved results."""
    table = read_results(out_dir / "results.parquet")
    if table.empty or errored_trials(out_dir, table["trial_id"]):
        return False
    members = space_members(out_dir)
    expected = config.trials if members is None else min(config.trials, members)
    if len(table) >= expected:
        return True
    runnable = None if members is None else runnable_members(out_dir, config, expected)
    return runnable is not None and len(table) >= runnable


def tune_experiment(config: SearchConfig, out_dir: Path) -> tuple[str, str]:
    """(storage, name) of the search's Tune experiment: ``out_dir/tune``, or under a
    ``storage_path`` ``tune-<search id>`` (``search.trust``'s id of ``out_dir``).  Every search
    put its experiment at ``<storage_path>/tune``: a second search sharing the storage_path
    deleted an interrupted first one's experiment, and resuming the first restored the
    second's (nothing ran; its summary said its trials 'never ran')."""
    storage = tune_storage(config, out_dir)
    if not config.storage_path:
        return storage, "tune"
    search_id = (Path(out_dir) / SEARCH_ID_FILE).read_text().strip()  # checked by trust
    return storage, f"tune-{search_id}"


def tune_storage(config: SearchConfig, out_dir: Path) -> str:
    """Where Tune keeps the experiment: ``config.storage_path`` (a path, made absolute, or a
    URI kept as given), else ``out_dir``."""
    if not config.storage_path:
        return str(out_dir)
    if "://" in config.storage_path:
        return config.storage_path
    return str(check_folder_writable(config.storage_path, "storage_path"))


def _no_tune_resume_hints(record: logging.LogRecord) -> bool:
    """Drop Tune's "Stop signal received" and "Resume experiment with: Tuner.restore(...)"
    warnings: an nnsynth search resumes by rerunning the same command, which its own
    message says."""
    text = str(record.msg)
    return not (text.startswith("Stop signal received") or "Tuner.restore" in text
                or "Resume training with" in text)


# Ray 2.60's loggers of a failed trial: the controller's 'Trial task failed for trial ...'
# (ERROR, with the trial's traceback) and tune.py's 'Trials did not complete: [...]'
TRIAL_FAILURE_LOGGERS = ("ray.tune.execution.tune_controller", "ray.tune.tune")


def _no_trial_failure_logs(record: logging.LogRecord) -> bool:
    """Drop Tune's log of a failed trial, a 40-line traceback for each and a list of them at
    the end (only ``nnsynth -v`` shows Tune's output): the search's own line says the trial
    failed, with its error's last line and the file that holds the traceback (TrialProgress),
    and its summary counts the failed ones (trial_errors.json)."""
    text = str(record.msg)
    return not (text.startswith("Trial task failed for trial")
                or text.startswith("Trials did not complete"))


def _restore_failed(record: logging.LogRecord) -> bool:
    """Raise where Tune logs that it could not restore a resumed experiment.  Tune logs
    "Failed to restore the run state" (a damaged or incompatible searcher state: its
    ``restore`` raised) and goes on with an experiment it cannot run: ``nnsynth search
    --resume`` of a search whose searcher-state file was cut in half waited until killed
    (10 minutes, no trial).  Raised from this filter, the error leaves Tune's constructor
    and ``fit()``: the command's one line, exit 2, the search's files as they were."""
    if not str(record.msg).startswith("Failed to restore the run state"):
        return True
    error = record.exc_info[1] if record.exc_info else None
    if isinstance(error, UserError):
        raise error
    raise UserError(f"the search's Tune state cannot be restored ({type(error).__name__}: "
                    f"{error}); start a new search with another --out")


def _fit_interruptibly(tuner, results: Path, requested: int) -> None:
    """``tuner.fit()`` where Ctrl-C means "stop, and let a rerun resume".

    The first Ctrl-C asks Tune to stop, as its own SIGINT handler does: Tune's loop ends at
    its next step, saves the experiment state and stops the running trials; a second Ctrl-C
    raises KeyboardInterrupt at once.  A KeyboardInterrupt raised in the middle of a step
    could land inside Ray's own waiting (a lock held, a future never resolved) and leave the
    process hanging instead of ending.  Tune's handler alone would end ``fit()`` quietly and
    pass an interrupted search off as finished, so the interruption is recorded here, and an
    interrupted search with fewer finished trials than requested raises KeyboardInterrupt
    after ``fit()``: the finished trials and the experiment state are kept, a rerun restores
    them.  Tune's stop is reached through the SIGUSR1 handler its loop installs (Ray 2.60
    registers the same stop for both signals); before the loop has started there is nothing
    to stop gracefully, and Ctrl-C raises at once."""
    interrupted = []

    def on_sigint(signum, frame):
        tune_stop = signal.getsignal(signal.SIGUSR1) if hasattr(signal, "SIGUSR1") else None
        first = not interrupted
        interrupted.append(True)
        if first and callable(tune_stop) and getattr(tune_stop, "__module__", "").startswith(
                "ray.tune"):
            logger.warning("interrupt: stopping the search after its current step "
                           "(Ctrl-C again to stop at once)")
            tune_stop(signum, frame)
            return
        raise KeyboardInterrupt

    main = threading.current_thread() is threading.main_thread()
    previous_handler = signal.signal(signal.SIGINT, on_sigint) if main else None
    previous_usr1 = signal.getsignal(signal.SIGUSR1) if main and hasattr(signal, "SIGUSR1") \
        else None
    previous_env = os.environ.get("TUNE_DISABLE_SIGINT_HANDLER")
    os.environ["TUNE_DISABLE_SIGINT_HANDLER"] = "1"
    tune_log = logging.getLogger("ray.tune.tune")
    tune_log.addFilter(_no_tune_resume_hints)
    controller_log = logging.getLogger("ray.tune.execution.tune_controller")
    controller_log.addFilter(_restore_failed)
    try:
        tuner.fit()
    finally:
        tune_log.removeFilter(_no_tune_resume_hints)
        controller_log.removeFilter(_restore_failed)
        if previous_env is None:
            os.environ.pop("TUNE_DISABLE_SIGINT_HANDLER", None)
        else:
            os.environ["TUNE_DISABLE_SIGINT_HANDLER"] = previous_env
        if main:
            signal.signal(signal.SIGINT, previous_handler)
            if previous_usr1 is not None:
                signal.signal(signal.SIGUSR1, previous_usr1)
    if interrupted and len(read_results(results)) < requested:
        raise KeyboardInterrupt


def trials_text(summary: dict) -> str:
    """The trial count of a search ``summary`` in words: "20 trials", or with trials stopped
    early "20 trials (6 trained to the end, 14 stopped early by ASHA)"."""
    text = f"{summary['trials']} trial{'' if summary['trials'] == 1 else 's'}"
    if summary.get("trials_stopped_early"):
        text += (f" ({summary['trials_finished']} trained to the end, "
                 f"{summary['trials_stopped_early']} stopped early by ASHA)")
    if summary.get("trials_errored"):
        text += (f", {summary['trials_errored']} more failed (their errors: "
                 f"{Path(summary['out_dir']) / ERRORS_FILE})")
    members = summary.get("space_members")
    runnable = summary.get("space_runnable")
    requested = summary.get("trials_requested", 0)
    if runnable is not None and members is not None and runnable < min(members, requested):
        one = runnable == 1
        text += (f" ({runnable} of the space's {members} configurations "
                 f"{'builds' if one else 'build'} for the data and {'meets' if one else 'meet'}"
                 f" the constraints, {requested} were requested)")
    elif members is not None and members < requested:
        text += (f" (the space holds {members} configuration{'s' if members != 1 else ''}, "
                 f"{requested} were requested)")
    outside = summary.get("trials_outside_constraints")
    if outside:
        pruned = "grown-and-pruned " if summary.get("grow_pruned") else ""
        counted = (" (on its nonzero parameters and MACs)"
                   if summary.get("constraints_counted") == "nonzero" else "")
        text += (f" ({outside} left a {pruned}model outside the constraints "
                 f"{', '.join(summary.get('constraints') or ())}{counted}: not eligible for "
                 f"best, nor on the Pareto front)")
    if summary.get("trials_missing"):
        text += (f"; {summary['trials_missing']} of the {summary['trials_requested']} "
                 f"requested never ran (an interruption lost them from Tune's saved state; "
                 f"a --resume cannot bring them back)")
    return text


def search_constraints(out_dir: Path, config: SearchConfig) -> list:
    """The constraints of the search in ``out_dir``: its saved space's own and
    ``config.constraints`` (the config's alone where no space was saved)."""
    given = [parse_constraint(c) for c in config.constraints]
    if not (Path(out_dir) / SPACE_FILE).is_file():
        return given
    return saved_space(out_dir, check_family=False).all_constraints(given)


def saved_model_spec(row) -> str:
    """The spec JSON of the model a results row's trial saved (``model_spec``; a row written
    before that column: ``spec``, which it was then unless grow_prune shrank it)."""
    value = row.get("model_spec") if hasattr(row, "get") else None
    return value if isinstance(value, str) and value else row["spec"]


def failed_constraints(row, constraints, pruned: bool = False) -> list:
    """The ``constraints`` a results row's figures (those of the model its trial saved: after
    grow-and-prune, the pruned one, its nonzero counts: ``measured_figures``; ``pruned``:
    whether the search grows and prunes, for a row that does not say) fail; a figure the row
    lacks fails it too (the model cannot be shown to meet it)."""
    figures = measured_figures(row, pruned)
    return [c for c in constraints if figures[c.metric] is None or not c.ok(figures)]


def outside_constraints(table: pd.DataFrame, constraints, pruned: bool = False) -> pd.Series:
    """Which rows of ``table`` fail one of ``constraints`` (``failed_constraints``)."""
    if not constraints or table.empty:
        return pd.Series(False, index=table.index)
    return table.apply(lambda row: bool(failed_constraints(row, constraints, pruned)),
                       axis=1).astype(bool)


def constraints_seen(table: pd.DataFrame, constraints, pruned: bool = False) -> str:
    """The ``constraints`` some row of ``table`` fails, each with the best figure seen
    ('parameters>=20000 (largest 14,116)'; of grown-and-pruned models, the nonzero count:
    'largest 5,210 nonzero')."""
    parts = []
    for c in constraints:
        rows = [r for _, r in table.iterrows()]
        values = [v for v in (measured_figures(r, pruned)[c.metric] for r in rows)
                  if v is not None]
        if values and all(c.ok({c.metric: v}) for v in values):
            continue
        if not values:
            parts.append(f"{c} (not measured)")
            continue
        low = c.op in ("<=", "<")
        seen = min(values) if low else max(values)
        live = c.metric in LIVE_FIGURES and any(grow_pruned(r, pruned) for r in rows)
        parts.append(f"{c} ({'smallest' if low else 'largest'} {seen:,.6g}"
                     f"{' nonzero' if live else ''})")
    return ", ".join(parts) or ", ".join(map(str, constraints))


def constant_best(best) -> str | None:
    """The warning of a best trial (a results row) whose model predicts one class for every
    test sample (``predicted_classes`` 1): its accuracy is that class's share, nothing
    learned, and the summary reported it as the search's best without a word (a convnet of
    1x1 kernels at stride 2, 10.0% on digits).  None otherwise, and for a row written before
    the column (not known)."""
    if figure(best.get("predicted_classes")) != 1:
        return None
    line = best.get("warning")
    if not (isinstance(line, str) and line):
        line = "the model predicts one class for every test sample"
    return f"the best trial {best['trial_id']} is a constant model: {line}"


def summarize(out_dir: Path, config: SearchConfig, wall_seconds: float | None = None) -> dict:
    """Best trial, Pareto front and artifacts, all from results.parquet."""
    table = read_results(out_dir / "results.parquet")
    if table.empty:
        raise UserError(f"the search in {out_dir} finished no trial; see "
                        f"{'/'.join(tune_experiment(config, out_dir))}")
    # highest selection accuracy; ties (common on a small synthesized slice or validation
    # split) go to a model that predicts more than one class over the selection inputs (never
    # the test split's count: the test split chooses nothing), then by config.tiebreak: the
    # validation loss (the KD loss to the teacher) and the parameters
    # (search.results.rank_trials).  Only finished trials compete:
    # one ASHA stopped holds an earlier epoch's accuracy and no model, costs or test figure
    # (its row ranked first, and best.pt was copied from no file)
    stopped = stopped_early(table)
    finished = table[table["checkpoint"].notna() & ~stopped]
    if finished.empty:
        raise UserError(f"the search in {out_dir} finished no trial to the end (every one "
                        f"was stopped early); see {'/'.join(tune_experiment(config, out_dir))}")
    # the constraints hold for the model a trial saved, the one best.pt would be and whose
    # figures the summary reports: grow-and-prune shrinks the searched architecture after
    # the searcher checked it, so a 'parameters>=20000' search reported a best of 14,116
    constraints = search_constraints(out_dir, config)
    pruned = config.grow_prune is not None
    outside = outside_constraints(finished, constraints, pruned)
    eligible = finished[~outside]
    if eligible.empty:
        raise UserError(f"the search in {out_dir} finished {len(finished)} trial"
                        f"{'s' if len(finished) != 1 else ''}, but no trial's model meets "
                        f"{constraints_seen(finished, constraints, pruned)}"
                        + (": grow-and-prune shrank them after the searcher checked the "
                           "searched architectures; prune less (grow_prune) or relax the "
                           "constraint" if config.grow_prune else "")
                        + f" (every trial: {out_dir / 'results.parquet'})")
    best = table.loc[rank_trials(eligible, config.tiebreak).index[0]]
    if not Path(best["checkpoint"]).is_file():
        # a FileNotFoundError traceback from the copy (models/ deleted by hand)
        raise UserError(f"the best trial {best['trial_id']} of the search in {out_dir} saved "
                        f"its model to {best['checkpoint']}, which is gone; its row is in "
                        f"{out_dir / 'results.parquet'}")
    copy_atomic(best["checkpoint"], out_dir / "best.pt")
    x = pareto_axis(table)
    # the front a user picks from: the trials whose saved models meet the constraints
    out_ids = finished.loc[outside, "trial_id"].tolist()
    front = pareto_front(table[~table["trial_id"].isin(out_ids)], x=x)
    plot_pareto(out_dir / "results.parquet", out_dir / "pareto.png", outside=out_ids,
                accel=config.accel)
    # trials: every trial Tune completed (--trials counts them all, as ASHA's budget does);
    # with --asha many end at a rung, so those trained to the end are counted apart (the
    # summary said "20 trials" where 5 were trained, and nothing more)
    errored = len(errored_trials(out_dir, table["trial_id"]))
    # a resume restores Tune's last snapshot of the experiment (every >= 10 s): one cut short
    # by a kill could end "done" with trials missing, and the summary said nothing of them
    # a finite space smaller than --trials ends the search early, every member tried: not an
    # interruption (a space of one network said "15 of the 16 requested never ran (an
    # interruption lost them ...)")
    members = space_members(out_dir)
    expected = config.trials if members is None else min(config.trials, members)
    runnable = None
    if members is not None and len(table) + errored < expected:   # fell short: of what?
        runnable = runnable_members(out_dir, config, expected)
        # reported only where it is what fell short (else counted no further than needed)
        runnable = runnable if runnable is not None and runnable < expected else None
        expected = expected if runnable is None else runnable
    missing = max(0, expected - len(table) - errored)
    constant = constant_best(best)
    if constant:
        logger.warning("%s", constant)
    said = "; ".join(w for w in (random_only(config), constant) if w)
    warning = {"warning": said} if said else {}
    return {**warning, "out_dir": str(out_dir), "searcher": config.searcher, "trials": int(len(table)),
            "trials_finished": int(len(finished)), "trials_stopped_early": int(stopped.sum()),
            "trials_errored": errored, "trials_missing": missing,
            "trials_requested": config.trials, "space_members": members,
            "space_runnable": runnable,
            "trials_outside_constraints": int(outside.sum()),
            "constraints": [str(c) for c in constraints],
            "grow_pruned": config.grow_prune is not None, "best_trial": best["trial_id"],
            # how trials tied on the best accuracy were decided (search.results.rank_trials)
            "tiebreak": config.tiebreak,
            # best_spec is best.pt's architecture, the model the best_* figures measure;
            # best_searched_spec the searcher's proposal it was grown and pruned from
            "best_spec": json.loads(saved_model_spec(best)),
            "best_searched_spec": json.loads(best["spec"]),
            "best_accuracy": float(best["accuracy"]),
            # what best_accuracy was measured on: "real_val", or "synthetic_val" where the
            # trials trained data-free on a synthesized set (search.trial)
            "best_selected_on": (str(best["selected_on"]) if "selected_on" in best.index
                                 and isinstance(best["selected_on"], str) else None),
            "best_test_accuracy": float(best["test_accuracy"]),
            "best_latency_ms": None if pd.isna(best["latency_ms"]) else float(best["latency_ms"]),
            # best.pt's energy a sample (mJ, the same accelerator); None where not priced.  A
            # search bounded on energy_mj reported the best's latency alone
            "best_energy_mj": figure(best.get("energy_mj")),
            # hwsim.dense_note of best.pt where it has zero weights (a grown-and-pruned trial):
            # best_latency_ms is its dense architecture's; None otherwise or not priced
            "best_accel_note": accel_note(best),
            # the accelerator every latency and energy of the search was priced on (its
            # trials, its constraints): its fields not at hwsim's defaults ({}: the default
            # array), and in words; None where the search priced none (hardware: false)
            "accel": dict(config.accel) if config.hardware else None,
            "accel_text": accel_text(config.accel) if config.hardware else None,
            # whether the summary line names that array (names_accel): the user's, or the
            # one the latency/energy constraints were checked on
            "names_accel": names_accel(config, constraints),
            "best_parameters": int(best["parameters"]), "pareto_x": x,
            # best.pt's nonzero weights (after grow-and-prune, the connections it kept), and
            # which counts of parameters and MACs the constraints were checked on: "nonzero"
            # where the trials grow and prune (search.feasibility.measured_figures), else "all"
            "best_nonzero_parameters": (None if figure(best.get("nonzero_parameters")) is None
                                        else int(best["nonzero_parameters"])),
            "constraints_counted": "nonzero" if pruned else "all",
            # distinct classes best.pt predicts over the test split (1: constant); None in a
            # table written before the column
            "best_predicted_classes": (None if figure(best.get("predicted_classes")) is None
                                       else int(best["predicted_classes"])),
            "pareto_front": front["trial_id"].tolist(), "checkpoint": str(out_dir / "best.pt"),
            "results": str(out_dir / "results.parquet"), "pareto_png": str(out_dir / "pareto.png"),
            "wall_seconds": None if wall_seconds is None else round(wall_seconds, 1)}
