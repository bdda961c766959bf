"""Every output path of every nnsynth command, given as something hostile (helper h311).

The command tree of ``deploy.cli.main.cli`` is walked (``tests._hostile_paths``, shared with
h308's sweep of every input); every option that names what a command writes -- a parameter
named in ``OUTPUTS`` (``--out``, ``--run-dir``) or with an output callback
(``writes_output``), and a sweep file's ``root`` -- is given, in turn, as

1. a FIFO (``fifo``), 2. /dev/null, a device (``dev_null``), 3. a symbolic link loop, h4 ->
h5 -> h4 (``loop``), 4. a folder where a file is written (``folder``), a regular file where a
folder is (``file``), 5. a path under a regular file, h3/sub/o (``under_file``), 6. a path in
a folder without write permission (``unwritable``, 0o500: skipped where it is not enforced,
as for root) and in /proc, which takes no new file even from root (``proc``),

and each command must answer in seconds (a daemon thread, ``HANG_S``) with exit status 2 and
one line, ``error: ...``, naming the path and what is wrong with it (``KIND_WORDS``), before
Ray starts -- and leave the folder around it as it was: every name, kind, mode, size and byte
of content (``listing``) the same after as before; nothing the user had there deleted or
changed, nothing of nnsynth's (a lock file, a folder made for the output) left behind.

7. A path whose parents do not exist (``missing_parent``, h6/sub/o): every command makes
them, as it makes its output (the CLI's ``OutputLock`` for every --out, ``working_dir`` for a
run directory and a sweep root), and takes them away again when it is refused.  The commands
that finish in a second or two here (``FINISHES``) are run to the end: exit 0, the output in
the folders made, nothing else changed.  The others (Ray: invert, search, sweep; a minute of
training: diabdeep) are refused by a later check (``REFUSED_LATER``), and must leave the
folder as it was: no folder made for the output is left behind.

``test_every_output_is_swept``: a new output option needs a command line in ``LINES`` (or a
reason in ``NOT_SWEPT``): a new output cannot go unswept.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import stat
import sys
import tempfile
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from deploy.cli.main import cli
from deploy.run_config import RunConfig
from tests._hostile_paths import HANG_S, OUTPUTS, bounded, spelling, tiny_checkpoint, walk
from tests._symbiotic import tiny_text
from tests.deploy.teachers import seed_teacher_cache, teacher_only


def outputs() -> list[tuple[str, str, str]]:
    """(command, option spelling, form) of every output option: form "file" or "folder"."""
    found = []
    for name, command in walk(cli):
        for p in command.params:
            if p.name in OUTPUTS or getattr(p.callback, "writes_output", False):
                form = "folder" if isinstance(p.type, click.Path) and not p.type.file_okay \
                    else "file"
                found.append((name, spelling(p), form))
    # a sweep file's root (the sweep's runs go in <root>/<name>), a folder
    return sorted(set(found) | {("sweep", "root", "folder")})


# Outputs not swept here, and why.
NOT_SWEPT = {("submit", "--run-dir"): "a folder on the cluster the job runs on, never "
                                      "written by this process"}

# The cheapest valid command line around each output.  {X}: the hostile path; {ckpt}: a
# trained checkpoint; {run}: a run config of a teacher stage only (no Ray); {sweep}: a sweep
# file of that run whose root is {X}; {text}: a tiny text set.
CK = ["--model", "{ckpt}"]
FAST = ["--epochs", "1", "--min-steps", "0"]
LINES = {
    ("continual", "--out"): [*CK, "--new-dataset", "iris", "--new-classes", "2",
                             "--num-images", "3", "--iterations", "1", *FAST, "--out", "{X}"],
    ("diabdeep", "--out"): ["--dataset", "basicmotions", "--steps", "5", "--baselines", "none",
                            "--out", "{X}"],
    ("distill", "--out"): ["--teacher", "{ckpt}", "--student", "mlp_small", "--data-free",
                           "--rounds", "1", "--images-per-round", "4", "--iterations", "1",
                           "--out", "{X}"],
    ("export", "--out"): [*CK, "--out", "{X}"],
    ("grow-prune", "--out"): ["--dataset", "iris", "--model", "mlp_small", *FAST,
                              "--retrain-epochs", "1", "--prune-steps", "1", "--out", "{X}"],
    ("hwsim table", "--out"): ["--device", "accel", "--model", "mlp_small", "--input-shape",
                               "4", "--out", "{X}"],
    ("incremental", "--out"): [*CK, "--old", "iris[0,1]", "--new", "iris[0,1]",
                               "--max-epochs", "0.1", "--min-steps", "0", "--out", "{X}"],
    ("invert", "--out"): ["--teacher", "{ckpt}", "--num-images", "2", "--out", "{X}"],
    ("prune", "--out"): [*CK, "--ratio", "0.5", "--num-images", "2", "--iterations", "1",
                         "--kd-steps", "1", "--out", "{X}"],
    ("run", "--run-dir"): ["{run}", "--run-dir", "{X}"],
    ("scann", "--out"): ["--dataset", "iris", "--out", "{X}"],
    ("search", "--out"): ["--dataset", "iris", "--out", "{X}"],
    ("sweep", "root"): ["{sweep}"],
    ("symbiotic", "--out"): ["--dataset", "{text}", "--platform", "accel", "--cells", "lstm",
                             "--widths", "4,8", "--baseline-width", "8", "--baseline-layers",
                             "1", "--epochs", "1", "--max-batches", "2", "--min-count", "1",
                             "--rounds", "2", "--sparsities", "0.5", "--no-ray", "--out", "{X}"],
    ("train", "--out"): ["--dataset", "iris", "--model", "mlp_small", *FAST, "--out", "{X}"],
}

# Kind 7, parents missing: these are run to the end (a second or two each here) ...
FINISHES = {("continual", "--out"), ("distill", "--out"), ("export", "--out"),
            ("grow-prune", "--out"), ("hwsim table", "--out"), ("incremental", "--out"), ("prune", "--out"),
            ("run", "--run-dir"), ("scann", "--out"), ("symbiotic", "--out"),
            ("train", "--out")}
# ... and these (Ray, or a minute of training) are refused by a later check with these
# arguments added -- an address nothing answers at, a data set of the wrong kind -- and
# must take the folders made for the output away again.
REFUSED_LATER = {("invert", "--out"): ["--address", "http://127.0.0.1:9"],
                 ("search", "--out"): ["--address", "http://127.0.0.1:9"],
                 ("sweep", "root"): ["--address", "http://127.0.0.1:9"],
                 ("diabdeep", "--out"): ["--dataset", "iris"]}

KINDS = {
    "file": ("fifo", "dev_null", "loop", "folder", "under_file", "unwritable", "proc",
             "missing_parent"),
    "folder": ("fifo", "dev_null", "loop", "file", "under_file", "unwritable", "proc",
               "missing_parent"),
}

# What the one line must say is wrong (besides naming the path).
KIND_WORDS = {"fifo": ("pipe",), "dev_null": ("device",), "loop": ("link",),
              "folder": ("directory", "folder"), "file": ("a file",),
              "under_file": ("is a file, not a directory",),
              "unwritable": ("not writable",), "proc": ("not writable", "takes no new")}


def cases():
    for command, option, form in outputs():
        if (command, option) in NOT_SWEPT:
            continue
        for hostile in KINDS[form]:
            yield pytest.param(command, option, hostile, id=f"{command}-{option}-{hostile}")


# In each case's own folder: a user's file, a FIFO, a folder and a file of the user's, a link
# loop and a folder without write permission (with a file in it).
def hostile_dir() -> Path:
    d = Path(tempfile.mkdtemp(prefix="h311", dir="/tmp"))   # short: errors show it whole
    (d / "keep.txt").write_text("the user's\n")
    os.mkfifo(d / "h1")
    (d / "h2").mkdir()
    (d / "h2" / "u.txt").write_text("the user's, in a folder\n")
    (d / "h3").write_text("a regular file of the user's\n")
    os.symlink(d / "h5", d / "h4")
    os.symlink(d / "h4", d / "h5")
    (d / "h7").mkdir()
    (d / "h7" / "u.txt").write_text("the user's, in a read-only folder\n")
    os.chmod(d / "h7", 0o500)
    return d


def hostile_path(d: Path, hostile: str) -> str:
    return str({"fifo": d / "h1", "dev_null": "/dev/null", "loop": d / "h4", "folder": d / "h2",
            "file": d / "h3", "under_file": d / "h3" / "sub" / "o",
            "unwritable": d / "h7" / "o", "proc": "/proc/h311/o",
            "missing_parent": d / "h6" / "sub" / "o"}[hostile])


def listing(d: Path) -> dict[str, tuple]:
    """Every name under ``d`` (links not followed): its kind, mode, size, and its content's
    digest (a file) or target (a link)."""
    found = {}
    for root, dirs, files in os.walk(d):
        for name in dirs + files:
            path = Path(root) / name
            st = os.lstat(path)
            what = (hashlib.sha256(path.read_bytes()).hexdigest() if stat.S_ISREG(st.st_mode)
                    else os.readlink(path) if stat.S_ISLNK(st.st_mode) else "")
            found[str(path.relative_to(d))] = (stat.S_IFMT(st.st_mode), stat.S_IMODE(st.st_mode),
                                               st.st_size if stat.S_ISREG(st.st_mode) else 0,
                                               what)
    return found


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    """The checkpoint, the run config (a teacher stage and an export, the teacher a seeded
    cache entry: no Ray), a tiny text set and the folder the sweep files go in."""
    d = tmp_path_factory.mktemp("h311_inputs")
    values = {**teacher_only("r", "iris", "mlp_small"), "teacher": {
        "dataset": "iris", "model": "mlp_small", "epochs": 1, "cache": str(d / "teachers")}}
    seed_teacher_cache(RunConfig.from_dict(values), d / "teachers")
    run = d / "run.json"
    run.write_text(json.dumps(values))
    return {"ckpt": tiny_checkpoint(d / "m.pt"), "run": str(run), "text": tiny_text(d),
            "dir": d}


@pytest.mark.parametrize("command, option, hostile", list(cases()))
def test_hostile_output_is_one_line_exit_2(command, option, hostile, inputs):
    finishes = hostile == "missing_parent" and (command, option) in FINISHES
    later = REFUSED_LATER.get((command, option), []) if hostile == "missing_parent" else []
    d = hostile_dir()
    try:
        if hostile == "unwritable" and os.access(d / "h7", os.W_OK):
            pytest.skip("folder permissions are not enforced here (root)")
        path = hostile_path(d, hostile)
        sweep = inputs["dir"] / f"sweep-{d.name}.yaml"
        sweep.write_text(f"name: s\nbase: {inputs['run']}\nroot: {json.dumps(path)}\n"
                         f"runs:\n  - {{name: a}}\n")
        args = command.split() + [a.format(X=path, sweep=sweep, **inputs)
                                  for a in LINES[(command, option)]] + later
        before = listing(d)
        ray = sys.modules.get("ray")
        ray_before = ray is not None and ray.is_initialized()
        result, elapsed = bounded(lambda: CliRunner().invoke(cli, args), d / "h1",
                                  f"nnsynth {' '.join(args)}", 300.0 if finishes else HANG_S)
        output = result.output
        lines = [x for x in output.splitlines() if x.strip()]
        shown = f"nnsynth {' '.join(args)}: exit {result.exit_code}\n{output}" + (
            "".join(__import__("traceback").format_exception(*result.exc_info))
            if result.exc_info and result.exit_code not in (0, 2) else "")
        after = listing(d)
        ray = sys.modules.get("ray")
        assert ray_before or ray is None or not ray.is_initialized(), \
            f"Ray started: {shown}"
        if finishes:   # the output and the folders made for it, nothing else
            assert result.exit_code == 0, shown
            made = {k: v for k, v in after.items() if k not in before}
            assert {k: after[k] for k in before} == before
            assert made and all(k.startswith("h6") for k in made), made
            mine = Path(path).relative_to(d)   # a folder output holds nnsynth's own files
            assert Path(path).exists() and not any(
                Path(k).name.startswith(".") for k in made if Path(k).parent != mine and
                mine not in Path(k).parents), made   # no lock or temp beside it
            return
        assert result.exit_code == 2 and len(lines) == 1 and lines[0].startswith("error: "), \
            shown
        line = lines[0]
        assert after == before, (line, set(after) ^ set(before))
        if later:   # refused for another reason: the folders made for the output are gone
            return
        assert path in line, line
        assert any(w in line for w in KIND_WORDS[hostile]), line
        print(f"{elapsed:.2f} s: {line}")   # shown with -rP
    finally:
        os.chmod(d / "h7", 0o700)
        shutil.rmtree(d, ignore_errors=True)


def test_every_output_is_swept():
    """A new output option needs a command line here (or a reason it is not swept)."""
    found = {(c, o) for c, o, _ in outputs()}
    assert sorted(found - set(LINES) - set(NOT_SWEPT)) == []
    assert sorted(set(LINES) - found) == []
    assert FINISHES | set(REFUSED_LATER) == set(LINES) and not FINISHES & set(REFUSED_LATER)
