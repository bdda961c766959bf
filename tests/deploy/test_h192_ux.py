"""deploy/cluster user experience (helper 192).

1. A command refused because it cannot join the cluster (``--address`` where nothing
   listens) leaves nothing new behind: ``nnsynth sweep SW --address 127.0.0.1:1`` left the
   sweep directory it had made (marker and lock, no run), ``nnsynth run --run-dir R`` left R
   with config.json and a ledger of no stage (and had first deleted the outputs of the stages
   it was about to run again), ``nnsynth search --out O`` left O with the search's
   bookkeeping and its record in the state directory, ``nnsynth invert --out I`` an empty I.  A directory that existed
   before the call, or one holding work, stays as it was.  The address is now probed before
   any directory is made (``cluster.connect.check_start``; a ``ray://HOST:PORT`` no Ray
   Client server listens at too: ``ray.init`` waited 50 s for it), and a join that fails
   after the probe (``connect`` made to fail here) takes away what the call made
   (``synth.files.working_dir``).  No Ray starts.
2. ``nnsynth sweep --check`` showed nothing while it checked (seconds a run: each run's
   searcher is asked for a first proposal); a bar of the runs checked is on stderr now, and
   nothing under ``-q``.
3. The refusal of a teacher without BatchNorm by the commands that invert it said only
   "(train a model with bn=true)".  It now names what that command can do with that teacher:
   prune without inputs (``--importance magnitude --kd-steps 0``) or on inputs given with
   ``--synth DIR``; continual ``--method lwf`` / ``finetune``; distill on ``--synth DIR``
   instead of ``--data-free``; invert the teacher's spec with ``"bn": true`` to train.  A
   Parquet table of one's own inputs is offered only for a teacher of feature vectors (a
   table of images is refused by shape).  Each option named is an option of that command,
   and works with such a teacher (run below).  prune of a family it cannot take (lstm) says
   so before the inversion's refusal (which offered --synth, refused next).
"""
import os
import re
import socket
from pathlib import Path

import pytest

from tests._cli import one_error_line, run

# a teacher-only run of digits (its data check is quick): no Ray is needed to refuse it
TEACHER_ONLY = ("name: teacher-only\nteacher: {dataset: digits, model: mlp_small, epochs: 1, "
                "cache: ''}\nsynthesis: {enabled: false}\nsearch: {enabled: false}\n"
                "refine: {enabled: false}\nexport: {onnx: false, price: false}\n")


@pytest.fixture
def config(tmp_path) -> Path:
    path = tmp_path / "teacher-only.yaml"
    path.write_text(TEACHER_ONLY)
    return path


def _closed_port() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"127.0.0.1:{s.getsockname()[1]}"   # nothing listens there once it is closed


