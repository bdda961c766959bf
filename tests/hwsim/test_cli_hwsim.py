"""nnsynth hwsim eval | dse | table."""
import json

from click.testing import CliRunner

from deploy.cli.main import cli


def _run(args):
    return CliRunner().invoke(cli, ["hwsim"] + args)


def test_eval_json_with_spring(tmp_path):
    cfg = tmp_path / "a.yaml"
    cfg.write_text("rows: 8\ncols: 8\ndataflow: os\n")
    r = _run(["eval", "--spec", "lenet5", "--accel", str(cfg), "--spring", "--json"])
    assert r.exit_code == 0, r.output
    out = json.loads(r.output.strip().splitlines()[-1])
    assert out["config"]["rows"] == 8 and out["latency_ms"] > 0 and out["layers"]
    assert out["spring_training"]["speedup_vs_gpu"] > 0


def test_spring_prices_a_fixed_point_checkpoint_at_its_precision(tmp_path):
    import torch
    from synth.checkpoint import save_checkpoint
    from synth.models import build
    torch.manual_seed(0)
    model = build("lenet5", (1, 28, 28), 10)
    energy = {}
    for fmt, extra in (("4.16", {}), ("4.8", {"quant_config": {"int_bits": 4, "frac_bits": 8}})):
        path = tmp_path / f"m{fmt}.pt"
        save_checkpoint(path, model, extra=extra)
        r = _run(["eval", "--model", str(path), "--spring", "--json"])
        assert r.exit_code == 0, r.output
        out = json.loads(r.output.strip().splitlines()[-1])
        assert out["spring_precision"] == fmt
        energy[fmt] = out["spring_inference"]["energy_mj"]
    assert energy["4.8"] < energy["4.16"]                # 12-bit words move and multiply cheaper


def test_invalid_config_one_line_error(tmp_path):
    cfg = tmp_path / "a.yaml"
    cfg.write_text("rows: 0\n")
    r = _run(["eval", "--spec", "lenet5", "--accel", str(cfg)])
    assert r.exit_code == 2 and "rows" in r.output and "Traceback" not in r.output
    cfg.write_text("colz: 3\n")
    r = _run(["eval", "--spec", "lenet5", "--accel", str(cfg)])
    assert r.exit_code == 2 and "colz" in r.output
    r = _run(["eval", "--spec", "lenet5", "--model", "x.pt"])
    assert r.exit_code == 2


def test_non_square_array_is_priced_and_nan_dimension_refused(tmp_path):
    cfg = tmp_path / "a.yaml"
    for rows, cols in [(1, 16), (16, 1), (8, 32)]:
        cfg.write_text(f"rows: {rows}\ncols: {cols}\n")
        r = _run(["eval", "--spec", "mlp_small", "--input-shape", "1x8x8", "--accel", str(cfg),
                  "--json"])
        out = json.loads(r.output)
        assert r.exit_code == 0 and (out["config"]["rows"], out["config"]["cols"]) == (rows, cols)
        assert out["cycles"] > 0
    for text, field in [("rows: .nan\n", "rows must be an integer"),
                        ("cols: -8\n", "cols must be in [1, 4096]")]:
        cfg.write_text(text)
        r = _run(["eval", "--spec", "lenet5", "--accel", str(cfg)])
        assert r.exit_code == 2 and field in r.output and "Traceback" not in r.output


def test_dse_and_tables():
    r = _run(["dse", "--model", "lenet5", "--model", "resnet8_w16@3x16x16", "--budget", "60",
              "--json"])
    assert r.exit_code == 0, r.output
    out = json.loads(r.output.strip().splitlines()[-1])
    assert out["evaluated"] == 60 and out["pareto"] and out["best"]["area_mm2"] <= 4.0
    r = _run(["table", "--device", "accel", "--model", "lenet5", "--json"])
    assert r.exit_code == 0 and json.loads(r.output.strip().splitlines()[-1])["rows"]
    r = _run(["table", "--sweep", "lstm", "--widths", "8:16:8", "--repeats", "4", "--json"])
    assert r.exit_code == 0, r.output
    r = _run(["table", "--sweep", "lstm", "--device", "accel"])
    assert r.exit_code == 2


def _one_error_line(r) -> str:
    lines = [l for l in r.output.splitlines() if l.strip()]
    assert r.exit_code == 2 and r.exception.__class__ is SystemExit, (r.output, r.exception)
    assert len(lines) == 1 and lines[0].startswith("error:"), r.output
    return lines[0]


