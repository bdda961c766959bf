"""h202: probes of hwsim table/dse, secret, diabdeep and incremental."""
import os

import pytest

from tests._cli import one_error_line, run


@pytest.fixture(scope="module")
def iris_pt(tmp_path_factory):
    path = tmp_path_factory.mktemp("h202") / "iris.pt"
    r = run(["train", "--dataset", "iris", "--model", "mlp_small", "--epochs", "1",
             "--min-steps", "0",
             "--out", str(path)])
    assert r.exit_code == 0, r.output
    return str(path)


def test_a_malformed_latency_table_is_named_as_json(tmp_path, iris_pt):
    # the table is the JSON line 'hwsim table --json' prints: "is not valid YAML" named the
    # wrong format and not what was expected
    for text in ("[" * 100000, '{"a":'):
        path = tmp_path / "bad.json"
        path.write_text(text)
        line = one_error_line(run(["hwsim", "table", "--table", str(path), "--model", iris_pt]))
        assert ("not valid JSON" in line or "nested too deep" in line) and "YAML" not in line, line
        assert "hwsim table" in line and "--json" in line, line


def test_a_bad_shape_in_model_names_model_not_input_shape():
    # 'lenet5@3x' blamed --input-shape, which was not given
    line = one_error_line(run(["hwsim", "dse", "--model", "lenet5@3x"]))
    assert line.startswith("error: --model 'lenet5@3x'") and "--input-shape" not in line, line
    assert "after @" in line and "1x28x28" in line, line
    line = one_error_line(run(["hwsim", "eval", "--spec", "lenet5@3x"]))
    assert line.startswith("error: --spec 'lenet5@3x'"), line


def test_dse_refuses_one_network_given_twice(iris_pt, monkeypatch):
    # one checkpoint under two paths was priced twice and counted twice in the geometric mean
    monkeypatch.chdir(os.path.dirname(iris_pt))
    for a, b in (("iris.pt", "./iris.pt"), ("iris.pt", iris_pt), ("iris.pt", "iris.pt"),
                 ("lenet5", "lenet5@1x28x28"),
                 ('{"family":"mlp","hidden":[8]}@4', '{"hidden": [8], "family": "mlp"}@4')):
        line = one_error_line(run(["hwsim", "dse", "--model", a, "--model", b]))
        assert line.startswith(f"error: --model '{b}'") and "once" in line, line
    # two shapes of one variant are two networks
    r = run(["hwsim", "dse", "--model", "lenet5", "--model", "lenet5@1x32x32", "--budget", "2"])
    assert r.exit_code == 0, r.output


def test_secret_warns_of_a_sets_other_class_names_as_eval_does(iris_pt, tmp_path):
    # eval warned that a CSV's classes 0, 1, 2 are not the model's setosa, ...; secret, which
    # fuses the meaning of the names, said nothing
    from sklearn.datasets import load_iris
    d = load_iris()
    rows = ["a,b,c,d,label"] + [",".join(map(str, x)) + f",{y}" for x, y in zip(d.data, d.target)]
    csv = tmp_path / "iris.csv"
    csv.write_text("\n".join(rows) + "\n")
    r = run(["eval", "--model", iris_pt, "--dataset", f"csv:{csv}"])
    assert r.exit_code == 0 and "are not the model's" in r.output, r.output
    r = run(["secret", "--model", iris_pt, "--dataset", f"csv:{csv}", "--json"])
    assert r.exit_code == 0, r.output
    import json
    warning = json.loads(r.output.strip().splitlines()[-1]).get("warning") or ""
    assert "are not the model's ['setosa', 'versicolor', 'virginica']" in warning, warning
    assert "--class-names" in warning, warning
    # the model's own set: no such warning ('setosa' has no GloVe vector: words for it)
    r = run(["secret", "--model", iris_pt, "--json", "--class-names",
             "small iris,blue iris,large iris"])
    assert r.exit_code == 0, r.output
    assert "are not the model's" not in (json.loads(r.output.strip().splitlines()[-1])
                                         .get("warning") or "")


def test_diabdeep_table_does_not_show_a_forests_comparisons_as_macs():
    # the forest's flops are comparisons (mean tree depth), shown in the "nz MACs" column
    from synth.diabdeep import table
    rows = [{"model": "server_diabnn", "spec": {"family": "mlp"}, "test_accuracy": 0.9,
             "nonzero_parameters": 100, "recurrent_weights": 0, "nonzero_flops": 4321,
             "latency_ms": 0.1, "accel_latency_ms": 0.01},
            {"model": "forest", "spec": {"random_forest": 100}, "test_accuracy": 0.8,
             "nonzero_parameters": 5000, "recurrent_weights": 0, "nonzero_flops": 987,
             "comparisons": 987, "latency_ms": 2.0}]
    text = table({"rows": rows})
    lines = text.splitlines()
    assert "4,321" in lines[1], text
    forest = next(line for line in lines if line.startswith("forest "))
    assert "987" not in forest and " - " in forest, text
    note = next(line for line in lines if "comparisons" in line)
    assert "987" in note and "no MACs" in note, text


def test_incremental_checkpoint_records_the_target_it_trained_to(iris_pt, tmp_path):
    # --target 0 means "the dense fine-tuning's plateau minus the margin": the checkpoint
    # recorded target 0.0, not the accuracy every method trained to
    import json

    import torch
    out = tmp_path / "inc.pt"
    r = run(["incremental", "--model", iris_pt, "--old", "iris", "--new", "iris",
             "--max-epochs", "1", "--min-steps", "0", "--out", str(out), "--json"])
    assert r.exit_code == 0, r.output
    used = json.loads(r.output.strip().splitlines()[-1])["target"]
    assert 0 < used < 1
    extra = torch.load(out, weights_only=True)["extra"]
    assert extra["incremental"]["target"] == used, extra["incremental"]
    assert "plateau" in extra["incremental_target_from"], extra
