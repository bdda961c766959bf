"""The run directory's ledger and the context the stages share.

``ledger.json`` records which stages of ``nnsynth run`` finished, with their fingerprint,
outputs and time (written atomically through ``synth.files``), and what each was made from
(the config and the digests of the files it names), so that a stage run again can say what
changed; also when each stage last began (``started``) and the last failure (``failed``).
``RunContext`` carries the config, the run directory and earlier stages' outputs to each
stage runner.
"""
from __future__ import annotations

import datetime
import json
import os
from pathlib import Path
from typing import Callable

from deploy.run_config import STAGES, RunConfig
from synth.config import short_repr
from synth.errors import ConfigError, UserError
from synth.files import printable, read_json, write_json_atomic

LEDGER = "ledger.json"
LEDGER_VERSION = 1
MAX_LEDGER_BYTES = 16 << 20   # a ledger of five stages is a few kB


# The keys of a stage's outputs that name files it made (relative to the run directory),
# which the stages after it read when it is skipped (``RunContext.output``).
OUTPUT_PATHS = ("checkpoint", "dataset", "results", "pareto", "image_grid")
# those of them each stage always makes, which a rerun that skips it reads (``check_made``)
STAGE_FILES = {"teacher": ("checkpoint",), "synthesis": ("dataset",),
               "search": ("checkpoint",), "refine": ("checkpoint",), "export": ("checkpoint",)}


class Ledger:
    """``ledger.json``: which stages finished, with their fingerprint, outputs and time."""

    def __init__(self, run_dir: str | os.PathLike):
        self.path = Path(run_dir) / LEDGER
        self.stages: dict[str, dict] = {}
        self.started: dict[str, dict] = {}   # stage -> what its last attempt was made from
        self.failed: dict | None = None      # {"stage", "error", "at"} of the last failure
        if self.path.is_file():
            data = self._read()
            if data.get("version") != LEDGER_VERSION:
                raise UserError(f"{self.path} was written by another nnsynth version "
                                f"(ledger version {short_repr(data.get('version'))})")
            self.stages = data.get("stages", {})
            if not isinstance(self.stages, dict) or not all(
                    isinstance(e, dict) and isinstance(e.get("fingerprint"), str)
                    and isinstance(e.get("outputs"), dict)
                    and isinstance(e.get("seconds"), (int, float))
                    and not isinstance(e.get("seconds"), bool) for e in self.stages.values()):
                raise self._corrupt("its stages must map each stage to its fingerprint, "
                                    "outputs and seconds")
            for stage, entry in self.stages.items():
                self._check_entry(stage, entry)
            started, failed = data.get("started"), data.get("failed")
            self.started = started if isinstance(started, dict) else {}
            self.failed = failed if isinstance(failed, dict) else None
            for stage, made_from in self.started.items():   # what a stage began from
                self._check_made_from(f"started.{printable(stage)[:40]}", made_from)

    def _check_entry(self, stage, entry: dict) -> None:
        """A finished stage's record has what the stages after it read: its made_from a
        mapping (``changes``: a list was an AttributeError traceback), the files it made
        (OUTPUT_PATHS) named by relative paths inside the run directory, its summary a
        mapping: a skipped stage's outputs are read as they are recorded."""
        where = f"stages.{printable(stage)[:40]}"
        self._check_made_from(f"{where}.made_from", entry.get("made_from", {}))
        outputs = entry["outputs"]
        if not isinstance(outputs.get("summary", {}), dict):
            raise self._corrupt(f"{where}.outputs.summary must be a mapping")
        for key in OUTPUT_PATHS:
            name = outputs.get(key)
            if name is None:
                continue
            if not (isinstance(name, str) and name and not Path(name).is_absolute()
                    and ".." not in Path(name).parts):
                raise self._corrupt(f"{where}.outputs.{key} must name a file in the run "
                                    f"directory, got {short_repr(name, 60)}")

    def _check_made_from(self, where: str, made_from) -> None:
        """``made_from`` (a record of what a stage began from, read by ``changes``) is a
        mapping, and so are its config, inputs and data where present."""
        if not isinstance(made_from, dict):
            raise self._corrupt(f"{where} must be a mapping")
        for key in ("config", "inputs", "data"):
            if not isinstance(made_from.get(key, {}), dict):
                raise self._corrupt(f"{where}.{key} must be a mapping")

    def _corrupt(self, why: str) -> UserError:
        return UserError(f"{self.path} is corrupt ({why}); delete it to start the run over")

    def _read(self) -> dict:
        """The ledger's JSON object, bounded in size; anything else is a one-line error (a
        list, bytes that are not UTF-8, a stage entry that is not a mapping were tracebacks)."""
        try:
            size = self.path.stat().st_size
            if size > MAX_LEDGER_BYTES:
                raise self._corrupt(f"{size:,} bytes; nnsynth writes at most a few kB")
            data = read_json(self.path, named=False)
        except ConfigError as e:   # a key given twice (json kept the last), nested too deep
            raise self._corrupt(str(e)) from None
        except UnicodeDecodeError:
            raise self._corrupt("not UTF-8 text") from None
        except (json.JSONDecodeError, RecursionError):
            raise self._corrupt("not valid JSON") from None
        except OSError as e:
            raise UserError(f"{self.path} cannot be read ({e.strerror})") from None
        if not isinstance(data, dict):
            raise self._corrupt(f"a JSON {type(data).__name__}, not an object")
        return data

    def done(self, stage: str, fingerprint: str) -> dict | None:
        """The stage's recorded outputs when it finished with this fingerprint, else None."""
        entry = self.stages.get(stage)
        if entry and entry.get("fingerprint") == fingerprint:
            return entry
        return None

    def check_made(self, stage: str, entry: dict | None) -> None:
        """A finished ``stage``'s record (``done``'s ``entry``; None: none) names the files
        the stage always makes (``STAGE_FILES``), which a rerun skipping it reads; else the
        ledger is corrupt (one line): an export recording no checkpoint (null, or none) was
        a TypeError or KeyError traceback as the rerun's result named final.pt."""
        for key in STAGE_FILES.get(stage, ()) if entry is not None else ():
            if entry["outputs"].get(key) is None:
                raise self._corrupt(f"stages.{stage}.outputs.{key} must name a file in the "
                                    f"run directory, got "
                                    f"{'none' if key not in entry['outputs'] else 'null'}")

    def record(self, stage: str, fingerprint: str, outputs: dict, seconds: float, *,
               made_from: dict | None = None) -> None:
        self.stages[stage] = {
            "fingerprint": fingerprint, "outputs": outputs, "seconds": round(seconds, 2),
            "finished": _now(), **({"made_from": made_from} if made_from else {})}
        if self.failed and self.failed.get("stage") == stage:
            self.failed = None
        self.save()

    def begin(self, stage: str, made_from: dict) -> dict | None:
        """Note that ``stage`` starts from ``made_from``; returns what its previous attempt
        started from (the files it left in the run directory were made from that), or None."""
        earlier = self.started.get(stage)
        self.started[stage] = {**made_from, "at": _now()}
        self.save()
        return earlier

    def fail(self, stage: str, error: BaseException) -> None:
        """Record that ``stage`` failed (or was interrupted) with ``error``."""
        text = (str(error).strip().splitlines() or [""])[0][:500]
        self.failed = {"stage": stage, "error": text or type(error).__name__, "at": _now()}
        self.save()

    def clear_failure(self) -> None:
        if self.failed is not None:
            self.failed = None
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
        data = {"version": LEDGER_VERSION, "stages": self.stages, "started": self.started}
        if self.failed:
            data["failed"] = self.failed
        write_json_atomic(self.path, data)


