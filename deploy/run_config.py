"""The configuration of one ``nnsynth run``: one frozen dataclass per stage.

A run config is YAML with one section per stage (``teacher``, ``synthesis``, ``search``,
``refine``, ``export``) and a few top-level keys.  ``RunConfig.from_dict`` validates every
section and rejects unknown keys by their dotted name (``search.trails``) before any work
starts.  Sections that carry another component's options (``synthesis.inversion``,
``search.options``, ``refine.schedule``, ``export.accel``) are validated by that
component's own ``Config.from_dict`` in ``deploy.stages.check_stages``, also before work.

Bundled configs live in ``deploy/configs/`` (``default``, ``tiny``); ``load_run_config``
takes one of those names or a path to a YAML file.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
from pathlib import Path
from typing import Any, Callable, Mapping

from deploy.onnx_export import DEFAULT_RTOL, DEFAULT_TOLERANCE
from synth.choices import MAX_MIN_STEPS, MIN_STEPS
from synth.config import Config, check_batch_size, check_name, check_range, check_seed, short_repr
from synth.errors import ConfigError, UserError

BUNDLED = ("default", "tiny")


def check_mapping(name: str, value: Any) -> None:
    if not isinstance(value, Mapping):
        raise ConfigError(f"{name} must be a mapping of option: value, got {short_repr(value)}")


def _check_bool(name: str, value: Any) -> None:
    if not isinstance(value, bool):
        raise ConfigError(f"{name} must be true or false, got {short_repr(value)}")


def yaml_bool_hint(value: Any) -> str:
    # YAML 1.1 reads an unquoted yes/no/on/off/true/false as a boolean
    return " (YAML reads unquoted yes/no/on/off as true/false: quote it)" if isinstance(
        value, bool) else ""


def _check_text(name: str, value: Any, what: str) -> None:
    if not isinstance(value, str):
        raise ConfigError(f"{name} must be {what}, got {short_repr(value)}{yaml_bool_hint(value)}")


def _check_spec(name: str, value: Any) -> None:
    """A model variant name, a JSON spec string or a spec mapping, resolved here so that its
    error names the key (``teacher: {model: yes}`` said "model spec must be a dict ...")."""
    from synth.models import resolve_spec
    if not isinstance(value, (str, Mapping)):
        raise ConfigError(f"{name} must be a model variant name or spec, got "
                          f"{short_repr(value)}{yaml_bool_hint(value)}")
    try:
        resolve_spec(dict(value) if isinstance(value, Mapping) else value)
    except UserError as e:
        raise ConfigError(f"{name}: {e}") from None


@dataclasses.dataclass(frozen=True)
class TeacherStage(Config):
    """Train (or reuse) the teacher on real data: the only stage that sees real images."""
    dataset: str = "mnist5k"
    model: str = "lenet5_bn"
    epochs: int = 8
    batch_size: int = 64
    lr: float = 0.05
    # at least this many SGD steps (synth.choices.MIN_STEPS: `nnsynth train`'s floor): the
    # epochs are raised where passes over a small training split make fewer.  Without it, 5
    # epochs of GunPoint's 144 training series were 15 steps and a teacher that predicted
    # one class (50% test; logistic regression 95%), 3 of 518 16x16 images 27 steps, 51%
    min_steps: int = MIN_STEPS
    # reuse a teacher with the same settings from here ("" = none); a relative path is taken
    # from the run directory's parent (runs/), so a cluster run on shared storage finds it
    cache: str = "teachers"

    def validate(self) -> None:
        check_range("teacher.epochs", self.epochs, 1, 1000, integer=True)
        check_batch_size("teacher.batch_size", self.batch_size)
        check_range("teacher.lr", self.lr, 0, 10, low_open=True)
        check_range("teacher.min_steps", self.min_steps, 0, MAX_MIN_STEPS, integer=True)
        if not isinstance(self.dataset, str) or not self.dataset:
            raise ConfigError(f"teacher.dataset must be a data set name, got "
                              f"{short_repr(self.dataset)}{yaml_bool_hint(self.dataset)}")
        from synth.data import check_dataset_name
        check_dataset_name(self.dataset, "teacher.dataset")   # run --check said 'valid'
        _check_spec("teacher.model", self.model)
        # `cache: no` (YAML: False) or `cache: 5` passed and were taken as "no cache"
        _check_text("teacher.cache", self.cache, "a folder ('' = no cache)")


@dataclasses.dataclass(frozen=True)
class SynthesisStage(Config):
    """DeepInversion / ADI image synthesis from the teacher (arXiv 1912.08795)."""
    enabled: bool = True
    num_images: int = 1024
    pairs: int = 2                 # teacher/student pair actors (ADI needs a student)
    shard_size: int = 256          # images per Parquet shard (the unit of resume)
    student: str = "lenet5_bn_half"  # ADI's student spec ("" = plain DeepInversion)
    preset: str = "auto"           # "auto": the preset nearest the teacher's input (settings_for)
    inversion: Mapping = dataclasses.field(default_factory=dict)  # InversionConfig overrides
    distill: Mapping = dataclasses.field(default_factory=dict)  # ADI students' DistillConfig

    def validate(self) -> None:
        _check_bool("synthesis.enabled", self.enabled)
        from cluster.limits import MAX_IMAGES, MAX_PAIRS, MAX_SHARD_SIZE
        check_range("synthesis.num_images", self.num_images, 1, MAX_IMAGES, integer=True)
        check_range("synthesis.pairs", self.pairs, 1, MAX_PAIRS, integer=True)
        check_range("synthesis.shard_size", self.shard_size, 1, MAX_SHARD_SIZE, integer=True)
        check_mapping("synthesis.inversion", self.inversion)
        if self.inversion.get("amortized") is not None:   # checked as given: InversionConfig
            check_mapping("synthesis.inversion.amortized",      # saw a list as a tuple
                          self.inversion["amortized"])
        check_mapping("synthesis.distill", self.distill)
        # `student: no` (YAML: False) passed as "plain DeepInversion"; a bad student or
        # preset was reported without its key ("synthesis.inversion: unknown ... preset True")
        if not (isinstance(self.student, str) and self.student == ""):
            _check_spec("synthesis.student", self.student)
        from synth.inversion import PRESETS
        if not isinstance(self.preset, str) or self.preset not in ("auto", *PRESETS):
            raise ConfigError(f"synthesis.preset must be auto or one of {', '.join(PRESETS)}, got "
                              f"{short_repr(self.preset)}{yaml_bool_hint(self.preset)}")


@dataclasses.dataclass(frozen=True)
class SearchStage(Config):
    """Predictor-guided architecture search; trials are data-free KD on the synthesized set."""
    enabled: bool = True
    options: Mapping = dataclasses.field(default_factory=dict)  # search.SearchConfig keys

    def validate(self) -> None:
        _check_bool("search.enabled", self.enabled)
        check_mapping("search.options", self.options)


@dataclasses.dataclass(frozen=True)
class RefineStage(Config):
    """Grow-and-prune (NeST) of the best searched model, compaction, final distillation."""
    enabled: bool = True
    schedule: Mapping = dataclasses.field(default_factory=dict)   # GrowPruneSchedule keys
    distill_epochs: int = 0        # final KD epochs on the synthesized set (masks kept)
    temperature: float = 3.0       # KD temperature for retraining and final KD (DI paper)

    def validate(self) -> None:
        _check_bool("refine.enabled", self.enabled)
        check_mapping("refine.schedule", self.schedule)
        check_range("refine.distill_epochs", self.distill_epochs, 0, 10000, integer=True)
        check_range("refine.temperature", self.temperature, 0, 1000, low_open=True)


@dataclasses.dataclass(frozen=True)
class ExportStage(Config):
    """Price on the accelerator model and SPRING, ONNX export, summary.md."""
    onnx: bool = True
    price: bool = True             # hwsim latency/energy on the accelerator (and SPRING)
    # PyTorch vs onnxruntime on the test split: each logit within tolerance + rtol x its
    # sample's largest |logit| (deploy.onnx_export)
    tolerance: float = DEFAULT_TOLERANCE
    rtol: float = DEFAULT_RTOL
    accel: Mapping = dataclasses.field(default_factory=dict)  # hwsim AcceleratorConfig keys
    spring: bool = True

    def validate(self) -> None:
        _check_bool("export.onnx", self.onnx)
        _check_bool("export.price", self.price)
        _check_bool("export.spring", self.spring)
        check_range("export.tolerance", self.tolerance, 0, 1, low_open=True)
        check_range("export.rtol", self.rtol, 0, 1)
        check_mapping("export.accel", self.accel)
        if self.accel and not self.price:   # it was ignored, and never validated
            raise ConfigError("export.accel configures the pricing: it needs export.price: true "
                              "(or leave it out)")
        changed = [k for k, default in (("tolerance", DEFAULT_TOLERANCE), ("rtol", DEFAULT_RTOL))
                   if getattr(self, k) != default]
        if changed and not self.onnx:   # the ONNX check is all they set: ignored without it
            raise ConfigError(f"export.{changed[0]} sets the ONNX check against PyTorch: it "
                              f"needs export.onnx: true (or leave it out)")


_SECTIONS = {"teacher": TeacherStage, "synthesis": SynthesisStage, "search": SearchStage,
             "refine": RefineStage, "export": ExportStage}
# The stages in run order: one per section (deploy.stages.STAGE_REGISTRY holds their runners).
STAGES = tuple(_SECTIONS)


def _check_mapping_fields(cls, values: Mapping, prefix: str) -> None:
    """The option sections (``scaling``, ``export.accel``...) checked before ``from_dict``
    makes a list a tuple: ``export: {accel: [1]}`` said "got (1,)"."""
    for f in dataclasses.fields(cls):
        if f.default_factory is dict and f.name in values:
            check_mapping(prefix + f.name, values[f.name])


def enabled_stages(config: "RunConfig") -> list[str]:
    """The stages this config runs, in order (a section with ``enabled: false`` is skipped)."""
    return [s for s in STAGES if getattr(getattr(config, s), "enabled", True)]


@dataclasses.dataclass(frozen=True)
class RunConfig(Config):
    name: str = "run"
    seed: int = 0
    data_seed: int = 0             # the real data's split; 0 = the split `nnsynth eval` uses
    device: str = "auto"
    num_cpus: int = 0              # local Ray CPUs (0 = all); ignored when joining a cluster
    # Ray Train workers for the trainings (cluster.train.Scaling keys: num_workers, use_gpu,
    # cpus_per_worker, storage_path); validated by check_stages
    scaling: Mapping = dataclasses.field(default_factory=dict)
    teacher: TeacherStage = dataclasses.field(default_factory=TeacherStage)
    synthesis: SynthesisStage = dataclasses.field(default_factory=SynthesisStage)
    search: SearchStage = dataclasses.field(default_factory=SearchStage)
    refine: RefineStage = dataclasses.field(default_factory=RefineStage)
    export: ExportStage = dataclasses.field(default_factory=ExportStage)

    def validate(self) -> None:
        _check_text("name", self.name, "a run name")
        check_name("name", self.name)
        check_seed("seed", self.seed)
        # the split's seed has the seed's range: 10^20 passed here, and loading the data
        # said "seed must be in [0, 2147483647]", naming a key the config had right
        check_seed("data_seed", self.data_seed)
        from cluster.limits import MAX_LOCAL_CPUS
        check_range("num_cpus", self.num_cpus, 0, MAX_LOCAL_CPUS, integer=True)
        from synth.device import check_device
        _check_text("device", self.device, "auto, cpu, cuda, cuda:N or mps")
        check_device(self.device, "device", available=False)
        check_mapping("scaling", self.scaling)
        if self.refine.enabled and not self.search.enabled:
            raise ConfigError("refine.enabled needs search.enabled (it refines the best "
                              "searched model)")
        if self.search.enabled and not self.synthesis.enabled:
            raise ConfigError("search.enabled needs synthesis.enabled (trials distill on the "
                              "synthesized set)")

    @classmethod
    def from_dict(cls, values: Mapping[str, Any] | None, where: str = "") -> "RunConfig":
        values = dict(values or {})
        for key, section in _SECTIONS.items():
            if key in values:
                if values[key] is None:
                    values[key] = {}
                check_mapping(key, values[key])
                _check_mapping_fields(section, values[key], f"{key}.")
                values[key] = section.from_dict(values[key], where=key)
        _check_mapping_fields(cls, values, "")
        return super().from_dict(values, where)

    def to_dict(self) -> dict[str, Any]:
        top = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)
               if f.name not in _SECTIONS}
        top.update({key: _plain(getattr(self, key).to_dict()) for key in _SECTIONS})
        return top

    def search_accel(self) -> dict:
        """The accelerator the search stage prices its trials and constraints on
        (``search.run.SearchConfig.accel``): ``export.accel``, the one summary.md's rows are
        priced on, so a bound the search met holds on the summary's figures; none where the
        search prices nothing (``search.options.hardware: false``).  A search with a
        ``latency_ms<=`` constraint met it on hwsim's default 32x32 array, and summary.md
        priced its model on export.accel's (h297)."""
        return (dict(self.export.accel) if self.search.enabled
                and self.search.options.get("hardware", True) is not False else {})

    def stage_fingerprint(self, stage: str, inputs: Mapping[str, str] | None = None) -> str:
        """Hash of everything a stage's result depends on: its own section, the sections
        before it, the top-level keys (``name`` for export only, which writes it into
        summary.md) and ``inputs`` of those stages (stage -> digest of the
        files it reads that the config only names: the teacher's real data set,
        ``Dataset.digest``; a search space file); from the search on, the accelerator it
        prices on (``search_accel``: export.accel, a later section).  A change re-runs that
        stage and the later ones."""
        upto = STAGES[:STAGES.index(stage) + 1]
        d = self.to_dict()
        keep = {k: v for k, v in d.items() if k not in _SECTIONS or k in upto}
        if stage != "export":   # export writes the name into summary.md: a renamed run
            keep.pop("name", None)   # skipped it and kept the old title beside config.json
        keep.pop("num_cpus", None)   # where it runs does not change what it computes
        keep.get("teacher", {}).pop("cache", None)        # nor where the teacher cache is
        scaling = {k: v for k, v in keep.pop("scaling", {}).items() if k != "storage_path"}
        if scaling:                  # data-parallel workers change the result (BN, order)
            keep["scaling"] = scaling
        accel = self.search_accel()
        if accel and "search" in upto and "export" not in upto:   # the search prices on it:
            from search.run import search_accel      # another array is another search (its
            accel = search_accel(accel)              # fields at hwsim's defaults: none)
            if accel:
                keep["search_accel"] = accel
        files = {k: v for k, v in (inputs or {}).items() if k in upto and v}
        if files:                    # a data folder or space file that changed: not the same
            keep["inputs"] = files
        text = json.dumps(keep, sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:16]


