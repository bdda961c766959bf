"""The ``nnsynth`` root group.

Every module in ``deploy/cli/commands/`` that defines ``command`` (a click command or
group) is added, so a new command is a new file.  A ``UserError`` raised anywhere below
becomes one line on stderr and exit status 2, never a traceback.
"""
from __future__ import annotations

import contextlib
import errno
import functools
import importlib
import logging
import os
import pkgutil
import sys
import time

import click

from synth.errors import ConfigError, UserError

log = logging.getLogger("deploy.cli")


def one_line(message: str, limit: int = 1000) -> str:
    """A message as one bounded line: newlines and runs of spaces become one space, and any
    other control character is escaped (``synth.files.printable``): a config file named
    'c\\x1b[2J.yaml' that was not valid YAML cleared the user's terminal when its error
    named it (click strips escape sequences only where stderr is no terminal)."""
    from synth.files import printable
    text = printable(" ".join(str(message).split()))
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _usage_error(e: click.UsageError):
    """A bad command line: one line naming the command, exit status 2."""
    sub = e.ctx.command_path if e.ctx is not None else "nnsynth"
    click.echo(f"error: {one_line(e.format_message())} (see {sub} -h)", err=True)
    sys.exit(2)


_OUTPUT_FLAGS = ("--verbose", "--quiet", "-q")


def _is_output_flag(token: str) -> bool:
    """``-v``, ``-vv``, ... ``--verbose``, ``-q``, ``--quiet``: the root's output options."""
    return token in _OUTPUT_FLAGS or (len(token) > 1 and token[0] == "-" and
                                      set(token[1:]) == {"v"})


def _value_options(command: click.Command) -> set[str]:
    """The spellings of ``command``'s options that take a value (the next token is theirs)."""
    return {o for p in command.params if isinstance(p, click.Option) and not p.is_flag
            and not p.count and p.nargs != 0 for o in p.opts}


def hoist_output_flags(group: click.Group, args: list[str]) -> list[str]:
    """``args`` with the root's ``-v``/``-q`` typed after the command (``nnsynth train -v
    ...``, ``nnsynth hwsim eval -q ...``) moved before it, where the root parses them: the
    README's ``nnsynth -v CMD`` and the position a user types by habit both work (it was
    "No such option '-v'").  A token that is the value of the option before it (``--class-names
    -v``), or one after ``--``, or a flag the command defines itself, is left in place."""
    names = [i for i, a in enumerate(args) if not a.startswith("-")]
    if not names or args[names[0]] not in group.commands:
        return args
    start = names[0]
    command, hoisted, rest, previous = group.commands[args[start]], [], [], None
    for i, token in enumerate(args[start + 1:], start + 1):
        if token == "--":
            rest += args[i:]
            break
        own = any(token in p.opts for p in command.params if isinstance(p, click.Option))
        if _is_output_flag(token) and not own and previous not in _value_options(command):
            hoisted.append(token)
            previous = None
            continue
        if isinstance(command, click.Group) and token in command.commands and \
                previous not in _value_options(command):
            command = command.commands[token]
        rest.append(token)
        previous = token
    return args[:start] + hoisted + [args[start]] + rest