def _tree(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


def _refused(args) -> str:
    line = one_error_line(run(["-q", *args, "--address", _closed_port()]))
    assert "cluster" in line, line
    return line


def _sweep_file(tmp_path, root, name="sw.yaml") -> Path:
    sweep = tmp_path / name
    sweep.write_text(f"name: swp\nbase: teacher-only.yaml\nroot: {root}\ngrid:\n"
                     f"  seed: [0]\n")
    return sweep


@pytest.mark.timeout(120)
def test_a_refused_sweep_leaves_no_directory_it_made(tmp_path, config):
    sweep = _sweep_file(tmp_path, tmp_path / "new" / "sweeps")
    before = _tree(tmp_path)
    _refused(["sweep", str(sweep)])
    assert _tree(tmp_path) == before           # neither new/, new/sweeps nor new/sweeps/swp


@pytest.mark.timeout(120)
def test_a_refused_sweep_leaves_the_users_empty_folder_as_it_was(tmp_path, config):
    (tmp_path / "mine" / "swp").mkdir(parents=True)     # the user's, empty
    sweep = _sweep_file(tmp_path, tmp_path / "mine")
    before = _tree(tmp_path)
    _refused(["sweep", str(sweep)])
    assert _tree(tmp_path) == before           # kept, and no marker or lock left in it


@pytest.mark.timeout(120)
def test_a_refused_run_leaves_no_run_directory(tmp_path, config):
    before = _tree(tmp_path)
    _refused(["run", str(config), "--run-dir", str(tmp_path / "runs" / "r1")])
    assert _tree(tmp_path) == before


@pytest.mark.timeout(120)
def test_a_refused_run_keeps_a_run_directory_holding_work(tmp_path, config):
    from synth.files import claim_dir
    run_dir = claim_dir(tmp_path / "r2")
    (run_dir / "teacher.pt").write_bytes(b"an earlier run's teacher")
    before = {p: p.read_bytes() for p in run_dir.iterdir() if p.is_file()}
    _refused(["run", str(config), "--run-dir", str(run_dir)])
    assert run_dir.is_dir() and (run_dir / "teacher.pt").read_bytes() == b"an earlier run's teacher"
    assert set(before) <= set(run_dir.iterdir())


@pytest.mark.timeout(120)
def test_a_refused_search_leaves_no_directory_and_no_record(tmp_path):
    from search.trust import state_dir
    records = state_dir() / "searches"
    known = set(os.listdir(records)) if records.is_dir() else set()
    before = _tree(tmp_path)
    _refused(["search", "--dataset", "digits", "--trials", "1", "--epochs", "1",
              "--no-hardware", "--out", str(tmp_path / "s" / "out")])
    assert _tree(tmp_path) == before
    assert (set(os.listdir(records)) if records.is_dir() else set()) == known


def test_a_refused_invert_leaves_no_output_folder(tmp_path):
    from synth.checkpoint import save_checkpoint
    from synth.data import load_dataset
    from synth.models import build
    data = load_dataset("wine")
    teacher = save_checkpoint(tmp_path / "t.pt", build("lenet300_100_bn", data.input_shape,
                                                       data.num_classes),
                              dataset=data.metadata())
    before = _tree(tmp_path)
    _refused(["invert", "--teacher", str(teacher), "--num-images", "9", "--out",
              str(tmp_path / "inv" / "a")])
    assert _tree(tmp_path) == before             # was: an empty inv/a


@pytest.mark.timeout(60)
def test_a_ray_client_address_nothing_listens_at_is_refused_at_once():
    import time

    import ray
    from cluster.connect import connect
    from synth.errors import UserError
    address = "ray://" + _closed_port()
    start = time.perf_counter()
    with pytest.raises(UserError) as e:
        connect(address)
    assert time.perf_counter() - start < 10          # Ray's own wait was 50 s
    message = str(e.value)
    assert message.startswith(f"cannot join the Ray cluster at '{address}': nothing accepts a "
                              f"connection at port"), message
    assert "Ray Client server" in message and "\n" not in message
    assert not ray.is_initialized()


@pytest.fixture
def join_fails(monkeypatch):
    """``cluster.connect.connect`` refuses after the probe passed (as a version mismatch or
    an authentication refusal does): every command's own connect call."""
    import importlib

    from synth.errors import UserError
    module = importlib.import_module("cluster.connect")   # cluster.connect is also a function

    def refuse(*args, **kwargs):
        raise UserError("cannot join the Ray cluster at 'x': refused after the probe")
    monkeypatch.setattr(module, "connect", refuse)
    monkeypatch.setattr(module, "check_start", lambda *a, **k: None, raising=False)


@pytest.mark.timeout(120)
def test_a_join_failing_after_the_probe_leaves_nothing_new(tmp_path, config, join_fails):
    from search.trust import state_dir
    records = state_dir() / "searches"
    known = set(os.listdir(records)) if records.is_dir() else set()
    (tmp_path / "mine" / "swp").mkdir(parents=True)    # the user's empty folder: kept
    sweeps = [_sweep_file(tmp_path, tmp_path / "new" / "sweeps", "new.yaml"),
              _sweep_file(tmp_path, tmp_path / "mine", "mine.yaml")]
    before = _tree(tmp_path)
    for args in (["sweep", str(sweeps[0])], ["sweep", str(sweeps[1])],
                 ["run", str(config), "--run-dir", str(tmp_path / "runs" / "r1")],
                 ["search", "--dataset", "digits", "--trials", "1", "--epochs", "1",
                  "--no-hardware", "--out", str(tmp_path / "s" / "out")]):
        line = one_error_line(run(["-q", *args]))
        assert "refused after the probe" in line, (args, line)
        assert _tree(tmp_path) == before, args
    assert (set(os.listdir(records)) if records.is_dir() else set()) == known


def test_working_dir_keeps_what_it_did_not_make(tmp_path):
    from synth.errors import UserError
    from synth.files import OWNER_MARKER, claim_dir, working_dir
    with pytest.raises(UserError):               # refused before any work: undone
        with working_dir(tmp_path / "a" / "b", scratch=("config.json",)) as d:
            (d / "config.json").write_text("{}")
            raise UserError("refused")
    assert not (tmp_path / "a").exists()
    with pytest.raises(KeyboardInterrupt):       # interrupted: kept, to resume
        with working_dir(tmp_path / "i", scratch=("config.json",)) as d:
            (d / "config.json").write_text("{}")
            raise KeyboardInterrupt
    assert (tmp_path / "i" / "config.json").is_file()
    with pytest.raises(UserError):               # work kept: the directory stays
        with working_dir(tmp_path / "w", scratch=("config.json",)) as d:
            (d / "teacher.pt").write_text("work")
            raise UserError("refused")
    assert (tmp_path / "w" / "teacher.pt").is_file() and (tmp_path / "w" / OWNER_MARKER).is_file()
    earlier = claim_dir(tmp_path / "earlier")    # nnsynth's before the call (to resume): kept
    with pytest.raises(UserError):
        with working_dir(earlier):
            raise UserError("refused")
    assert (earlier / OWNER_MARKER).is_file()
    with working_dir(tmp_path / "ok") as d:      # a call that succeeds keeps its directory
        pass
    assert (d / OWNER_MARKER).is_file()


def test_sweep_check_shows_its_progress_on_stderr_unless_quiet(tmp_path, config, monkeypatch):
    """The bar is drawn where stderr is a terminal (tqdm's rule: piped or captured, as
    CliRunner captures it, the error lines are stderr's only lines); the command asks for it
    unless -q."""
    import io
    import sys

    import deploy.sweep
    from deploy.sweep import data_problems, load_sweep

    class Terminal(io.StringIO):
        def isatty(self):
            return True
    monkeypatch.delenv("TQDM_DISABLE", raising=False)    # an earlier -q in this process
    sweep = tmp_path / "sw.yaml"
    sweep.write_text("name: swp\nbase: teacher-only.yaml\ngrid:\n  seed: [0, 1]\n")
    runs = load_sweep(sweep)[1]
    for progress in (True, False):
        monkeypatch.setattr(sys, "stderr", Terminal())
        assert data_problems(runs, progress=progress) == []
        drawn = sys.stderr.getvalue()
        assert ("check:" in drawn and "/2 [" in drawn) == progress, drawn   # tqdm's bar
    monkeypatch.undo()
    asked, real = [], deploy.sweep.data_problems
    monkeypatch.setattr(deploy.sweep, "data_problems",
                        lambda *a, progress=False, **k: asked.append(progress) or real(*a, **k))
    for flags in ([], ["-q"]):
        result = run([*flags, "sweep", str(sweep), "--check"])
        assert result.exit_code == 0 and result.output.split() == ["00-seed=0", "01-seed=1"], \
            result.output
    assert asked == [True, False]
    monkeypatch.delenv("TQDM_DISABLE", raising=False)


@pytest.fixture(scope="module")
def no_bn(tmp_path_factory) -> dict:
    """Untrained mlp_small checkpoints without BatchNorm (their accuracy does not matter):
    wine (feature vectors), wine[0,1] (for continual), digits (8x8 images), and a Parquet
    table of wine's inputs, and of its classes 0 and 1."""
    import pandas as pd
    import torch

    from synth.checkpoint import save_checkpoint
    from synth.data import load_dataset
    from synth.models import build
    folder = tmp_path_factory.mktemp("no_bn")
    out = {}
    for key, name in (("wine", "wine"), ("wine01", "wine[0,1]"), ("digits", "digits")):
        data = load_dataset(name)
        torch.manual_seed(0)
        out[key] = str(save_checkpoint(folder / f"{key}.pt", build(
            "mlp_small", data.input_shape, data.num_classes), dataset=data.metadata()))
    data = load_dataset("wine")
    table = pd.DataFrame(torch.cat([data.x_train, data.x_val]).numpy() * data.metadata()["std"]
                         + data.metadata()["mean"], columns=[f"f{i}" for i in range(13)])
    table["label"] = torch.cat([data.y_train, data.y_val]).numpy()
    for key, rows in (("table", table), ("table01", table[table.label < 2])):
        (folder / key).mkdir()
        rows.to_parquet(folder / key / "inputs.parquet")
        out[key] = str(folder / key)
    out["folder"] = folder
    return out


def _advice(command: str, args: list[str]) -> str:
    """The refusal's advice (after 'running statistics; '); every option it names is one of
    ``command``'s (or of the command it names: nnsynth train --model)."""
    from deploy.cli.main import cli
    options = {o for p in cli.commands[command].params for o in p.opts}
    device = ["--device", "cpu"] if "--device" in options else []
    line = one_error_line(run(["-q", command, *args, *device]))
    head = "teacher has no BatchNorm layers: DeepInversion needs their running statistics; "
    assert head in line, line
    advice = line.split(head, 1)[1]
    own = advice
    for other, option in re.findall(r"nnsynth ([a-z-]+) (--[a-z][a-z-]*)", advice):
        assert option in {o for p in cli.commands[other].params for o in p.opts}, advice
        own = own.replace(f"nnsynth {other} {option}", "")   # another command's option
    named = set(re.findall(r"(--[a-z][a-z-]*)", own))
    assert named <= options, (command, named - options)
    return advice


def test_each_refusal_names_what_works_with_that_teacher(no_bn):
    out = str(no_bn["folder"] / "out.pt")
    assert _advice("prune", ["--model", no_bn["wine"], "--ratio", "0.5", "--out", out]) == (
        "prune without inputs (--importance magnitude --kd-steps 0), or give inputs with "
        "--synth DIR (a Parquet table of your own inputs, or a set nnsynth invert made from a "
        "teacher with BatchNorm of the same data)")
    # images: no table (its rows are feature vectors); magnitude given: only --kd-steps 0
    assert _advice("prune", ["--model", no_bn["digits"], "--ratio", "0.5", "--importance",
                             "magnitude", "--out", out]) == (
        "prune without inputs (--kd-steps 0), or give inputs with --synth DIR (a set nnsynth "
        "invert made from a teacher with BatchNorm of the same data)")
    assert _advice("continual", ["--model", no_bn["wine01"], "--new-dataset", "wine",
                                 "--new-classes", "2", "--out", out]).startswith(
        "--method lwf or --method finetune need no inputs of the old classes, or give inputs "
        "of the old classes with --synth DIR (a Parquet table of your own inputs, or ")
    assert _advice("distill", ["--teacher", no_bn["digits"], "--student", "mlp_small",
                               "--data-free", "--out", out]).startswith(
        "drop --data-free and give inputs with --synth DIR (a set nnsynth invert made")
    assert _advice("invert", ["--teacher", no_bn["wine"], "--num-images", "8", "--out",
                              str(no_bn["folder"] / "inv")]) == (
        "train its spec with \"bn\": true to invert (nnsynth train --model '{\"family\": "
        "\"mlp\", \"hidden\": [64, 32], \"bn\": true, \"dropout\": 0.0}')")
    assert not (no_bn["folder"] / "out.pt").exists() and not (no_bn["folder"] / "inv").exists()


@pytest.mark.timeout(120)
def test_the_options_named_work_with_that_teacher(no_bn):
    from tests._cli import json_result
    out = str(no_bn["folder"] / "ok.pt")
    common = ["--out", out, "--device", "cpu", "--json"]
    for args in (["prune", "--model", no_bn["wine"], "--ratio", "0.5", "--importance",
                  "magnitude", "--kd-steps", "0"],
                 ["prune", "--model", no_bn["wine"], "--ratio", "0.5", "--synth",
                  no_bn["table"], "--kd-steps", "5"],
                 ["continual", "--model", no_bn["wine01"], "--new-dataset", "wine",
                  "--new-classes", "2", "--method", "lwf", "--epochs", "1", "--min-steps", "0"],
                 ["continual", "--model", no_bn["wine01"], "--new-dataset", "wine",
                  "--new-classes", "2", "--synth", no_bn["table01"], "--epochs", "1",
                  "--min-steps", "0"]):
        assert json_result(run(["-q", *args, *common]))["checkpoint"] == out, args
        os.remove(out)
    # distill --synth: the command trains on Ray Train workers; the same call in-process
    from synth.distill import DistillConfig
    from synth.workflows import distill_checkpoint
    result = distill_checkpoint(no_bn["wine"], "mlp_small", out, DistillConfig(
        epochs=1, min_steps=0, device="cpu", progress=False), synth_dir=no_bn["table"])
    assert result["checkpoint"] == out


def test_prune_names_a_family_it_cannot_take_before_the_inversion(tmp_path):
    from synth.checkpoint import save_checkpoint
    from synth.models import build
    meta = {"name": "seq", "input_shape": [2, 10], "num_classes": 3, "mean": [0.0, 0.0],
            "std": [1.0, 1.0], "split_seed": 0}
    path = save_checkpoint(tmp_path / "lstm.pt", build("lstm32", (2, 10), 3), dataset=meta)
    line = one_error_line(run(["-q", "prune", "--model", str(path), "--ratio", "0.5", "--out",
                               str(tmp_path / "p.pt"), "--device", "cpu"]))
    assert "structured pruning supports the families" in line and "'lstm'" in line, line
