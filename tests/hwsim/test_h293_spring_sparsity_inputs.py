"""h293: ``hwsim eval --spring`` measured SPRING's activation sparsity on a seeded N(0, 1)
batch whatever the checkpoint's data, and did not say so (real test inputs moved SPRING's
latency/energy -9% to +1% on five models, h290).  It now measures on the first
``hwsim.sparsity_sample_size`` samples of the checkpoint's held-out split (or --dataset's),
falls back to random inputs only where no set loads, and says which."""
import dataclasses
import json

import pytest
import torch
from click.testing import CliRunner

from deploy.cli.main import cli
from hwsim import extract, spring
from synth.checkpoint import save_checkpoint
from synth.data import load_dataset
from synth.models import build

SHAPE = (1, 8, 8)


@pytest.fixture(scope="module")
def digits():
    return load_dataset("digits")


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    return build("mlp_small", SHAPE, 10).eval()


def _eval(args):
    r = CliRunner().invoke(cli, ["hwsim", "eval"] + args)
    return r


def _spring(ops):
    return spring.compare(ops, spring.SpringConfig(), mode="inference", chunks=True)["spring"]


def test_checkpoint_priced_on_its_test_samples(tmp_path, digits, model):
    path = save_checkpoint(tmp_path / "m.pt", model, dataset=digits.metadata())
    r = _eval(["--model", str(path), "--spring", "--json"])
    assert r.exit_code == 0, r.output
    out = json.loads(r.output.strip().splitlines()[-1])
    assert out["spring_sparsity_inputs"] == \
        "the first 64 of 360 samples of the test split of digits", out.get("spring_sparsity_inputs")
    # by hand: the batch-1 ops, each op's activation sparsity measured on 64 test samples
    x = digits.x_test[:64]
    ops = [dataclasses.replace(o, act_sparsity=m.act_sparsity)
           for o, m in zip(extract(model, SHAPE), extract(model, SHAPE, inputs=x), strict=True)]
    real, rand = _spring(ops), _spring(extract(model, SHAPE))
    assert out["spring_inference"]["latency_ms"] == pytest.approx(real["latency_ms"], rel=1e-12)
    assert out["spring_inference"]["energy_mj"] == pytest.approx(real["energy_mj"], rel=1e-12)
    assert real["energy_mj"] != pytest.approx(rand["energy_mj"], rel=1e-6)   # inputs matter
    # the accelerator model is dense: the same figures as without --spring
    plain = json.loads(_eval(["--model", str(path), "--json"]).output.strip().splitlines()[-1])
    assert plain["latency_ms"] == out["latency_ms"] and "spring_sparsity_inputs" not in plain
    human = _eval(["--model", str(path), "--spring"]).output
    assert "SPRING's activation sparsity measured on the first 64 of 360 samples of the test " \
           "split of digits" in human


def test_random_inputs_are_said_and_why(tmp_path, model):
    path = save_checkpoint(tmp_path / "m.pt", model)     # records no data set
    out = json.loads(_eval(["--model", str(path), "--spring", "--json"]).output
                     .strip().splitlines()[-1])
    said = out["spring_sparsity_inputs"]
    assert said.startswith("a seeded N(0, 1) random batch of 1 sample") and "data set" in said
    assert out["spring_inference"]["latency_ms"] == \
        pytest.approx(_spring(extract(model, SHAPE))["latency_ms"], rel=1e-12)
    spec = json.loads(_eval(["--spec", "mlp_small", "--input-shape", "1x8x8", "--spring",
                             "--json"]).output.strip().splitlines()[-1])
    assert "--dataset" in spec["spring_sparsity_inputs"]


def test_dataset_option(tmp_path, model):
    r = _eval(["--spec", "mlp_small", "--input-shape", "1x8x8", "--spring", "--dataset",
               "digits", "--json"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.output.strip().splitlines()[-1])["spring_sparsity_inputs"].endswith(
        "test split of digits")
    for args, named in ((["--dataset", "digits"], "--spring"),     # without --spring: unread
                        (["--spring", "--dataset", "iris"], "iris")):   # another shape
        r = _eval(["--spec", "mlp_small", "--input-shape", "1x8x8"] + args)
        assert r.exit_code == 2 and "Traceback" not in r.output, r.output
        assert len(r.output.strip().splitlines()) == 1 and named in r.output, r.output


def test_spring_table_measures_as_eval(tmp_path, digits, model):
    """``hwsim table --device spring`` keys its rows by the sparsity and its prediction was
    eval --spring's (h290): both measure on the same samples, and say so; a saved table
    predicts the checkpoint with every op found."""
    path = save_checkpoint(tmp_path / "m.pt", model, dataset=digits.metadata())
    ev = json.loads(_eval(["--model", str(path), "--spring", "--json"]).output
                    .strip().splitlines()[-1])
    r = CliRunner().invoke(cli, ["hwsim", "table", "--device", "spring", "--model", str(path),
                                 "--json"])
    assert r.exit_code == 0, r.output
    line = r.output.strip().splitlines()[-1]
    table = json.loads(line)
    assert table["spring_sparsity_inputs"] == ev["spring_sparsity_inputs"]
    assert table["prediction"]["latency_ms"] == \
        pytest.approx(ev["spring_inference"]["latency_ms"], rel=1e-12)
    saved = tmp_path / "t.json"
    saved.write_text(line)
    r = CliRunner().invoke(cli, ["hwsim", "table", "--table", str(saved), "--model", str(path),
                                 "--json"])
    again = json.loads(r.output.strip().splitlines()[-1])
    assert r.exit_code == 0 and not again["prediction"]["missing"], r.output
    assert again["prediction"]["latency_ms"] == table["prediction"]["latency_ms"]