class _Root(click.Group):
    def __call__(self, *args, **kwargs):
        """The ``nnsynth`` script (``cli()``, its arguments from ``sys.argv``): the command,
        then Python's exit without its teardown (``exit_without_teardown``).  A caller that
        gives the arguments (``cli([...])``, CliRunner) gets the SystemExit as click raises
        it: a program calling nnsynth's command goes on after it (it was ended there)."""
        try:
            return self.main(*args, **kwargs)
        except SystemExit as e:
            if not args and kwargs.get("args") is None:
                exit_without_teardown(e)
            raise

    def parse_args(self, ctx, args):
        try:
            return super().parse_args(ctx, hoist_output_flags(self, list(args)))
        except click.exceptions.NoArgsIsHelpError:   # bare `nnsynth`: the help, as click shows it
            raise
        except click.UsageError as e:   # a bad root option (nnsynth --bogus): no usage block
            _usage_error(e)

    def invoke(self, ctx):
        resume = sys.modules.get("synth.resume")
        if resume is not None:      # states an earlier command (in this process) looked for
            resume.forget_states()
        try:
            with terminated_as_interrupt():
                return self._invoke(ctx)
        finally:
            ctrl_c_ends_the_exit()

    def _invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except UserError as e:   # a worker's too (Ray's error is an instance of its class)
            said = worker_user_error(e) or e   # in the command line's words where it has them
            click.echo(f"error: {one_line(getattr(said, 'cli', None) or said)}", err=True)
            sys.exit(2)
        except click.exceptions.NoArgsIsHelpError:   # `nnsynth hwsim`: the group's help, not
            raise                                   # its text squeezed into one error line
        except click.UsageError as e:   # a bad option value: one line too, naming the command
            _usage_error(e)
        except OSError as e:
            # a path the user typed that the file system cannot hold (a name over 255 bytes,
            # as --dataset csv:, --model, --out, a config file): an OSError traceback from the
            # first stat of it, wherever that was
            if e.errno != errno.ENAMETOOLONG:
                raise
            from synth.files import printable
            path = str(e.filename if e.filename is not None else "")
            longest = max((len(p.encode("utf-8", "surrogateescape")) for p in path.split("/")),
                          default=0)
            name = printable(path)
            click.echo(f"error: file name too long for the file system: "
                       f"{name[:120]}{'...' if len(name) > 120 else ''} (a name of "
                       f"{longest:,} bytes; most file systems allow 255)", err=True)
            sys.exit(2)
        except KeyboardInterrupt as e:
            close_bars()
            lost_ray_abandoned()   # before the line: it is the last one printed
            click.echo(interrupted_line(ctx.invoked_subcommand, ctx.meta.get(PARAMS) or {}),
                       err=True)
            sys.exit(interrupt_status(e))


def exit_without_teardown(end: SystemExit) -> None:
    """End this process as Python's exit of ``end`` would -- non-daemon threads joined,
    atexit hooks run (ray.init's ``ray.shutdown`` among them), the streams flushed, the same
    status -- without the interpreter's teardown after them, which frees every object of
    every module loaded: with torch, Ray, pyarrow and Tune loaded that took 2-5 s of a core
    after ``nnsynth run`` had finished and its Ray had stopped (gdb: ``finalize_modules``'
    garbage collection; 5.2 s of the 48 s search stage of tests/deploy/configs/
    digits_search.yaml at load ~5, 0.2 s with this).  Returns, for Python's own exit to
    follow, where ``end`` carries a message to print, the process is not on its main thread,
    a step is missing from this Python, or a stream cannot be flushed (a closed pipe: Python's
    message and status 120 then, as before), and under a profiler or tracer (``python -m
    cProfile``, a debugger: they write or report after the script returns)."""
    import atexit
    import threading
    code = end.code
    if (code is not None and not isinstance(code, int)) or sys.getprofile() is not None or \
            sys.gettrace() is not None:
        return
    shutdown_threads = getattr(threading, "_shutdown", None)      # what Py_FinalizeEx runs
    run_exit_hooks = getattr(atexit, "_run_exitfuncs", None)      # first, in this order
    if shutdown_threads is None or run_exit_hooks is None or \
            threading.current_thread() is not threading.main_thread():
        return
    shutdown_threads()
    run_exit_hooks()               # each once: atexit forgets them; a second call is a no-op
    for stream in (sys.stdout, sys.stderr):
        try:
            if stream is not None:
                stream.flush()
        except Exception:
            return
    os._exit(code or 0)


class Terminated(KeyboardInterrupt):
    """SIGTERM (``kill``, ``timeout``, a batch scheduler's preemption or time limit), raised
    where Ctrl-C raises KeyboardInterrupt, so that it ends a command as Ctrl-C does: its
    ``finally`` blocks run (a temp file being written is removed, a pipeline stage's failure
    is recorded in the ledger), the 'interrupted:' line says what a rerun resumes, exit
    status 143.  Python's default for SIGTERM ended the process on the spot: no line, and
    an ``atomic_path`` temp file (``.model.pt.tmp4711.<hex>``) left beside --out for good."""


