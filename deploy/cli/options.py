"""Options and output shared by every command (defined once, used everywhere)."""
from __future__ import annotations

import json
import logging
import math
import os

import click

from synth.config import MAX_SEED, range_message, short_repr
from synth.errors import ConfigError
from synth.files import jsonable, printable
from synth.logs import LOGGERS, Warnings, join_warnings

json_option = click.option("--json", "as_json", is_flag=True,
                           help="Print the result as one JSON object on the last line of stdout.")
seed_option = click.option("--seed", type=click.IntRange(0, MAX_SEED), default=0, show_default=True,
                           help="Random seed (splits, initialization, sampling).")


def _local_cpus_only(ctx, param, value):
    """--num-cpus sizes a local Ray; joining a cluster (--address, or RAY_ADDRESS) its own
    CPUs apply, and ``nnsynth run --address HOST:6379 --num-cpus 2`` dropped the count
    without a word.  A callback of both options: whichever click reads second refuses."""
    address, cpus = ((value, ctx.params.get("num_cpus")) if param.name == "address"
                     else (ctx.params.get("address"), value))
    if cpus is not None and address not in (None, "", "local"):   # cluster.connect's local
        source = ctx.get_parameter_source("address")
        given, drop = (("RAY_ADDRESS", "unset RAY_ADDRESS")
                       if source is click.core.ParameterSource.ENVIRONMENT
                       else ("--address", "drop --address"))
        raise click.UsageError(f"--num-cpus sizes a local Ray; {given} {address} joins a "
                               f"cluster, whose own CPUs apply: drop --num-cpus, or {drop} "
                               f"to start a local Ray")
    return value


address_option = click.option("--address", default=None, envvar="RAY_ADDRESS",
                              callback=_local_cpus_only,
                              help="Ray cluster to join (default: start a local Ray on 127.0.0.1).")
num_cpus_option = click.option("--num-cpus", type=click.IntRange(min=1), default=None,
                               callback=_local_cpus_only,
                               help="CPUs for a local Ray (default: all).")
# torch threads any command's --threads may ask for: 4 per core of this machine
THREADS = click.IntRange(1, (os.cpu_count() or 1) * 4)
threads_option = click.option(
    "--threads", type=THREADS, default=None,
    help="torch threads for the work in this process (recurrent training on a loaded machine "
         "can be many times faster with 1); the result records the count used.  "
         "[default: torch's own]")


class LazyHelpOption(click.Option):
    """A ``click.Option`` whose help is made when it is shown (``help_text()``), not when the
    CLI starts: a help that reads a library constant costs nothing to a command that runs."""

    def __init__(self, *args, help_text, **kwargs):
        super().__init__(*args, **kwargs)
        self.help_text = help_text

    def get_help_record(self, ctx):
        self.help = self.help_text()
        return super().get_help_record(ctx)


def _inversion_iterations_help() -> str:
    from synth import choices    # torch-free: --help imports no torch (test_cli_startup)
    per_pixel = choices.PER_PIXEL_ITERATIONS
    refine = choices.AMORTIZED_REFINE["refine_iterations"]
    return ("Maximum inversion iterations per batch when --synth is not given: per pixel, and "
            "where the teacher's settings pick a generator the cap of each of its phases "
            "(warm-up, each batch's adaptation and refinement).  [default: per pixel "
            f"synth.choices.PER_PIXEL_ITERATIONS = {per_pixel}, as the defaults were measured; "
            f"a generator: its own phases (refinement up to {refine} per batch, "
            "synth.choices.AMORTIZED_REFINE), as nnsynth invert runs it]")


# prune's and continual's inversion cap (they invert when --synth is not given)
inversion_iterations_option = click.option(
    "--iterations", cls=LazyHelpOption, type=click.IntRange(min=1), default=None,
    help_text=_inversion_iterations_help)


