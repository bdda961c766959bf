"""Every input path of every nnsynth command, given as something hostile (helper h308).

The command tree of ``deploy.cli.main.cli`` is walked; every option or argument that names a
file or folder to read -- a ``click.Path`` that is not an output, and the string options
``STRING_PATHS`` lists (a ``--dataset``'s ``csv:``, ``parquet:``... forms, a checkpoint or
YAML file given as text) -- is given, in turn, as

- a FIFO nobody writes to (``os.mkfifo``): opened to read, it blocks until a writer comes,
- a character device: /dev/null, and /dev/zero where a file is read (an endless stream),
- a folder where a file is expected, a regular file where a folder is,
- a symbolic link loop (h4 -> h5 -> h4),
- a path that does not exist,

and each command must answer in seconds with exit status 2 and one line, ``error: ...``,
naming the path and saying what it is (``KIND_WORDS``), before Ray starts.  ``nnsynth eval --model FIFO`` hung CI for 600 s (c0088ad): a new check
opened the path before the reader had looked at what it was.  Each run is in-process
(CliRunner) on a daemon thread, and a run not back in ``HANG_S`` fails the test at once.

A new string option must be classified in ``STRING_PATHS`` or ``NOT_PATHS``, and every
input found needs a command line in ``LINES`` (``test_every_input_is_swept``): a new input
cannot go unswept.
"""
from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from deploy.cli.main import cli
from synth.data_registry import DATASET_PATHS
from tests._hostile_paths import OUTPUTS, bounded, spelling, tiny_checkpoint, walk


# -- what is an input -------------------------------------------------------------------------

# String options (not click.Path) that name a file or folder to read, by parameter name:
# "dataset" (a prefix:<path> set, each prefix of synth.data_registry.DATASET_PATHS), "file".
STRING_PATHS = {
    "dataset": "dataset", "new_dataset": "dataset", "old_name": "dataset",
    "new_name": "dataset",
    "model_path": "file",       # hwsim eval --model (click.Path elsewhere)
    "models": "file",           # hwsim dse --model: a checkpoint, or a spec
    "model_ref": "file",        # hwsim table --model
    "model_spec": "file",       # grow-prune --model: a checkpoint path; train --model: named one
    "spec": "file",             # hwsim eval --spec, distill --student: a spec, a path named one
    "student_spec": "file",
    "student": "file",          # invert --student: a .pt checkpoint
    "teacher": "file",          # search --teacher
    "accel_path": "file", "dse_path": "file", "table_path": "file",
    "space": "file",            # search --space: a YAML/JSON file or a built-in name
    "schedule": "file",         # search --schedule: JSON, or a YAML/JSON file
    "config": "file",           # run CONFIG, submit CONFIG
}
# String options that never name a file to read.
NOT_PATHS = {
    "address", "device", "as_json", "input_shape", "baselines", "options_json",
    "schedule_json", "fixed_point", "new_classes", "old_classes", "class_names", "platform",
    "cells", "widths", "sparsities", "hidden", "constraints", "preset",
}


def inputs() -> list[tuple[str, str, str]]:
    """(command, option spelling, form) of every input: form "file", "folder", or "dataset"."""
    found, seen = [], set()
    for name, command in walk(cli):
        for p in command.params:
            if p.name in OUTPUTS or (name, p.name) in seen:   # distill --data: --synth's
                continue                                      # old spelling
            seen.add((name, p.name))
            if isinstance(p.type, click.Path):
                found.append((name, spelling(p), "folder" if not p.type.file_okay else "file"))
            elif isinstance(p.type, click.types.StringParamType) and p.name in STRING_PATHS:
                found.append((name, spelling(p), STRING_PATHS[p.name]))
    return sorted(set(found))


def unclassified() -> list[str]:
    return sorted(f"{name} {spelling(p)}" for name, command in walk(cli) for p in command.params
                  if isinstance(p.type, click.types.StringParamType)
                  and p.name not in STRING_PATHS and p.name not in NOT_PATHS
                  and p.name not in OUTPUTS)


# -- the cheapest valid command line around each input ---------------------------------------