_SIGTERMS: list = []    # SIGTERMs received (Ray's ray.get turns Terminated into a plain
#                         KeyboardInterrupt: Cython's signal check raises its own)


def _raise_terminated(signum, frame):
    _SIGTERMS.append(signum)
    raise Terminated()


def interrupt_status(error: KeyboardInterrupt) -> int:
    """The exit status of a command ended by ``error``: 143 (128 + SIGTERM) when SIGTERM
    ended it, else Ctrl-C's 130."""
    return 128 + 15 if isinstance(error, Terminated) or _SIGTERMS else 130


@contextlib.contextmanager
def terminated_as_interrupt():
    """SIGTERM raises ``Terminated`` during the block (the main thread, where SIGTERM has its
    default action; a handler someone installed is left alone), as it was after it."""
    import signal
    import threading
    if threading.current_thread() is not threading.main_thread() or \
            signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL:
        yield
        return
    _SIGTERMS.clear()
    signal.signal(signal.SIGTERM, _raise_terminated)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)


def lost_ray_abandoned() -> bool:
    """The local Ray of an interrupted command, lost with it (every process of a job
    signalled): ``cluster.connect.abandon_lost_ray``.  False where no Ray was imported."""
    if "ray" not in sys.modules:
        return False
    from cluster.connect import abandon_lost_ray
    return abandon_lost_ray()