def synth_option(help: str = "Directory of a synthesized Parquet set (`nnsynth invert`).",
                 old_name: str | None = None):
    """``--synth DIR``, the one name of the synthesized-data option in every command; a
    command's earlier spelling (``old_name``, e.g. ``--data``) stays as a hidden alias."""
    def decorate(f):
        if old_name:
            f = click.option(old_name, "synth_dir", default=None, hidden=True,
                             type=click.Path(file_okay=False))(f)
        return click.option("--synth", "synth_dir", default=None,
                            type=click.Path(file_okay=False), help=help)(f)
    return decorate


def _out_file(check):
    """The callback of a command's output-file ``--out``: ``check(path, option)`` refuses a
    directory, a path under a file, or a file nnsynth did not write (never overwritten), and
    the file must not be one the command reads -- all before any work."""
    def callback(ctx, param, value):
        if value is not None:
            check(value, param.opts[0])
            _not_an_input(ctx, value, param)
            _remove_stale_temps(value)
        return value
    callback.writes_output = True   # check_outputs_not_inputs looks again once all are parsed
    return callback


def _remove_stale_temps(out: str) -> None:
    """The temp files a killed (SIGKILL) nnsynth left writing ``out`` or its interrupted
    run's state (``<out>.resume``, ``<out>.dense.resume``), whose writer is gone
    (``synth.files.remove_stale_temps_of``): they stayed beside --out for good."""
    from synth.files import remove_stale_temps_of
    for target in (out, f"{out}.resume", f"{out}.dense.resume"):
        remove_stale_temps_of(target)


def _not_an_input(ctx, out: str, output: click.Parameter) -> None:
    """``out`` (the value of ``output``) names none of the files the command reads
    (``--teacher``, ``--model``, ...: every other parameter parsed so far whose value is an
    existing file): writing the result over its own input would lose the input."""
    if not os.path.exists(out):
        return
    option = output.opts[0]
    opts = {p.name: p.opts[0] for p in ctx.command.params if p.opts}
    for name, value in ctx.params.items():
        if name == output.name:
            continue
        if isinstance(value, str) and os.path.isfile(value) and os.path.samefile(value, out):
            from synth.errors import UserError
            raise UserError(f"{option} {out} is the file given as {opts.get(name, name)}; "
                            f"the result would overwrite it: choose another {option}")


def check_outputs_not_inputs(ctx: click.Context) -> None:
    """Every output-file option (``checkpoint_out``, ``onnx_out``) against every input, once
    all the options are parsed: click runs the callbacks in the order the options were typed,
    so ``--out m.pt --model m.pt`` passed the callback's check (``--model`` not parsed yet)
    and the result was written over the input checkpoint."""
    for param in ctx.command.params:
        value = ctx.params.get(param.name)
        if getattr(param.callback, "writes_output", False) and isinstance(value, str):
            _not_an_input(ctx, value, param)


def _check_checkpoint_out(path: str, option: str) -> None:
    from synth.checkpoint import check_checkpoint_out   # imported when used: CLI start-up
    check_checkpoint_out(path, option)


def _check_onnx_out(path: str, option: str) -> None:
    from deploy.onnx_export import check_onnx_out
    check_onnx_out(path, option)


def _check_table_out(path: str, option: str) -> None:
    from hwsim.tables import check_table_out
    check_table_out(path, option)


checkpoint_out = _out_file(_check_checkpoint_out)   # a checkpoint --out
onnx_out = _out_file(_check_onnx_out)               # export --out
table_out = _out_file(_check_table_out)             # hwsim table --out


def json_object(text: str | None, option: str) -> dict:
    """A JSON-object option's value as a dict (``{}`` when not given); one-line errors."""
    from synth.errors import ConfigError, UserError
    from synth.files import load_json_text
    if not text:
        return {}
    try:   # a key given twice (json keeps the last one, silently), nested too deep
        value = load_json_text(text)
    except ConfigError as e:
        raise UserError(f"{option} {e}") from None
    except json.JSONDecodeError as e:
        raise UserError(f"{option} is not valid JSON: {e.msg}") from None
    if not isinstance(value, dict):
        raise UserError(f"{option} must be a JSON object, got {short_repr(text)}")
    return value


