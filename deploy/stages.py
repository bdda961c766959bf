"""The stage bodies of ``nnsynth run``; each takes a ``RunContext`` and returns its outputs.

Outputs are JSON-able dicts recorded in the ledger; file paths in them are relative to the
run directory.  The stages call the library functions of the other packages and hold no
algorithm of their own:

- teacher:   ``synth.train.fit`` on the real training split (or a cached teacher);
- synthesis: ``cluster.pairs.run_synthesis`` (DeepInversion/ADI with K pair actors);
- search:    ``search.run.run_search`` (Tune trials of data-free KD with hardware costs);
- refine:    ``synth.grow_prune.grow_and_prune`` + ``synth.compact.compact`` + final KD;
- export:    real-test-split accuracy, ``hwsim.price``, ONNX (``deploy.onnx_export``),
             ``summary.md``.
"""
from __future__ import annotations

import dataclasses
import importlib
import logging
import re
from pathlib import Path
from typing import Callable, Mapping

from deploy.run_config import STAGES, RunConfig, enabled_stages
from synth.config import short_repr
from synth.errors import ConfigError, UserError

log = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class Stage:
    """One stage of ``nnsynth run``: its runner and what it needs (checked before work)."""
    name: str
    run: Callable                    # run(ctx: RunContext) -> outputs recorded in the ledger
    requires: tuple = ()             # (module, attribute) pairs it imports
    switch: str = ""                 # the config key that turns it off
    # the files it writes at the top of the run directory: removed before it runs again
    # (they are stale then) and when it fails (deploy.pipeline.remove_products)
    products: tuple = ()


def _require(stage: str, module: str, attr: str):
    try:
        return getattr(importlib.import_module(module), attr)
    except (ImportError, AttributeError) as e:
        raise ConfigError(f"stage '{stage}' needs {module}.{attr}, which is not available "
                          f"({type(e).__name__}: {e}); turn it off with "
                          f"{STAGE_REGISTRY[stage].switch or stage + '.enabled'}: false"
                          ) from None


def check_enabled_stages(config: RunConfig) -> None:
    """``check_stages`` of the stages ``config`` turns on (``load_run_config``'s ``check``)."""
    check_stages(config, enabled_stages(config))


def check_stages(config: RunConfig, stages: list[str]) -> None:
    """Import what each stage needs and validate its option sections; no work is done."""
    for stage in stages:
        for module, attr in STAGE_REGISTRY[stage].requires:
            _require(stage, module, attr)
    from synth.models import resolve_spec
    resolve_spec(config.teacher.model)
    _check_data_path(config.teacher.dataset)
    if "synthesis" in stages:
        from synth.inversion import InversionConfig
        # the overrides' keys and values checked on a preset (the teacher, which "auto"
        # follows, is trained later)
        preset = "mnist28" if config.synthesis.preset == "auto" else config.synthesis.preset
        inversion = _options("synthesis.inversion", lambda: InversionConfig.preset(
            preset, **config.synthesis.inversion))
        if inversion.amortized is not None:   # was checked only to be a mapping: a bad key
            from synth.amortized import AmortizedConfig     # failed in the synthesis stage
            _options("synthesis.inversion.amortized",
                     lambda: AmortizedConfig.from_inversion(inversion, where=""))
        if config.synthesis.student:
            resolve_spec(config.synthesis.student)
        _options("synthesis.distill", lambda: synthesis_distill(config))
    if config.export.accel and ("search" in stages
                                or "export" in stages and config.export.price):
        # the array the export's rows and the search's trials are priced on (search_accel):
        # named as the user wrote it, before the search options that carry it ('search.options:
        # accel.rows must be ...' of export.accel's rows, h297)
        from hwsim import AcceleratorConfig
        _options("export.accel", lambda: AcceleratorConfig.from_dict(config.export.accel))
    if "search" in stages:
        run = Path("run")         # placeholders: only the options are checked here
        _options("search.options", lambda: search_config(config, run, run / "teacher.pt",
                                                         run / "synthetic"))
        space = config.search.options.get("space", "auto")
        if space != "auto":       # a missing or family-less space failed only at the search,
            from search.run import searchable_space       # after the teacher and synthesis
            _options("search.options.space", lambda: searchable_space(
                dict(space) if isinstance(space, Mapping) else space))
    from cluster.train import Scaling
    _options("scaling", lambda: Scaling.from_dict(config.scaling))
    if "refine" in stages:
        _options("refine.schedule", lambda: refine_schedule(config))
    if "export" in stages and config.export.price:
        _require("export", "hwsim", "price")


def data_check_parts(stages: list[str]) -> list[str]:
    """The parts ``check_data`` checks in turn, as its ``step`` callback names them."""
    return ["teacher.model"] + [s for s in ("synthesis", "search") if s in stages]


