"""``hwsim dse``'s best line names the fields its --dse-config ``base`` fixed (h300): a grid
priced at clock_mhz 1 printed 'best ...: 256x256 os, buffers 1/1/1 KiB, 30.29 mm^2, geomean
4.983 ms', read as the default 500 MHz's figures."""
from tests._cli import run


def test_the_best_line_names_the_base_fields(tmp_path):
    cfg = tmp_path / "dse.yaml"
    cfg.write_text("rows: [1, 4]\ncols: [1, 4]\ndataflows: [ws]\nifmap_kb: [1]\nfilter_kb: [1]\n"
                   "ofmap_kb: [1]\nbase: {clock_mhz: 1, dram_gbps: 0.5}\narea_budget_mm2: 100\n")
    r = run(["hwsim", "dse", "--model", "lenet5", "--dse-config", str(cfg)])
    assert r.exit_code == 0, r.output
    best = r.output.splitlines()[1]
    assert best.startswith("best by geometric-mean performance within 100 mm^2: 4x4 ws, "
                           "buffers 1/1/1 KiB, clock_mhz 1, dram_gbps 0.5, "), best