def with_json_fields(fields: dict, text: str | None, option: str,
                     params: dict | None = None) -> dict:
    """``fields`` (a config's fields from the command's options) updated by the JSON object
    of ``option`` (``json_object``); a field the JSON sets that an option given on the
    command line also sets is a one-line error (the JSON's value won without a word:
    ``--prune-steps 3 --schedule '{"prune_steps": 8}'`` ran 8 steps).  ``params`` maps a
    field to its option's parameter name where they differ."""
    from click.core import ParameterSource
    from synth.errors import UserError
    extra = json_object(text, option)
    ctx = click.get_current_context()
    for key in extra:
        param = (params or {}).get(key, key)
        if key in fields and ctx.get_parameter_source(param) not in (ParameterSource.DEFAULT,
                                                                   None):
            given = next((o.opts[0] for o in ctx.command.params if o.name == param), param)
            raise UserError(f"{option} sets {key}, which {given} already gives; give it once")
    ctx.meta.setdefault(JSON_FIELDS, {}).update({key: (option, extra[key]) for key in extra})
    return {**fields, **extra}


# ctx.meta key: {config field: (the JSON option that set it, its value)}, for option_message
JSON_FIELDS = "nnsynth.json_fields"


# A config field whose option has another name (``hwsim dse --area-budget`` fills
# ``DseConfig.area_budget_mm2``, ``invert --adi --kd-steps`` DistillConfig's
# ``kd_steps_per_round``): field -> the option's parameter name.
CONFIG_FIELD_OPTIONS = {"area_budget_mm2": "area_budget", "kd_steps_per_round": "kd_steps"}


def option_message(ctx: click.Context, error: Exception) -> str | None:
    """A config's error about a value the user typed as an option, told by the option:
    ``epochs must be in [0, 100000], got 99999999999`` (TrainConfig's field, and a range the
    option never allowed) becomes ``--epochs must be in [1, 100000], got 99999999999``: the
    option as the command's help spells it, and the config's range narrowed to the option's
    own (``click.IntRange(min=1)``).  The field is the option's parameter (``batch_size`` is
    ``--batch-size``; a dotted ``scaling.num_workers`` is ``--num-workers``; other names in
    ``CONFIG_FIELD_OPTIONS``), and only when the value the config names is the option's: a
    value the command derived, or a JSON option set, is left as the config says.  None when
    the error is not such an error.

    The error is read from its fields (``ConfigError.field``, ``value``...; a Ray worker's
    too: the cluster re-raises keep the worker's error object), never from its text: a range
    error of ``synth.config.check_range`` worded again by ``range_message`` (hwsim's threads
    and repeats, synth.models' ``model: num_classes``, synth.text's min_count), any other
    (``synth.config.value_error``: check_choice's, DiabDeepConfig's baselines,
    ``search.searchers``' n_initial, synth.diabdeep's ``steps must be in [1, 100] for
    basicmotions (...)`` told by --steps, SCANN's components, the --fixed-point format) by
    its ``expected`` and ``got``.  A library check that raises a plain message is shown as
    it is: give it fields (check_range / value_error) to have it told by the option."""
    if isinstance(error, ConfigError) and error.field is not None:
        return _field_message(ctx, error) or _json_field_message(ctx, error)
    return None


def _json_field_message(ctx: click.Context, error: ConfigError) -> str | None:
    """An error about a value a JSON option set (``with_json_fields``), named by that option:
    ``--options: prune_steps must be in [0, 1000], got 100000000`` (diabdeep), where the
    error named neither --options nor --schedule (h250).  None for any other value."""
    field = error.field.removesuffix("[]").rsplit(".", 1)[-1]
    option, value = ctx.meta.get(JSON_FIELDS, {}).get(field, (None, None))
    listed = isinstance(value, list) and (   # the list as the config holds it (a tuple),
        _same(tuple(value), error.value)       # or one value of it
        or any(_same(v, error.value) for v in value))
    if option is None or (error.value is not None and not _same(value, error.value)
                          and not listed):
        return None
    return f"{option}: {error}"


