"""``hwsim dse`` on a grid that takes long (helper h283): MAX_GRID admits a million
configurations, which for resnet34 (123 layers) took 115 s of pricing here at ~8,600
configurations/s; its progress bar redraws only on a terminal.  Where the first chunk's
rate says the rest will take more than ``long_s`` seconds, one warning gives the count, the
time left, the rate and the option that prices a sample (--budget).  A short grid says
nothing."""
import logging

from hwsim.dse import DseConfig, explore
from hwsim.workload import extract
from synth.models import build

# 10 * 10 * 3 * 10 * 3 * 2 = 18,000 configurations: more than one chunk of resnet8_w16's
# 30 layers (EVAL_VALUES // 30 = 16,666)
GRID = dict(rows=list(range(4, 44, 4)), cols=list(range(4, 44, 4)),
            ifmap_kb=list(range(8, 88, 8)), filter_kb=[8.0, 16.0, 32.0], ofmap_kb=[8.0, 16.0])


def _workloads():
    return {"resnet8_w16": extract(build("resnet8_w16", (3, 8, 8), 10), (3, 8, 8))}


def test_a_long_grid_says_how_long_and_how_to_sample(caplog):
    cfg = DseConfig(**GRID, area_budget_mm2=100.0)
    with caplog.at_level(logging.WARNING, logger="hwsim.dse"):
        res = explore(_workloads(), cfg, long_s=0.0)   # every grid of over one chunk is long
    lines = [r.getMessage() for r in caplog.records if r.name == "hwsim.dse"]
    assert len(lines) == 1, lines
    assert lines[0].startswith("the DSE grid's 18,000 configurations on 1 network will take "
                               "about ") and "--budget N prices a seeded sample" in lines[0]
    assert res["evaluated"] == 18_000


def test_a_short_grid_says_nothing(caplog):
    with caplog.at_level(logging.WARNING, logger="hwsim.dse"):
        explore(_workloads(), DseConfig(**GRID, area_budget_mm2=100.0))
    assert not [r for r in caplog.records if r.name == "hwsim.dse"]