def check_data(config: RunConfig, stages: list[str], data,
               step: Callable[[str], None] | None = None) -> None:
    """What the config asks of the real data set's inputs (``data``: a loaded ``Dataset``),
    checked before any work (``check_stages`` cannot: it runs without the data).  The teacher
    model, the ADI student, the inversion preset and the search space are built or picked for
    ``data.input_shape``; a model family of the wrong kind (lenet5 on a CSV table), a teacher
    without BatchNorm, an image preset on sequences or a space no member of which builds was
    refused only in the stage that met it -- after the teacher had been trained, naming no
    config key, and `nnsynth run --check` said 'valid'.  ``step``: called with each part's
    name (``data_check_parts``) as its check begins (a progress bar's label)."""
    from synth.models import resolve_spec
    step = step or (lambda part: None)
    from synth.models.registry import input_kind
    shape, classes = tuple(data.input_shape), data.num_classes
    kind = input_kind(shape).many      # as the model families' own errors name it
    name = config.teacher.dataset
    step("teacher.model")
    teacher = _options("teacher.model", lambda: _fits(
        config.teacher.model, shape, classes, name,
        "an mlp, which takes any input flattened (lenet300_100_bn)"))
    if "teacher" in stages:          # the floor past the epoch limit: refused by the training
        from synth.train import epochs_for_steps          # after Ray Train started
        c = config.teacher
        epochs_for_steps(c.epochs, c.min_steps, len(data.y_train), c.batch_size,
                         remedy="lower teacher.min_steps or teacher.batch_size",
                         name="teacher.min_steps")
    if "synthesis" in stages:
        from synth.data import input_range
        from synth.inversion import batchnorm_layers, settings_for
        step("synthesis")
        if config.synthesis.num_images < classes:   # refused by run_synthesis after Ray started
            raise ConfigError(f"synthesis.num_images must be >= the number of classes of "
                              f"{name} ({classes}: one image of each at least), got "
                              f"{config.synthesis.num_images}")
        if not batchnorm_layers(teacher):
            from synth.models import list_variants
            family = resolve_spec(config.teacher.model)["family"]
            # the family's registered variants with BatchNorm, by name: the line said 'e.g.
            # mlp_bn variants', a name nnsynth does not have (h298)
            with_bn = sorted(n for n, v in list_variants().items()
                             if v.get("family") == family and v.get("bn") is True)
            bn = ("a variant with BatchNorm (lenet300_100_bn: an MLP takes any input, "
                  "flattened)" if family in ("lstm", "hlstm")
                  else "a spec with \"bn\": true" + (f" (e.g. {', '.join(with_bn)})"
                                                      if with_bn else ""))
            raise ConfigError(f"teacher.model {short_repr(config.teacher.model)} has no "
                              f"BatchNorm layers, whose statistics synthesis (DeepInversion) "
                              f"inverts: choose {bn}, or set synthesis.enabled: false")
        if config.synthesis.student:
            _options("synthesis.student", lambda: _fits(
                config.synthesis.student, shape, classes, name,
                '"" (plain DeepInversion, no ADI student)'))
        preset = None if config.synthesis.preset == "auto" else config.synthesis.preset
        _options("synthesis.preset", lambda: _no_preset_is_auto(settings_for, shape, preset))
        _options("synthesis.inversion", lambda: settings_for(
            teacher, preset, value_range=input_range(data.metadata()),
            **{"device": config.device, **config.synthesis.inversion}))
    if "search" in stages:
        step("search")
        _check_search_data(config, shape, classes, kind)


def _fits(spec, shape, classes, data_name: str, instead: str):
    """``spec`` built for the data (meta device), its error naming the data and a way out."""
    from synth.models import build
    try:
        return build(spec, shape, classes, meta=True)
    except UserError as e:
        raise ConfigError(f"{short_repr(spec)} does not fit {data_name}: {e}; "
                          f"give a model that takes them, or {instead}") from None


def _no_preset_is_auto(settings_for, shape, preset):
    """``settings_for``'s 'or no preset' is ``auto`` in a config."""
    try:
        return settings_for(shape, preset)
    except UserError as e:
        raise ConfigError(str(e).replace("(or no preset:", "(or auto:")) from None


def _check_search_data(config: RunConfig, shape: tuple, classes: int, kind: str) -> None:
    """The search's space for the data: ``auto`` is the built-in space for its inputs
    (``search.run.data_space``: images, sequences, feature vectors); a given space needs
    members that build for ``shape``, and its constraints a member that meets each
    (``check_search_constraints``)."""
    import copy
    from search.run import AUTO_SPACE, data_space, no_trial_reason, searchable_space
    run = Path("run")
    searching = search_config(config, run, run / "teacher.pt", run / "synthetic")
    space = config.search.options.get("space", AUTO_SPACE)
    if space == AUTO_SPACE:
        try:
            space = data_space(shape)
        except UserError as e:
            raise ConfigError(f"search.options.space: {e}") from None
    space = searchable_space(dict(space) if isinstance(space, Mapping) else space)
    # whether members build, without any constraint (the config's or the space file's own):
    # a space whose own bound no random member met was 'give a space whose models take
    # feature vectors' -- the bounds are priced next, at the space's extremes
    unconstrained = copy.copy(space)
    unconstrained.constraints = []
    reason = no_trial_reason(unconstrained, searching.replace(constraints=()), shape, classes)
    if reason:
        raise ConfigError(f"search.options.space: {reason}; give a space whose models take "
                          f"{kind}, or auto")
    check_search_constraints(config, space, shape, classes)
    check_search_floors(config, searching)
    from search.run import first_proposal
    from search.space import parse_constraint
    bounds = space.all_constraints([parse_constraint(c) for c in searching.constraints])
    if bounds and first_proposal(searching, space, shape, classes) is None:
        # each bound met by some member, none meeting them all (latency_ms<=0.002 with
        # parameters>=5000): the search's own searcher would propose nothing, after the
        # teacher's training and the synthesis
        raise ConfigError(f"search.options.constraints: the {searching.searcher} searcher "
                          f"finds no member of the space that meets "
                          f"{' and '.join(map(str, bounds))}"
                          f"{' together' if len(bounds) > 1 else ''} (the search would run "
                          f"no trial); relax a bound or widen the space")


def check_search_constraints(config: RunConfig, space, shape: tuple, classes: int) -> None:
    """The search's constraints (``search.options.constraints`` and the space file's own),
    priced at the extremes of ``space`` (a ``search.space.Space``) for inputs of ``shape``
    as the searcher prices its proposals (``search.run.unmeetable_constraint``): a bound no
    member meets is one ConfigError naming it, from `nnsynth run --check` and `nnsynth sweep
    --check` alike (``check_data``).  A run asking for ``parameters>=10000000`` of the mlp
    space passed both, and then trained its teacher and synthesized its set before its
    search found nothing to propose."""
    from search.run import unmeetable_constraint
    from search.space import parse_constraint
    given = [parse_constraint(c) for c in config.search.options.get("constraints", ())]
    for where, constraints in (("search.options.constraints", given),
                               ("search.options.space's constraints", space.constraints)):
        reason = unmeetable_constraint(space, constraints, shape, classes,
                                       config.search_accel())
        if reason:
            raise ConfigError(f"{where}: {reason}; relax the bound or widen the space")


