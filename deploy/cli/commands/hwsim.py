"""``nnsynth hwsim``: price a model on the accelerator model / SPRING, explore accelerator
designs, and build latency/energy tables."""
from __future__ import annotations

import contextlib
import math

from synth.config import short_repr

import click
from click.core import ParameterSource

from deploy.cli.options import (dataset_name, emit, json_option, seed_option, show_progress,
                                table_out)


def _shape(text: str, where: str = "--input-shape") -> tuple[int, ...]:
    from synth.errors import UserError
    try:   # every part a number: '1xx28' was read as (1, 28)
        shape = tuple(int(v) for v in text.replace(",", "x").split("x"))
    except ValueError:
        shape = ()
    if not shape or any(s < 1 for s in shape):
        raise UserError(f"{where} must look like 1x28x28 (images), 6x100 (sequences) or "
                        f"13 (features), got {short_repr(text)}")
    return shape


def _load_yaml(path: str | None, what: str) -> dict | None:
    """The mapping of a --dse-config file (``deploy.run_config.read_yaml``: an empty one is
    {}; --accel's is ``_accel_config``'s); a file of 0, false or [] was read as {} too, and
    priced the default accelerator without a word."""
    if not path:
        return None
    from deploy.run_config import read_yaml
    return read_yaml(path, what=f"{what} config")


def _accel_config(path: str | None):
    """The --accel file's ``AcceleratorConfig`` (hwsim's default array where none is given),
    read by ``hwsim.accel.read_accel_file``: the one reader of such a file, that ``nnsynth
    search --accel`` uses too (eval and table had their own _load_yaml/_config_from pair)."""
    from hwsim.accel import AcceleratorConfig, read_accel_file
    return read_accel_file(path) if path else AcceleratorConfig()


def _config_from(cls, values: dict | None, path: str | None, where: str,
                 typed: frozenset = frozenset()):
    """``cls.from_dict(values)``, an error about a value of the YAML file ``path`` naming
    the file: 'rows must be in [1, 4096], got 0' of --accel a.yaml named neither the file
    nor an option (h250).  ``typed``: fields whose value came from an option instead (the
    CLI names that option)."""
    with _naming_file(path, typed):
        return cls.from_dict(values, where=where)


@contextlib.contextmanager
def _naming_file(path: str | None, typed: frozenset = frozenset(),
                 fields: frozenset | None = None):
    """A ConfigError raised within, about a value of the YAML file ``path``, prefixed by the
    file: ``typed`` as ``_config_from``'s; ``fields``: the only fields the file can be
    blamed for (None: any error).  hwsim dse's area budget below every configuration's
    area, found by ``explore`` after the config was made, said 'area_budget_mm2 must be at
    least ...' of a --dse-config file's value without naming the file (h253)."""
    from synth.errors import ConfigError
    try:
        yield
    except ConfigError as e:
        field = (e.field or "").removesuffix(" value").removesuffix("[]")
        if path and field not in typed and (fields is None or field in fields):
            raise ConfigError(f"{path}: {e}") from None
        raise


def _is_checkpoint(ref: str) -> bool:
    """A --model that names a checkpoint (``synth.checkpoint.names_checkpoint``, or any
    ``*.pt``): a FIFO, a device or a folder at a path was taken for a variant name ("a file,
    where a variant name or JSON spec is expected"), though --model takes checkpoints."""
    from synth.checkpoint import names_checkpoint
    return ref.endswith(".pt") or names_checkpoint(ref)


def _model(ref: str, default_shape: tuple, num_classes: int, option: str = "--model",
           alone: bool = True):
    """A checkpoint path, or a variant name / JSON spec with optional ``@shape``; ``option``:
    the one ``ref`` was given to, named by a malformed shape's error.  ``alone``: the
    command's only model (``hwsim dse`` checks its models' @shapes against --input-shape
    together, ``_check_shape_read``)."""
    from hwsim import build_priced
    if _is_checkpoint(ref):
        from synth.checkpoint import load_model
        model = load_model(ref)
        _check_own(ref, "--input-shape", "input_shape", default_shape, tuple(model.input_shape))
        _check_own(ref, "--num-classes", "num_classes", num_classes, int(model.num_classes))
        return ref, model, tuple(model.input_shape)
    name, shape_txt = _split_ref(ref)
    # a malformed shape after the '@' blamed --input-shape, which was not given
    shape = (_shape(shape_txt, f"{option} {short_repr(ref)}: the shape after @")
             if shape_txt else default_shape)
    if alone:
        _check_shape_read([ref], default_shape)
    _check_kind(ref, name, shape, bool(shape_txt))
    return name, build_priced(name, shape, num_classes), shape