def _typed_option(ctx: click.Context, field: str):
    """(the click option, its value) that fills the config field ``field`` (dotted: its last
    part; else ``CONFIG_FIELD_OPTIONS``), or None (no such option, or not given a value)."""
    field = field.rsplit(".", 1)[-1]
    name = CONFIG_FIELD_OPTIONS.get(field, field)
    param = next((p for p in ctx.command.params
                  if isinstance(p, click.Option) and p.name == name), None)
    value = ctx.params.get(name)
    if param is None or value is None or isinstance(value, bool):
        return None
    return param, value


def _spelling(param: click.Option) -> str:
    return next((o for o in param.opts if o.startswith("--")), param.opts[0])


def _same(a, b) -> bool:
    """``a == b``, NaN equal to NaN, False where the comparison fails (an array)."""
    try:
        return bool(a == b) or (a != a and b != b)
    except Exception:
        return False


def _field_message(ctx: click.Context, error: ConfigError) -> str | None:
    """``option_message`` of an error with fields: a range error (``check_range``) worded
    again by ``range_message``, its range narrowed to the option's own; any other
    (``value_error``) as ``--option {expected}, got {got}``.  A field ``name[]`` is one
    value of a list (SymbioticConfig's ``sparsities[]``): told as ``--sparsities: each value
    must be in (0, 1), got 1.5`` when the option (``comma_separated``) gave it."""
    element = error.field.endswith("[]")
    found = _typed_option(ctx, error.field[:-2] if element else error.field)
    if found is None:
        return None
    param, value = found
    if isinstance(error.value, bool) or not (
            any(_same(v, error.value) for v in value) if element and isinstance(value, tuple)
            else not element and _same(value, error.value)):
        return None
    name = f"{_spelling(param)}: each value" if element else _spelling(param)
    named = getattr(error, "named", None)   # its own line, the option for the field
    if callable(named) and not element:     # (synth.train.StepFloorError)
        return named(name)
    if error.expected is not None:
        return f"{name} {error.expected}, got {error.got}"
    kind = param.type
    low, high = error.low, error.high
    low_open, high_open = error.low_open, error.high_open
    cmin, cmax = getattr(kind, "min", None), getattr(kind, "max", None)
    copen, cmax_open = getattr(kind, "min_open", False), getattr(kind, "max_open", False)
    if cmin is not None and (low is None or cmin > low or (cmin == low and copen)):
        low, low_open = cmin, copen
    if cmax is not None and (high is None or cmax < high or (cmax == high and cmax_open)):
        high, high_open = cmax, cmax_open
    return range_message(name, error.value, low, high, low_open=low_open,
                         high_open=high_open, integer=error.integer) or None


def comma_separated(kind: type = str, words: str = "values"):
    """The callback of a comma-separated list option (``--widths 32,64``): its value as a
    tuple of ``kind`` (str: each stripped), so that a config's error about one of them
    (``check_range("sparsities[]", ...)``) is told by the option (``_field_message``); a
    value that is no such list is a one-line error naming the option, before any work."""
    def callback(ctx, param, value):
        if value is None:
            return None
        try:
            return tuple(kind(v.strip()) for v in value.split(","))
        except (ValueError, OverflowError):
            from synth.errors import UserError
            raise UserError(f"{_spelling(param)} must be comma-separated {words}, got "
                            f"{short_repr(value)}") from None
    return callback


class RegistryChoice(click.Choice):
    """A ``click.Choice`` whose names are a library registry's (``module.attribute``: a dict's
    keys or a sequence), read when first needed (``--help``, or the option given), so adding
    a searcher, an importance or a preset is one registration.  Name a module that imports
    no torch or Ray (``synth.choices``, ``search.choices``): ``nnsynth CMD --help`` and a
    misspelt choice must not pay for them (tests/deploy/test_cli_startup.py)."""

    def __init__(self, where: str, case_sensitive: bool = True):
        self.where = where
        self.case_sensitive = case_sensitive

    @property
    def choices(self) -> tuple:
        import importlib
        module, attr = self.where.rsplit(".", 1)
        return tuple(getattr(importlib.import_module(module), attr))