def check_search_floors(config: RunConfig, searching) -> None:
    """The search's step floors (``searching``: its ``search.run.SearchConfig``) against the
    epoch limit on the synthesized set, bounded by its size ``synthesis.num_images`` (its
    training split is smaller, so a floor refused here is refused there): each trial failed
    with it inside Ray, after the teacher's training and the synthesis (h288)."""
    from search.run import floor_epochs
    from synth.train import MAX_EPOCHS, StepFloorError
    size = config.synthesis.num_images
    try:
        floor_epochs(searching, size)
    except StepFloorError as e:
        name = "search.options." + e.field   # min_steps, or the schedule's grow_prune.*
        raise ConfigError(f"{name} {e.value:,} needs at least {e.raised:,} passes over the "
                          f"synthesized set's {size:,} inputs (synthesis.num_images; its "
                          f"training split is fewer); the limit is {MAX_EPOCHS:,} (lower "
                          f"{name}, or raise synthesis.num_images)") from None


def _check_data_path(dataset: str) -> None:
    """``teacher.dataset``'s file or folder (``csv:``, ``ts:``, ``parquet:``... a path read
    from the working directory, as the run reads it) exists and is a file or a folder as its
    loader reads it: `nnsynth run my.yaml --check` said 'valid' for a csv: file that was not
    there, or a folder, and the run failed at once."""
    from synth.data import check_dataset_input
    try:
        check_dataset_input(dataset, "teacher.dataset")
    except UserError as e:
        raise ConfigError(f"{e} (a path is read from the working directory, {Path.cwd()})"
                          ) from None


def _options(where: str, make):
    """Run a component's own validation, prefixing its message with the YAML section;
    returns what ``make()`` made."""
    try:
        return make()
    except UserError as e:
        msg = str(e)
        msg = msg.replace("unknown config key '", f"unknown config key '{where}.", 1)
        if not msg.startswith(("unknown config key", where)):
            msg = f"{where}: {msg}"
        raise ConfigError(msg) from None


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", text).strip("-")


def _model_facts(model, input_shape) -> dict:
    """Parameters and MACs per sample (``flops``: every weight, as ``nnsynth eval`` counts;
    ``nonzero_flops``: those that touch a nonzero weight), all and nonzero."""
    from synth.masked import sparse_flops
    from synth.models import count_flops, count_parameters
    return {"parameters": count_parameters(model),
            "nonzero_parameters": count_parameters(model, nonzero=True),
            "flops": count_flops(model, input_shape),
            "nonzero_flops": sparse_flops(model, input_shape)}


# --------------------------------------------------------------------------- teacher
def run_teacher(ctx) -> dict:
    """Train the teacher on the real training split on Ray Train workers
    (``cluster.train.fit_on_workers``), or copy a cached one with the same settings (the
    cache key names data set, model, epochs, batch, lr and seeds)."""
    from synth.checkpoint import load_model, save_checkpoint, trained_record
    from synth.files import copy_atomic
    from synth.models import build
    from synth.train import TrainConfig, evaluate
    import torch
    c, cfg = ctx.config.teacher, ctx.config
    data = ctx.real_data()
    cached = teacher_cache(ctx) / teacher_cache_key(cfg, data) if c.cache else None
    name = "teacher.pt"
    target = ctx.path(name)
    reused = bool(cached and cached.is_file())
    trained_on = []
    if reused:
        ctx.log(f"  reusing teacher {ctx.shown(cached)}")
        try:   # read where it is first: a damaged or crafted cache file was copied in and
            found = load_model(cached)   # refused as the run's own teacher.pt, the cache
        except UserError as e:           # unnamed (and every rerun copied it again)
            raise UserError(f"teacher.cache: {e}; delete it to train the teacher "
                            f"again") from None
        if (tuple(found.input_shape), found.num_classes) != (tuple(data.input_shape),
                                                             data.num_classes):
            # another set's teacher under this key (copied by hand): a RuntimeError
            # traceback (shapes cannot be multiplied) as the test split was scored
            raise UserError(f"teacher.cache: {cached} is a teacher of inputs "
                            f"{tuple(found.input_shape)} and {found.num_classes} classes; "
                            f"{data.name} has {tuple(data.input_shape)} and "
                            f"{data.num_classes}: delete it to train the teacher again")
        copy_atomic(cached, target)
        model = found   # (the file's bytes: its checksum is the copy's)
    else:
        from cluster.train import fit_on_workers
        torch.manual_seed(cfg.seed)
        model = build(c.model, data.input_shape, data.num_classes)
        train = TrainConfig(epochs=c.epochs, batch_size=c.batch_size, lr=c.lr, seed=cfg.seed,
                            device=cfg.device, progress=ctx.progress, min_steps=c.min_steps)
        ctx.connect_for_training()
        model, metrics = fit_on_workers(model, data, train, desc="teacher", name="teacher",
                                        **ctx.train_placement())
        trained_on = metrics.pop("nodes")
        metrics.pop("history")
        if metrics.get("epochs", c.epochs) > c.epochs:   # the floor raised them: say so
            ctx.log(f"  teacher: {c.epochs} epochs of the {len(data.y_train):,} training "
                    f"inputs would be {c.epochs * -(-len(data.y_train) // c.batch_size):,} "
                    f"steps; trained {metrics['epochs']:,} epochs (teacher.min_steps "
                    f"{c.min_steps:,})")
        save_checkpoint(target, model, dataset=trained_record(data, ctx.data_digest()),
                        metrics=metrics,
                        extra={"train_config": train.to_dict(), "role": "teacher"})
        if cached:
            try:
                copy_atomic(target, cached)
            except OSError as e:
                raise UserError(f"teacher.cache {c.cache} cannot be written ({e.strerror}); "
                                f"choose another directory or set it to \"\"") from None
    test = evaluate(model, data.x_test, data.y_test)
    out = {"checkpoint": name, "reused": reused, "cache": str(cached or ""),
           "test_accuracy": test["accuracy"], "spec": model.spec, "trained_on": trained_on}
    trained = model.checkpoint_info.get("metrics", {}) if reused else metrics
    if "epochs" in trained:          # the epochs that ran: raised by teacher.min_steps
        out["epochs"] = trained["epochs"]
    out.update(_model_facts(model, data.input_shape))
    ctx.log(f"  teacher test accuracy {test['accuracy']:.4f}, {out['parameters']:,} parameters")
    # a teacher that predicts one class (its accuracy that class's share): said here, not
    # only by the export, after the synthesis, search and refinement had distilled from it
    from synth.grow_prune import one_class_warning
    if line := one_class_warning(model, data):
        log.warning("teacher model: %s", line)
        out["warning"] = line
    return out


