"""``nnsynth run``'s search is priced on the run's accelerator, ``export.accel`` (h297): the
search stage priced its trials and checked ``search.options.constraints`` on hwsim's default
32x32 ws array while summary.md priced the model on export.accel's, so a ``latency_ms<=``
bound the search met did not hold on the figures reported (an iris mlp [32]: 0.00038 ms on
the default, 0.0035 ms on 8x64 os, 0.5 KiB pads, 50 MHz).  The search's config takes
export.accel (``RunConfig.search_accel``), the ``--check`` prices the bounds on it, and the
search stage's fingerprint holds it (another export.accel is another search).  No Ray."""
from pathlib import Path

import pytest

import hwsim
from deploy.run_config import load_run_config
from deploy.stages import check_search_constraints, search_config
from search.space import load_space
from synth.errors import ConfigError

SPEC = {"bn": False, "dropout": 0.0, "family": "mlp", "hidden": [32]}
ODD = {"rows": 8, "cols": 64, "dataflow": "os", "ifmap_kb": 0.5, "filter_kb": 0.5,
       "ofmap_kb": 0.5, "clock_mhz": 50}
DEFAULT_MS = hwsim.price(hwsim.build_priced(SPEC, (4,), 3), (4,))["latency_ms"]


def _config(export_accel=None, **options):
    accel = export_accel
    return load_run_config({"teacher": {"dataset": "iris", "model": "mlp_small"},
                            "search": {"options": {"space": "mlp", **options}},
                            "export": {"accel": dict(accel or {})}})


def _searching(config):
    run = Path("run")
    return search_config(config, run, run / "teacher.pt", run / "synthetic")


def test_the_search_takes_export_accel():
    assert _searching(_config(ODD)).accel == ODD
    assert _searching(_config()).accel == {}
    # a search that prices nothing takes none (its config refuses an accel without pricing)
    assert _searching(_config(ODD, hardware=False)).accel == {}


def test_search_options_accel_is_refused_in_one_line():
    with pytest.raises(ConfigError) as e:
        _searching(_config(ODD, accel={"rows": 8}))
    assert str(e.value).startswith("search.options.accel is set by the pipeline (export.accel")
    assert "\n" not in str(e.value)


def test_the_check_prices_the_bounds_on_export_accel():
    bound = f"latency_ms<={2 * DEFAULT_MS}"
    space = load_space("mlp")
    check_search_constraints(_config(constraints=[bound]), space, (4,), 3)   # met: default
    with pytest.raises(ConfigError) as e:
        check_search_constraints(_config(ODD, constraints=[bound]), space, (4,), 3)
    assert "search.options.constraints" in str(e.value)
    assert "on the accelerator 8x64 os" in str(e.value)


def test_another_export_accel_is_another_search():
    plain, odd = _config(), _config(ODD)
    for stage in ("teacher", "synthesis"):
        assert plain.stage_fingerprint(stage) == odd.stage_fingerprint(stage)
    for stage in ("search", "refine", "export"):
        assert plain.stage_fingerprint(stage) != odd.stage_fingerprint(stage)
    # export.accel at hwsim's defaults is the default array; a search that prices nothing
    assert _config({"rows": 32}).stage_fingerprint("search") == plain.stage_fingerprint("search")
    assert (_config(ODD, hardware=False).stage_fingerprint("search")
            == _config(hardware=False).stage_fingerprint("search"))


def test_a_search_begun_on_another_array_is_not_resumed(tmp_path):
    from search.run import SearchConfig, begin_search, resumable, searchable_space
    from synth.files import claim_dir
    config = SearchConfig(space="mlp", dataset="iris", trials=3, epochs=1, accel=ODD)
    out = claim_dir(tmp_path / "s", "--out")
    begin_search(out, config, searchable_space(config.space))
    assert resumable(out, config)
    assert not resumable(out, config.replace(accel={}))
    assert not resumable(out, config.replace(accel={**ODD, "rows": 16}))


def test_a_sweeps_check_prices_each_runs_bounds_on_its_own_array():
    """``nnsynth sweep --check`` (``deploy.sweep.data_problems``) checks each distinct run
    once (``data_check_key``): two runs differing only in export.accel shared one answer, so
    a bound met on the first run's array passed the second's."""
    from deploy.sweep import data_problems
    bound = f"latency_ms<={2 * DEFAULT_MS}"

    def run(name, accel):
        return load_run_config({"name": name, "teacher": {"dataset": "iris", "model": {
                                    "family": "mlp", "hidden": [16], "bn": True}},
                                "synthesis": {"student": ""},
                                "search": {"options": {"space": "mlp", "constraints": [bound]}},
                                "export": {"accel": accel}})
    problems = data_problems([({}, run("plain", {})), ({}, run("odd", ODD))])
    assert len(problems) == 1 and "'odd'" in problems[0], problems
    assert "on the accelerator 8x64 os" in problems[0]


def test_summary_md_names_the_array_its_rows_are_priced_on():
    from deploy.run_config import ExportStage
    from deploy.stages import pricing_notes
    assert pricing_notes(ExportStage(accel=ODD)) == [
        "accelerator rows priced on export.accel's array: 8x64 os, clock_mhz 50, filter_kb "
        "0.5, ifmap_kb 0.5, ofmap_kb 0.5 (nnsynth hwsim eval --accel of the same fields gives "
        "them)"]
    assert pricing_notes(ExportStage()) == []      # the default array: as before
