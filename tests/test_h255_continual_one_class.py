"""``nnsynth continual`` with a --new-dataset of one class is told by the option and what it
needs (h255).  ``--new-dataset 'iris[2]'`` said 'data set 'iris[2]': a class subset needs at
least 2 classes, got 1' and a one-class CSV 'CSV data set one.csv: its labels hold 1 class;
at least 2 are needed': the loader's lines, naming neither the option nor that the set must
hold the model's old classes beside the new ones (they are scored on it)."""
import pytest
import torch

from synth.checkpoint import save_checkpoint
from synth.data import load_dataset
from synth.models import build
from tests._cli import one_error_line, run


@pytest.fixture(scope="module")
def old_model(tmp_path_factory):
    folder = tmp_path_factory.mktemp("old")
    data = load_dataset("iris[0,1]")
    torch.manual_seed(0)
    save_checkpoint(folder / "old.pt", build("mlp_small", data.input_shape, data.num_classes),
                    dataset=data.metadata(), metrics={})
    one = folder / "one.csv"
    one.write_text("a,b,label\n" + "".join(f"{i},{i % 3},x\n" for i in range(30)))
    return folder


@pytest.mark.parametrize("dataset, new", [("iris[2]", "2"), ("csv:{}/one.csv", "x")])
def test_a_new_set_of_one_class_is_named_by_its_option(old_model, dataset, new):
    dataset = dataset.format(old_model)
    line = one_error_line(run(["continual", "--model", str(old_model / "old.pt"),
                               "--new-dataset", dataset, "--new-classes", new, "--method",
                               "finetune", "--out", str(old_model / "new.pt")]))
    assert line == (f"error: --new-dataset {dataset} holds 1 class; it must hold the model's "
                    f"2 old classes and the new ones, 3 at least (the old classes are scored "
                    f"on it too)"), line
    assert not (old_model / "new.pt").exists()