# {X}: the hostile path (with its prefix, for a data set); {ckpt}: a trained checkpoint
# (``ckpt``); {csv}: a small CSV set; {out}: the test's tmp_path.
CK = ["--model", "{ckpt}"]
LINES = {
    ("continual", "--model"): ["--model", "{X}", "--new-dataset", "iris", "--new-classes", "2",
                               "--out", "{out}/c.pt"],
    ("continual", "--new-dataset"): [*CK, "--new-dataset", "{X}", "--new-classes", "2",
                                     "--out", "{out}/c.pt"],
    ("continual", "--synth"): [*CK, "--new-dataset", "iris", "--new-classes", "2",
                               "--synth", "{X}", "--out", "{out}/c.pt"],
    ("diabdeep", "--dataset"): ["--dataset", "{X}", "--baselines", "none"],
    ("distill", "--teacher"): ["--teacher", "{X}", "--student", "mlp_small", "--data-free",
                               "--out", "{out}/d.pt"],
    ("distill", "--student"): ["--teacher", "{ckpt}", "--student", "{X}", "--data-free",
                               "--out", "{out}/d.pt"],
    ("distill", "--synth"): ["--teacher", "{ckpt}", "--student", "mlp_small", "--synth", "{X}",
                             "--out", "{out}/d.pt"],
    ("eval", "--model"): ["--model", "{X}"],
    ("eval", "--dataset"): [*CK, "--dataset", "{X}"],
    ("export", "--model"): ["--model", "{X}", "--out", "{out}/m.onnx"],
    ("export", "--dataset"): [*CK, "--dataset", "{X}", "--out", "{out}/m.onnx"],
    ("grow-prune", "--dataset"): ["--dataset", "{X}", "--model", "mlp_small",
                                  "--out", "{out}/g.pt"],
    ("grow-prune", "--model"): ["--dataset", "iris", "--model", "{X}", "--out", "{out}/g.pt"],
    ("hwsim dse", "--model"): ["--model", "{X}"],
    ("hwsim dse", "--dse-config"): ["--model", "mlp_small@4", "--num-classes", "3",
                                    "--dse-config", "{X}"],
    ("hwsim eval", "--model"): ["--model", "{X}"],
    ("hwsim eval", "--spec"): ["--spec", "{X}", "--input-shape", "4", "--num-classes", "3"],
    ("hwsim eval", "--accel"): [*CK, "--accel", "{X}"],
    ("hwsim eval", "--dataset"): [*CK, "--spring", "--dataset", "{X}"],
    ("hwsim table", "--model"): ["--device", "accel", "--model", "{X}"],
    ("hwsim table", "--table"): [*CK, "--table", "{X}"],
    ("hwsim table", "--accel"): ["--device", "accel", *CK, "--accel", "{X}"],
    ("incremental", "--model"): ["--model", "{X}", "--old", "iris", "--new", "iris",
                                 "--out", "{out}/i.json"],
    ("incremental", "--dense-model"): [*CK, "--dense-model", "{X}", "--old", "iris",
                                       "--new", "iris", "--out", "{out}/i.json"],
    ("incremental", "--old"): [*CK, "--old", "{X}", "--new", "iris", "--out", "{out}/i.json"],
    ("incremental", "--new"): [*CK, "--old", "iris", "--new", "{X}", "--out", "{out}/i.json"],
    ("invert", "--teacher"): ["--teacher", "{X}", "--num-images", "2", "--out", "{out}/inv"],
    ("invert", "--student"): ["--teacher", "{ckpt}", "--num-images", "2", "--adi",
                              "--student", "{X}", "--out", "{out}/inv"],
    ("prune", "--model"): ["--model", "{X}", "--ratio", "0.5", "--out", "{out}/p.pt"],
    ("prune", "--synth"): [*CK, "--synth", "{X}", "--ratio", "0.5", "--out", "{out}/p.pt"],
    ("run", "CONFIG"): ["{X}", "--run-dir", "{out}/r"],
    ("scann", "--dataset"): ["--dataset", "{X}"],
    ("search", "--space"): ["--space", "{X}", "--dataset", "iris", "--out", "{out}/s"],
    ("search", "--dataset"): ["--dataset", "{X}", "--out", "{out}/s"],
    ("search", "--teacher"): ["--dataset", "iris[0,1]", "--teacher", "{X}", "--synth",
                              "{out}", "--out", "{out}/s"],
    ("search", "--synth"): ["--dataset", "iris[0,1]", "--teacher", "{ckpt}", "--synth", "{X}",
                            "--out", "{out}/s"],
    ("search", "--accel"): ["--dataset", "iris", "--accel", "{X}", "--out", "{out}/s"],
    ("search", "--schedule"): ["--dataset", "iris", "--grow-prune", "--schedule", "{X}",
                               "--out", "{out}/s"],
    ("search", "--resume"): ["--resume", "{X}"],
    ("secret", "--dataset"): ["--dataset", "{X}"],
    ("secret", "--model"): ["--model", "{X}"],
    ("submit", "CONFIG"): ["{X}", "--address", "http://127.0.0.1:9", "--no-follow"],
    ("sweep", "SWEEP_FILE"): ["{X}", "--check"],
    ("symbiotic", "--dataset"): ["--dataset", "{X}", "--platform", "accel", "--no-ray",
                                 "--out", "{out}/sy"],
    ("symbiotic", "--accel"): ["--dataset", "enwiki", "--platform", "accel", "--no-ray",
                               "--accel", "{X}", "--out", "{out}/sy"],
    ("train", "--dataset"): ["--dataset", "{X}", "--model", "mlp_small", "--out", "{out}/m.pt"],
    ("train", "--model"): ["--dataset", "iris", "--model", "{X}", "--out", "{out}/m.pt"],
}

# -- the hostile kinds --------------------------------------------------------------------------

KINDS = {   # what each form of input is given as
    "file": ("fifo", "dev_null", "dev_zero", "folder", "loop", "missing"),
    "folder": ("fifo", "dev_null", "file", "loop", "missing"),
    "either": ("fifo", "dev_null", "dev_zero", "loop", "missing"),
}