def test_huge_batch_is_refused_before_it_is_allocated():
    """--batch 10^12 asked torch for 3 PB (a RuntimeError traceback); 10^7 would take 31 GB."""
    for batch in ("1000000000000", "10000000"):
        line = _one_error_line(_run(["eval", "--spec", "lenet5", "--batch", batch]))
        assert "batch" in line and "the limit is" in line


def test_dse_config_of_wrong_types_or_size_is_one_line(tmp_path):
    """A scalar where the grid wants a list, a word for a count and a non-mapping base were
    TypeError/ValueError tracebacks; a 36 M-point grid was built in memory."""
    cfg = tmp_path / "dse.yaml"
    for text, phrase in [("rows: 4\n", "rows must be a list"),
                         ("rows: [a]\n", "rows value must be an integer"),
                         ("ifmap_kb: [.nan]\n", "ifmap_kb value must be a number"),
                         ("rows: [8, 0]\n", "rows value must be in [1, 4096], got 0"),
                         ("cols: [-4]\n", "cols value must be in [1, 4096], got -4"),
                         ("base: 5\n", "base must be a mapping"),
                         ("".join(f"{k}: [{', '.join(map(str, range(1, 101)))}]\n"
                                  for k in ("rows", "cols", "ifmap_kb")), "the limit is")]:
        cfg.write_text(text)
        line = _one_error_line(_run(["dse", "--model", "lenet5", "--dse-config", str(cfg)]))
        assert phrase in line, (text, line)


def test_table_sweep_widths_and_repeats_are_bounded():
    """Width 10^6 asked torch for a 4 TB matrix (a traceback; 50,000 would take 10 GB), and
    10^9 repeats would time for days."""
    for args, phrase in [(["--sweep", "linear", "--widths", "32:1000000:999968"], "widths"),
                         (["--sweep", "lstm", "--widths", "1:100000000:1"], "widths"),
                         (["--sweep", "linear", "--widths", "8:16:8", "--repeats",
                           "1000000000"], "repeats"),
                         (["--model", "lenet5", "--repeats", "1000000000"], "repeats")]:
        line = _one_error_line(_run(["table"] + args))
        assert phrase in line and "got" in line, (args, line)


def test_input_shape_with_an_empty_part_is_refused():
    """'1xx28' was priced as (1, 28), a sequence, and '1x28x28x' passed as (1, 28, 28)."""
    for text in ("1xx28", "1x28x28x", "x1x28x28"):
        line = _one_error_line(_run(["eval", "--spec", "lenet5", "--input-shape", text]))
        assert "--input-shape must look like" in line, text
        # a shape after @ is --model's (910cc5c): the error names the option that holds it
        line = _one_error_line(_run(["dse", "--model", f"lenet5@{text}", "--budget", "2"]))
        assert "--model 'lenet5@" in line and "the shape after @ must look like" in line, text


def test_dse_config_values_are_not_overridden_by_option_defaults(tmp_path):
    """budget, area_budget_mm2 and seed in --dse-config were replaced by the options'
    defaults (0, 4.0, 0): a 12-point grid with budget 10 evaluated 12, and the best was
    chosen within 4.0 mm^2 where the file said 0.15.  An option given on the command line
    still wins over the file."""
    cfg = tmp_path / "dse.yaml"
    cfg.write_text("rows: [4, 8]\ncols: [4, 8]\nifmap_kb: [8]\nfilter_kb: [8]\nofmap_kb: [8]\n"
                   "budget: 10\narea_budget_mm2: 0.15\nseed: 3\n")
    r = _run(["dse", "--model", "mlp_small@4", "--dse-config", str(cfg), "--json"])
    assert r.exit_code == 0, r.output
    out = json.loads(r.output.strip().splitlines()[-1])
    assert out["evaluated"] == 10 and out["best"]["area_mm2"] <= 0.15
    r = _run(["dse", "--model", "mlp_small@4", "--dse-config", str(cfg)])
    assert r.exit_code == 0 and "within 0.15 mm^2" in r.output, r.output
    r = _run(["dse", "--model", "mlp_small@4", "--dse-config", str(cfg), "--budget", "5",
              "--area-budget", "4", "--json"])
    out = json.loads(r.output.strip().splitlines()[-1])
    assert out["evaluated"] == 5 and out["area_budget_mm2"] == 4.0


