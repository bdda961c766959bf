"""The accelerator model is a dense array (``hwsim.accel``: it multiplies zero weights), and
``nnsynth hwsim eval`` says so in a note (``hwsim.dense_note``, h239).  The other commands
that price a pruned model on it said nothing: ``hwsim dse`` gave a 75%-pruned mlp_small the
dense one's 0.00167 ms, ``hwsim table --device accel`` (and a prediction from a saved accel
table) its dense total, ``diabdeep``'s accel ms column the server DiabNN (72% zeros) the
dense MLP's 0.0164 ms, and ``symbiotic --platform accel`` plain_pruned's 60%-pruned LSTM
the unpruned one's table ms.  Each now gives the same note for such a model; a dense
model's output is as it was."""
import json

from tests._cli import json_result, run
from tests.test_h239_dense_accel_note import _checkpoints

DENSE = "the accelerator model is a dense array"


def test_dse_says_which_networks_are_priced_dense(tmp_path):
    dense, pruned = _checkpoints(tmp_path)
    args = ["-q", "hwsim", "dse", "--model", str(pruned), "--model", str(dense), "--budget", "3"]
    res = json_result(run(args + ["--json"]))
    assert list(res["notes"]) == [str(pruned)] and DENSE in res["notes"][str(pruned)]
    assert res["best"]["latency_ms"][str(pruned)] == res["best"]["latency_ms"][str(dense)]
    human = run(args).output
    assert f"note: {pruned}: {DENSE}" in human
    assert "notes" not in json_result(run(["-q", "hwsim", "dse", "--model", str(dense),
                                           "--budget", "3", "--json"]))


def test_an_accel_table_of_a_pruned_model_says_it_is_priced_dense(tmp_path):
    dense, pruned = _checkpoints(tmp_path)
    built = json_result(run(["-q", "hwsim", "table", "--device", "accel", "--model", str(pruned),
                             "--json"]))
    assert built["zero_weights"] > 0.7 * 6464 and DENSE in built["note"]
    human = run(["-q", "hwsim", "table", "--device", "accel", "--model", str(pruned)]).output
    assert human.splitlines()[1].startswith(f"note: {DENSE}")
    saved = tmp_path / "dense_table.json"
    out = run(["-q", "hwsim", "table", "--device", "accel", "--model", str(dense), "--json"])
    assert "note" not in json_result(out) and "note:" not in out.output
    saved.write_text(out.output.strip().splitlines()[-1])
    predicted = json_result(run(["-q", "hwsim", "table", "--table", str(saved), "--model",
                                 str(pruned), "--json"]))
    assert DENSE in predicted["note"]
    spring = json_result(run(["-q", "hwsim", "table", "--device", "spring", "--model",
                              str(pruned), "--json"]))
    assert "note" not in spring           # SPRING prices the zeros


TINY = {"server_hidden": [16], "edge_hidden": 6, "gate_hidden": 4, "growth_rounds": 1,
        "growth_batches": 2, "prune_steps": 2, "retrain_epochs": 1, "latency_repeats": 2,
        "final_epochs": 1, "seed_density": 0.5}


def test_diabdeep_says_its_pruned_models_accel_ms_are_dense(tmp_path):
    report = tmp_path / "r.json"
    r = run(["-q", "diabdeep", "--dataset", "basicmotions", "--steps", "5", "--epochs", "1",
             "--baselines", "mlp", "--options", json.dumps(TINY), "--out", str(report)])
    assert r.exit_code == 0, r.output
    rows = {row["model"]: row for row in json.loads(report.read_text())["rows"]}
    assert rows["server_diabnn"]["nonzero_parameters"] < rows["server_diabnn"]["parameters"]
    assert DENSE in rows["server_diabnn"]["accel_note"]
    assert "accel_note" not in rows["mlp"]                       # dense: as before
    assert f"server_diabnn's accel ms: {DENSE}" in r.output
    assert "mlp's accel ms" not in r.output


def test_symbiotic_on_accel_says_a_pruned_models_table_ms_are_dense(tmp_path):
    words = "the cat sat on the mat and the dog ran far away then slept".split()
    text = "\n".join(" ".join(words[(i * 5 + j) % len(words)] for j in range(8)).capitalize()
                     + "." for i in range(150))
    (tmp_path / "t.txt").write_text(text)
    out = tmp_path / "out"
    args = ["-q", "symbiotic", "--dataset", f"text:{tmp_path / 't.txt'}", "--platform", "accel",
            "--out", str(out), "--cells", "lstm", "--widths", "8", "--baseline-width", "8",
            "--baseline-layers", "1", "--epochs", "1", "--max-batches", "2", "--min-count", "1",
            "--rounds", "1", "--sparsities", "0.5", "--tolerance", "10", "--no-ray"]
    res = json_result(run(args + ["--json"]))
    pruned = res["models"]["plain_pruned"]
    assert pruned["nonzero_parameters"] < res["models"]["plain"]["nonzero_parameters"]
    assert pruned["table_ms"] == res["models"]["plain"]["table_ms"]     # the dense array
    assert list(res["notes"]) == ["plain_pruned"] and DENSE in res["notes"]["plain_pruned"]
    assert "(--platform spring)" in res["notes"]["plain_pruned"]
    assert f"**note:** plain_pruned's accel table ms: {DENSE}" in (out / "report.md").read_text()
    assert json.loads((out / "report.json").read_text())["notes"] == res["notes"]
