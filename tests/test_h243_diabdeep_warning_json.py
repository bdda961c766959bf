"""``nnsynth diabdeep --json`` carries every warning it printed on stderr.

--steps 11 on basicmotions (windows of 100 samples: 10 steps of 10) printed 'steps 11:
windows of 100 samples are read in 10 steps of 10 samples', and neuron_growth with
seed_units 1 'no unit will grow', on stderr; the JSON's ``warning`` held only the mixed
thread counts of a resumed run.  It now joins them all."""
import json

from tests._cli import json_result, run

TINY = {"server_hidden": [8], "edge_hidden": 4, "gate_hidden": 2, "growth_rounds": 1,
        "growth_batches": 1, "prune_steps": 1, "retrain_epochs": 1, "latency_repeats": 1,
        "final_epochs": 1, "neuron_growth": 1, "seed_units": 1.0}


def test_the_json_has_the_steps_and_growth_warnings():
    res = json_result(run(["-q", "diabdeep", "--dataset", "basicmotions", "--steps", "11",
                           "--epochs", "1", "--baselines", "none", "--options",
                           json.dumps(TINY), "--json"]))
    assert res["steps"] == 10
    assert "steps 11: windows of 100 samples are read in 10 steps of 10 samples" in res["warning"]
    assert "no unit will grow" in res["warning"]