# What the one line must say the path is (besides naming it).
KIND_WORDS = {"fifo": ("named pipe",), "dev_null": ("device",), "dev_zero": ("device",),
              "folder": ("folder", "directory"), "file": ("file",),
              "loop": ("Too many levels of symbolic links",),
              "missing": ("not found", "no such file", "nothing to resume")}

# Data set options that take sets of some prefixes only (the others are refused by name,
# before any path is looked at).
PREFIXES = {("symbiotic", "--dataset"): ("text",)}


def cases():
    for (command, option, form) in inputs():
        if form == "dataset":
            for prefix, (kind, _, _) in DATASET_PATHS.items():
                if prefix not in PREFIXES.get((command, option), DATASET_PATHS):
                    continue
                for hostile in KINDS[kind]:
                    yield pytest.param(command, option, prefix, hostile,
                                       id=f"{command}-{option}-{prefix}-{hostile}")
        else:
            for hostile in KINDS[form]:
                yield pytest.param(command, option, None, hostile,
                                   id=f"{command}-{option}-{hostile}")


# The hostile things' names say nothing of what they are (KIND_WORDS is looked for in the line).
NAMES = {"fifo": "h1", "folder": "h2", "file": "h3", "loop": "h4", "missing": "h6"}


@pytest.fixture(scope="module")
def hostile_dir():
    """A short folder (an error shows a path of at most 60 characters whole) holding a FIFO,
    a folder, a regular file and a link loop (h4 -> h5 -> h4); removed after the module."""
    d = Path(tempfile.mkdtemp(prefix="h308", dir="/tmp"))
    os.mkfifo(d / NAMES["fifo"])
    (d / NAMES["folder"]).mkdir()
    (d / NAMES["file"]).write_text("a regular file\n")
    os.symlink(d / "h5", d / NAMES["loop"])
    os.symlink(d / NAMES["loop"], d / "h5")
    yield d
    shutil.rmtree(d, ignore_errors=True)


def hostile_path(d: Path, hostile: str) -> str:
    devices = {"dev_null": "/dev/null", "dev_zero": "/dev/zero"}
    return devices[hostile] if hostile in devices else str(d / NAMES[hostile])


@pytest.fixture(scope="module")
def ckpt(tmp_path_factory):
    """``tests._hostile_paths.tiny_checkpoint``: a BatchNorm MLP of iris's classes 0 and 1."""
    return tiny_checkpoint(tmp_path_factory.mktemp("h308_inputs") / "m.pt")


@pytest.mark.parametrize("command, option, prefix, hostile", list(cases()))
def test_hostile_input_is_one_line_exit_2(command, option, prefix, hostile, hostile_dir, ckpt,
                                          tmp_path):
    line = LINES[(command, option)]
    path = hostile_path(hostile_dir, hostile)
    value = f"{prefix}:{path}" if prefix else path
    args = command.split() + [a.format(X=value, ckpt=ckpt, out=tmp_path) for a in line]
    ray = sys.modules.get("ray")
    ray_before = ray is not None and ray.is_initialized()
    result, elapsed = bounded(lambda: CliRunner().invoke(cli, args),
                              hostile_dir / NAMES["fifo"], f"nnsynth {' '.join(args)}")
    output = result.output
    lines = [x for x in output.splitlines() if x.strip()]
    assert result.exit_code == 2 and len(lines) == 1 and lines[0].startswith("error: "), (
        f"nnsynth {' '.join(args)}: exit {result.exit_code}\n{output}"
        + ("".join(__import__("traceback").format_exception(*result.exc_info))
           if result.exc_info and result.exit_code not in (0, 2) else ""))
    assert path in lines[0], lines[0]
    assert any(w in lines[0] for w in KIND_WORDS[hostile]), lines[0]   # and what it is
    print(f"{elapsed:.2f} s: {lines[0]}")   # shown with -rP
    ray = sys.modules.get("ray")
    assert ray_before or ray is None or not ray.is_initialized(), \
        f"Ray started before {option} was checked"


def test_every_input_is_swept():
    """A new input option needs a command line here; a new string option, a class."""
    assert unclassified() == []
    found = {(c, o) for c, o, _ in inputs()}
    assert sorted(found - set(LINES)) == []
    assert sorted(set(LINES) - found) == []


def test_a_resumed_search_digests_regular_files_only(hostile_dir):
    """A resumed search digests its teacher and --synth (``search.run.input_digest``) to
    tell whether they changed; a FIFO there was opened to read and waited for a writer."""
    from search.run import SearchConfig, input_digest
    fifo = str(hostile_dir / NAMES["fifo"])
    for teacher, data in ((fifo, fifo), ("/dev/zero", str(hostile_dir / NAMES["folder"]))):
        config = SearchConfig(dataset="iris", teacher=teacher, data=data)
        digest, _ = bounded(lambda: input_digest(config), hostile_dir / NAMES["fifo"],
                            "input_digest")
        assert len(digest) == 16
