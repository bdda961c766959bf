"""Probe 7b (helper 70): hwsim on accelerator configurations and layers the authors did not
use, checked against figures computed here independently."""
import math
import random

import pytest
import torch
from torch import nn

from hwsim import price
from hwsim.accel import DATAFLOWS, AcceleratorConfig, evaluate, gemm_compute_cycles
from hwsim.workload import extract
from synth.errors import UserError


def test_one_pe_does_one_mac_a_cycle_on_every_dataflow():
    """A 1x1 array on os took 14 cycles for Linear(5, 3)'s 15 MACs (utilization 1.07): the
    folds of K cycles less SCALE-Sim's 1.  One PE needs exactly T*K*N cycles there."""
    for df in DATAFLOWS:
        r = evaluate(extract(nn.Linear(5, 3), (5,)), AcceleratorConfig(rows=1, cols=1,
                                                                       dataflow=df))
        assert r["compute_cycles"] >= 15, df
        assert r["utilization"] <= 1.0, df
    r = evaluate(extract(nn.Linear(5, 3), (5,)), AcceleratorConfig(rows=1, cols=1,
                                                                   dataflow="os"))
    assert r["compute_cycles"] == 15 and r["utilization"] == pytest.approx(1.0)
    assert gemm_compute_cycles(1, 1, 1, 1, 1, 1) == 1          # one MAC: one cycle, not 0


def test_cycles_never_beat_the_mac_bound_on_odd_arrays():
    """Independent bound: R*C PEs do at most R*C MACs a cycle, on every array shape."""
    rng = random.Random(0)
    for _ in range(400):
        t, k, n = (rng.randint(1, 300) for _ in range(3))
        r, c = rng.choice([1, 2, 3, 7, 16, 256]), rng.choice([1, 2, 5, 16, 256])
        for d in range(3):
            cyc = float(gemm_compute_cycles(t, k, n, r, c, d))
            assert cyc >= math.ceil(t * k * n / (r * c)), (t, k, n, r, c, d)
    # and SCALE-Sim's closed form is unchanged wherever the array has two PEs or more
    t, k, n, r, c = 25, 45, 12, 1, 2
    assert gemm_compute_cycles(t, k, n, r, c, 1) == math.ceil(t / r) * math.ceil(n / c) * (
        r + c + k - 2) - 1


class _Pair(nn.Module):
    def __init__(self, bilinear):
        super().__init__()
        self.bilinear = bilinear

    def forward(self, x):
        return self.bilinear(x, x)


@pytest.mark.parametrize("layer, shape", [
    # Conv3d, ConvTranspose2d and GRU are priced now (tests/hwsim/test_layers_h81.py)
    (nn.Sequential(nn.Bilinear(4, 4, 2)), None),
    # an Upsample was here: priced since h96 (tests/hwsim/test_layers_priced_h96.py); a
    # TransformerEncoderLayer and an LPPool2d since h104
    # (tests/hwsim/test_h104_attention_layers.py)
])
def test_a_layer_hwsim_cannot_price_is_refused_not_free(layer, shape):
    """A Conv1d before a Linear was priced as the Linear alone (128 of 704 MACs): the
    conv's work silently left out of latency and energy."""
    if shape is None:   # Bilinear takes two inputs
        layer, shape = nn.Sequential(nn.Linear(4, 4), _Pair(layer[0])), (4,)
    with pytest.raises(UserError, match="cannot price layer") as e:
        price(layer, shape)
    assert "\n" not in str(e.value)


def test_masked_and_embedding_models_still_price():
    from torch.nn.utils import parametrize

    class Mask(nn.Module):
        def forward(self, w):
            return w * (w > 0)
    m = nn.Sequential(nn.Linear(4, 3))
    parametrize.register_parametrization(m[0], "weight", Mask())
    assert [o.type for o in extract(m, (4,))] == ["linear"]
    m = nn.Sequential(nn.Embedding(10, 4), nn.Flatten(), nn.Linear(12, 2))
    ops = extract(m, (3,), inputs=torch.randint(0, 10, (1, 3)))
    assert [o.type for o in ops] == ["embedding", "linear"]   # a lookup: priced since h86


