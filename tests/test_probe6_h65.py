"""User probe 6 (helper 65): other data sets (.ts files, CSV tables) and other accelerator
configurations, run as a user would; each test failed before its fix."""
import json

import pytest
import torch

from tests._cli import json_result, one_error_line, run


def _ts(path, order: str, rows: int = 30) -> str:
    """A two-class .ts file (20 series of class '1', 10 of class '2'), its classes declared
    in ``order``."""
    lines = ["@problemName probe", "@univariate true", f"@classLabel true {order}", "@data"]
    for i in range(rows):
        label = "1" if i % 3 else "2"
        values = ",".join(f"{(i * 7 + t) % 5 - (2 if label == '2' else 0)}" for t in range(8))
        lines.append(f"{values}:{label}")
    path.write_text("\n".join(lines) + "\n")
    return f"ts:{path}"


def test_eval_on_a_file_declaring_the_classes_in_another_order(tmp_path):
    """Two .ts files with the same series, one declaring '@classLabel true 1 2' and the other
    '2 1': `nnsynth eval --model m.pt --dataset ts:b.ts` scored the model's output 0 (class
    '1') against label index 0 of b.ts (class '2'): a model right on 70% printed 30%."""
    from synth.checkpoint import save_checkpoint
    from synth.data import load_dataset
    from synth.models import build
    a, b = _ts(tmp_path / "a.ts", "1 2"), _ts(tmp_path / "b.ts", "2 1")
    data = load_dataset(a, seed=0)
    model = build({"family": "mlp", "hidden": [4]}, data.input_shape, data.num_classes)
    with torch.no_grad():   # always predicts class '1', the first of a.ts
        for p in model.parameters():
            p.zero_()
        list(model.parameters())[-1][0] = 1.0
    save_checkpoint(tmp_path / "m.pt", model, dataset=data.metadata())
    acc = {f: json_result(run(["eval", "--model", str(tmp_path / "m.pt"), "--dataset", f,
                               "--split", "train", "--json"]))["accuracy"] for f in (a, b)}
    assert acc[a] == pytest.approx(2 / 3, abs=0.1)
    assert acc[b] == acc[a]


def _csv(path, first_column) -> str:
    """A CSV table: feature 'a' = ``first_column``, a noise feature, labels by a's side of
    its median (alternating when a is constant)."""
    import numpy as np
    noise = np.random.default_rng(1).normal(size=len(first_column))
    labels = first_column > np.median(first_column)
    labels = labels if labels.any() else np.arange(len(labels)) % 2   # a constant column
    rows = [f"{float(a)!r},{float(n)!r},{int(k)}" for a, n, k in zip(first_column, noise, labels)]
    path.write_text("a,noise,label\n" + "\n".join(rows) + "\n")
    return f"csv:{path}"


@pytest.mark.parametrize("scale", [1e-11, 1e-7])
def test_a_feature_in_small_units_keeps_its_spread(tmp_path, scale):
    """A CSV feature in SI units (capacitances, ~1e-11 F) was divided by its std + 1e-8,
    that is by ~1e-8: it reached the model as 1e-3 of a unit, and a table whose label is its
    sign trained to 55% test accuracy (100% with the same values in pF).  Now every feature
    and sequence channel of spread below 1e-5 is divided by its own std."""
    import numpy as np
    from synth.data import load_dataset
    a = np.random.default_rng(0).normal(size=90) * scale
    data = load_dataset(_csv(tmp_path / "t.csv", a), seed=0)
    assert data.x_train[:, 0].std().item() == pytest.approx(1.0, rel=0.05)
    ts = tmp_path / "s.ts"
    rows = [",".join(repr(float(v * scale)) for v in np.random.default_rng(i).normal(size=6))
            + f":{i % 2}" for i in range(30)]
    ts.write_text("@classLabel true 0 1\n@data\n" + "\n".join(rows) + "\n")
    seq = load_dataset(f"ts:{ts}", seed=0)
    assert seq.x_train.std().item() == pytest.approx(1.0, rel=0.1)


