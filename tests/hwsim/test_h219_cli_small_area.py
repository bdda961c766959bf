"""h219: nnsynth hwsim eval and dse printed a small accelerator's area as '0.000 mm^2' (a 1 x 1
array of 1-bit words with one-word pads at 3 nm is 1.3e-07 mm^2): four significant digits now,
as the latency and energy beside it."""
import json

from click.testing import CliRunner

from deploy.cli.main import cli

PADS = 1 / 8 / 1024   # KiB: one 1-bit word


def test_a_tiny_area_is_not_printed_as_zero(tmp_path):
    cfg = tmp_path / "tiny.yaml"
    cfg.write_text(f"rows: 1\ncols: 1\nprecision_bits: 1\nifmap_kb: {PADS}\nfilter_kb: {PADS}\n"
                   f"ofmap_kb: {PADS}\ntechnology_nm: 3\n")
    args = ["hwsim", "eval", "--spec", "mlp_small", "--input-shape", "13", "--accel", str(cfg)]
    r = CliRunner().invoke(cli, args + ["--json"])
    assert r.exit_code == 0, r.output
    area = json.loads(r.output.strip().splitlines()[-1])["area_mm2"]
    assert 0 < area < 5e-4
    r = CliRunner().invoke(cli, args)
    assert r.exit_code == 0 and " 0.000 mm^2" not in r.output and f"{area:.4g} mm^2" in r.output
    grid = tmp_path / "dse.yaml"
    grid.write_text(f"rows: [1]\ncols: [1]\ndataflows: [ws]\nifmap_kb: [{PADS}]\n"
                    f"filter_kb: [{PADS}]\nofmap_kb: [{PADS}]\n"
                    "base: {precision_bits: 1, technology_nm: 3}\n")
    r = CliRunner().invoke(cli, ["hwsim", "dse", "--model", "mlp_small@13", "--dse-config",
                                 str(grid)])
    assert r.exit_code == 0 and " 0.000 mm^2" not in r.output and f"{area:.4g} mm^2" in r.output