def teacher_cache_key(config: RunConfig, data) -> str:
    """A cached teacher's file name: readable (data set, model, epochs, batch, lr, seeds),
    then a hash of everything the training depends on -- the teacher stage's fingerprint
    (those settings exactly, the device and the data-parallel workers) and the loaded data
    set ``data`` (``deploy.ledger.data_record``: its path made absolute and the digest of its
    contents, split and scaling).  The readable part alone let two settings share a file:
    ``parquet:/d/a-b`` and ``parquet:/d/a/b`` both slug to ``parquet-d-a-b``, and a data
    folder whose files changed kept its old teacher.  The file as spelt is not in it:
    ``csv:x.csv``, ``csv:./x.csv`` and its absolute path train the same teacher, which each
    spelling trained again."""
    from deploy.ledger import data_record
    record = data_record(data)
    same = config.replace(teacher=config.teacher.replace(dataset=record["resolved"]))
    c = same.teacher
    readable = _slug(f"{c.dataset}_{c.model}_e{c.epochs}_b{c.batch_size}_lr{c.lr}"
                     f"_s{config.seed}_d{config.data_seed}")[:96]
    return f"{readable}-{same.stage_fingerprint('teacher', {'teacher': record['content']})}.pt"


def teacher_cache(ctx) -> Path:
    """``teacher.cache``: absolute as given, relative to the run directory's parent; a
    folder files can be written in (``synth.files.check_folder_writable``), said before the
    teacher trains."""
    from synth.files import check_folder_writable
    cache = Path(ctx.config.teacher.cache).expanduser()
    return check_folder_writable(cache if cache.is_absolute() else ctx.run_dir.parent / cache,
                                 "teacher.cache")


# --------------------------------------------------------------------------- synthesis
def synthesis_distill(config: RunConfig):
    """The ADI students' KD settings: ``synthesis.distill`` over ``DistillConfig`` defaults."""
    from synth.distill import DistillConfig
    return DistillConfig.from_dict({"seed": config.seed, "device": config.device,
                                    **config.synthesis.distill})


def run_synthesis_stage(ctx) -> dict:
    """ADI synthesis with ``pairs`` teacher/student actors into ``synthetic/`` (Parquet): each
    pair's student learns by KD between rounds (cluster.pairs).  An interrupted synthesis of
    the same settings resumes; the set of other settings (a changed section) is replaced."""
    from cluster.pairs import run_synthesis
    from synth.checkpoint import load_model
    from synth.data import input_range
    from synth.inversion import layout_report, settings_for
    c, cfg = ctx.config.synthesis, ctx.config
    teacher = load_model(ctx.path("teacher.pt"))  # settings follow the teacher's input
    inversion = settings_for(teacher, None if c.preset == "auto" else c.preset,
                             value_range=input_range(teacher.checkpoint_info["dataset"]),
                             **{"device": cfg.device, **c.inversion})
    ctx.connect_ray()
    out = "synthetic"
    summary = run_synthesis(str(ctx.output("teacher")), str(ctx.path(out)),
                            c.num_images, c.pairs, inversion,
                            student_spec=c.student or None, seed=cfg.seed,
                            shard_size=c.shard_size, progress=ctx.progress,
                            distill=synthesis_distill(cfg), replace=True)
    grid, x = _image_grid(ctx, out)
    summary.update(layout_report(teacher, x))    # does the set carry any layout?
    for warning in synthesis_warnings(summary):
        log.warning(warning)
    return {"dataset": out, "summary": summary, "image_grid": grid}


def synthesis_warnings(summary: Mapping) -> list[str]:
    """The synthesized set's warnings in a synthesis ``summary`` (the stage's ledger record):
    the job's fidelity below ``min_fidelity`` (``cluster.pairs.run_synthesis``'s ``warning``,
    which it only records) and a set that carries no layout (``layout_warning``).  The stage
    logged the layout warning alone: a set of fidelity 0.625 against 0.95 was said only by
    each pair actor's own line, forwarded by Ray -- not at all under ``nnsynth -q run``
    (Ray forwards no worker log then), nor in summary.md (``run_export`` notes them)."""
    return [str(summary[k]) for k in ("warning", "layout_warning") if summary.get(k)]


def _image_grid(ctx, dataset: str) -> tuple:
    """("images.png", the set's inputs): one row per class of synthesized images
    (synth.images.save_class_grid)."""
    import numpy as np
    import torch
    from synth.data import parquet_arrays, read_parquet_table
    from synth.images import save_class_grid
    path = ctx.path(dataset)
    table, meta = read_parquet_table(path)
    shape = tuple(int(s) for s in meta["input_shape"])
    x, y = parquet_arrays(table, shape, f"Parquet data set {path}")   # checked, as loaded
    # np.array copies: Arrow's buffers are read-only, which torch.from_numpy warns about
    x, y = torch.from_numpy(np.array(x)), torch.from_numpy(y)
    save_class_grid(ctx.path("images.png"), x, y, int(meta["num_classes"]),
                    meta["mean"], meta["std"], class_names=meta.get("class_names"))
    return "images.png", x


