"""``nnsynth search --grow-prune [--schedule S]``: the search the papers describe, every trial
grown and pruned, from the command line (h305).  The library had it (``SearchConfig.
grow_prune``; the pipeline's ``search.options.grow_prune``) but ``nnsynth search`` had no
option for it ('No such option: --grow-prune').  The schedule is nnsynth grow-prune's recipe
under the fields --schedule sets (a JSON object or a YAML/JSON file), checked before any work
in one line naming the file (or option) and the field; the search records it in
search_config.json and resumes with it; its progress lines give each trial's nonzero
parameters.  One module Ray for the one search; the rest needs none."""
import json

import pytest
from click.testing import CliRunner

from deploy.cli.main import cli
from search.results import trial_line
from search.run import SearchConfig, start_text
from synth.choices import RECIPE

SCHEDULE = {"prune_steps": 1, "retrain_epochs": 1, "retrain_min_steps": 0}


def _search(*args):
    return CliRunner().invoke(cli, ["search", "--dataset", "iris", "--space", "mlp",
                                    "--searcher", "random", *args])


@pytest.mark.parametrize("args, file_text, said", [
    (["--schedule", "{}"], None, "error: --schedule sets the grow-and-prune of the trials, "
                                 "which --grow-prune turns on: give --grow-prune too"),
    (["--grow-prune", "--schedule", "{f}"], "prune_steps: -1\n",
     "error: {f}: prune_steps must be in [0, 1000], got -1"),
    (["--grow-prune", "--schedule", "{f}"], "prune_stepz: 3\n",
     "error: {f}: unknown config key 'prune_stepz' for GrowPruneSchedule; known keys: "),
    (["--grow-prune", "--schedule", "{f}"], "- 3\n",
     "error: {f} must hold a mapping of GrowPruneSchedule fields"),
    (["--grow-prune", "--schedule", "{f}"], "seed: 3\n",
     "error: {f}: seed is the search's own (its --seed, which every trial's grow-and-prune "
     "takes); drop seed from it"),
    (["--grow-prune", "--schedule", '{"prune_fraction": 1.5}'], None,
     "error: --schedule: prune_fraction must be in (0, 1), got 1.5"),
    (["--grow-prune", "--schedule", '{"device": "cpu"}'], None,
     "error: --schedule: device is the search's own (its --device"),
])
def test_a_bad_schedule_is_one_line_before_any_work(tmp_path, args, file_text, said):
    f = tmp_path / "schedule.yaml"
    if file_text is not None:
        f.write_text(file_text)
    out = tmp_path / "s"
    r = _search("--trials", "1", *[a.replace("{f}", str(f)) for a in args], "--out", str(out))
    lines = r.output.strip().splitlines()
    assert r.exit_code == 2 and len(lines) == 1, r.output
    assert lines[0].startswith(said.replace("{f}", str(f))), lines[0]
    assert not out.exists()


def test_the_trial_line_gives_a_grown_and_pruned_trials_nonzero_parameters():
    row = {"spec": '{"family": "mlp", "hidden": [16]}', "accuracy": 1.0, "parameters": 1187,
           "nonzero_parameters": 301, "grow_pruned": True, "wall_seconds": 2.0}
    assert "  1,187 params (301 nonzero)  2.0 s  " in trial_line(row, 1, 2, None)
    dense = {**row, "grow_pruned": False}   # a dense model's zeros are not cut connections
    assert "  1,187 params  2.0 s  " in trial_line(dense, 1, 2, None)


def test_the_first_line_says_the_trials_grow_and_prune(tmp_path):
    line = start_text(SearchConfig(dataset="iris", space="mlp", trials=2,
                                   grow_prune={"prune_steps": 3}), tmp_path, False)
    assert ("2 at a time, each trial grown and pruned (nnsynth grow-prune's recipe, "
            "prune_steps 3); results in") in line, line
    assert "grown" not in start_text(SearchConfig(dataset="iris", space="mlp"), tmp_path, False)


def test_search_grow_prune_runs_records_and_resumes_its_schedule(ray_local, tmp_path):
    out = tmp_path / "s"
    r = _search("--trials", "2", "--concurrency", "2", "--epochs", "1", "--min-steps", "0",
                "--no-hardware", "--device", "cpu", "--grow-prune", "--schedule",
                json.dumps(SCHEDULE), "--out", str(out))
    assert r.exit_code == 0, r.output[-3000:]
    saved = json.loads((out / "search_config.json").read_text())
    assert saved["grow_prune"] == {**RECIPE, **SCHEDULE}
    assert "each trial grown and pruned (nnsynth grow-prune's recipe, prune_steps 1, " \
           "retrain_epochs 1, retrain_min_steps 0)" in r.stderr, r.stderr[-3000:]
    lines = [line for line in r.stderr.splitlines() if line.startswith("trial ")]
    assert len(lines) == 2 and all(" nonzero)  " in line for line in lines), r.stderr[-3000:]
    assert " nonzero, latency not priced of the grown-and-pruned " in r.stdout, r.stdout
    # resumed (here finished: its summary again) with the settings it began with
    r = CliRunner().invoke(cli, ["search", "--resume", str(out), "--json"])
    assert r.exit_code == 0, r.output[-3000:]
    summary = json.loads(r.stdout)
    assert summary["grow_pruned"] is True and summary["constraints_counted"] == "nonzero"
    assert summary["pareto_x"] == "nonzero_flops" and summary["best_nonzero_parameters"] > 0
    assert json.loads((out / "search_config.json").read_text()) == saved
