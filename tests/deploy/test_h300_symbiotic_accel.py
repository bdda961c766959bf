"""``nnsynth symbiotic --platform accel --accel FILE`` (h300): the accelerator's table and
each model's price are on the user's array (there was no --accel: the default 32x32 ws
array priced every run), and the latency target is judged on the model the user gets,
hwsim's price of it as served, the figure named in report.md (it was judged on the table's
dense rows, pruning not counted, h291)."""
import json

import torch

from hwsim import price
from hwsim.accel import AcceleratorConfig
from synth.lm import LanguageModel
from tests._cli import one_error_line, run
from tests._symbiotic import ODD_ACCEL, symbiotic_args


def test_the_sized_network_is_priced_on_the_accel_given(tmp_path):
    accel = tmp_path / "odd.yaml"
    accel.write_text(ODD_ACCEL)
    r = run(symbiotic_args(tmp_path, "--platform", "accel", "--accel", str(accel),
                  "--latency-target", "5"))
    assert r.exit_code == 0, r.output
    out = tmp_path / "out"
    report = json.loads((out / "report.json").read_text())
    cfg = AcceleratorConfig.from_dict(report["accel"])
    assert (cfg.rows, cfg.cols, cfg.dataflow, cfg.clock_mhz) == (8, 64, "os", 50)
    assert {r["platform"] for r in report["tables"]["accel"]["rows"]} == {"accel"}
    sym = report["models"]["symbiotic"]
    # hwsim's price of the sized network on that array (a dense array: its weights do not
    # change the figure), on bptt tokens at batch 1, as the report's
    model = LanguageModel(sym["spec"], report["vocab_size"]).eval()
    tokens = torch.zeros((1, report["config"]["bptt"]), dtype=torch.long)
    want = price(model, (report["config"]["bptt"],), cfg, inputs=tokens)["latency_ms"]
    assert sym["priced_ms"] == want and sym["table_ms"] == want
    default = price(model, (report["config"]["bptt"],), None, inputs=tokens)["latency_ms"]
    assert want > 2 * default   # the 8x64 os array at 50 MHz is not the default's price
    assert report["choice"]["meets_target"] is True
    md = (out / "report.md").read_text()
    assert md.startswith("# Symbiotic training on text:") and \
        "for platform accel (8x64 os at 50 MHz, ifmap_kb 0.5" in md.splitlines()[0]
    assert ("the symbiotic model's, judged on hwsim's price of the model as served on the "
            "accel model (8x64 os at 50 MHz") in md


def test_accel_is_refused_where_no_accelerator_prices(tmp_path):
    accel = tmp_path / "odd.yaml"
    accel.write_text(ODD_ACCEL)
    line = one_error_line(run(symbiotic_args(tmp_path, "--platform", "spring", "--accel", str(accel))))
    assert line == ("error: --accel is the accelerator --platform accel prices on; got "
                    "--platform spring: leave --accel out"), line
    bad = tmp_path / "bad.yaml"
    bad.write_text("rows: 0\n")
    line = one_error_line(run(symbiotic_args(tmp_path, "--platform", "accel", "--accel", str(bad))))
    assert str(bad) in line and "rows must be in [1, 4096], got 0" in line, line
    assert not (tmp_path / "out").exists()


def test_the_target_is_judged_on_the_model_as_served():
    from deploy.symbiotic import judge_target, target_line
    report = {"platform": "spring", "config": {"bptt": 35}, "load_average": (0, 0, 0),
              "choice": {"latency_target": 0.5, "target_forced": False, "meets_target": True},
              "models": {"symbiotic": {"table_ms": 0.4, "priced_ms": 0.6}}}
    warning = judge_target(report, 0.5, None)
    assert report["choice"]["meets_target"] is False   # the table's 0.4 met it; served, 0.6
    assert warning.startswith("the symbiotic model as served takes 0.6 ms (hwsim's price of "
                              "the model as served on the spring model), above "
                              "--latency-target 0.5 ms"), warning
    assert target_line(report) == (
        "latency target: 0.5 ms per 35-token sequence at batch 1 on the spring; the symbiotic "
        "model's, judged on hwsim's price of the model as served on the spring model: 0.6 ms "
        "(**misses it**) (table ms 0.4)")