def test_a_json_spec_takes_its_shape_after_the_brace():
    """'hwsim dse --model' says 'variant/JSON spec with optional @CxHxW'; a JSON spec with
    one was 'model spec is not valid JSON: Extra data'.  The MACs are counted here."""
    import json
    from click.testing import CliRunner
    from deploy.cli.main import cli
    spec = '{"family": "mlp", "hidden": [3]}'
    r = CliRunner().invoke(cli, ["hwsim", "eval", "--spec", spec + "@1x2x5", "--num-classes",
                                 "2", "--json"])
    assert r.exit_code == 0, r.output
    out = json.loads(r.output.strip().splitlines()[-1])
    assert out["input_shape"] == [1, 2, 5] and out["macs"] == 10 * 3 + 3 * 2
    r = CliRunner().invoke(cli, ["hwsim", "dse", "--model", spec + "@1x2x5", "--model",
                                 spec + "@1x4x4", "--budget", "8", "--json"])
    assert r.exit_code == 0, r.output
    assert len(json.loads(r.output.strip().splitlines()[-1])["networks"]) == 2


@pytest.mark.parametrize("field, values", [("rows", [4, 4]), ("dataflows", ["os", "os"]),
                                           ("ifmap_kb", [8, 8.0])])
def test_a_grid_value_listed_twice_is_refused(field, values):
    """rows: [4, 4] with dataflows: [os, os] evaluated 192 configurations of 48 distinct
    ones and listed one configuration four times as the Pareto set."""
    from hwsim.dse import DseConfig
    from synth.errors import ConfigError
    with pytest.raises(ConfigError, match=f"{field} lists .* twice"):
        DseConfig.from_dict({field: values}, where="dse")


def test_dse_pareto_and_best_against_brute_force_on_odd_arrays():
    """Every configuration priced here one by one: the Pareto set is exactly the
    non-dominated distinct points and the best is the fastest (geomean) within the area."""
    import numpy as np
    from hwsim import build_priced
    from hwsim.dse import DseConfig, candidates, explore
    w = {"a": extract(build_priced("lenet5_bn", (1, 28, 28), 10), (1, 28, 28)),
         "b": extract(build_priced("lstm32", (3, 20), 4), (3, 20))}
    cfg = DseConfig(rows=(1, 2, 256), cols=(1, 5, 256), ifmap_kb=(0.001, 64.0),
                    filter_kb=(0.001, 1e4), ofmap_kb=(0.001,),
                    base=(("dram_gbps", 0.5), ("precision_bits", 4)), area_budget_mm2=50)
    res = explore(w, cfg)
    cands = candidates(cfg)
    lat = np.array([[evaluate(w[n], c)["latency_ms"] for c in cands] for n in w])
    en = np.array([[evaluate(w[n], c)["energy_mj"] for c in cands] for n in w])
    area = np.array([evaluate(w["a"], c)["area_mm2"] for c in cands])
    g = np.exp(np.log(lat).mean(0)), np.exp(np.log(en).mean(0))
    pts = np.stack([g[0], g[1], area], 1)
    front = {i for i in range(len(pts)) if not any(
        (pts[j] <= pts[i]).all() and (pts[j] < pts[i]).any() for j in range(len(pts)))}
    got = {(p["config"]["rows"], p["config"]["cols"], p["config"]["dataflow"],
            p["config"]["ifmap_kb"], p["config"]["filter_kb"]) for p in res["pareto"]}
    want = {(cands[i].rows, cands[i].cols, cands[i].dataflow, cands[i].ifmap_kb,
             cands[i].filter_kb) for i in front}
    assert got == want and len(res["pareto"]) == len(front)
    fits = [i for i in range(len(cands)) if area[i] <= 50]
    best = min(fits, key=lambda i: (g[0][i], g[1][i], area[i]))
    assert res["best"]["config"] == cands[best].to_dict() and best in front
