"""h179: ``nnsynth hwsim table --table FILE --model M`` says what its figures are.

With a table of an earlier version of the model (wine.pt, 5 ops; wine_gp.pt its compacted
copy, 3 layers narrower), the first line read '5 unique ops of wine_gp.pt on accel; predicted
total 0.001935 ms': the 5 rows were wine.pt's, and the 'total' left out 3 of wine_gp.pt's 5
ops (named on the last line only; the model's own figure is 0.0103 ms).
"""
from torch import nn

from hwsim import extract, tables


def test_a_partial_prediction_from_a_saved_table_says_so():
    old = extract(nn.Sequential(nn.Linear(6, 5), nn.ReLU(), nn.Linear(5, 3)), (6,))
    new = extract(nn.Sequential(nn.Linear(6, 5), nn.ReLU(), nn.Linear(5, 2), nn.ReLU(),
                                nn.Linear(2, 3)), (6,))
    table = tables.build_table(old, "accel")
    saved = tables.load_table(tables.table_report("old", "accel", table,
                                                  tables.predict(table, old))[0])
    pred = tables.predict(saved, new)
    assert len(pred["missing"]) == 3
    out, human = tables.table_report("new.pt", "accel", saved, pred, source="t.json")
    first = human.splitlines()[0]
    assert "in t.json" in first and "of new.pt" not in first, first
    assert "of the ops in the table only (3 ops not counted" in first, first
    assert out["table"] == "t.json" and out["model"] == "new.pt"
    # a table built for the model and its whole prediction: as before
    _, human = tables.table_report("new.pt", "accel", table, tables.predict(table, old))
    assert human.splitlines()[0].startswith("3 unique ops of new.pt on accel (32x32 ws at 500 "
                                            "MHz, hwsim's default); predicted total")
    assert "only" not in human


def test_a_cpu_table_shows_progress_on_stderr(capsys, monkeypatch):
    """nnsynth hwsim table --device cpu --model resnet34@3x224x224 timed its 123 ops for a
    minute without a word (DESIGN: long loops show progress); the bar shows once timing has
    taken PROGRESS_DELAY_S (here at once), unless -q."""
    monkeypatch.setattr(tables, "PROGRESS_DELAY_S", 0.0)
    ops = extract(nn.Sequential(nn.Linear(6, 5), nn.ReLU()), (6,))
    tables.build_table(ops, "cpu", repeats=1, progress=True)
    assert "time ops" in capsys.readouterr().err
    tables.build_table(ops, "cpu", repeats=1)
    assert capsys.readouterr().err == ""


def test_a_width_sweep_shows_progress_on_stderr(capsys, monkeypatch):
    """nnsynth hwsim table --sweep lstm --widths 2048:4096:2048 --repeats 4 timed for 75 s
    without a word (one LSTM(4096, 4096) call: 8 s)."""
    monkeypatch.setattr(tables, "PROGRESS_DELAY_S", 0.0)
    tables.width_sweep("linear", [2, 4], repeats=1, batch=2, progress=True)
    assert "linear widths" in capsys.readouterr().err
    tables.width_sweep("linear", [2, 4], repeats=1, batch=2)
    assert capsys.readouterr().err == ""
