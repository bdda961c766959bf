"""`nnsynth eval` says when the split it scores lacks some of the set's classes (helper h236).

A user's CSV with a split column whose 5 test rows hold cats and dogs but no emu (the set's
rare third class, 25 of 400 rows): `nnsynth eval --model m.pt` printed "accuracy: 1.0000,
samples: 5" and nothing else, a figure that says nothing of one class of three.  The same
happens to the val slice of a small synthesized set.  A file lacking a class altogether was
already named (``classes_missing``); a split lacking one now is too, and the figure stays.
"""
import numpy as np
import pandas as pd
import pytest
import torch

from synth.checkpoint import save_checkpoint
from synth.data import load_dataset
from synth.models import build
from synth.workflows import evaluate_checkpoint


@pytest.fixture(scope="module")
def split_csv(tmp_path_factory):
    root = tmp_path_factory.mktemp("h236")
    rng = np.random.default_rng(0)
    labels = np.array(["cat"] * 150 + ["dog"] * 200 + ["emu"] * 25)
    df = pd.DataFrame(rng.normal(size=(len(labels), 3)), columns=["a", "b", "c"])
    df["label"] = labels
    split = np.array(["train"] * len(df), dtype=object)
    split[[0, 1, 2, 150, 151]] = "test"           # cats and dogs, no emu
    split[[3, 4, 152, 153, 350, 351]] = "val"     # every class
    df["split"] = split
    path = root / "t.csv"
    df.to_csv(path, index=False)
    data = load_dataset(f"csv:{path}")
    torch.manual_seed(0)
    model = build("mlp_small", data.input_shape, data.num_classes)
    save_checkpoint(root / "m.pt", model, dataset=data.metadata(), metrics={})
    return root


def test_a_split_without_a_class_is_named(split_csv):
    result, notes = evaluate_checkpoint(str(split_csv / "m.pt"))
    assert result["split"] == "test" and result["samples"] == 5
    said = [n for n in notes if "holds no sample" in n]
    assert len(said) == 1, notes
    assert said[0].startswith("warning: ") and "test split" in said[0]
    assert "2 of its 3 classes" in said[0]
    # a split that holds every class says nothing of the kind
    _, notes = evaluate_checkpoint(str(split_csv / "m.pt"), split="val")
    assert not [n for n in notes if "holds no sample" in n], notes


def test_the_cli_prints_it_on_stderr(split_csv):
    from tests._cli import run
    result = run(["eval", "--model", str(split_csv / "m.pt"), "--json"])
    assert result.exit_code == 0, result.output
    assert "holds no sample of class" in result.stderr
    # stdout stays one JSON line; since h246 the warning is its "warning" too, as train's is
    import json
    assert "holds no sample of class" in json.loads(result.stdout.splitlines()[-1])["warning"]