def _split_ref(ref: str) -> tuple[str, str]:
    """A spec reference as (variant name or JSON spec, the shape text after its '@', '' for
    none)."""
    # a JSON spec's shape follows its closing brace ('{"family": ...}@1x8x8' read the shape
    # as JSON: "not valid JSON: Extra data"); a variant name's follows the '@'
    json_spec = ref.strip().startswith("{")
    name, _, shape_txt = ref.rpartition("}@") if json_spec and "}@" in ref else (
        ref.partition("@") if not json_spec else (ref, "", ""))
    # an '@' with no shape after it: 'lenet5@' ran on the default shape, '{...}@' was 'not
    # valid JSON'
    if _at_given(ref, json_spec) and not shape_txt.strip():
        from synth.errors import UserError
        raise UserError(f"model {short_repr(ref)}: give a shape after @ (CxHxW, CxL or F), "
                        f"or leave the @ out")
    return name + ("}" if json_spec and shape_txt else ""), shape_txt


def _check_shape_read(refs, given: tuple) -> None:
    """An --input-shape typed that no model of ``refs`` reads (each a checkpoint, whose own
    shape ``_check_own`` compares, or a spec with its own @shape) and that differs from a
    spec's @shape is refused: the @shape won and the option was dropped without a word
    (h252).  One spec given without @shape reads it, and it is taken."""
    if not _given("input_shape"):
        return
    specs = [r for r in refs if not _is_checkpoint(r)]
    if any(not _split_ref(r)[1] for r in specs):
        return
    for ref in specs:
        own = _shape(_split_ref(ref)[1], f"--model {short_repr(ref)}: the shape after @")
        if own != tuple(given):
            from synth.errors import UserError
            show = lambda s: "x".join(map(str, s))
            raise UserError(f"--input-shape {show(given)} is the shape of a spec model given "
                            f"without @shape; {short_repr(ref)} has its own ({show(own)}): leave "
                            f"--input-shape out")


def _at_given(ref: str, json_spec: bool) -> bool:
    """``ref`` has an '@' for a shape (a JSON spec's after its closing brace)."""
    return "}@" in ref if json_spec else "@" in ref


def _check_kind(ref: str, name: str, shape: tuple, after_at: bool) -> None:
    """A spec's family meets a shape of the wrong kind: the line names where the shape came
    from (``--input-shape``, its default, or NAME@shape), as there is no data set to blame
    (a convnet1d_small with the image default 1x28x28 was 'the data has input shape')."""
    from synth.models import check_input_rank, resolve_spec
    text = "x".join(map(str, shape))
    if after_at:
        where = f"the shape after @ in {ref}"
    elif click.get_current_context().get_parameter_source("input_shape") is \
            ParameterSource.DEFAULT:
        where = f"--input-shape {text} (the default for spec models)"
    else:
        where = f"--input-shape {text}"
    check_input_rank(resolve_spec(name)["family"], shape, where,
                     hint=": give the model's shape with --input-shape (or as NAME@shape)")


def _check_own(ref: str, option: str, param: str, given, own) -> None:
    """A checkpoint has its own input shape and classes: an option given on the command line
    that says otherwise is an error (it was ignored without a word)."""
    from synth.errors import UserError
    source = click.get_current_context().get_parameter_source(param)
    if source is not ParameterSource.DEFAULT and given != own:
        shown = "x".join(map(str, own)) if isinstance(own, tuple) else own
        hint = " (or give a spec's shape as NAME@shape)" if param == "input_shape" else ""
        raise UserError(f"{option} is for spec models; checkpoint {ref} has its own "
                        f"({shown}): leave {option} out{hint}")


input_shape_option = click.option("--input-shape", default="1x28x28", show_default=True,
                                  help="Sample shape of a model given as a variant name or "
                                       "JSON spec, not a checkpoint: CxHxW (images), CxL "
                                       "(sequences) or F (features).")