# --------------------------------------------------------------------------- search
PIPELINE_SEARCH_KEYS = ("dataset", "data_seed", "teacher", "data")   # set from the earlier stages


def search_config(config: RunConfig, run_dir: Path, teacher: Path, data: Path):
    """``search.run.SearchConfig``: ``search.options`` plus what the pipeline knows -- the
    ``teacher`` checkpoint and the synthesized set ``data`` (trials are KD on it), the real
    data set's name (validation and test reporting), the seed and the device."""
    from search.run import SearchConfig
    taken = sorted(set(config.search.options) & set(PIPELINE_SEARCH_KEYS))
    if taken:
        raise ConfigError(f"search.options.{taken[0]} is set by the pipeline (the teacher "
                          f"stage's data set and checkpoint, the synthesized set); remove it")
    options = dict(config.search.options)
    if "accel" in options:   # the run prices on one accelerator: export.accel
        raise ConfigError("search.options.accel is set by the pipeline (export.accel: the "
                          "search's trials and constraints are priced on the run's "
                          "accelerator); remove it, and set export.accel")
    if isinstance(options.get("space"), Mapping):   # an inline space: written to space.json
        from search.space import load_space
        load_space(dict(options["space"]))
        options["space"] = str(run_dir / "space.json")
    return SearchConfig.from_dict({
        "seed": config.seed, "device": config.device, **options,
        "accel": config.search_accel(),
        "dataset": config.teacher.dataset, "data_seed": config.data_seed,
        "teacher": str(teacher), "data": str(data)})


def run_search_stage(ctx) -> dict:
    """Tune trials of data-free KD on the synthesized set, priced on hwsim; resumes an
    interrupted search (finished trials are kept) when its saved config is unchanged."""
    from search.run import as_begun, resumable, run_search
    from synth.files import copy_atomic, remove_owned
    out_dir = ctx.path("search")
    config = as_begun(out_dir, search_config(ctx.config, ctx.run_dir, ctx.output("teacher"),
                                             ctx.output("synthesis", "dataset")),
                      ctx.config.search.options)
    space = ctx.config.search.options.get("space")
    if isinstance(space, Mapping):
        from synth.files import write_json_atomic
        write_json_atomic(ctx.path("space.json"), dict(space))
    resume = resumable(out_dir, config)
    if out_dir.exists() and not resume:
        why = search_restart_reason(ctx, out_dir, config)
        remove_owned(out_dir, "--run-dir")          # only a search nnsynth made is deleted
        ctx.log(f"  {why}: starting the search over")
    elif resume:
        ctx.log(f"  resuming the search in {ctx.shown(out_dir)}")
    ctx.connect_ray()
    summary = run_search(config, out_dir, resume=resume, progress=ctx.progress,
                         address=ctx.address, given=ctx.shown(out_dir))
    for name in ("results.parquet", "pareto.png"):
        copy_atomic(out_dir / name, ctx.path(name))
    ctx.log(search_stage_line(summary))
    return {"checkpoint": "search/best.pt", "results": "results.parquet",
            "pareto": "pareto.png",
            "summary": {k: v for k, v in summary.items() if k != "pareto_front"}}


def search_stage_line(summary: dict) -> str:
    """The search stage's log line: the trials and the best model.  With
    ``search.options.grow_prune`` the best figures (and ``search/best.pt``, which refine
    starts from) are those of the grown-and-pruned model: the line names that architecture and
    the searched one it came from -- it named one spec, the pruned one, as if searched.
    The pipeline's trials are data-free KD on the synthesized set (``search_config`` passes
    the teacher and the set), so the best is chosen on its accuracy on the synthesized
    validation inputs (results.parquet's selected_on "synthetic_val"), which the line says:
    it said "validation accuracy 0.4286", a figure on 7 synthesized rows read as real data."""
    import json
    from search.run import trials_text
    best = json.dumps(summary["best_spec"])
    if summary.get("grow_pruned") and "best_searched_spec" in summary:
        best = (f"grown-and-pruned {best}, searched as "
                f"{json.dumps(summary['best_searched_spec'])}")
    return (f"  {trials_text(summary)}; best {best}: accuracy {summary['best_accuracy']:.4f} "
            f"on the synthesized validation inputs, {summary['best_parameters']:,} parameters")


def search_restart_reason(ctx, out_dir: Path, config) -> str:
    """Why the search in ``out_dir`` cannot be resumed with ``config``: its settings changed
    (naming them), its space changed, or its inputs did -- the teacher or the synthesized
    set, named from what the ledger says the previous search began from (``ctx.earlier``).
    The settings are compared as ``resumable`` compares them, with the saved ones as a resume
    reads them (``search.run.saved_settings``): a search begun before the trials' step floor
    or grow-prune recipe resumes with the values it ran (``config`` is ``as_begun``'s), so
    ``min_steps`` and ``grow_prune`` are not named where only another setting changed (h292:
    the raw file's missing fields were)."""
    import json
    from search.run import (INPUTS_FILE, SPACE_FILE, input_digest, saved_settings,
                            with_absolute_paths, with_data_space)
    from search.space import load_space
    from deploy.ledger import changes, name_changes

    from synth.files import read_json

    def read(name):
        try:
            return read_json(out_dir / name)
        except ConfigError:   # a key given twice: said, not read as no search
            raise
        except (OSError, ValueError):
            return None
    saved = read("search_config.json")
    if not isinstance(saved, dict) or read(SPACE_FILE) is None:
        return "the search in search/ was not saved completely"
    saved = saved_settings(out_dir / "search_config.json")   # read as a resume reads it
    try:
        now = with_absolute_paths(with_data_space(config))   # as run_search saves it
        current = json.loads(json.dumps(now.to_dict()))
        space = json.loads(json.dumps(load_space(now.space).definition))
    except (OSError, ValueError, RecursionError) as e:
        return f"the search settings cannot be compared ({e})"
    reasons = []
    keys = sorted(k for k in set(saved) | set(current)
                  if k not in ("teacher", "data") and saved.get(k) != current.get(k))
    if keys:
        reasons.append(f"the search settings changed ({name_changes(keys)})")
    if read(SPACE_FILE) != space:
        reasons.append("the search space changed")
    if any(saved.get(k) != current[k] for k in ("teacher", "data")):
        reasons.append("the paths of its teacher and set changed (a moved run directory)")
    inputs = read(INPUTS_FILE)
    if isinstance(inputs, dict) and inputs.get("digest") != input_digest(now):
        # the teacher and synthesis settings, and the real data's files, the previous search
        # began from against now's: what was made again since
        changed = changes(ctx.earlier.get("search"), ctx.made_from, "synthesis")
        teacher = [k for k in changed if not k.startswith("synthesis.")]
        synthesis = [k for k in changed if k.startswith("synthesis.")]
        if teacher:
            reasons.append(f"the teacher changed ({name_changes(teacher)}), and with it the "
                           f"synthesized set")
        elif synthesis:
            reasons.append(f"the synthesized set changed ({name_changes(synthesis)})")
        else:
            reasons.append("the teacher or the synthesized set changed (their files are not "
                           "those the search began with)")
    return " and ".join(reasons) or "the search in search/ cannot be resumed"


