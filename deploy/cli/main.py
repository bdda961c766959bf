"""The ``nnsynth`` root group.

Every module in ``deploy/cli/commands/`` that defines ``command`` (a click command or
group) is added, so a new command is a new file.  A ``UserError`` raised anywhere below
becomes one line on stderr and exit status 2, never a traceback.
"""
from __future__ import annotations

import errno
import functools
import importlib
import pkgutil
import sys

import click

from synth.errors import ConfigError, UserError


def one_line(message: str, limit: int = 1000) -> str:
    """A message as one bounded line: newlines and runs of spaces become one space."""
    text = " ".join(str(message).split())
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _usage_error(e: click.UsageError):
    """A bad command line: one line naming the command, exit status 2."""
    sub = e.ctx.command_path if e.ctx is not None else "nnsynth"
    click.echo(f"error: {one_line(e.format_message())} (see {sub} -h)", err=True)
    sys.exit(2)


class _Root(click.Group):
    def parse_args(self, ctx, args):
        try:
            return super().parse_args(ctx, args)
        except click.exceptions.NoArgsIsHelpError:   # bare `nnsynth`: the help, as click shows it
            raise
        except click.UsageError as e:   # a bad root option (nnsynth --bogus): no usage block
            _usage_error(e)

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except UserError as e:   # a worker's too (Ray's error is an instance of its class)
            click.echo(f"error: {one_line(worker_user_error(e) or e)}", err=True)
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
        except KeyboardInterrupt:
            how = RESUMES.get(ctx.invoked_subcommand)
            click.echo(f"interrupted: finished work is kept; {how}" if how else
                       "interrupted: this command writes its output at the end, so none was "
                       "written; rerun it to start again", err=True)
            sys.exit(130)


# What resumes after Ctrl-C, and how (the other commands write their output once, at the end).
RESUMES = {"run": "rerun the same command to resume", "sweep": "rerun the same command to resume",
           "invert": "rerun the same command to resume",
           "train": "rerun the same command to resume",
           "distill": "rerun the same command to resume (--synth; a --data-free run starts "
                      "again)",
           "grow-prune": "rerun the same command to resume",
           "symbiotic": "rerun the same command to skip the candidates it trained",
           "search": "rerun it with --resume to continue"}


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
        try:
            return callback(*args, **kwargs)
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