def test_dse_base_may_not_fix_a_field_the_grid_varies(tmp_path):
    """base: {rows: 64} was silently replaced by each grid point's rows."""
    cfg = tmp_path / "dse.yaml"
    cfg.write_text("rows: [4]\ncols: [4]\nbase: {rows: 64, clock_mhz: 1000}\n")
    line = _one_error_line(_run(["dse", "--model", "mlp_small@4", "--dse-config", str(cfg)]))
    assert "base.rows" in line and "rows: [64]" in line, line
    cfg.write_text("rows: [4]\ncols: [4]\nifmap_kb: [8]\nfilter_kb: [8]\nofmap_kb: [8]\n"
                   "base: {clock_mhz: 1000}\n")
    r = _run(["dse", "--model", "mlp_small@4", "--dse-config", str(cfg), "--json"])
    assert r.exit_code == 0 and json.loads(r.output)["best"]["config"]["clock_mhz"] == 1000


def test_options_that_would_be_ignored_are_refused(tmp_path):
    """table --accel with --device cpu or spring never read the file (one of 0 rows passed),
    and a checkpoint priced with --input-shape or --num-classes of its own kept its shape and
    classes without a word."""
    import torch
    from synth.checkpoint import save_checkpoint
    from synth.models import build
    cfg = tmp_path / "a.yaml"
    cfg.write_text("rows: 8\n")
    for device in ("cpu", "spring"):
        line = _one_error_line(_run(["table", "--device", device, "--model", "mlp_small@4",
                                     "--accel", str(cfg), "--repeats", "4"]))
        assert "--accel" in line and "--device accel" in line, line
    torch.manual_seed(0)
    path = save_checkpoint(tmp_path / "m.pt", build("mlp_small", (4,), 3))
    for extra, phrase in ((["--input-shape", "3x32x32"], "--input-shape"),
                          (["--num-classes", "7"], "--num-classes")):
        line = _one_error_line(_run(["eval", "--model", str(path)] + extra))
        assert phrase in line and "checkpoint" in line, line
    # the checkpoint's own values, given, are fine; the defaults never get in the way
    r = _run(["eval", "--model", str(path), "--input-shape", "4", "--num-classes", "3", "--json"])
    assert r.exit_code == 0, r.output
    r = _run(["dse", "--model", str(path), "--model", "lenet5", "--budget", "2", "--json"])
    assert r.exit_code == 0, r.output


def test_table_prints_small_figures_with_significant_digits():
    """SPRING prices an mlp_small op in microseconds of a millisecond: the total printed as
    '0.0000 ms' and every op as '0.00000 ms'.  Each printed figure now reads back within 0.1%
    of its value; none nonzero prints as zero."""
    import re
    from hwsim import extract, tables
    from synth.models import build
    ops = extract(build("mlp_small", (1, 8, 8), 10), (1, 8, 8))
    for device in ("spring", "accel"):
        table = tables.build_table(ops, device)
        out, human = tables.table_report("m", device, table, tables.predict(table, ops))
        lines = human.splitlines()
        shown = [float(v) for line in lines for v in re.findall(r"(\S+) (?:ms|mJ)", line)]
        expect = [out["prediction"]["latency_ms"], out["prediction"]["energy_mj"]]
        expect += [row[k] for row in out["rows"] for k in ("latency_ms", "energy_mj")]
        assert len(shown) == len(expect) == 2 + 2 * len(out["rows"]), human
        for got, value in zip(shown, expect):
            assert value > 0 and abs(got - value) <= 1e-3 * value, (device, got, value)
    r = _run(["table", "--device", "spring", "--model", "mlp_small@1x8x8"])
    assert r.exit_code == 0 and "predicted total" in r.output, r.output
    assert not re.search(r"\b0\.0+ m[sJ]", r.output), r.output


def test_a_spec_prices_the_same_every_time_and_as_the_pool_prices_it():
    """A spec was built from whatever random state the process had: activation sparsity,
    and SPRING's zero-skipping with it, changed from run to run of the same command (one op
    7.085e-05 vs 7.065e-05 mJ).  It is built from hwsim's pricing seed, as the search's cost
    model and the actor pool build it."""
    import torch
    import hwsim
    args = ["eval", "--spec", "lenet5", "--spring", "--json"]
    outs = []
    for seed in (1, 2):
        torch.manual_seed(seed)
        r = _run(args)
        assert r.exit_code == 0, r.output
        outs.append(json.loads(r.output.strip().splitlines()[-1]))
    assert outs[0]["spring_inference"] == outs[1]["spring_inference"]
    torch.manual_seed(3)
    model = hwsim.build_priced("lenet5", (1, 28, 28), 10)
    ops = hwsim.extract(model, (1, 28, 28))
    assert hwsim.price_ops(ops, None, True)["spring_energy_mj"] == \
        outs[0]["spring_inference"]["energy_mj"]
