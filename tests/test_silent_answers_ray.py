"""Figures the Ray-based commands write (ledger.json, results, summaries) that were wrong,
inconsistent, or not strict JSON.  Each test fails on the code before its fix; none starts Ray."""
import json

import pytest


def _strict(text: str):
    """Parse as strict JSON: ``NaN``/``Infinity`` (Python's json extension) are refused."""
    def refuse(name):
        raise ValueError(f"not JSON: {name}")
    return json.loads(text, parse_constant=refuse)


class NoRay(Exception):
    """Raised where Ray would start (``no_ray``): the tests stop there."""


@pytest.fixture
def no_ray(monkeypatch):
    """``cluster.connect.connect`` raises ``NoRay``: a command runs up to its Ray work."""
    import importlib

    def refuse(*a, **k):
        raise NoRay
    monkeypatch.setattr(importlib.import_module("cluster.connect"), "connect", refuse)


def _tiny_teacher(path, digits):
    """The tiny BN teacher, untrained (seeded), saved at ``path``; returns the path."""
    import torch
    from synth.checkpoint import save_checkpoint
    from synth.models import build
    from tests.synth._tiny import TINY_SPEC
    torch.manual_seed(0)
    return save_checkpoint(path, build(TINY_SPEC, digits.input_shape, digits.num_classes),
                           dataset=digits.metadata())


def test_ledger_writes_an_unmeasured_figure_as_null(tmp_path):
    # nnsynth run's refine history has test_accuracy NaN (grow-and-prune measures no test
    # split data-free); ledger.json held the bare token NaN, which jq and most readers refuse
    from deploy.ledger import Ledger
    ledger = Ledger(tmp_path)
    ledger.record("refine", "f", {"history": [{"step": 0, "test_accuracy": float("nan")}],
                                  "ratio": float("inf")}, seconds=1.0)
    data = _strict((tmp_path / "ledger.json").read_text())
    assert data["stages"]["refine"]["outputs"]["history"][0]["test_accuracy"] is None
    assert data["stages"]["refine"]["outputs"]["ratio"] is None
    assert Ledger(tmp_path).done("refine", "f")["outputs"]["history"][0]["step"] == 0


def test_write_json_atomic_keeps_arrays_and_scalars(tmp_path):
    import numpy as np
    from synth.files import write_json_atomic
    path = write_json_atomic(tmp_path / "r.json", {"a": np.float32(0.5), "b": np.arange(3),
                                                   "c": float("nan"), 1: (2, 3)})
    assert _strict(path.read_text()) == {"a": 0.5, "b": [0, 1, 2], "c": None, "1": [2, 3]}


def test_resumed_synthesis_reports_the_fidelity_of_the_whole_set(digits, tmp_path, no_ray):
    # run_synthesis's fidelity counted only the shards written by this call: a resumed job
    # (nnsynth run's synthesis stage after a kill) reported None with every shard kept, or
    # the figure of the last few shards as the set's
    import torch
    from cluster.pairs import plan_shards, run_synthesis, shard_path
    from synth.checkpoint import load_model
    from synth.data import write_parquet
    from synth.inversion import InversionConfig

    path = _tiny_teacher(tmp_path / "t.pt", digits)
    teacher = load_model(path).eval()
    config = InversionConfig.preset("mnist28", iterations=5, device="cpu")
    out = tmp_path / "set"
    with pytest.raises(NoRay):   # the job's manifest is written; no shard yet
        run_synthesis(path, out, 20, 1, config, shard_size=10)
    hits = 0
    for shard in plan_shards(20, digits.num_classes, 10, seed=0):   # an earlier run's shards
        x = torch.randn(len(shard["labels"]), *digits.input_shape)
        with torch.no_grad():
            predicted = teacher(x).argmax(1)
        y = torch.tensor(shard["labels"])
        y[::2] = predicted[::2]              # half of them hit for sure, the rest by chance
        hits += int((predicted == y).sum())
        write_parquet(shard_path(out, shard["index"]), x, y, digits.metadata())
    summary = run_synthesis(path, out, 20, 1, config, shard_size=10)
    assert summary["skipped"] == 2 and summary["written"] == 0
    assert summary["fidelity"] == hits / 20
    assert ("warning" in summary) == (hits / 20 < config.min_fidelity)


def _row(trial_id, accuracy, checkpoint, **more):
    return {"trial_id": trial_id, "spec": '{"family": "mlp", "hidden": [4]}',
            "accuracy": accuracy, "test_accuracy": 0.25, "parameters": 10,
            "nonzero_parameters": 10, "flops": 5, "nonzero_flops": 5, "epochs": 3,
            "wall_seconds": 1.0, "stopped_early": False, "checkpoint": checkpoint,
            "finished_at": 1.0, "device": "cpu", "selected_on": "real_val",
            "real_val_accuracy": accuracy, **more}


