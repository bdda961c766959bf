"""A search prices its trials and its latency / energy constraints on the user's accelerator
(h297).  ``nnsynth search`` took no accelerator at all, and the pipeline's ``export.accel``
priced only summary.md: a ``latency_ms<=`` bound was met on hwsim's default 32x32 ws array
and the run reported its model on another (an iris mlp [32]: 0.00038 ms on the default,
0.0035 ms on 8x64 os, 0.5 KiB pads, 50 MHz).  Now ``SearchConfig.accel`` (``nnsynth search
--accel FILE``; the pipeline passes export.accel) prices the cost model, the trials (pool or
in-process) and names the array in the summary, its line and pareto.png.  No Ray: the trial
runs in this process (tests/search/_trial.py)."""
import json

import pytest
import yaml
from click.testing import CliRunner

import hwsim
from search.costs import CostModel
from search.run import SearchConfig, save_space, summarize, unmeetable_constraint
from search.searchers import DONE_KEY
from search.space import load_space, parse_constraint
from synth.errors import ConfigError

SPEC = {"bn": False, "dropout": 0.0, "family": "mlp", "hidden": [32]}
ODD = {"rows": 8, "cols": 64, "dataflow": "os", "ifmap_kb": 0.5, "filter_kb": 0.5,
       "ofmap_kb": 0.5, "clock_mhz": 50}


def _priced(accel=None) -> dict:
    return hwsim.price(hwsim.build_priced(SPEC, (4,), 3), (4,), accel)


def test_the_cost_model_prices_on_the_searchs_accelerator():
    default, odd = _priced(), _priced(ODD)
    assert odd["latency_ms"] > 5 * default["latency_ms"]       # 0.0035 against 0.00038 ms
    costs = CostModel((4,), 3, hardware=True, accel=ODD).costs(SPEC)
    assert costs["latency_ms"] == odd["latency_ms"] and costs["energy_mj"] == odd["energy_mj"]
    assert CostModel((4,), 3, hardware=True).costs(SPEC)["latency_ms"] == default["latency_ms"]


def test_a_latency_bound_is_checked_on_that_accelerator():
    bound = [parse_constraint(f"latency_ms<={2 * _priced()['latency_ms']}")]
    assert CostModel((4,), 3).feasible(SPEC, bound)
    assert not CostModel((4,), 3, accel=ODD).feasible(SPEC, bound)
    space = load_space("mlp")
    assert unmeetable_constraint(space, bound, (4,), 3) is None
    reason = unmeetable_constraint(space, bound, (4,), 3, ODD)
    assert reason and "cannot be met" in reason and "on the accelerator 8x64 os" in reason


def test_the_config_keeps_the_fields_set_and_refuses_bad_ones_in_one_line():
    assert SearchConfig(accel={**ODD, "vdd": 0.9}).accel == ODD    # a default field: dropped
    assert SearchConfig(accel={"rows": 32}).accel == {}            # the default array
    assert SearchConfig().accel == {}
    for bad, said in (({"rows": 0}, "accel.rows must be in [1, 4096], got 0"),
                      ({"bogus": 1}, "unknown config key 'accel.bogus'"),
                      ([8], "accel must be a mapping"),
                      ({"dataflow": "rs"}, "accel.dataflow must be one of ws, os, is")):
        with pytest.raises(ConfigError) as e:
            SearchConfig(accel=bad)
        assert said in str(e.value) and "\n" not in str(e.value)
    with pytest.raises(ConfigError, match="hardware: false"):
        SearchConfig(accel=ODD, hardware=False)


def test_a_trial_is_priced_as_hwsim_eval_accel_prices_its_checkpoint(tmp_path, monkeypatch):
    from deploy.cli.commands.search import summary_text
    from deploy.cli.main import cli
    from tests.search._trial import run_trial_here
    config = SearchConfig(dataset="iris", space="mlp", epochs=1, min_steps=0, trials=1,
                          searcher="random", pool_shards=0, accel=ODD)
    settings = {**config.to_dict(), "out_dir": str(tmp_path), "data_seed": 0}
    final = run_trial_here(monkeypatch, "a1", {"spec": json.dumps(SPEC, sort_keys=True)},
                           settings)[-1]
    assert final[DONE_KEY] is True
    accel_file = tmp_path / "odd.yaml"
    accel_file.write_text(yaml.safe_dump(ODD))
    r = CliRunner().invoke(cli, ["hwsim", "eval", "--model", final["checkpoint"], "--accel",
                                 str(accel_file), "--json"])
    assert r.exit_code == 0, r.output
    evaluated = json.loads(r.output)
    assert final["latency_ms"] == evaluated["latency_ms"] == _priced(ODD)["latency_ms"]
    assert final["energy_mj"] == evaluated["energy_mj"]
    from search.results import append_result
    save_space(tmp_path, load_space("mlp"))
    append_result(tmp_path / "results.parquet", final)
    summary = summarize(tmp_path, config)
    assert summary["accel"] == ODD
    assert summary["accel_text"] == ("8x64 os, clock_mhz 50, filter_kb 0.5, ifmap_kb 0.5, "
                                     "ofmap_kb 0.5")
    assert "ms on the accelerator 8x64 os, clock_mhz 50" in summary_text(summary)