def dataset_name(ctx, param, value):
    """The callback of a data-set option (``--dataset``, ``--new-dataset``): ``parquet:`` with
    no path, or an empty name, is refused by the option's name before any work (the registry
    is read only to list the names)."""
    if value is not None:
        from synth.data_registry import check_dataset_name, check_dataset_path
        if not value.strip():   # eval/export read '' as no option: the checkpoint's own set
            check_dataset_name(value, param.opts[0])   # unknown data set '', and the names
        check_dataset_path(value, param.opts[0])
    return value


def _check_device(ctx, param, value):
    from synth.device import check_device
    return check_device(value, "--device")   # before any work or Ray starts


device_option = click.option("--device", default="auto", show_default=True,
                             callback=_check_device,
                             help="auto (CUDA when present), cpu, cuda, cuda:N or mps.")


def terminal_safe(text: str) -> str:
    """``text`` for stderr: its lines as they are, the control characters within each
    escaped (``synth.files.printable``): a path or name the user's file holds may carry an
    escape sequence, which a terminal obeys (click strips them only where stderr is no
    terminal)."""
    from synth.files import printable
    text = str(text)
    return text if text.isprintable() else "\n".join(printable(line)
                                                     for line in text.split("\n"))


class _LogFormat(logging.Formatter):
    """A library warning as the CLI prints its own (``warning: ...``, as errors are ``error:
    ...``): it was ``WARNING synth.incremental: ...`` beside invert's ``warning: ...``.  Under
    ``-v`` every record names its level and logger (``INFO deploy.cli: ...``)."""

    def __init__(self, named: bool):
        super().__init__("%(levelname)s %(name)s: %(message)s")
        self.named = named

    def format(self, record: logging.LogRecord) -> str:
        if self.named or record.levelno < logging.WARNING:
            return super().format(record)
        text = f"{record.levelname.lower()}: {terminal_safe(record.getMessage())}"
        if record.exc_info:
            text += "\n" + self.formatException(record.exc_info)
        return text




class _Said(logging.Handler):
    """The warning lines nnsynth's loggers gave during one command (``configure_output``
    attaches a new one per invocation), for ``said_in``; ``notes``: the other lines the
    command said on stderr (``say``: eval's 'evaluating on val' note), which the human
    output does not print again (``unsaid``) but are no warnings."""

    def __init__(self):
        super().__init__(logging.WARNING)
        self.lines: list[str] = []
        self.notes: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.lines.append(record.getMessage())
        except Exception:   # arguments that do not format: the stderr handler reports it
            pass


_SAID: _Said | None = None


def _own_notes(value, noted: bool = False):
    """The strings of a result that are its own warnings and notes: those under a key that
    names a warning or a note (``warning``, ``final_warning``, ``accel_note``, ``notes``...),
    at any depth."""
    if isinstance(value, str):
        if noted:
            yield value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from _own_notes(v, noted or any(w in str(k) for w in ("warning", "note")))
    elif isinstance(value, (list, tuple)):
        for v in value:
            yield from _own_notes(v, noted)


def said_in(result: dict) -> dict:
    """``result`` with the warnings this command logged (on stderr) that it does not carry
    added to its ``warning`` (joined by '; ', after its own): a --json reader saw only what
    each command had chosen to keep, so 'CSV data set d.csv: 1 of its 30 test rows repeats a
    training row ...' qualified train's, continual's and incremental's test_accuracy on
    stderr alone, and continual's raised epochs ('running 50 epochs ...') likewise.  A line
    is carried where one of the result's warnings or notes (``_own_notes``) holds all of it,
    perhaps less the model's name before it (``_whole_forms``, ``_read_in``, as ``unsaid``
    reads them): a line that merely held a note's text ('... was padded to 6 ...' of a note
    'padded to 6'), or held a warning of the result and more, was left out of the JSON."""
    lines = list(dict.fromkeys(_SAID.lines)) if _SAID is not None else []
    if not lines or not isinstance(result, dict):
        return result
    own = [t for t in _own_notes(result) if t]
    new = [line for line in lines
           if line and not any(_read_in(form, t) for t in own for form in _whole_forms(line))]
    if not new:
        return result
    had = result.get("warning")
    if isinstance(had, list):
        return {**result, "warning": [*had, *new]}
    return {**result, "warning": join_warnings(had, new)}