# --------------------------------------------------------------------------- refine
def _kd_loss_fn(temperature: float):
    """loss_fn(model, x, teacher_logits) for synth.train.fit / grow_and_prune (Hinton KD)."""
    from synth.distill import kd_loss
    return lambda model, xb, tb: kd_loss(model(xb), tb, temperature)


def refine_schedule(config: RunConfig):
    """The refine stage's ``GrowPruneSchedule``: ``nnsynth grow-prune``'s measured recipe
    (``GrowPruneSchedule.recipe``, ``synth.choices.RECIPE``: 17 LAMP pruning steps of 20%,
    weights of dead units removed, each retraining at least 60 optimizer steps, a step undone
    0.5 pt below the start) under the fields ``refine.schedule`` sets, with the run's seed and
    device.  GrowPruneSchedule's library defaults retrained a refine of iris 6 steps a pruning
    step and never undid one (h289)."""
    from synth.grow_prune import GrowPruneSchedule
    return GrowPruneSchedule.recipe(**{"seed": config.seed, "device": config.device,
                                       **config.refine.schedule})


def run_refine(ctx) -> dict:
    """Grow-and-prune (NeST) the best searched student by KD from the teacher on the
    synthesized images -- data-free: validation inside grow-and-prune is the synthesized
    validation slice -- then optionally a final KD with masks kept, then compaction."""
    import torch
    from synth.checkpoint import load_model, save_checkpoint, trained_record
    from synth.compact import compact_if_supported
    from synth.data import load_dataset
    from synth.distill import teacher_logits
    from cluster.train import fit_on_workers, grow_prune_on_worker
    from synth.grow_prune import kept_steps, reverted_steps
    from synth.train import TrainConfig
    c, cfg = ctx.config.refine, ctx.config
    teacher = load_model(ctx.output("teacher"))
    student = load_model(ctx.output("search"))
    synthetic = load_dataset(f"parquet:{ctx.output('synthesis', 'dataset')}", seed=cfg.seed)
    train_xy = (synthetic.x_train, teacher_logits(teacher, synthetic.x_train))
    schedule = refine_schedule(cfg)
    loss_fn = _kd_loss_fn(c.temperature)
    torch.manual_seed(cfg.seed)
    ctx.connect_for_training()
    student, grown = grow_prune_on_worker(student, synthetic, schedule, progress=ctx.progress,
                                          loss_fn=loss_fn, train_xy=train_xy,
                                          name="grow-prune", **ctx.train_placement())
    history, trained_on = grown["history"], grown["nodes"]
    if c.distill_epochs:
        student, kd = fit_on_workers(
            student, synthetic, TrainConfig(epochs=c.distill_epochs, lr=schedule.lr,
                                            optimizer=schedule.optimizer, seed=cfg.seed,
                                            device=cfg.device, keep_best=False,
                                            progress=ctx.progress),
            loss_fn=loss_fn, train_xy=train_xy, desc="final KD", name="final-kd",
            **ctx.train_placement())
        trained_on = sorted(set(trained_on) | set(kd["nodes"]))
    small = compact_if_supported(student.cpu().eval())
    real = ctx.real_data()
    facts = _model_facts(small, real.input_shape)
    save_checkpoint(ctx.path("refined.pt"), small,
                    dataset=trained_record(real, ctx.data_digest()),
                    metrics={**facts, "grow_prune_steps": kept_steps(history),
                             "grow_prune_reverted_steps": reverted_steps(history)},
                    extra={"role": "refined", "schedule": schedule.to_dict(),
                           "grow_prune_history": history})
    ctx.log(f"  refined: {facts['parameters']:,} parameters ({facts['nonzero_parameters']:,} "
            f"nonzero) after {kept_steps(history)} grow/prune steps "
            f"({reverted_steps(history)} undone)")
    return {"checkpoint": "refined.pt", **facts, "trained_on": trained_on,
            "history": [{k: v for k, v in h.items() if isinstance(v, (int, float, str))}
                        for h in history]}


# --------------------------------------------------------------------------- export
def final_checkpoint(ctx) -> tuple[str, str]:
    """(checkpoint relative to the run dir, what it is): refined > best searched > teacher."""
    if "refine" in ctx.outputs:
        return ctx.outputs["refine"]["checkpoint"], "grow-and-prune refined, compacted student"
    if "search" in ctx.outputs:
        searched = ctx.outputs["search"].get("summary") or {}
        if searched.get("grow_pruned") and searched.get("best_searched_spec"):
            # search.options.grow_prune: best.pt is the trial's grown-and-pruned model, an
            # architecture the searcher never proposed (as search_stage_line says)
            import json
            return ctx.outputs["search"]["checkpoint"], (
                f"best searched student, grown and pruned in its trial (searched as "
                f"`{json.dumps(searched['best_searched_spec'], sort_keys=True)}`)")
        return ctx.outputs["search"]["checkpoint"], "best searched student"
    return ctx.outputs["teacher"]["checkpoint"], "the teacher (search and refine disabled)"