def _now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")


# Keys that change no stage's result (what ``RunConfig.stage_fingerprint`` leaves out): a
# change of these alone is never named as the reason a stage runs again.
UNHASHED_KEYS = frozenset({"name", "num_cpus", "teacher.cache", "scaling.storage_path"})
# ... except for the stages named here, which write them (export titles summary.md)
HASHED_FOR = {"name": ("export",)}
# What the ``inputs`` digests of ``deploy.pipeline.input_digests`` stand for.
INPUT_FILES = {"teacher": "the files of teacher.dataset",
               "search": "the space file search.options.space"}


def _flat(values, prefix: str = "") -> dict:
    out = {}
    for key, value in values.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            out.update(_flat(value, name + "."))
        else:
            out[name] = value
    return out


def changes(earlier: dict | None, now: dict, stage: str) -> list[str]:
    """What differs between ``earlier`` and ``now`` (two ledger records of what a stage was
    made from, ``made_from``: the config, the ``inputs`` digests and the teacher's ``data``)
    for ``stage``: the dotted config keys of its section, the sections before it and the top
    level, then the files among ``inputs`` whose contents changed -- the teacher's data set's
    compared by its contents (``data_record``), so a name that changed alone is the name, not
    its files.  Empty when ``earlier`` holds no record (a ledger of an older nnsynth) or
    nothing differs."""
    if not earlier or not isinstance(earlier.get("config"), dict):
        return []
    upto = STAGES[:STAGES.index(stage) + 1]

    def relevant(key: str) -> bool:
        section = key.split(".", 1)[0]
        unhashed = key in UNHASHED_KEYS and stage not in HASHED_FOR.get(key, ())
        return not unhashed and (section not in STAGES or section in upto)
    old, new = _flat(earlier["config"]), _flat(json.loads(json.dumps(now.get("config", {}))))
    keys = sorted(k for k in set(old) | set(new) if relevant(k) and old.get(k) != new.get(k))
    old_inputs, new_inputs = earlier.get("inputs") or {}, now.get("inputs") or {}

    def differ(k: str) -> bool:
        contents = [_content(made) for made in (earlier, now)] if k == "teacher" else []
        if all(contents):            # recorded by both: the samples, however the set is named
            return contents[0] != contents[1]
        return new_inputs[k] != old_inputs[k]
    files = [INPUT_FILES.get(k, k) for k in upto
             if k in new_inputs and k in old_inputs and differ(k)]
    return keys + files