classes_option = click.option("--num-classes", type=click.IntRange(min=2), default=10,
                              show_default=True,
                              help="Classes of a model given as a variant name or JSON spec.")


@click.group("hwsim")
def command():
    """Hardware cost of networks: accelerator model, SPRING, DSE, latency tables."""


@command.command("eval")
@click.option("--model", "model_path", default=None, help="Checkpoint written by nnsynth.")
@click.option("--spec", default=None, help="Variant name or JSON spec (instead of --model).")
@input_shape_option
@classes_option
@click.option("--accel", "accel_path", default=None, help="AcceleratorConfig YAML file.")
@click.option("--spring", is_flag=True, help="Also price on SPRING (inference and training).")
@click.option("--dataset", default=None, callback=dataset_name,
              help="With --spring: the data set whose held-out samples (test split, at most "
                   "64) SPRING's activation sparsity is measured on (default: a checkpoint's "
                   "own set; random N(0, 1) inputs where none loads).")
@click.option("--batch", type=click.IntRange(min=1), default=1, show_default=True,
              help="Samples per inference (batch size).")
@json_option
def eval_cmd(model_path, spec, input_shape, num_classes, accel_path, spring, dataset, batch,
             as_json):
    """Latency, energy, cycles and area of one model; per-layer breakdown.

    The accelerator model is a dense systolic array: it multiplies zero weights as any other,
    so a pruned model's figures are those of its dense architecture (a note says so, with
    zero_weights in --json); --spring prices the zeros SPRING skips, weights and
    activations: activation sparsity is measured on the checkpoint's data set (--dataset:
    another), on random inputs where there is none (the output says which).  A recurrent
    layer's GEMMs run step after step, each at least one fold of the array (a note gives
    their cycles).  Scope, as SCALE-Sim's: the array's MACs of each layer and the reads of
    its weights, inputs and outputs; a layer's bias is neither read from DRAM nor added
    (one value per output channel: Linear(64, 32)'s 32 beside its 2,048 weights)."""
    from hwsim import price_report
    from hwsim.workload import MAX_BATCH_VALUES
    from synth.errors import UserError
    if bool(model_path) == bool(spec):
        raise UserError("give exactly one of --model CHECKPOINT or --spec SPEC")
    name, model, shape = _model(model_path or spec, _shape(input_shape), num_classes,
                                "--model" if model_path else "--spec")
    # extract's random batch holds at most MAX_BATCH_VALUES values: --batch's range for this
    # shape, told as every option's is; a forward pass too much work at a batch in that range
    # is refused by extract in its own words (the work, the batch it allows)
    most = max(1, MAX_BATCH_VALUES // math.prod(shape))
    if batch > most:
        raise UserError(f"--batch must be in [1, {most}] for samples of {tuple(shape)} (the limit "
                        f"is {MAX_BATCH_VALUES:,} input values), got {batch}")
    cfg = _accel_config(accel_path)
    inputs, sample, sample_from = _eval_inputs(model_path, model, shape, dataset, spring, batch)
    out = {"model": name, **price_report(model, shape, cfg, batch=batch, spring=spring,
                                         sample=sample, sample_from=sample_from,
                                         inputs=inputs)}
    emit(out, as_json, "\n".join(_eval_lines(out)))


def _eval_inputs(model_path, model, shape, dataset, spring: bool, batch: int):
    """(inputs, sample, sample_from) of ``hwsim eval``: the batch priced (None: extract's
    random one) and SPRING's activation-sparsity samples (``_sparsity_sample``).  A language
    model (family ``lm``, token ids) is priced on the tokens its checkpoint records
    (``synth.lm.priced_tokens``: nnsynth symbiotic's, so the figure is its report's
    priced_ms), a spec one on seeded random ids of its vocabulary; both are its samples."""
    from synth.errors import UserError
    if dataset is not None and not spring:
        raise UserError("--dataset is the data SPRING's activation sparsity is measured on: "
                        "give --spring too (the accelerator model's figures do not depend on "
                        "the inputs)")
    if getattr(model, "spec", {}).get("family") != "lm":
        return (None,) + (_sparsity_sample(model_path, model, shape, dataset) if spring
                          else (None, None))
    if dataset is not None:
        raise UserError(f"--dataset: {model_path or 'a spec'} is a language model (family "
                        f"'lm'), priced on token ids of its own vocabulary; leave --dataset out")
    import torch
    from synth.lm import priced_tokens
    if model_path:
        tokens = priced_tokens(model, f"checkpoint {model_path}", batch)
        said = ((model.checkpoint_info.get("extra") or {}).get("lm") or {}).get(
            "tokens_from") or "the token ids its checkpoint records"
        return tokens, tokens, f"{said} (recorded in {model_path}), batch {batch}"
    gen = torch.Generator().manual_seed(0)
    tokens = torch.randint(model.num_classes, (batch,) + tuple(shape), generator=gen)
    return tokens, tokens, f"seeded random token ids (a spec model has no text), batch {batch}"


def _sparsity_sample(model_path, model, shape, dataset, offer: bool = True):
    """(samples, what they are) for SPRING's activation sparsity (``hwsim.price_report``):
    the first ``hwsim.sparsity_sample_size`` held-out samples (test split, or val) of
    ``dataset`` or of the checkpoint's own set (``synth.checkpoint.checkpoint_dataset``,
    normalized as the model was trained).  Where the checkpoint's own set does not load (a
    file moved, a checkpoint that records none) or a spec model has no --dataset: (None,
    why), random inputs; a --dataset named that does not load is its one-line error.  h290:
    random N(0, 1) inputs moved SPRING's figures -9% to +1% from real ones, unsaid.
    ``offer``: the command has --dataset (the remedy named for a spec model)."""
    from hwsim import sparsity_sample_size
    from synth.checkpoint import checkpoint_dataset
    from synth.errors import UserError
    if dataset is None and not model_path:
        return None, "a spec model has no data set" + (": --dataset names one" if offer else "")
    try:
        data = checkpoint_dataset(model, dataset, source=f"checkpoint {model_path}"
                                  if model_path else "--spec model")
    except UserError as e:
        if dataset is not None:
            raise
        return None, f"the checkpoint's data set did not load: {e}"
    split = data.held_out(None)
    x, _ = data.split(split)
    if not len(x):
        return None, f"{data.name}'s {split} split is empty"
    n = sparsity_sample_size(model, shape, len(x))
    return x[:n], f"the first {n:,} of {len(x):,} samples of the {split} split of {data.name}"


def _eval_lines(out: dict) -> list[str]:
    """``hwsim eval``'s human output: totals, one line per layer, SPRING comparisons."""
    human = [f"{out['model']} {tuple(out['input_shape'])} batch {out['batch']}: "
             f"{out['latency_ms']:.4g} ms, {out['energy_mj']:.4g} mJ, "
             f"{out['cycles']:.0f} cycles, {out['area_mm2']:.4g} mm^2, "
             f"utilization {out['utilization']:.3f}"]
    if out.get("note"):   # a pruned model: its zeros are multiplied (hwsim.dense_note)
        human.append(f"note: {out['note']}")
    if out.get("serial_note"):   # per-step GEMMs of a recurrent layer (hwsim.serial_note)
        human.append(f"note: {out['serial_note']}")
    rows = [("layer", "type", "MACs", "cycles", "stall", "util")] + [
        (l["name"][:27], l["type"], f"{l['macs']:,}", f"{l['cycles']:,.0f}",
         f"{l['stall_cycles']:,.0f}", f"{l['utilization']:.2f}") for l in out["layers"]]
    # numbers wider than a column widen it (at --batch 100000 they ran into each other)
    widths = [max([w] + [len(r[i]) + 1 for r in rows]) for i, w in enumerate((28, 11, 12, 12,
                                                                             10, 7))]
    human += ["".join(v.ljust(w) if i < 2 else v.rjust(w) for i, (v, w) in
                      enumerate(zip(r, widths))) for r in rows]
    for mode in ("inference", "training"):
        if f"spring_{mode}" in out:
            s = out[f"spring_{mode}"]
            human.append(f"SPRING {mode} ({out['spring_precision']} fixed point): "
                         f"{s['latency_ms']:.4g} ms, {s['energy_mj']:.4g} mJ, "
                         f"{s['power_w']:.1f} W; vs GTX 1080 Ti roofline {s['speedup_vs_gpu']:.1f}x "
                         f"speed, {s['power_reduction_vs_gpu']:.1f}x power, "
                         f"{s['energy_efficiency_vs_gpu']:.1f}x energy efficiency")
    if "spring_sparsity_inputs" in out:   # SPRING skips zero activations: of which inputs
        human.append(f"SPRING's activation sparsity measured on "
                     f"{out['spring_sparsity_inputs']}")
    if out.get("spring_steps_note"):   # steps beyond hwsim.recurrent.STEPS_TRACED
        human.append(f"note: {out['spring_steps_note']}")
    return human


@command.command("dse")
@click.option("--model", "models", multiple=True, required=True,
              help="Checkpoint, or variant/JSON spec with optional @shape (CxHxW, CxL or F); "
                   "repeat for several.")
@input_shape_option
@classes_option
@click.option("--budget", type=click.IntRange(min=0), default=0, show_default=True,
              help="Configurations to sample from the grid (0: all); given, it wins over "
                   "--dse-config's budget.")
@click.option("--area-budget", type=float, default=4.0, show_default=True,
              help="The best configuration must fit this area, mm^2; given, it wins over "
                   "--dse-config's area_budget_mm2.")
@click.option("--dse-config", "dse_path", default=None, help="DseConfig YAML (grid values).")
@seed_option
@json_option
def dse_cmd(models, input_shape, num_classes, budget, area_budget, dse_path, seed, as_json):
    """Search accelerator parameters for one or several networks: Pareto set and best.

    The accelerator model is a dense array: a pruned network costs what its dense
    architecture costs (a note names it, with notes in --json)."""
    from hwsim.dse import DseConfig, explore
    values = _load_yaml(dse_path, "dse") or {}
    # an option given on the command line wins over --dse-config; an option's default does
    # not (the file's budget, area budget and seed were silently replaced by 0, 4.0 and 0)
    ctx, typed = click.get_current_context(), set()
    for key, param, value in (("budget", "budget", budget),
                              ("area_budget_mm2", "area_budget", area_budget),
                              ("seed", "seed", seed)):
        if key not in values or ctx.get_parameter_source(param) is not ParameterSource.DEFAULT:
            values[key] = value
            typed.add(key)
    cfg = _config_from(DseConfig, values, dse_path, "dse", frozenset(typed))
    _check_dse_seed(cfg)
    workloads = _dse_workloads(models, input_shape, num_classes)
    with _naming_file(dse_path, frozenset(typed), frozenset(values)):
        res = explore(workloads, cfg, progress=show_progress())
    b = res["best"]
    human = [f"evaluated {res['evaluated']} configurations on {', '.join(res['networks'])}; "
             f"Pareto set {len(res['pareto'])} (latency, energy, area)",
             "best by geometric-mean performance within "
             f"{cfg.area_budget_mm2} mm^2: {_dse_best_text(b['config'])}, "
             f"{b['area_mm2']:.4g} mm^2, geomean {b['geomean_latency_ms']:.4g} ms"]
    human += [f"  {n}: {b['latency_ms'][n]:.4g} ms ({res['best_slowdown'][n]:.3f}x its own best)"
              for n in res["networks"]]
    human += [f"note: {n}: {note}" for n, note in res.get("notes", {}).items()]
    emit(res, as_json, "\n".join(human))


def _dse_best_text(config: dict) -> str:
    """The best configuration of ``hwsim dse`` in words: its array, dataflow and buffers,
    then every other field off hwsim's default (the --dse-config's ``base``: a clock of
    1 MHz was priced and not said, the figures read as 500 MHz's)."""
    from hwsim.accel import AcceleratorConfig
    default = AcceleratorConfig().to_dict()
    grid = ("rows", "cols", "dataflow", "ifmap_kb", "filter_kb", "ofmap_kb")
    rest = [f"{k} {v:g}" if isinstance(v, float) else f"{k} {v}"
            for k, v in config.items() if k not in grid and v != default.get(k)]
    return ", ".join([f"{config['rows']}x{config['cols']} {config['dataflow']}",
                      f"buffers {config['ifmap_kb']:g}/{config['filter_kb']:g}/"
                      f"{config['ofmap_kb']:g} KiB", *rest])


def _check_dse_seed(cfg) -> None:
    """--seed draws --budget's sample of the grid: with the whole grid evaluated (budget 0,
    or at least the grid's size) it changes nothing and is refused, as ``hwsim table``
    refuses an option its mode does not read (it was taken without a word)."""
    from hwsim.dse import GRID_ORDER
    from synth.errors import UserError
    size = math.prod(len(getattr(cfg, f)) for f in GRID_ORDER)
    if _given("seed") and not 0 < cfg.budget < size:
        raise UserError(f"--seed draws --budget's sample of the grid; budget {cfg.budget} "
                        f"evaluates the whole grid of {size:,} configurations, so the seed "
                        f"changes nothing: leave --seed out, or give --budget below {size:,}")


def _dse_workloads(models, input_shape: str, num_classes: int) -> dict:
    """``hwsim dse``'s networks, keyed by the reference as given, each network once: two
    shapes of one variant (NAME@CxHxW) shared the name and the second replaced the first;
    one checkpoint under two paths (iris.pt, ./iris.pt), or one spec spelt two ways
    (lenet5, lenet5@1x28x28), was priced twice and counted twice in the geometric mean."""
    import json
    import os
    from hwsim import extract
    from synth.errors import UserError
    workloads, seen = {}, {}
    _check_shape_read(models, _shape(input_shape))
    for ref in models:
        name, model, shape = _model(ref, _shape(input_shape), num_classes, alone=False)
        if name == ref and _is_checkpoint(ref):   # a checkpoint
            key = ("checkpoint", os.path.realpath(ref))
        else:
            try:   # a JSON spec: its keys' order and spacing do not make another network
                name = json.dumps(json.loads(name), sort_keys=True)
            except ValueError:
                name = name.strip()
            key = ("spec", name, tuple(shape))
        if key in seen:
            same = ("is given twice" if ref == seen[key] else
                    f"is the same network as --model {short_repr(seen[key])}")
            raise UserError(f"--model {short_repr(ref)} {same}: give each network once")
        seen[key] = ref
        workloads[ref] = extract(model, shape)
    return workloads


@command.command("table")
@click.option("--device", type=click.Choice(["cpu", "accel", "spring"]), default="cpu",
              show_default=True,
              help="cpu: each op timed on this host; accel: the analytical accelerator; "
                   "spring: the SPRING simulator.")
@click.option("--model", "model_ref", default=None,
              help="Build the per-op table for this checkpoint or spec (and predict its total).")
@click.option("--sweep", type=click.Choice(["linear", "lstm"]), default=None,
              help="Host-CPU latency over widths (device cpu only).")
@click.option("--widths", default="32:512:32", show_default=True, help="start:stop:step")
@click.option("--repeats", type=click.IntRange(min=4), default=20, show_default=True,
              help="Timings of each op on the host CPU (device cpu); the median is kept.")
@click.option("--threads", type=click.IntRange(min=1), default=1, show_default=True,
              help="torch threads the host CPU is timed with (device cpu; recorded in the "
                   "table), or that a --table's prediction is for.  1: a per-op timing that "
                   "does not change with the machine's cores or load.")
@click.option("--table", "table_path", default=None,
              help="A table saved by 'hwsim table --out' (or its --json line): predict "
                   "--model from it instead of building one (a warning when it was measured under other conditions).")
@click.option("--accel", "accel_path", default=None,
              help="AcceleratorConfig YAML file: the array --device accel prices on; with "
                   "--table, the one the prediction is for (a table built for another is "
                   "refused).")
@click.option("--out", default=None, type=click.Path(dir_okay=False), callback=table_out,
              help="Save the table built for --model to this JSON file (written whole or "
                   "not at all; a file there is replaced only if it is a table nnsynth "
                   "wrote), for --table to read back.")
@input_shape_option
@classes_option
@seed_option
@json_option
def table_cmd(device, model_ref, sweep, widths, repeats, threads, table_path, accel_path,
              out, input_shape, num_classes, seed, as_json):
    """Per-operation latency/energy table (Chameleon), or a host-CPU width sweep.

    --device accel is a dense array: a pruned model's total is its dense architecture's (a
    note says so, with zero_weights in --json)."""
    from hwsim import extract, spring_config_for, tables
    from synth.errors import UserError
    if bool(model_ref) == bool(sweep):
        raise UserError("give exactly one of --model or --sweep")
    _check_table_out(out, table_path, sweep)
    if table_path:
        return _predict_from_table(table_path, model_ref, threads, input_shape, num_classes,
                                   as_json, accel_path)
    _check_table_options(device, sweep, accel_path)
    if sweep:
        return _sweep(sweep, device, widths, repeats, seed, threads, as_json)
    name, model, shape = _model(model_ref, _shape(input_shape), num_classes)
    ops = extract(model, shape)
    cfg, precision, inputs = None, None, None
    if device == "accel":
        cfg = _accel_config(accel_path)
    elif device == "spring":   # a fixed-point checkpoint at its precision, as hwsim eval --spring
        cfg = spring_config_for(model)
        precision = f"{cfg.int_bits}.{cfg.frac_bits}"
        ops, inputs = _spring_ops(model_ref, model, shape, ops)
    table = tables.build_table(ops, device, cfg, repeats=repeats, seed=seed,
                               threads=threads if device == "cpu" else None,
                               progress=show_progress())
    # the prediction is for the conditions just measured
    report, human = tables.table_report(name, device, table,
                                        tables.predict(table, ops, threads=threads),
                                        precision=precision, ops=ops)
    report, human = _said_inputs(report, human, inputs)
    emit(report, as_json, _saved(out, report, human))


def _check_table_out(out, table_path, sweep) -> None:
    """``--out`` saves the table built for ``--model``: with ``--table`` (a table read) or
    ``--sweep`` (widths timed, no table) it is refused in one line."""
    from synth.errors import UserError
    if out and (table_path or sweep):
        other = ("--table reads a saved one" if table_path else
                 "--sweep times widths and builds no table")
        raise UserError(f"--out saves the table built for --model; {other}: leave --out out")


def _saved(out, report: dict, human: str) -> str:
    """``report`` (what --json prints, which --table reads back) written to ``out`` whole or
    not at all, where given; ``human`` with a line saying where."""
    if not out:
        return human
    from synth.files import write_json_atomic
    write_json_atomic(out, report)
    return human + f"\ntable saved to {out} (read it back with --table {out})"


def _spring_ops(ref: str, model, shape, ops):
    """(``ops`` with SPRING's activation sparsity measured as ``hwsim eval --spring``
    measures it, ``_sparsity_sample``; the inputs it was measured on, in words): a table's
    SPRING rows are keyed by the sparsity, so a table built and a prediction made from one
    must measure it alike, and its total is eval's."""
    from hwsim import extract, with_sparsity
    path = ref if _is_checkpoint(ref) else None
    sample, said = _sparsity_sample(path, model, shape, None, offer=False)
    if sample is None:
        return ops, f"a seeded N(0, 1) random batch of 1 sample ({said})"
    return with_sparsity(ops, extract(model, shape, inputs=sample)), said


def _said_inputs(out: dict, human: str, inputs: str | None) -> tuple[dict, str]:
    """A SPRING table's report with the inputs its activation sparsity was measured on."""
    if inputs is None:
        return out, human
    return ({**out, "spring_sparsity_inputs": inputs},
            f"{human}\nSPRING's activation sparsity measured on {inputs}")


def _check_table_options(device: str, sweep, accel_path) -> None:
    """``hwsim table`` builds a table from a model or times a sweep: an option the one it
    makes does not read is refused (each was dropped without a word: --repeats and --seed on a
    model device, --widths without --sweep, a spec's --input-shape and --num-classes with
    it)."""
    from synth.errors import UserError
    if accel_path and device != "accel":   # it was never read: any file passed
        raise UserError(f"--accel configures --device accel; got --device {device}")
    if device != "cpu":
        for param, option, what in (("threads", "--threads", "sets the host CPU's torch "
                                                             "threads"),
                                    ("repeats", "--repeats", "times each op again"),
                                    ("seed", "--seed", "seeds the inputs the host CPU is "
                                                       "timed on")):
            if _given(param):
                raise UserError(f"{option} {what}; --device {device} is a model and measures "
                                f"nothing: leave {option} out")
    unread = (("input_shape", "--input-shape", "is a spec model's"),
              ("num_classes", "--num-classes", "is a spec model's")) if sweep else (
        ("widths", "--widths", "sets --sweep's widths"),)
    for param, option, what in unread:
        if _given(param):
            raise UserError(f"{option} {what}; " + (
                f"--sweep {sweep} times layers of its widths, no model" if sweep else
                "--model builds a table of its ops, no sweep") + f": leave {option} out")


def _sweep(sweep, device, widths, repeats, seed, threads, as_json):
    """``hwsim table --sweep``: the host CPU's latency over a family's widths."""
    from hwsim import tables
    from hwsim.latency import host_identity
    from synth.errors import UserError
    if device != "cpu":
        raise UserError("--sweep times the host CPU: use --device cpu")
    rows = tables.width_sweep(sweep, tables.parse_widths(widths), repeats=repeats, seed=seed,
                              threads=threads, progress=show_progress())
    out, human = tables.sweep_report(sweep, rows, host_identity(threads))
    return emit(out, as_json, human)


def _given(param: str) -> bool:
    return (click.get_current_context().get_parameter_source(param)
            is not ParameterSource.DEFAULT)


def _predict_from_table(path: str, model_ref: str, threads: int, input_shape: str,
                        num_classes: int, as_json: bool, accel_path: str | None = None) -> None:
    """``hwsim table --table FILE --model M``: M's predicted total from a saved table, on the
    configuration it was built for (said in its line).  ``accel_path`` (--accel): the
    accelerator the prediction is for; an accel table built for another is refused in one
    line (its rows price that one, ``tables.config_mismatch``)."""
    from hwsim import extract, tables
    from synth.errors import UserError
    from synth.files import read_yaml_file
    for param, option in (("device", "--device"), ("repeats", "--repeats"), ("seed", "--seed"),
                          ("widths", "--widths")):
        if _given(param):   # the table says how it was made: the option would be ignored
            raise UserError(f"{option} builds a table; --table {short_repr(path)} reads one: "
                            f"leave {option} out")
    report = read_yaml_file(path, "latency table", "JSON", "the latency table line "
                            "'nnsynth hwsim table --model M --json' prints")
    table = tables.load_table(report, f"latency table {short_repr(path)}")
    precision = report.get("spring_precision") if table.device == "spring" else None
    name, model, shape = _model(model_ref, _shape(input_shape), num_classes)
    config = _table_config(path, table, model, accel_path)
    ops, inputs = extract(model, shape), None
    if table.device == "spring":   # its rows' sparsity measured as --device spring measures it
        ops, inputs = _spring_ops(model_ref, model, shape, ops)
    pred = tables.predict(table, ops, threads=threads, config=config)
    if pred["latency_ms"] is None:   # it printed 'predicted total 0 ms, 0 mJ'
        other = ("other layer shapes, or fractions of zero weights and inputs, which SPRING "
                 "skips" if table.device == "spring" else "other layer shapes")
        raise UserError(f"latency table {short_repr(path)} holds none of the {len(ops)} ops of "
                        f"{name} ({other}); build one for it: nnsynth hwsim table "
                        f"--device {table.device} --model ...")
    out, human = tables.table_report(name, table.device, table, pred,
                                     precision=precision if isinstance(precision, str) else None,
                                     source=path, ops=ops)
    out, human = _said_inputs(out, human, inputs)
    emit(out, as_json, human)


def _table_config(path: str, table, model, accel_path: str | None):
    """The configuration a saved ``table``'s prediction for ``model`` is for, checked
    against the one it was built for: a spring table's, the model's fixed point (as
    --device spring builds); an accel table's, --accel's array where given (a table built
    for another is refused, ``tables.config_mismatch``), else its own (None).  The options
    a model's table does not read are refused (--threads; --accel of a spring/cpu table)."""
    from hwsim import spring_config_for, tables
    from synth.errors import UserError
    if table.device != "cpu" and _given("threads"):   # a model's prices: it was dropped
        raise UserError(f"--threads is the host CPU's torch threads a cpu table's prediction "
                        f"is for; --table {short_repr(path)} is a {table.device} table (a "
                        f"model, measured nothing): leave --threads out")
    if accel_path and table.device != "accel":
        raise UserError(f"--accel is the accelerator an accel table's prediction is for; "
                        f"--table {short_repr(path)} is a {table.device} table: leave --accel "
                        f"out")
    if table.device == "spring":
        return spring_config_for(model)
    if not accel_path:
        return None
    config = _accel_config(accel_path)
    why = tables.config_mismatch(table, config)
    if why:   # its rows price another array: named with the file
        raise UserError(f"--table {short_repr(path)}: {why}, or leave --accel out to predict "
                        f"on the table's own")
    return config