def test_a_constant_feature_still_normalizes_to_zero(tmp_path):
    import numpy as np
    from synth.data import load_dataset
    data = load_dataset(_csv(tmp_path / "c.csv", np.full(60, 3.25e-11)), seed=0)
    assert torch.isfinite(data.x_train).all() and data.x_train[:, 0].abs().max() < 1e-6


def test_a_csv_too_large_to_normalize_is_a_one_line_error(tmp_path):
    """A CSV feature of values near 1e308: its mean overflowed, every input became NaN (numpy
    RuntimeWarnings on stderr), and `nnsynth train` ended with 'training diverged ... lower
    the learning rate', which no learning rate mends."""
    import numpy as np
    name = _csv(tmp_path / "big.csv", np.resize([1e308, -1e308, 1.5e308, 0.5], 60))
    line = one_error_line(run(["train", "--dataset", name, "--model", "mlp_small",
                               "--epochs", "1", "--min-steps", "0",
                               "--out", str(tmp_path / "m.pt")]))
    assert "feature 0 has values too large to normalize" in line
    assert not (tmp_path / "m.pt").exists()


@pytest.mark.parametrize("spec, shape, batch, what", [
    ('{"family": "mlp", "hidden": [4096, 4096]}', "4", 100_000, "multiply-accumulates"),
    ('{"family": "convnet", "widths": [256], "kernels": [1], "strides": [1], "bn": false, '
     '"pool": "avg", "hidden": []}', "1x512x512", 16, "largest layer output")])
def test_hwsim_eval_bounds_the_work_of_its_forward_pass(spec, shape, batch, what):
    """`hwsim eval` runs the model once on a random batch to measure activation sparsity;
    only that batch's input was bounded (2^26 values).  An MLP of two 4096-wide layers at
    --batch 100000 (400,000 input values) would run 1.7e12 multiply-accumulates, a 1x1
    convolution of 256 filters on 16 images of 512x512 allocate 4 GiB per layer output
    (resnet18 on 3x224x224 at --batch 32: 61 s and 3.8 GB here; --batch 445 was allowed).
    Now both are counted on the meta device first and refused in one line."""
    import time
    start = time.monotonic()
    line = one_error_line(run(["hwsim", "eval", "--spec", spec, "--input-shape", shape,
                               "--batch", str(batch)]))
    assert what in line and "batch at most" in line
    assert time.monotonic() - start < 30


def test_sample_work_counts_what_count_flops_counts():
    from hwsim.workload import sample_work
    from synth.models import build, count_flops
    for spec, shape in (("lenet5_bn", (1, 28, 28)), ("hlstm32", (4, 20)),
                        ("lstm64x2", (3, 20)), ("resnet8_w16", (3, 16, 16))):
        model = build(spec, shape, 5)
        macs, largest = sample_work(model, shape)
        assert macs == count_flops(model, shape) and largest > 0