def warn(line: str) -> None:
    """A command's own warning on stderr ('warning: ...', as a library warning prints),
    recorded as said, as a logged one is: the human output then leaves it out of the result
    it prints, and --json carries it (``emit``).  Said once (``say``)."""
    say(f"warning: {line}")


def say(line: str) -> None:
    """A command's own line on stderr, a warning when it begins 'warning: ', recorded as
    said (the one way a command's notes reach stderr: ``warn``, ``echo_notes``): a warning
    with the logged ones (--json carries it, ``said_in``), any other line apart; the human
    output leaves both out of the result it prints (``unsaid``), and a line stderr has
    said already (a warning the library logged) is not printed again."""
    warning = line.startswith("warning: ")
    text = line[len("warning: "):] if warning else line
    if _SAID is not None and text and not unsaid(text):
        return
    click.echo(terminal_safe(line), err=True)
    if _SAID is not None:
        (_SAID.lines if warning else _SAID.notes).append(text)


def warning_parts(text: str) -> list[str]:
    """``text``'s '; '-joined parts, split only outside brackets: the one-class warning's
    '(train longer; an imbalanced set: balance its classes)' is one part of one sentence,
    not two warnings (``unsaid`` printed a warning cut at that ';')."""
    parts, depth, start = [], 0, 0
    for i, c in enumerate(text):
        if c in "([{":
            depth += 1
        elif c in ")]}":
            depth = max(0, depth - 1)
        elif c == ";" and depth == 0 and text.startswith("; ", i):
            parts.append(text[start:i])
            start = i + 2
    return parts + [text[start:]]


def _named_tails(part: str) -> list[str]:
    """``part`` less a name before a ': ' outside brackets ('m.pt: epochs raised to 50' ->
    'epochs raised to 50'), each such tail: a line logged with the model's name before it."""
    tails, depth = [], 0
    for i, c in enumerate(part):
        if c in "([{":
            depth += 1
        elif c in ")]}":
            depth = max(0, depth - 1)
        elif c == ":" and depth == 0 and part.startswith(": ", i) and part[i + 2:]:
            tails.append(part[i + 2:])
    return tails


def _whole_forms(line: str) -> set[str]:
    """The forms in which ``line``, one said warning or note, stands whole in a result's
    text: itself, or itself less a name before it (``_named_tails``)."""
    parts = warning_parts(line)
    return {line, *("; ".join([tail, *parts[1:]]) for tail in _named_tails(parts[0]))}


def _read_in(text: str, line: str) -> bool:
    """Whether all of ``text`` stands in the said ``line`` (a run of its parts, the first
    perhaps less a name before it), so that a reader of ``line`` has read every word of
    ``text`` in that order: not a word of it ('padded' of 'was padded to 6')."""
    if text == line or text not in line:
        return text == line
    parts = warning_parts(line)
    for i in range(len(parts)):
        for j in range(i + 1, len(parts) + 1):
            rest = "; ".join(parts[i + 1:j])
            for first in (parts[i], *_named_tails(parts[i])):
                if text == (f"{first}; {rest}" if rest else first):
                    return True
    return False