def _content(made_from: dict) -> str | None:
    record = made_from.get("data")
    return record.get("content") if isinstance(record, dict) else None


def data_record(data) -> dict:
    """What a stage's ``made_from`` records of the teacher's real data set ``data`` (as
    ``load_dataset`` gave it, by teacher.dataset), beside the config's spelling and its
    ``Dataset.digest`` (``inputs``): ``resolved``, its name with the path made absolute (the
    file, found from any folder: ``synth.data_registry.resolved_name``), and ``content``, the
    digest of its samples and metadata without its name and file as spelt (a ``.ts`` set's
    ``source``).  A rerun that spells the file another way compares these
    (``spelt_as_recorded``)."""
    import dataclasses
    from synth.data_registry import resolved_name
    extra = {k: v for k, v in data.extra.items() if k != "source"}
    return {"resolved": resolved_name(data.name) or data.name,
            "content": dataclasses.replace(data, name="", extra=extra).digest()}


def spelt_as_recorded(earlier: dict | None, config: RunConfig, inputs: dict, data,
                      now: dict) -> tuple[RunConfig, dict] | None:
    """``config`` and ``inputs`` with the teacher's data set named as ``earlier`` (the
    teacher stage's ``made_from`` in the ledger) names it, where only the name differs: the
    same file (``csv:./x.csv`` for ``csv:x.csv``, a symbolic link to it, ``../data/x.csv``
    from another folder: ``synth.data_registry.same_dataset`` of the path recorded resolved)
    with the same contents (``now``, ``data_record(data)``, its ``content``; for a record
    without it, ``data`` as the record spells it, ``Dataset.as_recorded``, against its
    digest).  The stages'
    fingerprints hash the name (the checkpoints record it): compared so, a respelt name re-ran
    every stage and said the files had changed.  None where the name is the recorded one,
    or names other data."""
    from synth.data_registry import same_dataset
    if not isinstance(earlier, dict) or not isinstance(earlier.get("config"), dict):
        return None
    old = (earlier["config"].get("teacher") or {}).get("dataset")
    name = config.teacher.dataset
    recorded = (earlier.get("inputs") or {}).get("teacher")
    if not isinstance(old, str) or old == name or not isinstance(recorded, str):
        return None
    record = earlier.get("data") if isinstance(earlier.get("data"), dict) else {}
    where = record.get("resolved") if isinstance(record.get("resolved"), str) else old
    if not same_dataset(where, name):   # class lists aside: the contents tell those apart
        return None
    if isinstance(record.get("content"), str):
        same = record["content"] == now["content"]
    else:                            # an older ledger: its digest, of the set named as then
        same = data.as_recorded({"name": old}).digest() == recorded
    if not same:
        return None
    return (config.replace(teacher=config.teacher.replace(dataset=old)),
            {**inputs, "teacher": recorded})


def name_changes(changed: list[str], limit: int = 4) -> str:
    """``changed`` for a log line: the first ``limit`` names, then how many more."""
    more = len(changed) - limit
    return ", ".join(changed[:limit]) + (f" and {more} more" if more > 0 else "")


class RunContext:
    """What stages share: the config, the run directory, earlier stages' outputs, logging."""

    def __init__(self, config: RunConfig, run_dir: Path, *, address: str | None,
                 progress: bool, log: Callable[[str], None], given: Path | None = None):
        self.config = config
        self.run_dir = run_dir
        self.given = given       # run_dir as the user named it (--run-dir), for messages
        self.address = address
        self.progress = progress
        self.log = log
        self.outputs: dict[str, dict] = {}
        # stage -> the ledger's record of what its previous attempt started from (its
        # ``made_from``): the files it left in the run directory came from that
        self.earlier: dict[str, dict | None] = {}
        # what this run's stages are made from (the ledger's ``made_from``: the config, as
        # it names the data set, deploy.pipeline.input_digests, ``data_record``)
        self.made_from: dict = {}
        self._data = None
        self._data_digest: str | None = None

    def path(self, name: str) -> Path:
        return self.run_dir / name

    def shown(self, path: Path) -> str:
        """``path`` in the run directory, or beside it (the teacher cache), named under the
        --run-dir as the user gave it (``synth.files.shown_path``)."""
        from synth.files import shown_path
        if self.given is None or Path(path).is_relative_to(self.run_dir):
            return shown_path(path, self.run_dir, self.given)
        root = shown_path(self.run_dir.parent, self.run_dir, self.given)
        return shown_path(path, self.run_dir.parent, root)

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

    def connect_for_training(self) -> None:
        """``connect_ray`` for a stage that only trains (the teacher, the refinement): where
        ``scaling.num_workers`` is 0 its trainings run in this process (Ray Train's local
        mode, ``cluster.train``), and a teacher-only run started Ray for nothing (~7 s here;
        found by h311)."""
        if self.train_placement()["scaling"].num_workers:
            self.connect_ray()
