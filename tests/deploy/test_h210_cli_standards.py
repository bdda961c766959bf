"""The user-facing standards every ``nnsynth`` command meets (audit h210): ``-v``/``-q`` in
either position, ``-v`` shows something on stderr and keeps ``--json`` parseable, every
option's help says what it is."""
import json
import subprocess
import sys

import click

from deploy.cli.main import cli, hoist_output_flags


def test_output_flags_after_the_command_are_the_roots():
    """``nnsynth train -v ...`` was "No such option '-v'" (the README's ``nnsynth -v CMD``
    was the only spelling)."""
    assert hoist_output_flags(cli, ["train", "-v", "--epochs", "1"]) == \
        ["-v", "train", "--epochs", "1"]
    assert hoist_output_flags(cli, ["hwsim", "eval", "-q", "--model", "m.pt"]) == \
        ["-q", "hwsim", "eval", "--model", "m.pt"]
    assert hoist_output_flags(cli, ["eval", "--verbose", "-vv", "--quiet"]) == \
        ["--verbose", "-vv", "--quiet", "eval"]
    # an option's value, anything after --, and the root's own position are left alone
    assert hoist_output_flags(cli, ["secret", "--class-names", "-v"]) == \
        ["secret", "--class-names", "-v"]
    assert hoist_output_flags(cli, ["eval", "--", "-v"]) == ["eval", "--", "-v"]
    assert hoist_output_flags(cli, ["-q", "models"]) == ["-q", "models"]


def test_verbose_after_the_command_logs_on_stderr_and_keeps_json_clean():
    """``-vv`` shows the options the command ran with and ``-v`` its time, on stderr; the
    --json object is all of stdout.  Before: exit 2, "No such option '-vv'"; and
    ``nnsynth -vv models`` printed nothing more than ``nnsynth models``."""
    done = subprocess.run([sys.executable, "-m", "deploy.cli.main", "models", "--json", "-vv"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert isinstance(json.loads(done.stdout), dict)
    assert "DEBUG deploy.cli: " in done.stderr and "models with as_json=True" in done.stderr
    assert "INFO deploy.cli: " in done.stderr and "models finished in" in done.stderr


# search's options are h205's file (reported to the lead): --searcher, --trials,
# --concurrency and --epochs have no help there yet
NOT_HERE: set = set()


def _options(command, path=()):
    if isinstance(command, click.Group):
        for name, sub in command.commands.items():
            yield from _options(sub, (*path, name))
        return
    for param in command.params:
        if isinstance(param, click.Option) and not param.hidden and param.name != "help":
            yield path, command, param


def test_every_option_says_what_it_is_and_its_default():
    """``nnsynth train --help`` showed ``--epochs INTEGER RANGE  [default: 15; x>=1]`` and
    nothing else (and --batch-size, --lr, --optimizer the same; 30 such options over 9
    commands): every option now has a help line, and one with a default shows it."""
    bare, hidden_default = [], []
    for path, command, param in _options(cli):
        ctx = click.Context(command, info_name=" ".join(path))
        text = param.get_help_record(ctx)[1]   # LazyHelpOption fills its help here
        if not param.help and (path[0], param.opts[0]) not in NOT_HERE:
            bare.append(f"{' '.join(path)} {param.opts[0]}")
        if not (param.is_flag or param.multiple or param.required) and \
                param.default is not None and \
                "default" not in text.lower():
            hidden_default.append(f"{' '.join(path)} {param.opts[0]}")
    assert not bare, bare
    assert not hidden_default, hidden_default


def test_the_reference_page_names_every_option_of_every_command():
    """The README's command table names each command's main options; 60 options (train's
    --batch-size and --optimizer, grow-prune's --prune-steps, ...) were named nowhere a user
    reads.  docs/cli.md lists them all, per command; regenerate it with
    ``python -m deploy.cli.reference > docs/cli.md`` when an option is added."""
    import pathlib
    page = (pathlib.Path(__file__).parents[2] / "docs" / "cli.md").read_text()
    named = {}   # command -> the option spellings its table's first column names
    for section in page.split("\n## nnsynth ")[1:]:
        cells = [row.split("`")[1] for row in section.splitlines() if row.startswith("| `")]
        named[section.split("\n", 1)[0].strip()] = {
            word.split(" ")[0] for cell in cells for word in cell.split(", ")}
    missing = [f"{' '.join(path)} {param.opts[0]}" for path, command, param in _options(cli)
               if not set(param.opts) <= named.get(" ".join(path), set())]
    assert not missing, f"{missing}: run python -m deploy.cli.reference > docs/cli.md"
    assert "docs/cli.md" in (pathlib.Path(__file__).parents[2] / "README.md").read_text()


def test_out_typed_before_the_input_it_would_overwrite_is_refused(tmp_path):
    """``nnsynth incremental --out m.pt --model m.pt ...`` wrote its result over the input
    checkpoint (13,781 -> 20,671 bytes, exit 0): the --out callback compared it with the
    options parsed before it, and click parses them in the order they are typed.  The
    order --model ... --out m.pt was refused; now both are, before any work."""
    from click.testing import CliRunner
    model = str(tmp_path / "m.pt")
    made = CliRunner().invoke(cli, ["-q", "train", "--dataset", "iris", "--model", "mlp_small",
                                    "--epochs", "1", "--min-steps", "0",
                                    "--device", "cpu", "--out", model])
    assert made.exit_code == 0, made.output
    before = open(model, "rb").read()
    for args in (["incremental", "--out", model, "--model", model, "--old", "iris", "--new",
                  "iris"],
                 ["grow-prune", "--out", model, "--dataset", "iris", "--model", model]):
        done = CliRunner().invoke(cli, ["-q", *args])
        assert done.exit_code == 2, (args, done.output)
        assert f"--out {model} is the file given as --model" in done.stderr, done.stderr
        assert "Traceback" not in done.output
        assert open(model, "rb").read() == before


def test_a_library_warning_reads_as_the_commands_own_warnings():
    """incremental printed 'WARNING synth.incremental: ...' where invert and symbiotic print
    'warning: ...' (and every error is 'error: ...'); under -v records keep their level and
    logger name."""
    code = ("import click, logging\n"
            "from deploy.cli.options import configure_output\n"
            "with click.Context(click.Command('x')):\n"
            "    configure_output({verbose}, False)\n"
            "    logging.getLogger('synth.x').warning('few steps')\n"
            "    logging.getLogger('synth.x').info('detail')\n")
    plain, verbose = (subprocess.run([sys.executable, "-c", code.format(verbose=v)],
                                     capture_output=True, text=True, timeout=60)
                      for v in (0, 1))
    assert plain.stderr == "warning: few steps\n", plain.stderr
    assert verbose.stderr == "WARNING synth.x: few steps\nINFO synth.x: detail\n", verbose.stderr