def test_hwsim_eval_table_keeps_columns_apart_for_large_batches():
    """Per-layer figures wider than their column ran into each other ('25,600,00012,800,000':
    cycles and stall of one eltwise layer at --batch 100000)."""
    result = run(["hwsim", "eval", "--spec", '{"family": "mlp", "hidden": [256, 256]}',
                  "--input-shape", "4", "--batch", "1000000"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("layer"))
    for line in lines[header + 1:header + 5]:
        assert len(line.split()) == 6, line


def test_a_table_holding_none_of_the_models_ops_predicts_nothing(tmp_path):
    """`hwsim table --table T --model M` with a table of another model's layers printed
    'predicted total 0 ms, 0 mJ' (JSON latency_ms 0.0) and exit 0; now a one-line error, and
    tables.predict gives None for both figures."""
    result = run(["hwsim", "table", "--device", "accel", "--model", "lenet5", "--json"])
    table = tmp_path / "t.json"
    table.write_text(json.dumps(json_result(result)))
    line = one_error_line(run(["hwsim", "table", "--table", str(table), "--model",
                               "mlp_small", "--input-shape", "13"]))
    assert "holds none of the" in line and "mlp_small" in line
    same = json_result(run(["hwsim", "table", "--table", str(table), "--model", "lenet5",
                            "--json"]))
    assert same["prediction"]["latency_ms"] > 0 and not same["prediction"]["missing"]
    from hwsim import extract, tables
    from synth.models import build
    ops = extract(build("mlp_small", (13,), 10), (13,))
    pred = tables.predict(tables.load_table(json.loads(table.read_text())), ops)
    assert pred["latency_ms"] is None and pred["energy_mj"] is None


@pytest.mark.parametrize("header", ["@classLabel false", "@targetLabel true"])
def test_a_ts_file_without_class_labels_is_refused(tmp_path, header):
    """A .ts file of two channels declaring '@classLabel false' (no label field) loaded as a
    set of ONE channel whose 'classes' were the second channel's values ('0,0,0', '1,1,1'),
    and trained; a regression file ('@targetLabel true', aeon's Covid3Month) was refused as
    "class '0.0020...' has 1 series".  Both are now refused for what they are."""
    rows = [f"{i},{i + 1},{i + 2}:{i % 2},{i % 2},{i % 2}" for i in range(12)]
    path = tmp_path / "u.ts"
    path.write_text(f"@problemName u\n@univariate false\n{header}\n@data\n" + "\n".join(rows))
    line = one_error_line(run(["train", "--dataset", f"ts:{path}", "--model", "mlp_small",
                               "--epochs", "1", "--min-steps", "0",
                               "--out", str(tmp_path / "m.pt")]))
    assert "declares no class labels" in line


def test_a_ts_header_may_hold_percent_comments(tmp_path):
    """aeon ships .ts files whose header opens with ARFF-style '%' comment lines (its
    UnitTest_TRAIN.ts, a cut of ChinaTown), and aeon's reader skips them; `ts:` refused them
    as "expected a '@' header line before @data"."""
    rows = [f"{i},{i + 1},{i % 3}:{'1' if i % 2 else '2'}" for i in range(12)]
    path = tmp_path / "c.ts"
    path.write_text("%# a cut down version of a problem\n%\n@problemName c\n"
                    "@classLabel true 1 2\n@data\n" + "\n".join(rows) + "\n")
    from synth.data import load_dataset
    data = load_dataset(f"ts:{path}", seed=0)
    assert data.input_shape == (1, 3) and data.class_names == ["1", "2"]


def test_eval_warns_when_the_set_names_other_classes(tmp_path):
    """A set of as many classes under other names (a model of classes '1','2' scored on a
    file of 'x','y') was scored output index by label index without a word; now a warning
    on stderr names both lists (the JSON result is unchanged)."""
    from synth.checkpoint import save_checkpoint
    from synth.data import load_dataset
    from synth.models import build
    a = _ts(tmp_path / "a.ts", "1 2")
    other = tmp_path / "x.ts"
    other.write_text((tmp_path / "a.ts").read_text().replace(":1\n", ":x\n")
                     .replace(":2\n", ":y\n").replace("true 1 2", "true x y"))
    data = load_dataset(a, seed=0)
    save_checkpoint(tmp_path / "m.pt", build({"family": "mlp", "hidden": [4]},
                                             data.input_shape, 2), dataset=data.metadata())
    result = run(["eval", "--model", str(tmp_path / "m.pt"), "--dataset", f"ts:{other}",
                  "--json"])
    assert "are not the model's ['1', '2']" in result.output
    json_result(result)
    same = run(["eval", "--model", str(tmp_path / "m.pt"), "--json"])
    # its own set: no word of class names (an untrained model may still be warned of as
    # predicting one class for every sample: e2a40f3)
    warnings = [line for line in same.output.splitlines() if line.startswith("warning")]
    assert all("predicts class" in line for line in warnings), same.output