def _plain(obj: Any) -> Any:
    return json.loads(json.dumps(obj))


def read_yaml(path: str | Path, empty: str = "", what: str = "config file") -> dict:
    """A config file's mapping, read through the bounded loader of ``synth.files`` (size,
    nesting and alias expansion capped: a 400-byte alias bomb is a one-line error).  A file
    without a YAML document (empty, or comments only) is ``{}``, or, given ``empty`` (what
    was expected), a one-line error.  ``what`` names the kind of file in the errors (a
    missing sweep file said "config file not found")."""
    from synth.files import read_yaml_file
    values = read_yaml_file(path, what)
    if values is None:
        if empty:
            raise ConfigError(f"{what} {path} is empty (or comments only); expected {empty}")
        return {}
    if not isinstance(values, dict):
        raise ConfigError(f"{what} {path} must hold a mapping of keys, got "
                          f"{type(values).__name__}")
    return values


def bundled_config_path(name: str) -> Path:
    return Path(__file__).resolve().parent / "configs" / f"{name}.yaml"


def load_run_config(source: str | Path | Mapping | None = None,
                    overrides: Mapping | None = None, *,
                    check: Callable[["RunConfig"], None] | None = None) -> RunConfig:
    """A bundled name (``default``, ``tiny``), a YAML path (``~`` expanded), or a dict ->
    validated RunConfig.  An error in a file's values names the file and the key
    (``error: my.yaml: unknown config key 'teacher.foo' ...``).  ``check`` (e.g.
    ``deploy.stages.check_enabled_stages``: the enabled stages' option sections) runs on the
    validated config inside the same naming, its errors naming the file as well: `nnsynth
    run my.yaml --check` said only "unknown config key 'synthesis.inversion.bogus'",
    without the file the other config errors name."""
    if source is None:
        source = "default"
    where = None
    if isinstance(source, Mapping):
        values = dict(source)
    elif str(source) in BUNDLED and not Path(str(source)).is_file():   # a folder "tiny" too
        values = read_yaml(bundled_config_path(str(source)))
    else:
        where = Path(source).expanduser()
        # an empty file ran the whole default pipeline under the name 'run'
        values = read_yaml(where, "run config keys (teacher, synthesis, search, ...); write "
                                  "{} for every default, or run the bundled `default`")
    for key, value in (overrides or {}).items():
        values[key] = value
    sweep_keys = sorted(k for k in ("base", "grid", "runs") if k in values)
    if where is not None and sweep_keys:   # said only "unknown config key 'base' ..."
        raise ConfigError(f"{where} is a sweep file ({', '.join(sweep_keys)}), not a run "
                          f"config: run it with `nnsynth sweep {where}`, or name a run config")
    try:
        config = RunConfig.from_dict(values)
        if check is not None:
            check(config)
        return config
    except UserError as e:
        if where is None:
            raise
        raise ConfigError(f"{where}: {e}") from None
