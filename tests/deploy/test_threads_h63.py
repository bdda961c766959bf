"""``--threads N`` of ``nnsynth diabdeep`` and ``nnsynth grow-prune``: torch runs the command's
work on N intra-op threads (recurrent training on a loaded machine was 14x slower at torch's
default than at 1), the caller's count is given back after, the JSON result records the
count used, and a value outside [1, 4 x CPUs] is a one-line error with exit status 2."""
import json
import os

import pytest
import torch
from click.testing import CliRunner

from deploy.cli.main import cli

DIABDEEP = ["diabdeep", "--dataset", "basicmotions", "--baselines", "none"]
GROW_PRUNE = ["grow-prune", "--dataset", "digits", "--model", "mlp_small"]


def _other_count() -> int:
    """A thread count other than the current one (within [1, 4 x CPUs])."""
    return 2 if torch.get_num_threads() == 1 else 1


@pytest.fixture
def seen(monkeypatch):
    """Replace the library call of each command by one that records torch's thread count."""
    counts = []

    def run_diabdeep(config, **kw):
        counts.append(torch.get_num_threads())
        return {"dataset": config.dataset, "rows": [], "histories": {}, "config": {}}

    def grow_prune_checkpoint(dataset, model_spec, out, schedule, **kw):
        counts.append(torch.get_num_threads())
        # the real one records the count it is given in its result (h295)
        return {"history": [], "checkpoint": str(out), "threads": kw["threads"]}

    import synth.diabdeep
    import synth.workflows
    monkeypatch.setattr(synth.diabdeep, "run_diabdeep", run_diabdeep)
    monkeypatch.setattr(synth.workflows, "grow_prune_checkpoint", grow_prune_checkpoint)
    return counts


@pytest.mark.parametrize("args", [DIABDEEP, GROW_PRUNE])
def test_threads_reach_torch_and_are_restored(args, seen, tmp_path):
    before, n = torch.get_num_threads(), _other_count()
    out = ["--out", str(tmp_path / "m.pt")] if args is GROW_PRUNE else []
    r = CliRunner().invoke(cli, args + out + ["--threads", str(n), "--json"])
    assert r.exit_code == 0, r.output
    assert seen == [n]                                   # inside the run
    assert torch.get_num_threads() == before             # given back after
    assert json.loads(r.output.strip().splitlines()[-1])["threads"] == n


@pytest.mark.parametrize("args", [DIABDEEP, GROW_PRUNE])
def test_threads_default_leaves_torch_alone(args, seen, tmp_path):
    before = torch.get_num_threads()
    out = ["--out", str(tmp_path / "m.pt")] if args is GROW_PRUNE else []
    r = CliRunner().invoke(cli, args + out + ["--json"])
    assert r.exit_code == 0, r.output
    assert seen == [before] and torch.get_num_threads() == before
    assert json.loads(r.output.strip().splitlines()[-1])["threads"] == before


@pytest.mark.parametrize("args", [DIABDEEP, GROW_PRUNE])
@pytest.mark.parametrize("value", ["0", "-1", str((os.cpu_count() or 1) * 4 + 1), "1.5", "x"])
def test_bad_threads_is_one_line_exit_2(args, value, seen, tmp_path):
    out = ["--out", str(tmp_path / "m.pt")] if args is GROW_PRUNE else []
    r = CliRunner().invoke(cli, args + out + ["--threads", value])
    assert r.exit_code == 2, r.output
    lines = r.output.strip().splitlines()
    assert len(lines) == 1 and "--threads" in lines[0] and "Traceback" not in r.output, r.output
    assert "No such option" not in lines[0]              # the option exists: its value is refused
    assert seen == []                                    # before any work


def test_threads_upper_bound_is_accepted(seen):
    r = CliRunner().invoke(cli, DIABDEEP + ["--threads", str((os.cpu_count() or 1) * 4)])
    assert r.exit_code == 0, r.output