def unsaid(text: str) -> str:
    """What a human reader has not yet read of ``text``, one of the result's warnings or
    notes, shown whole or not at all per warning: '' when all of ``text`` was said on
    stderr in one line (``_read_in``), else ``text`` less the said warnings that stand whole
    in it (a '; '-joined part of it, or a run of parts, that is a logged line, or one less
    the model's name before it: ``_whole_forms``).  A part merely shared with a said line
    stays: the one-class warning's '(train longer; an imbalanced set: balance its classes)'
    ended another line, and a warning printed cut at its ';' ('... (train longer', h291);
    two warnings whose first clause is one printed the second less that clause.  In human
    mode a warning reached the user twice, as 'warning: ...' on stderr when it arose and
    again as the result's 'warning: ...' line on stdout (train's test split lacking a class,
    scann's feature reduction, ...); --json keeps every one in its object (``said_in``).
    A ``synth.logs.Warnings`` (a result's warnings kept as lines, h302) is read line by
    line: each warning is left out where all of it was said, else shown whole: joined with
    '; ', a warning 'A; B' printed as 'B' where 'A' alone had been logged (h294 could not
    tell one warning holding '; ' from two).  A plain str keeps the reading above."""
    said = ([line for line in dict.fromkeys(_SAID.lines + _SAID.notes) if line]
            if _SAID is not None else [])
    if not said or not isinstance(text, str) or not text:
        return text
    if isinstance(text, Warnings):   # separate warnings (synth.logs): each shown or left out
        return join_warnings([line for line in text.lines   # whole ('A; B' shown whole where
                              if not any(_read_in(line, s) for s in said)]) or ""   # 'A' was said)
    if any(_read_in(text, line) for line in said):
        return ""
    whole = set().union(*map(_whole_forms, said))
    parts, kept, i = warning_parts(text), [], 0
    while i < len(parts):
        j = next((j for j in range(len(parts), i, -1)   # the longest run first
                  if "; ".join(parts[i:j]) in whole), None)
        if j is None:
            kept.append(parts[i])
            i += 1
        else:
            i = j
    return "; ".join(kept)


def _said_once(result: dict, human: str | None):
    """``result`` and ``human`` as the human output prints them: a warning or note (a key
    that names one, ``_own_notes``; a 'warning: '/'note: ' line of ``human``) less what the
    command already said on stderr (``unsaid``), left out where nothing is left."""
    if human is not None:
        # a 'warning: ' line printing one of the result's Warnings is read as its lines
        kept = {str(v): v for v in _own_notes(result) if isinstance(v, Warnings)}
        lines = []
        for line in human.split("\n"):
            head = next((h for h in ("warning: ", "note: ") if line.startswith(h)), None)
            rest = unsaid(kept.get(line[len(head):], line[len(head):])) if head else line
            if not head or rest:
                lines.append(head + rest if head else line)
        return result, "\n".join(lines)
    shown = {}
    for k, v in result.items():
        if isinstance(v, str) and any(w in str(k) for w in ("warning", "note")):
            v = unsaid(v)
            if not v:
                continue
        shown[k] = v
    return shown, None


def configure_output(verbose: int = 0, quiet: bool = False) -> None:
    """The root group's ``-v``/``-q``: the ``logging`` level of the library's loggers (on
    stderr) and whether progress is shown (``-q`` also turns every tqdm bar off, in Ray
    workers too, through tqdm's ``TQDM_DISABLE``).  ``-q`` keeps the warnings, as its help
    says: they are what a user must not miss (a synthesized set below its fidelity target, a
    step count raised, a fusion weight not chosen); it was ERROR, and they were dropped."""
    level = logging.WARNING if quiet else max(logging.DEBUG, logging.WARNING - 10 * verbose)
    handler = logging.StreamHandler()   # stderr
    handler.setFormatter(_LogFormat(named=verbose > 0))
    logging.basicConfig(level=logging.WARNING, handlers=[handler])
    global _SAID
    said = _Said()
    for name in LOGGERS:
        logger = logging.getLogger(name)
        logger.setLevel(level)
        if _SAID is not None:   # an earlier command's, in this process (a test's runner)
            logger.removeHandler(_SAID)
        logger.addHandler(said)
    _SAID = said
    if quiet:
        os.environ["TQDM_DISABLE"] = "1"
    click.get_current_context().obj = {"quiet": quiet, "verbose": verbose}


def show_progress() -> bool:
    """False under ``nnsynth -q``; ``--json`` does not change it (progress is on stderr)."""
    ctx = click.get_current_context(silent=True)
    root = ctx.find_root() if ctx is not None else None
    return not (root is not None and (root.obj or {}).get("quiet"))


def stderr_log(message: str) -> None:
    """A progress line on stderr (stage starts and ends), unless ``-q``."""
    if show_progress():
        click.echo(message, err=True)


