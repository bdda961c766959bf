"""``nnsynth hwsim table --table FILE --model M --json`` carries the warning it printed.

A host CPU table measured at 1 torch thread and used for a prediction at --threads 2 printed
'warning: host CPU latency table was measured at threads 1; used at threads 2: ...' on
stderr, while the --json object (conditions, device, model, prediction, rows, table) had no
word of it.  It is now the result's ``warning``; a prediction under the table's own
conditions has none."""
from tests._cli import json_result, run
from tests.test_h239_dense_accel_note import _checkpoints


def test_a_prediction_at_other_threads_has_the_warning_in_its_json(tmp_path):
    dense, _ = _checkpoints(tmp_path)
    built = run(["-q", "hwsim", "table", "--device", "cpu", "--model", str(dense), "--repeats",
                 "4", "--json"])
    assert "warning" not in json_result(built)
    saved = tmp_path / "cpu.json"
    saved.write_text(built.output.strip().splitlines()[-1])
    same = json_result(run(["-q", "hwsim", "table", "--table", str(saved), "--model", str(dense),
                            "--json"]))
    assert "warning" not in same
    other = json_result(run(["-q", "hwsim", "table", "--table", str(saved), "--model",
                             str(dense), "--threads", "2", "--json"]))
    assert "measured at threads 1; used at threads 2" in other["warning"]
