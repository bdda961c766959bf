"""A search directory's files edited, damaged or forged (helper h278): ``nnsynth search
--resume`` reads its results.parquet and search_inputs.json, and each was a traceback or
gigabytes of memory.  Each is now a one-line UserError naming the file (or, for the inputs
record, the record taken as unreadable), in bounded memory.  No Ray: the tables are written
with ``append_result`` and rewritten with pyarrow."""
import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import search.results
from search.results import append_result, plot_pareto, read_results
from search.run import check_in_place, run_search
from synth.errors import UserError
from tests.search._trial import begun_search


def _row(i):
    spec = json.dumps({"family": "mlp", "hidden": [8 * (i + 1)]})
    return {"trial_id": f"t{i}", "spec": spec, "model_spec": spec, "accuracy": 0.5,
            "test_accuracy": 0.4, "parameters": 100 * (i + 1), "nonzero_parameters": 100,
            "flops": 1000, "nonzero_flops": 1000, "latency_ms": None, "energy_mj": None,
            "epochs": 1, "wall_seconds": 1.0, "stopped_early": False,
            "checkpoint": f"m{i}.pt", "finished_at": 0.0, "device": "cpu",
            "selected_on": "real_val", "predicted_classes": 3, "grow_pruned": False}


def _table(tmp_path, rows=2):
    path = tmp_path / "results.parquet"
    for i in range(rows):
        append_result(path, _row(i))
    return path


def _rewritten(path, change):
    table = pq.read_table(path)
    pq.write_table(change(table), path, compression="zstd")
    return path


def _set(name, values, kind=None):
    def change(table):
        i = table.schema.get_field_index(name)
        return table.set_column(i, name, pa.array(values, kind))
    return change


CASES = {
    # KeyError 'spec' / 'trial_id' out of the summary
    "no-spec": (lambda t: t.drop_columns(["spec"]), "has no column spec"),
    "no-trial-id": (lambda t: t.drop_columns(["trial_id"]), "has no column trial_id"),
    # "could not convert string to float: 'high'", "invalid literal for int()"
    "accuracy-text": (_set("accuracy", ["high", "low"]), "column accuracy must hold numbers"),
    "parameters-text": (_set("parameters", ["many", "few"]),
                        "column parameters must hold numbers"),
    "accuracy-lists": (_set("accuracy", [[0.5], [0.4]]), "column accuracy must hold numbers"),
    "stopped-text": (_set("stopped_early", ["no", "no"]), "column stopped_early must hold "
                                                          "true/false"),
    # json's RecursionError traceback (check_trials_family), or the space file blamed
    "spec-nested": (_set("spec", ['{"family": "mlp", "x": ' + "[" * 100_000 + "]" * 100_000
                                  + "}"] * 2), "row 0's spec"),
    "spec-not-json": (_set("spec", ["{nope", "{}"]), "row 0's spec '{nope' is not a model spec"),
    "accuracy-inf": (_set("accuracy", [0.5, float("inf")]), "row 1's accuracy is inf"),
    "parameters-negative": (_set("parameters", [-5, 3]), "row 0's parameters is -5"),
    # one trial twice: counted as two
    "trial-twice": (lambda t: pa.concat_tables([t, t]), "row 2 is trial 't0' again"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_results_table_of_other_values_is_one_line(tmp_path, case):
    change, phrase = CASES[case]
    path = _rewritten(_table(tmp_path), change)
    with pytest.raises(UserError) as e:
        read_results(path)
    text = str(e.value)
    assert "\n" not in text and str(path) in text and phrase in text, text


def test_a_results_table_nnsynth_wrote_still_reads(tmp_path):
    table = read_results(_table(tmp_path, rows=3))
    assert list(table["trial_id"]) == ["t0", "t1", "t2"]
    assert table["spec"].map(type).eq(str).all() and table["parameters"].tolist() == [100, 200,
                                                                                      300]
    # a table written before a column, and a column of None only (pyarrow's null type)
    path = _rewritten(tmp_path / "results.parquet",
                      lambda t: t.drop_columns(["model_spec", "grow_pruned"]))
    assert len(read_results(path)) == 3 and "model_spec" not in read_results(path).columns


def test_text_that_decompresses_beyond_a_search_is_refused_unread(tmp_path, monkeypatch):
    # a 35 kB table whose warning held 600 MB of zstd-compressed text took 3.8 GB and 23 s
    # to summarize; here the limit is 1 MiB and the text 4 MiB
    monkeypatch.setattr(search.results, "MAX_RESULTS_BYTES", 1 << 20)
    path = _rewritten(_table(tmp_path), _set("warning", ["x" * (4 << 20), None], pa.string()))
    assert path.stat().st_size < 64 << 10
    with pytest.raises(UserError, match="declares .* bytes of trials.*refused unread"):
        read_results(path)


def test_one_long_value_every_row_refers_to_is_refused(tmp_path, monkeypatch):
    # dictionary-encoded, a 100 kB value in each of 100 rows is 100 kB in the file's footer
    # and 10 MB decoded
    monkeypatch.setattr(search.results, "MAX_RESULTS_BYTES", 1 << 20)
    path = _table(tmp_path)
    rows = pa.concat_tables([pq.read_table(path).slice(0, 1)] * 100)
    ids = pa.array([f"t{i}" for i in range(100)], pa.large_string())
    rows = rows.set_column(0, "trial_id", ids)
    rows = rows.set_column(rows.schema.get_field_index("checkpoint"), "checkpoint",
                           pa.array(["/" + "m" * 100_000] * 100, pa.large_string()))
    pq.write_table(rows, path, use_dictionary=True)
    with pytest.raises(UserError, match=r"decodes to 10,0\d\d,\d{3} bytes of text"):
        read_results(path)


def test_a_plot_of_trials_without_an_accuracy_is_drawn(tmp_path):
    # every accuracy empty (no selection inputs): 'Data cannot be log-scaled' out of matplotlib
    path = _rewritten(_table(tmp_path), _set("accuracy", [None, None], pa.float64()))
    plot_pareto(path, tmp_path / "pareto.png")
    assert (tmp_path / "pareto.png").stat().st_size > 1000


def _begun(tmp_path):
    return begun_search(tmp_path / "s")


def test_a_nested_inputs_record_is_no_traceback(tmp_path):
    # json's RecursionError out of check_in_place and the inputs' digest check
    out = _begun(tmp_path)
    (out / "search_inputs.json").write_text("[" * 100_000)
    check_in_place(out)    # unreadable: the digest check says so
    with pytest.raises(UserError, match="search_inputs.json is nested too deep"):
        run_search(None, out, resume=True, progress=False)   # h283: not 'changed since'


@pytest.mark.parametrize("change, phrase", [
    ({"trials": "many"}, "trials must be an integer in [1, 100000], got 'many'"),
    ({"epochs": 10 ** 12}, "epochs must be in"),
])
def test_a_saved_config_of_other_values_names_the_file(tmp_path, change, phrase):
    # 'trials must be an integer, got 'many'' named neither the file nor the search
    out = _begun(tmp_path)
    saved = out / "search_config.json"
    saved.write_text(json.dumps({**json.loads(saved.read_text()), **change}))
    with pytest.raises(UserError) as e:
        run_search(None, out, resume=True, progress=False)
    text = str(e.value)
    assert "\n" not in text and str(saved) in text and phrase in text, text