def _stdout_ends_here() -> None:
    """Send whatever the process prints after the JSON object to stderr, so that the object
    stays the last line of stdout: Ray's log forwarding prints late messages (a worker that
    died, shutdown notes) to the driver's stdout after the command has returned.  Only the
    real stdout (file descriptor 1) is redirected, never a test runner's capture."""
    import os
    import sys
    try:
        if sys.stdout.fileno() != 1:
            return
    except (AttributeError, OSError, ValueError):   # not a real file (a capture buffer)
        return
    sys.stdout.flush()
    os.dup2(2, 1)


def emit(result: dict, as_json: bool, human: str | None = None) -> None:
    """Print ``human`` (or key: value lines), or the JSON object as the last stdout line.
    A string value's control characters print escaped, one value on one line: an --out
    path holding a newline printed as two lines (JSON escapes them itself).  A warning
    reaches the user once: the JSON object carries every one the command logged
    (``said_in``); the human output leaves out what stderr already said (``_said_once``)."""
    if as_json:
        click.echo(json.dumps(jsonable(said_in(result)), sort_keys=True))
        _stdout_ends_here()
        return
    result, human = _said_once(result, human)
    if human is not None:
        click.echo(_escape_values(human, result))
        return
    for k, v in result.items():
        if isinstance(v, float):   # NaN or inf: no value (JSON's null), such as the accuracy
            v = f"{v:.4f}" if math.isfinite(v) else "none"   # on a split with no samples
        elif v is None:            # JSON's null, e.g. best_epoch when no epoch was chosen
            v = "none"
        if not isinstance(v, (list, dict)):
            click.echo(f"{k}: {printable(v)}")


def echo_notes(notes: list[str], result: dict, as_json: bool) -> None:
    """A library call's note lines on stderr, each said once and recorded as said
    (``say``): the human output leaves out of ``result`` what they said, and a line the
    library logged already is not printed again.  With --json its ``warning: `` lines are
    the result's ``warning`` too (joined by '; ', as train's and the other commands' are,
    after one the result holds): eval and export dropped them from the JSON, so a script
    read a figure its warning qualified (classes scored by index, a split of one class) as
    a plain one."""
    for line in notes:
        say(line)
    said = [line[len("warning: "):] for line in notes if line.startswith("warning: ")]
    if as_json and said:
        result["warning"] = join_warnings(result.get("warning"), said)


def _escape_values(human: str, result: dict) -> str:
    """A command's ``human`` text (lines it joined with newlines: a table, a summary) with
    the control characters of ``result``'s string values that it quotes escaped, so its line
    breaks are its own (``hwsim eval --model 'a<newline>b.pt'`` split its first line); any
    other control character but the line breaks (a carriage return, an escape sequence)
    escaped too."""
    odd, stack = set(), [result]
    while stack:   # every string in the result (dicts and lists of them, at any depth)
        v = stack.pop()
        if isinstance(v, str):
            if not v.isprintable() and v.strip():   # "\n" alone: not told from the layout
                odd.add(v)
        elif isinstance(v, dict):
            stack += [*v.keys(), *v.values()]
        elif isinstance(v, (list, tuple)):
            stack += v
    for v in sorted(odd, key=len, reverse=True):   # a path before the folder it lies in
        human = human.replace(v, printable(v))
    return "\n".join(printable(line) for line in human.split("\n"))


def given(*names: str) -> list[str]:
    """The options among ``names`` (parameter names) the user typed, as ``--opt`` (not those
    left at their default): an option a run would ignore is an error only when given."""
    from click.core import ParameterSource
    ctx = click.get_current_context()
    return [f"--{n.replace('_', '-')}" for n in names
            if ctx.get_parameter_source(n) not in (ParameterSource.DEFAULT, None)]


def refuse_inversion_options(options: list[str], synth_dir) -> None:
    """The inversion's options (``--num-images``, ``--iterations``) with ``--synth DIR``: the
    inputs are already made, so they would be ignored; a one-line error."""
    if options and synth_dir is not None:
        from synth.errors import UserError
        raise UserError(f"{' and '.join(options)} set the inversion run when --synth is not "
                        f"given; the inputs of --synth {synth_dir} are already made (drop "
                        f"{' and '.join(options)})")