def _end_now(signum, frame) -> None:
    """SIGINT as the process exits: what was printed is flushed, and it ends here (130)."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:      # a closed or broken stream: ending is what matters
            pass
    os._exit(128 + signum)


def _ctrl_c_ends_now() -> None:
    import signal
    import threading
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, _end_now)


def ctrl_c_ends_the_exit() -> None:
    """Once a command has ended, Ctrl-C ends the process at once (exit 130, no traceback).
    The exit runs the shutdown hooks that libraries registered during the command --
    ray.init's ``ray.shutdown``, which waits for Ray's processes -- and a Ctrl-C there (the
    user pressing it again after an interrupted ``nnsynth search``'s 'interrupted:' line) was
    'Exception ignored in atexit callback <function shutdown>' and a traceback.  Registered
    when each command ends: atexit runs the last registered first, so the handler is in
    place before those hooks run."""
    import atexit
    atexit.unregister(_ctrl_c_ends_now)
    atexit.register(_ctrl_c_ends_now)


def close_bars() -> None:
    """Close the progress bars still open, as tqdm closes them (a bar that stays ends its
    line, a transient one is cleared): Ctrl-C leaves the loop's bar mid-line, and the
    interrupted line was glued to it (``... 3/17 [00:01<00:05, conn=1271]^Cinterrupted:
    finished work is kept ...`` on a terminal, and on a pipe)."""
    std = sys.modules.get("tqdm.std")     # no bar was drawn without it
    for bar in list(getattr(getattr(std, "tqdm", None), "_instances", None) or ()):
        try:
            bar.close()
        except Exception:   # a bar whose stream is gone: the line is what matters
            pass


# ``ctx.meta`` key of the options the running command was called with (its callback's
# keyword arguments, ``_naming_options``): what its Ctrl-C line reads (``interrupted_line``)
PARAMS = "nnsynth.params"
NOTHING_KEPT = ("interrupted: this command writes its output at the end, so none was written; "
                "rerun it to start again")
RESUMED = "finished work is kept; rerun the same command to resume"


def _kept_states(params: dict, *suffixes: str) -> list[str]:
    """The state files ``<--out><suffix>`` that are there: what an interrupted run kept."""
    out = params.get("out")
    return [] if not out else [f"{out}{s}" for s in suffixes if os.path.isfile(f"{out}{s}")]


def _resumed(paths: list[str]) -> tuple[list[str], list[str], list[str]]:
    """``paths`` (state files there) parted by what the same command rerun does with them
    (``synth.resume.resumes_from``): resumes from it; starts over (another run's state, of
    other settings); not known (no loop of this run had looked for it yet).  Every state
    there was said to be kept, a rerun resuming from it, when it was another run's."""
    resume = sys.modules.get("synth.resume")   # not imported: no loop had begun
    parted = ([], [], [])
    for path in paths:
        found = resume.resumes_from(path) if resume is not None else None
        parted[0 if found else 1 if found is False else 2].append(path)
    return parted


def _unresumed(again: list[str], unknown: list[str], what: str) -> str | None:
    """The line for states there that this run did not write (``_resumed``'s second and
    third lists), or None where there are none."""
    if again:
        return (f"nothing of this run was kept ({' and '.join(again)} holds another run's "
                f"state, of other settings, which the rerun does not resume); rerun it to "
                f"start {what} again")
    if unknown:
        return (f"this run was stopped before its {what} began; {' and '.join(unknown)} holds "
                f"an earlier run's state, which the same command rerun resumes from only if "
                f"that run had the same settings (else it starts over)")
    return None


def _training(params: dict, *suffixes: str, validated: str = "") -> str | None:
    """fit's state (``synth.train.fit``): saved only at the end of an epoch whose validation
    ran, the first one ending ``STATE_SECONDS`` or more after the previous save (or the
    training's start), and after the last epoch.  ``validated``: which epochs the command's
    training validates, where not every one (distill's)."""
    kept, again, unknown = _resumed(_kept_states(params, *suffixes))
    if not kept:
        return _unresumed(again, unknown, "training")
    from synth.train import STATE_SECONDS   # imported by the training already
    # 'at most the last 30 s of training run again' was wrong for epochs longer than that,
    # and 'at the end of the first epoch after every 30 s' for distill, whose state waits
    # for a validated epoch (every k-th of a long training: fit's ranks are gathered there)
    epoch = f"validated epoch ({validated})" if validated else "epoch"
    return (f"the training's state is kept in {' and '.join(kept)}; rerun the same command to "
            f"resume from it (the training since it was saved runs again: it is saved at the "
            f"end of the first {epoch} ending {STATE_SECONDS:g} s or more after the previous "
            f"save)")


def _distill_validates() -> str:
    """Which epochs ``nnsynth distill --synth`` validates (``distill_train_config``)."""
    from synth.distill import MAX_VALIDATIONS
    return (f"distill validates every epoch, or every ceil(epochs / {MAX_VALIDATIONS})-th of "
            f"more than {MAX_VALIDATIONS}")


def _grow_prune(params: dict) -> str | None:
    """The dense training's state, then the grow-prune loop's (after every step)."""
    kept, again, unknown = _resumed(_kept_states(params, ".dense.resume", ".resume"))
    if not kept:
        return _unresumed(again, unknown, "training")
    return f"finished work is kept in {' and '.join(kept)}; rerun the same command to resume"


def _synthesis(params: dict, again: str) -> str | None:
    """prune and continual keep only the inputs they synthesized (``kept_synthesis``: in
    ``<--out>.resume`` until the checkpoint is written; none with ``--synth DIR``): the rest
    of the run (``again``) starts over."""
    kept, other, unknown = _resumed(
        _kept_states(params, ".resume") if params.get("synth_dir") is None else [])
    if not kept:
        return _unresumed(other, unknown, "synthesis")
    return (f"the inputs synthesized here are kept in {kept[0]}; rerun the same command to "
            f"reuse them ({again} again)" if kept else None)


def _synthesis_kept(params: dict) -> bool:
    """Whether ``nnsynth invert --out`` holds work of its job that a rerun resumes from: a
    shard, or an amortized job's generator (Ctrl-C during the imports or Ray's start said
    'finished work is kept' of an empty or missing folder)."""
    out = params.get("out")
    if not out or not os.path.isfile(os.path.join(out, "job.json")):
        return False
    try:
        names = os.listdir(out)
    except OSError:
        return False
    return any(n.startswith("shard-") and n.endswith(".parquet") or n == "generator.pt"
               for n in names)


def _stage_kept(params: dict) -> bool:
    """Whether ``nnsynth run``'s run directory (``--run-dir``, or the config's default) has a
    finished stage in its ledger, which a rerun skips: Ctrl-C in the first stage (the
    teacher's training), before any stage was recorded, said 'finished work is kept'."""
    from deploy.ledger import Ledger
    run_dir = params.get("run_dir")
    try:
        if run_dir is None:
            from deploy.pipeline import default_run_dir
            from deploy.run_config import load_run_config
            run_dir = default_run_dir(load_run_config(params.get("config") or "default"))
        return bool(Ledger(run_dir).stages)
    except Exception:      # a config or ledger that cannot be read: no stage to skip
        return False


def _sweep_kept(params: dict) -> str:
    """How many of ``nnsynth sweep``'s runs had finished (deploy.sweep.interrupted_text): it
    said 'finished work is kept' before any run had finished a stage."""
    from deploy.sweep import interrupted_text
    return interrupted_text(params.get("sweep_file"))


def _search(params: dict) -> str:
    """What ``nnsynth search`` kept for ``--resume``: its finished trials (results.parquet's
    rows), none yet, or no search at all (a search interrupted before its first trial takes
    its new folder away again): it said 'finished work is kept; rerun it with --resume DIR'
    of a folder that was gone, and of one that held no trial."""
    where = params.get("resume_dir") or params.get("out")
    if not where:
        return "finished work is kept; rerun it with --resume DIR to continue"
    if not os.path.isfile(os.path.join(where, "search_config.json")):
        return "no search was begun yet; rerun the same command to start it"
    try:
        import pyarrow.parquet as pq
        results = os.path.join(where, "results.parquet")
        rows = pq.ParquetFile(results).metadata.num_rows if os.path.isfile(results) else 0
    except Exception:    # unreadable: say nothing of how many
        return f"finished work is kept; rerun it with --resume {where} to continue"
    if not rows:
        return f"no trial had finished yet; rerun it with --resume {where} to start them"
    return (f"{rows:,} finished trial{'s' if rows != 1 else ''} kept; rerun it with "
            f"--resume {where} to run the rest")


def _candidates_kept(params: dict) -> str:
    """What ``nnsynth symbiotic`` kept: the trainings it finished, one file each in
    <--out>/cache/candidates (it said 'finished work is kept' before any had finished)."""
    try:
        kept = [n for n in os.listdir(os.path.join(params.get("out") or "", "cache",
                                                   "candidates")) if n.endswith(".pt")]
    except OSError:
        kept = []
    if not kept:
        return "no training had finished yet; rerun the same command to start them"
    return (f"{len(kept):,} finished training{'s' if len(kept) != 1 else ''} kept; rerun the "
            f"same command to skip them")


def _models_kept(params: dict) -> str | None:
    """What ``nnsynth diabdeep --out`` kept: the rows of its finished models, in
    <--out>.resume until the report is written (without --out, nothing: None).  The command
    said it itself, before the bar of the training it stopped was closed: the line was glued
    to it ('grow-prune:   0%|   | 0/2 [00:00<?, ?it/s]interrupted: the finished models...')."""
    if not params.get("out"):
        return None
    kept, again, unknown = _resumed(_kept_states(params, ".resume"))
    if kept:
        return (f"the finished models are kept in {kept[0]}; rerun the same command to resume "
                f"after them")
    return _unresumed(again, unknown, "training") or (
        "no model had finished yet, so none was kept; rerun the same command to start again")


# What Ctrl-C of each command leaves for a rerun: the line after "interrupted: ", or a
# function of the command's options giving it (None: nothing was kept yet).  A command not
# here writes its output once, at the end (NOTHING_KEPT).
RESUMES = {
    # its ledger: finished stages and search trials are skipped (a search is the third stage)
    "run": lambda p: RESUMED if _stage_kept(p) else (
        "no stage had finished yet; rerun the same command to start the run"),
    "sweep": _sweep_kept,  # each run's own ledger
    "invert": lambda p: RESUMED if _synthesis_kept(p) else (
        "no shard was written yet; rerun the same command to start it"),
    "symbiotic": _candidates_kept,   # <--out>/cache/candidates
    "diabdeep": _models_kept,        # <--out>.resume
    "search": _search,
    # fit's state in <--out>.resume, saved at a (validated) epoch after STATE_SECONDS; a
    # --fixed-point training keeps none (workflows.train_checkpoint)
    "train": lambda p: None if p.get("fixed_point") else _training(p, ".resume"),
    # --synth: fit's state; --data-free keeps none
    "distill": lambda p: None if p.get("data_free") else _training(
        p, ".resume", validated=_distill_validates()),
    # the dense training's state, then the grow-prune loop's (after every step)
    "grow-prune": _grow_prune,
    "prune": lambda p: _synthesis(p, "the pruning and the KD fine-tuning run"),
    "continual": lambda p: None if p.get("method", "deepinversion") != "deepinversion" else
    _synthesis(p, "the training on the new classes runs"),
    # the job runs on the cluster, not in this process: Ctrl-C stops only the log stream
    "submit": "a job already submitted (the 'submitted job ID' line above) keeps running on "
              "the cluster: `ray job logs -f ID` follows it, `ray job stop ID` stops it (both "
              "with --address); rerunning this command submits another job",
}


def interrupted_line(command: str | None, params: dict) -> str:
    """The line Ctrl-C of ``nnsynth COMMAND`` ends with: what was kept and what a rerun does
    with it (``RESUMES``), from the options it ran with (``params``) and the state files there
    now -- a prune interrupted after its synthesis kept the inputs in <out>.resume, and a
    rerun reused them, under "none was written; rerun it to start again"."""
    how = RESUMES.get(command)
    if callable(how):
        how = how(params)
    return f"interrupted: {how}" if how else NOTHING_KEPT


@click.group(cls=_Root, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="nnsynth")
@click.option("-v", "--verbose", count=True,
              help="Show the library's log messages on stderr (-v info, -vv debug).")
@click.option("-q", "--quiet", is_flag=True,
              help="No progress on stderr (bars, stage lines); warnings and errors only.")
def cli(verbose, quiet):
    """nnsynth: synthesize compact, accurate, hardware-efficient neural networks on Ray.

    Results go to stdout (``--json``: one JSON object on its last line); progress and log
    messages go to stderr, so ``--json`` output stays machine-readable either way."""
    from deploy.cli.options import configure_output
    configure_output(verbose, quiet)


def worker_user_error(error: BaseException) -> UserError | None:
    """The UserError to show for ``error``: itself, or the one a Ray worker raised that
    ``error`` carries (a task's or an actor method's ``RayTaskError`` keeps it as ``.cause``;
    ``ray.get`` raises it ``as_instanceof_cause()``, an instance of the UserError's class
    too, whose text is the worker's whole traceback); None for any other error.

    An actor whose ``__init__`` raised reaches the driver as Ray's ``ActorDiedError`` (every
    call on it), whose text is the creation task's traceback and which has no ``.cause``: its
    cause, the creation task's ``RayTaskError``, is the argument it was made with
    (``ActorDiedError(cause)``, kept in ``args`` by Python's exception, through pickling
    too); it is followed when the error says the actor's ``__init__`` failed."""
    seen = set()
    while id(error) not in seen and type(error).__module__.partition(".")[0] == "ray":
        seen.add(id(error))
        cause = getattr(error, "cause", None)
        if cause is None and getattr(error, "actor_init_failed", False) is True:
            cause = next((a for a in getattr(error, "args", ()) if isinstance(a, BaseException)),
                         None)
        if not isinstance(cause, BaseException):
            break
        error = cause
    return error if isinstance(error, UserError) and \
        type(error).__module__.partition(".")[0] != "ray" else None


def outputs_locked(ctx: click.Context) -> contextlib.ExitStack:
    """Every output the command writes locked for its run (``synth.files.OutputLock``): the
    value of each output-file option (``checkpoint_out``, ``onnx_out``) and of each ``--out``
    (a report file, a folder).  The same command started twice at once (two terminals, a job
    submitted again) ran twice to exit 0, the one finished last silently replacing the
    other's result and sharing its resumable state (``<out>.resume``); the second is now
    refused in one line naming the first's pid (exit 2).  A run directory (``--run-dir``, a
    search's or a sweep's) has its own lock (``synth.files.working_dir``).  Taking the lock
    is also the check, before any work, that the output can be written at all (h301).

    The lock is the CLI's, here, and not the library functions' the commands call (their
    ``out``): a Python caller expects a function to write its file as Python's writers do,
    without a lock file beside it or a refusal on account of another of its own processes,
    and one who runs two at once on one output holds ``OutputLock`` around each call.  The
    run directories the library makes are its own and locked by it (``run_pipeline``,
    ``run_search``)."""
    from synth.files import OutputLock, output_lock_path
    stack, taken = contextlib.ExitStack(), set()
    with stack:   # (a refusal releases those taken)
        for param in ctx.command.params:
            value = ctx.params.get(param.name)
            if isinstance(value, str) and value and (
                    getattr(param.callback, "writes_output", False) or "--out" in param.opts) \
                    and output_lock_path(value) not in taken:
                taken.add(output_lock_path(value))
                stack.enter_context(OutputLock(value, param.opts[0]))
        return stack.pop_all()


def _naming_options(command: click.Command) -> None:
    """Every command (a group's too) tells a config's error (or a library check's in the same
    words) about a value typed as an option by that option: ``--epochs must be in [1, 100000],
    got 99999999999`` where TrainConfig said ``epochs must be in [0, 100000]``
    (``options.option_message``), a Ray worker's error too (``worker_user_error``)."""
    for sub in getattr(command, "commands", {}).values():
        _naming_options(sub)
    callback = command.callback
    if callback is None or getattr(callback, "names_options", False):
        return

    @functools.wraps(callback)
    def run(*args, **kwargs):
        ctx = click.get_current_context()
        ctx.meta[PARAMS] = dict(kwargs)   # for a Ctrl-C's line
        # -vv shows the options the command runs with (defaults filled in), -v its time (a
        # group's own callback runs before its subcommand: nothing to say there)
        timed = not isinstance(command, click.Group)
        if timed:
            log.debug("%s with %s", ctx.command_path,
                      ", ".join(f"{k}={v!r}" for k, v in kwargs.items()))
        start = time.perf_counter()
        try:
            from deploy.cli.options import check_outputs_not_inputs
            check_outputs_not_inputs(ctx)   # --out typed before the input it would overwrite
            with outputs_locked(ctx):        # another run writing the same --out: refused
                result = callback(*args, **kwargs)
            if timed:
                log.info("%s finished in %.1f s", ctx.command_path, time.perf_counter() - start)
            return result
        except Exception as e:   # a ConfigError, a library's check in the same words, or
            error = worker_user_error(e)     # either raised in a Ray worker
            if error is None:
                raise
            from deploy.cli.options import option_message
            message = option_message(click.get_current_context(), error)
            if message is not None:
                raise (ConfigError if isinstance(error, ConfigError) else UserError)(
                    message) from None
            if error is e:
                raise
            raise error from None
    run.names_options = True
    command.callback = run


def add_command(command: click.Command) -> None:
    """Add ``command`` (a click command or group) to ``nnsynth``, its errors told by the
    options the user typed (``_naming_options``)."""
    _naming_options(command)
    cli.add_command(command)


def _register_commands() -> None:
    from deploy.cli import commands
    for info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda i: i.name):
        module = importlib.import_module(f"deploy.cli.commands.{info.name}")
        command = getattr(module, "command", None)
        if command is not None:
            add_command(command)


_register_commands()

if __name__ == "__main__":
    cli()