def pricing_notes(export) -> list[str]:
    """What an export stage configured by ``export`` (``ExportStage``) leaves unpriced, one
    line each for summary.md: with ``price: false`` the report and the result had no latency
    or energy rows or keys and no word why (``spring: false`` dropped SPRING's alike).  The
    accelerator the rows are priced on, where export.accel names one (``search.results.
    accel_text``): summary.md's rows said 'accelerator' of an 8x64 os array at 50 MHz, as
    of hwsim's default 32x32 (h297)."""
    if not export.price:
        return ["pricing not run (export.price: false): no latency or energy on the "
                "accelerator model or SPRING"]
    notes = []
    if export.accel:
        from search.results import accel_text
        notes.append(f"accelerator rows priced on export.accel's array: {accel_text(export.accel)}"
                     f" (nnsynth hwsim eval --accel of the same fields gives them)")
    if not export.spring:
        notes.append("SPRING not run (export.spring: false): latency and energy are the "
                     "accelerator model's only")
    return notes


def _price(ctx, model, held_out=None) -> dict:
    """``model``'s hardware cost at batch 1.  SPRING skips zero activations, so its figures
    depend on the inputs: with ``held_out`` (real held-out inputs of the run's data set) its
    activation sparsity is measured on their first ``hwsim.sparsity_sample_size`` (as
    ``nnsynth hwsim eval --spring`` measures it), not on a random N(0, 1) input, which gave
    SPRING figures -9% to +1% off on five models (h290, h293).  The accelerator model is dense:
    its figures do not depend on the inputs."""
    if not ctx.config.export.price:
        return {}
    import hwsim
    shape = tuple(model.input_shape)
    ops = hwsim.extract(model, shape)
    if ctx.config.export.spring and held_out is not None and len(held_out):
        sample = held_out[:hwsim.sparsity_sample_size(model, shape, len(held_out))]
        ops = hwsim.with_sparsity(ops, hwsim.extract(model, shape, inputs=sample))
    cost = hwsim.price_ops(ops, dict(ctx.config.export.accel), ctx.config.export.spring)
    return {k: float(v) for k, v in cost.items() if isinstance(v, (int, float))}


def spring_inputs_note(models: dict, data) -> str:
    """summary.md's line on the real test inputs ``_price`` measures SPRING's activation
    sparsity on, for each of ``models`` (name -> module)."""
    import hwsim
    from deploy.summary import input_unit
    counts = {name: hwsim.sparsity_sample_size(m, tuple(m.input_shape), len(data.y_test))
              for name, m in models.items()}
    said = (f"{next(iter(counts.values())):,}" if len(set(counts.values())) == 1 else
            ", ".join(f"{n:,} ({name})" for name, n in counts.items()))
    return (f"SPRING's activation sparsity measured on the first {said} of the "
            f"{len(data.y_test):,} real test {input_unit(data.input_shape)}s (SPRING skips "
            f"zero activations; the accelerator model's figures do not depend on the inputs)")


def dense_notes(ctx, models: dict) -> dict[str, str]:
    """Model name -> ``hwsim.dense_note`` of each of ``models`` (name -> module) that has
    zero weights, where the export prices: its accelerator rows in summary.md are its dense
    architecture's (a refined or grown-and-pruned model keeps its cut connections as zeros,
    which the accelerator model multiplies), said as ``nnsynth hwsim eval`` says it."""
    if not ctx.config.export.price:
        return {}
    import hwsim
    remedy = ("SPRING (its rows in the table)" if ctx.config.export.spring
              else "SPRING (export.spring: true)")
    notes = {name: hwsim.dense_note(hwsim.extract(model, tuple(model.input_shape)), remedy)
             for name, model in models.items()}
    return {name: note for name, note in notes.items() if note}


