"""A search's trial lines and summary name the accelerator array its trials are priced on
where the search chose one (--accel, the pipeline's export.accel) or bounds latency or
energy (h299): the pipeline's lines said 'trial 2/2 ... 0.00318 ms' of an 8x64 os array
without naming it (h297), and a search bounded 'latency_ms<=' on the default array said
'latency 0.0004 ms' with no array.  No Ray."""
import json

from search.results import append_result, trial_line
from search.run import SearchConfig, TrialProgress, save_space, summarize
from search.space import load_space

ODD = {"rows": 8, "cols": 64, "dataflow": "os", "clock_mhz": 50.0}
SPEC = {"bn": False, "dropout": 0.0, "family": "mlp", "hidden": [16]}


def _row(tmp_path, trial_id="t1", latency=0.00318):
    ckpt = tmp_path / "models" / f"{trial_id}.pt"
    ckpt.parent.mkdir(parents=True, exist_ok=True)
    ckpt.write_bytes(b"model")
    return {"trial_id": trial_id, "spec": json.dumps(SPEC, sort_keys=True), "accuracy": 0.9,
            "test_accuracy": 0.9, "parameters": 131, "nonzero_parameters": 131, "flops": 112,
            "nonzero_flops": 112, "latency_ms": latency,
            "energy_mj": None if latency is None else 3.372e-05, "epochs": 3,
            "wall_seconds": 1.5, "stopped_early": False, "checkpoint": str(ckpt),
            "finished_at": 1.0, "device": "cpu", "selected_on": "real_val", "val_loss": 0.3}


def test_the_trial_line_names_the_array_after_its_prices(tmp_path):
    row = _row(tmp_path)
    assert "0.00318 ms  3.37e-05 mJ on 8x64 os  1.5 s" in trial_line(row, 2, 2, None,
                                                                   array="8x64 os")
    assert " on " not in trial_line(row, 2, 2, None)
    assert " on " not in trial_line(_row(tmp_path, latency=None), 2, 2, None, array="8x64 os")


def _line(tmp_path, capsys, **config) -> str:
    progress = TrialProgress(tmp_path, SearchConfig(dataset="iris", space="mlp", trials=2,
                                                    searcher="random", **config))
    progress.finished(_row(tmp_path))
    return capsys.readouterr().err


def test_trial_progress_names_the_array_of_an_accel_or_a_hardware_bound(tmp_path, capsys):
    assert "3.37e-05 mJ on 8x64 os  " in _line(tmp_path / "a", capsys, accel=ODD)
    assert "3.37e-05 mJ on 32x32 ws  " in _line(tmp_path / "b", capsys,
                                                 constraints=("latency_ms<=0.5",))
    assert "3.37e-05 mJ on 32x32 ws  " in _line(tmp_path / "c", capsys,
                                                 constraints=("energy_mj<=1",))
    # the default array and no bound on it: said as before
    plain = _line(tmp_path / "d", capsys, constraints=("parameters<=1000",))
    assert "3.37e-05 mJ  1.5 s" in plain and " on " not in plain


def test_the_summary_names_the_array_its_bounds_were_checked_on(tmp_path):
    from deploy.cli.commands.search import summary_text

    def summary(folder, **config):
        save_space(folder, load_space("mlp"))
        append_result(folder / "results.parquet", _row(folder))
        return summarize(folder, SearchConfig(dataset="iris", space="mlp", trials=1,
                                              searcher="random", **config))
    bounded = summary(tmp_path / "a", constraints=("latency_ms<=0.5",))
    assert bounded["names_accel"] is True
    assert "latency 0.00318 ms on the accelerator 32x32 ws (default)" in summary_text(bounded)
    plain = summary(tmp_path / "b")
    assert plain["names_accel"] is False
    assert "latency 0.00318 ms" in summary_text(plain)
    assert "on the accelerator" not in summary_text(plain)
    odd = summary(tmp_path / "c", accel=ODD)
    assert "latency 0.00318 ms on the accelerator 8x64 os, clock_mhz 50" in summary_text(odd)
