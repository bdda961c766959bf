"""Silent wrong answers found by using hwsim / secret as a user would (probe 2): each test
failed before its fix."""

import pytest

from tests._cli import json_result as _json, one_error_line as _one_error_line, run as _run


def test_dse_prices_two_shapes_of_one_variant_as_two_networks(tmp_path):
    """`hwsim dse --model V@1x8x8 --model V@1x4x4` keyed both networks by the name V: the
    second replaced the first and the DSE chose an accelerator for one network of the two,
    saying 'evaluated ... on V'."""
    cfg = tmp_path / "dse.yaml"
    cfg.write_text("rows: [8, 16]\ncols: [8]\ndataflows: [ws]\nifmap_kb: [32]\n"
                   "filter_kb: [32]\nofmap_kb: [32]\n")
    out = _json(_run(["hwsim", "dse", "--model", "mlp_small@1x8x8", "--model",
                      "mlp_small@1x4x4", "--dse-config", str(cfg), "--area-budget", "100",
                      "--json"]))
    assert out["networks"] == ["mlp_small@1x8x8", "mlp_small@1x4x4"]
    lat = out["best"]["latency_ms"]
    assert lat["mlp_small@1x8x8"] > lat["mlp_small@1x4x4"] > 0   # 64 inputs vs 16
    line = _one_error_line(_run(["hwsim", "dse", "--model", "mlp_small@1x8x8", "--model",
                                 "mlp_small@1x8x8", "--dse-config", str(cfg)]))
    assert "given twice" in line


def test_cpu_table_reports_no_energy_rather_than_zero():
    """The host-CPU table measures time only; its JSON prediction said energy_mj 0.0."""
    from hwsim import tables
    table = {("a",): {"type": "linear", "latency_ms": 1.0, "energy_mj": None}}

    class Op:
        name = "x"

        def key(self):
            return ("a",)
    assert tables.predict(table, [Op()])["energy_mj"] is None
    out = _json(_run(["hwsim", "table", "--device", "cpu", "--model", "mlp_small@1x4x4",
                      "--repeats", "4", "--json"]))
    assert out["prediction"]["energy_mj"] is None and out["prediction"]["latency_ms"] > 0


def test_spring_table_prices_a_fixed_point_checkpoint_at_its_precision(tmp_path):
    """`hwsim eval --spring` priced a checkpoint trained at 4.8 at 4.8, `hwsim table --device
    spring` at SPRING's 4.16 (and said no precision): two energies for one model."""
    import torch
    from synth.checkpoint import save_checkpoint
    from synth.models import build
    torch.manual_seed(0)
    path = tmp_path / "m.pt"
    save_checkpoint(path, build("mlp_small", (1, 8, 8), 10),
                    extra={"quant_config": {"int_bits": 4, "frac_bits": 8}})
    table = _json(_run(["hwsim", "table", "--device", "spring", "--model", str(path), "--json"]))
    ev = _json(_run(["hwsim", "eval", "--model", str(path), "--spring", "--json"]))
    assert table["spring_precision"] == ev["spring_precision"] == "4.8"
    assert table["prediction"]["energy_mj"] == pytest.approx(ev["spring_inference"]["energy_mj"])
    assert table["prediction"]["latency_ms"] == pytest.approx(ev["spring_inference"]["latency_ms"])


def test_secret_refuses_base_given_with_a_model(tmp_path):
    """`secret --model ckpt --base rf` used the network and dropped --base without a word."""
    line = _one_error_line(_run(["secret", "--model", str(tmp_path / "m.pt"), "--base", "rf"]))
    assert "--base rf and --model" in line


def test_dse_grid_is_priced_without_an_object_per_point_and_in_bounded_chunks(monkeypatch):
    """A DSE grid may hold 1,000,000 points: each became a validated AcceleratorConfig
    (~60 us each) and every cost array was (layers x all points) at once, so 300,000 points
    of LeNet-5 took 46 s and 1 GB (a deep network at the limit: minutes and many GB).
    Configs are now built only for the reported rows, and the grid is priced in chunks."""
    from hwsim import accel, build_priced, dse, extract
    built = []
    real_validate = accel.AcceleratorConfig.validate
    monkeypatch.setattr(accel.AcceleratorConfig, "validate",
                        lambda self: (built.append(1), real_validate(self)))
    sizes = []
    real_eval = accel.evaluate_arrays
    monkeypatch.setattr(dse, "evaluate_arrays", lambda L, c: (
        sizes.append(len(L["macs"]) * c["rows"].shape[1]), real_eval(L, c))[1], raising=False)
    ops = extract(build_priced("mlp_small", (1, 4, 4), 10), (1, 4, 4))
    cfg = dse.DseConfig(rows=tuple(range(1, 41)), cols=tuple(range(1, 41)), ifmap_kb=(8, 32),
                        filter_kb=(8, 32), ofmap_kb=(8, 32))   # 38,400 points
    built.clear()   # the config's base, validated as one AcceleratorConfig when made (h252)
    res = dse.explore({"m": ops}, cfg)
    assert res["evaluated"] == 38_400
    reported = len(res["pareto"]) + 2
    assert len(built) <= reported + 1, (len(built), reported)
    assert max(sizes) <= dse.EVAL_VALUES and sum(sizes) == len(ops) * 38_400


def test_dse_records_the_seed_and_budget_of_its_sample():
    """A sampled DSE (--budget) depends on --seed; its JSON said neither."""
    out = _json(_run(["hwsim", "dse", "--model", "mlp_small@1x4x4", "--budget", "20",
                      "--seed", "3", "--json"]))
    assert out["evaluated"] == 20 and out["budget"] == 20 and out["seed"] == 3