def test_the_pareto_plot_names_the_accelerator(tmp_path, monkeypatch):
    from matplotlib.figure import Figure
    from search.results import append_result, plot_pareto
    labels = []
    savefig = Figure.savefig

    def recording(self, *args, **kwargs):   # matplotlib's own, after noting the label
        labels.append(self.axes[0].get_xlabel())
        return savefig(self, *args, **kwargs)
    monkeypatch.setattr(Figure, "savefig", recording)
    for i in range(2):
        append_result(tmp_path / "results.parquet",
                      {"trial_id": f"t{i}", "spec": "{}", "accuracy": 0.5 + 0.1 * i,
                       "test_accuracy": 0.5, "parameters": 100, "flops": 100,
                       "latency_ms": 0.001 * (i + 1), "energy_mj": 0.001, "epochs": 1,
                       "stopped_early": False, "checkpoint": f"m{i}.pt"})
    plot_pareto(tmp_path / "results.parquet", tmp_path / "a.png", accel=ODD)
    plot_pareto(tmp_path / "results.parquet", tmp_path / "b.png")
    assert labels == ["latency (ms, hwsim accelerator 8x64 os, clock_mhz 50, filter_kb 0.5, "
                      "ifmap_kb 0.5, ofmap_kb 0.5)", "latency (ms, hwsim accelerator)"]


def _search_cli(tmp_path, *args):
    from deploy.cli.main import cli
    return CliRunner().invoke(cli, ["search", "--dataset", "iris", "--trials", "1", *args])


def test_search_accel_file_errors_are_one_line(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("rows: 0\n")
    r = _search_cli(tmp_path, "--accel", str(bad), "--out", str(tmp_path / "s"))
    assert r.exit_code == 2 and r.output.strip() == (
        f"error: {bad}: rows must be in [1, 4096], got 0"), r.output
    good = tmp_path / "odd.yaml"
    good.write_text(yaml.safe_dump(ODD))
    r = _search_cli(tmp_path, "--accel", str(good), "--no-hardware", "--out",
                    str(tmp_path / "s"))
    assert r.exit_code == 2 and "--no-hardware" in r.output and len(
        r.output.strip().splitlines()) == 1, r.output
    r = _search_cli(tmp_path, "--accel", str(good), "--constraint",
                    f"latency_ms<={2 * _priced()['latency_ms']}", "--space", "mlp",
                    "--out", str(tmp_path / "s"))
    # the bound checked before Ray starts, on the file's array: no member meets it there
    assert r.exit_code == 2 and "on the accelerator 8x64 os" in r.output, r.output
    assert not (tmp_path / "s").exists()


def test_resume_with_another_accel_is_refused(tmp_path):
    good = tmp_path / "odd.yaml"
    good.write_text(yaml.safe_dump(ODD))
    from deploy.cli.main import cli
    r = CliRunner().invoke(cli, ["search", "--resume", str(tmp_path), "--accel", str(good)])
    assert r.exit_code == 2 and r.output == (
        "error: --resume continues the search with its saved settings; drop --accel (or "
        "start a new search with --out)\n"), r.output


def test_a_search_saved_before_the_field_resumes_on_the_default_array(tmp_path):
    """A search_config.json written before ``accel`` has none: its trials were priced on the
    default array, so the same settings resume it (the pipeline restarted it, 'the search
    settings changed (accel)', and check_same_settings refused it)."""
    from search.run import check_same_settings, resumable
    from synth.files import read_json, write_json_atomic
    from tests.search._trial import begun_search
    out = begun_search(tmp_path / "s")
    saved = out / "search_config.json"
    values = read_json(saved)
    del values["accel"]
    write_json_atomic(saved, values)
    config = SearchConfig.from_dict(values)
    assert resumable(out, config)
    check_same_settings(saved, config)
    assert not resumable(out, config.replace(accel=ODD))