def run_export(ctx) -> dict:
    """Evaluate teacher and final model on the real test split, price both, export the
    final model to ONNX (checked against PyTorch within ``export.tolerance``), write the
    final checkpoint ``final.pt`` and ``summary.md``."""
    import json
    from deploy.onnx_export import export_and_verify, onnx_metadata
    from deploy.summary import input_unit, render_summary, write_summary
    from synth.checkpoint import (load_model, model_from_payload, read_checkpoint,
                                  save_checkpoint, trained_record)
    from synth.grow_prune import one_class_warning
    from synth.train import evaluate
    data = ctx.real_data()
    source, label = final_checkpoint(ctx)
    teacher = load_model(ctx.output("teacher"))
    payload = read_checkpoint(ctx.path(source))
    final = model_from_payload(payload, where=source)
    rows = {}
    for name, model in (("teacher", teacher), ("final", final)):
        row = {"test_accuracy": evaluate(model, data.x_test, data.y_test)["accuracy"]}
        row.update(_model_facts(model, data.input_shape))
        row.update(_price(ctx, model, data.x_test))
        row["spec_text"] = json.dumps(model.spec, sort_keys=True)
        rows[name] = row
    # a model that predicts one class for every test input: its accuracy is that class's
    # share (a searched convnet of 1x1 kernels at stride 2 saw one pixel of digits' 8x8,
    # always 0, and the report said 'test accuracy 0.1000' without a word)
    one_class = {name: line for name, model in (("teacher", teacher), ("final", final))
                 if (line := one_class_warning(model, data))}
    for name, line in one_class.items():   # the teacher stage said its own (ledger's record)
        if not (name == "teacher" and ctx.outputs.get("teacher", {}).get("warning") == line):
            log.warning("%s model: %s", name, line)
    metrics = {**payload.get("metrics", {}),
               **{k: v for k, v in rows["final"].items() if k != "spec_text"},
               "test_split": "real", "dataset": data.name,
               **({"warning": one_class["final"]} if "final" in one_class else {})}
    save_checkpoint(ctx.path("final.pt"), final, dataset=trained_record(data, ctx.data_digest()),
                    metrics=metrics,
                    masks=payload.get("masks") or None,
                    extra={**payload.get("extra", {}), "role": "final", "source": source})
    files = {"final checkpoint": "final.pt",
             "teacher checkpoint": ctx.outputs["teacher"]["checkpoint"],
             "config": "config.json", "ledger": "ledger.json"}
    notes, unit = pricing_notes(ctx.config.export), input_unit(data.input_shape)
    if ctx.config.export.price and ctx.config.export.spring:
        notes.append(spring_inputs_note({"teacher": teacher, "final": final}, data))
    if ctx.config.export.onnx:
        check = export_and_verify(final, ctx.path("model.onnx"), data.x_test, data.y_test,
                                  ctx.config.export.tolerance,
                                  metadata=onnx_metadata(data.metadata(), final.input_shape),
                                  rtol=ctx.config.export.rtol)
        files["ONNX export"] = "model.onnx"
        notes.append(f"ONNX (onnxruntime) vs PyTorch on the {check['samples']} test {unit}s: "
                     f"max |logit difference| {check['max_abs_diff']:.2e} (tolerance "
                     f"{check['tolerance']:g} + {check['rtol']:g} x a sample's largest "
                     f"|logit|), {check['prediction_mismatches']} differing "
                     f"predictions")
        rows["final"]["onnx_max_abs_diff"] = check["max_abs_diff"]
    synthesis = ctx.outputs.get("synthesis", {}).get("summary") or {}
    if isinstance(synthesis.get("fidelity"), (int, float)):
        notes.append(f"synthesized set: {synthesis.get('images', 'its')} {unit}s, fidelity "
                     f"{synthesis['fidelity']:.3f} (the teacher assigns "
                     f"{100 * synthesis['fidelity']:.1f}% of them to their target class)")
    notes += [f"warning: {w}" for w in synthesis_warnings(synthesis)]
    notes += [f"warning: {name} model: {line}" for name, line in one_class.items()]
    dense = dense_notes(ctx, {"teacher": teacher, "final": final})
    notes += [f"{name} model's accelerator latency and energy: {line}"
              for name, line in dense.items()]
    searched = ctx.outputs.get("search", {}).get("summary") or {}
    if searched.get("warning"):      # e.g. every trial random (search.run.random_only)
        notes.append(f"warning: search: {searched['warning']}")
    for stage, key, label_ in (("search", "results", "search results"),
                               ("search", "pareto", "Pareto plot"),
                               ("synthesis", "image_grid", f"synthesized {unit}s")):
        name = ctx.outputs.get(stage, {}).get(key)
        if name and ctx.path(name).is_file():
            files[label_] = name
    # this run's stages only: the ledger also keeps a stage the config has since turned off
    from deploy.ledger import Ledger
    recorded = Ledger(ctx.run_dir).stages
    stage_seconds = {s: recorded.get(s, {}).get("seconds") for s in ctx.outputs}
    stage_seconds["export"] = None
    text = render_summary(ctx.config.name, rows["teacher"], rows["final"], final_source=label,
                          files=files, stage_seconds=stage_seconds, notes=notes, unit=unit)
    write_summary(ctx.path("summary.md"), text)
    summary = {"teacher_" + k: v for k, v in rows["teacher"].items() if k != "spec_text"}
    summary.update({"final_" + k: v for k, v in rows["final"].items() if k != "spec_text"})
    summary["final_checkpoint"] = str(ctx.path("final.pt"))
    # whether the latency/energy keys are there by the config, not left out without a word
    summary["priced"] = ctx.config.export.price
    summary["spring_priced"] = ctx.config.export.price and ctx.config.export.spring
    summary.update({f"{name}_warning": line for name, line in one_class.items()})
    # the earlier stages' warnings, from their ledger records: a rerun that skips them logs
    # nothing, and its --json lost the low-fidelity warning summary.md still gave
    for name, said in (("synthesis", synthesis_warnings(synthesis)),
                       ("search", [searched["warning"]] if searched.get("warning") else [])):
        if said:
            summary[f"{name}_warning"] = "; ".join(str(w) for w in said)
    summary.update({f"{name}_accel_note": line for name, line in dense.items()})
    return {"checkpoint": "final.pt", "summary": summary}


# The one stage registry: run order (= deploy.run_config.STAGES), runners, requirements.
STAGE_REGISTRY = {s.name: s for s in (
    Stage("teacher", run_teacher, (("synth.train", "fit"), ("cluster.train", "fit_on_workers"),
                                   ("synth.checkpoint", "save_checkpoint")),
          products=("teacher.pt",)),
    Stage("synthesis", run_synthesis_stage, (("cluster.pairs", "run_synthesis"),
                                             ("synth.inversion", "InversionConfig"),
                                             ("synth.images", "save_class_grid")),
          products=("images.png",)),           # synthetic/: run_synthesis resumes or replaces
    Stage("search", run_search_stage, (("search.run", "run_search"),
                                       ("search.run", "SearchConfig")),
          products=("space.json", "results.parquet", "pareto.png")),  # search/: resumed or not
    Stage("refine", run_refine, (("cluster.train", "grow_prune_on_worker"),
                                 ("synth.compact", "compact")),
          products=("refined.pt",)),
    Stage("export", run_export, (("deploy.onnx_export", "export_and_verify"),
                                 ("deploy.onnx_export", "onnx_metadata")),
          switch="export.price", products=("final.pt", "model.onnx", "summary.md")),
)}
assert tuple(STAGE_REGISTRY) == STAGES, "deploy.run_config.STAGES and the registry disagree"
