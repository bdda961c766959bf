"""A search whose best trial is a constant model (helper 241): a searched convnet of 1x1
kernels at stride 2 read one pixel in four of digits' 8x8 and predicted one class for every
test input (10.0%); ``nnsynth run`` said so of such a final model, ``nnsynth search`` reported
it as its best without a word.  The trial now records how many classes its saved model
predicts over the test split (``predicted_classes``, with ``synth.grow_prune``'s line in
``warning``) and the summary warns, in one line and in its JSON, when the best is constant.

No Ray runtime: a trial runs in this process (``tests.search._trial``) and the summary is made
from the results table as ``run_search`` leaves it."""
import json
import logging

import pandas as pd
import pyarrow as pa

from search.results import COLUMNS, append_result, read_results, trial_line
from search.run import SearchConfig, save_space, summarize
from search.searchers import DONE_KEY
from search.space import load_space

SPEC = {"bn": False, "dropout": 0.0, "family": "mlp", "hidden": [16]}
LINE = ("the model predicts class '0' for every test sample: its test accuracy 0.1000 is that "
        "class's share of the test split, and the other classes are never predicted (train "
        "longer; an imbalanced set: balance its classes)")


def _row(tmp_path, trial_id, accuracy, classes=None, warning=None):
    ckpt = tmp_path / "models" / f"{trial_id}.pt"
    ckpt.parent.mkdir(exist_ok=True)
    ckpt.write_bytes(f"model {trial_id}".encode())
    row = {"trial_id": trial_id, "spec": json.dumps(SPEC, sort_keys=True),
           "accuracy": accuracy, "test_accuracy": accuracy, "parameters": 100,
           "nonzero_parameters": 100, "flops": 100, "nonzero_flops": 100, "latency_ms": 0.01,
           "energy_mj": 0.001, "epochs": 2, "wall_seconds": 1.0, "stopped_early": False,
           "checkpoint": str(ckpt), "finished_at": 1.0, "device": "cpu",
           "selected_on": "real_val"}
    if classes is not None:
        row.update(predicted_classes=classes, warning=warning)
    return row


def _search(tmp_path, *rows):
    save_space(tmp_path, load_space("mlp"))
    for row in rows:
        append_result(tmp_path / "results.parquet", row)
    return SearchConfig(dataset="digits", space="mlp", trials=max(1, len(rows)),
                        searcher="random")


def test_the_summary_warns_when_the_best_trial_is_a_constant_model(tmp_path, caplog):
    config = _search(tmp_path, _row(tmp_path, "a", 0.100, 1, LINE),
                     _row(tmp_path, "b", 0.095, 10))
    with caplog.at_level(logging.WARNING, logger="search.run"):
        summary = summarize(tmp_path, config)
    assert summary["best_trial"] == "a" and summary["best_predicted_classes"] == 1
    said = f"the best trial a is a constant model: {LINE}"
    assert summary["warning"] == said and "\n" not in said
    assert [r.getMessage() for r in caplog.records] == [said]
    assert json.loads(json.dumps(summary))["warning"] == said   # in --json as it is


def test_no_warning_for_a_best_that_predicts_several_classes(tmp_path, caplog):
    config = _search(tmp_path, _row(tmp_path, "a", 0.100, 1, LINE),
                     _row(tmp_path, "b", 0.900, 10))
    with caplog.at_level(logging.WARNING, logger="search.run"):
        summary = summarize(tmp_path, config)
    assert summary["best_trial"] == "b" and summary["best_predicted_classes"] == 10
    assert "warning" not in summary and not caplog.records


def test_a_table_written_before_the_columns_is_read_and_resumed(tmp_path, caplog):
    """An older results.parquet has no predicted_classes/warning: its rows are summarized (not
    known: no warning), and a resumed search appends rows that have them."""
    old = {k: v for k, v in COLUMNS.items() if k not in ("predicted_classes", "warning")}
    row = _row(tmp_path, "a", 0.9)
    table = pd.DataFrame([{k: row.get(k) for k in old}]).astype(
        {k: v for k, v in old.items() if row.get(k) is not None and v != "string"})
    from synth.data_parquet import write_parquet_table
    write_parquet_table(pa.Table.from_pandas(table, preserve_index=False),
                        tmp_path / "results.parquet")
    config = _search(tmp_path)
    summary = summarize(tmp_path, config.replace(trials=1))
    assert summary["best_trial"] == "a" and summary["best_predicted_classes"] is None
    assert "warning" not in summary
    assert append_result(tmp_path / "results.parquet", _row(tmp_path, "b", 0.95, 1, LINE))
    table = read_results(tmp_path / "results.parquet")
    assert table["predicted_classes"].tolist()[1] == 1 and pd.isna(table["predicted_classes"][0])
    with caplog.at_level(logging.WARNING, logger="search.run"):
        summary = summarize(tmp_path, config.replace(trials=2))
    assert summary["best_trial"] == "b" and summary["warning"].endswith(LINE)


def test_a_trial_records_how_many_classes_its_model_predicts(tmp_path, monkeypatch):
    """The trial itself: a model trained to predict class 0 for every input (its last layer
    zeroed, a bias for class 0) records 1 and the line; the progress line says so."""
    import torch
    import synth.train
    from tests.search._trial import run_trial_here
    fit = synth.train.fit

    def constant_fit(model, *args, **kwargs):
        out = fit(model, *args, **kwargs)
        last = [m for m in model.modules() if isinstance(m, torch.nn.Linear)][-1]
        with torch.no_grad():
            last.weight.zero_()
            last.bias.copy_(torch.arange(len(last.bias), 0, -1, dtype=last.bias.dtype))
        return out
    monkeypatch.setattr(synth.train, "fit", constant_fit)
    config = SearchConfig(dataset="iris", epochs=1, hardware=False)
    settings = {**config.to_dict(), "out_dir": str(tmp_path), "data_seed": 0}
    final = run_trial_here(monkeypatch, "k1", {"spec": json.dumps(SPEC, sort_keys=True)},
                           settings)[-1]
    assert final[DONE_KEY] is True and final["predicted_classes"] == 1
    assert final["warning"].startswith("the model predicts class 'setosa' for every test "
                                       "sample: its test accuracy ")
    assert "predicts one class" in trial_line(final, 1, 1, None)
    monkeypatch.setattr(synth.train, "fit", fit)
    final = run_trial_here(monkeypatch, "k2", {"spec": json.dumps(SPEC, sort_keys=True)},
                           settings)[-1]
    assert final["predicted_classes"] > 1 and final["warning"] is None
    assert "predicts one class" not in trial_line(final, 1, 1, None)