def test_search_best_is_a_finished_trial_not_one_asha_stopped(tmp_path):
    # nnsynth search --asha: a stopped trial's row holds an earlier epoch's accuracy and no
    # checkpoint, costs or test figure; ranked first, the summary copied best.pt from None
    from search.results import append_result
    from search.run import SearchConfig, summarize
    ckpt = tmp_path / "models" / "a.pt"
    ckpt.parent.mkdir()
    ckpt.write_bytes(b"model a")
    table = tmp_path / "results.parquet"
    append_result(table, _row("a", 0.5, str(ckpt), latency_ms=None))
    append_result(table, {"trial_id": "b", "spec": '{"family": "mlp", "hidden": [8]}',
                          "accuracy": 0.75, "epochs": 1, "stopped_early": True})
    summary = summarize(tmp_path, SearchConfig(dataset="digits", asha=True, hardware=False))
    assert summary["best_trial"] == "a" and summary["best_accuracy"] == 0.5
    assert (tmp_path / "best.pt").read_bytes() == b"model a"
    assert summary["best_latency_ms"] is None      # not measured: null, not NaN


def test_run_replaces_the_synthesized_set_of_changed_settings(digits, tmp_path, no_ray):
    # nnsynth run with synthesis.num_images changed said "re-running synthesis", then failed:
    # "<run>/synthetic holds shards of a different synthesis job ...; use a new --out
    # directory" (run has no --out); the run directory could not go on without a hand rm.
    # The stage owns synthetic/: the old job's files go, a same-settings job still resumes
    from types import SimpleNamespace
    import torch
    from deploy.run_config import RunConfig, read_yaml
    from deploy.stages import run_synthesis_stage
    from synth.data import write_parquet
    from synth.errors import UserError
    from synth.inversion import InversionConfig
    from cluster.pairs import run_synthesis

    run = tmp_path / "run"
    run.mkdir()
    _tiny_teacher(run / "teacher.pt", digits)
    values = read_yaml("tests/deploy/configs/digits_search.yaml")

    def stage(num_images):
        values["synthesis"]["num_images"] = num_images
        ctx = SimpleNamespace(config=RunConfig.from_dict(values), progress=False,
                              path=lambda name: run / name, connect_ray=lambda: None,
                              output=lambda s, k="checkpoint": run / "teacher.pt")
        with pytest.raises(NoRay):    # up to the point where the pairs would start
            run_synthesis_stage(ctx)

    stage(120)                                       # shard_size 60: two shards
    for i in range(2):                               # as the first run left them
        write_parquet(run / "synthetic" / f"shard-{i:05d}.parquet",
                      torch.zeros(60, *digits.input_shape), torch.arange(60) % 10,
                      digits.metadata())
    stage(100)                                       # changed: the old set is gone
    assert not list((run / "synthetic").glob("shard-*.parquet"))
    import json
    assert json.loads((run / "synthetic" / "job.json").read_text())["num_images"] == 100
    # a standalone run_synthesis (nnsynth invert --out) still refuses another job's
    # directory once that job has written a shard (one that wrote none is replaced: h180)
    write_parquet(run / "synthetic" / "shard-00000.parquet",
                  torch.zeros(60, *digits.input_shape), torch.arange(60) % 10,
                  digits.metadata())
    config = InversionConfig.preset("mnist28", iterations=5, device="cpu")
    with pytest.raises(UserError, match="different synthesis job"):
        run_synthesis(run / "teacher.pt", run / "synthetic", 20, 1, config)


def test_search_does_not_resume_on_a_rewritten_synthesized_set(digits, tmp_path, no_ray):
    # nnsynth run after a changed synthesis section re-ran the search stage, which "resumed"
    # the finished search of the old set (its config names the set by path only): the old
    # trials, results.parquet and best model came back as the new set's, silently
    import torch
    from search.run import SearchConfig, resumable, run_search
    from synth.data import write_parquet
    from synth.errors import UserError

    teacher = _tiny_teacher(tmp_path / "t.pt", digits)
    data = tmp_path / "synthetic"
    data.mkdir()
    write_parquet(data / "shard-00000.parquet", torch.zeros(40, *digits.input_shape),
                  torch.arange(40) % 10, digits.metadata())
    config = SearchConfig(dataset="digits", teacher=str(teacher), data=str(data), trials=2,
                          n_initial=2, hardware=False)
    out = tmp_path / "search"
    with pytest.raises(NoRay):              # the search's files are written, then Ray starts
        run_search(config, out, progress=False)
    assert resumable(out, config)           # interrupted, same inputs: resume
    write_parquet(data / "shard-00000.parquet", torch.ones(40, *digits.input_shape),
                  torch.arange(40) % 10, digits.metadata())
    assert not resumable(out, config)       # the set was synthesized again: start over
    with pytest.raises(UserError, match="changed since"):
        run_search(None, out, resume=True, progress=False)
