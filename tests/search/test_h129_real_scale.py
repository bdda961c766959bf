"""A search's real set meets its teacher as ``nnsynth eval`` meets a set (h129): through
``synth.checkpoint.in_model_scale``, so a --dataset other than the teacher's training file
is normalized with the teacher's statistics.  Before, only its columns were put in the
teacher's order, the set was standardized by its own statistics, and the trials (which
learn the teacher's logits on teacher-normalized synthesized inputs) were scored on other
numbers: a wine teacher scored 87% on the search's test split of a subset where eval
printed 96%."""
import pytest
import torch
from sklearn.datasets import load_wine

from search.run import SearchConfig, data_digest, real_split_seed
from search.trial import real_data
from synth.checkpoint import checkpoint_dataset, load_model, read_checkpoint
from synth.data import load_dataset
from tests._cli import json_result, run


@pytest.fixture(scope="module")
def wine(tmp_path_factory):
    """(dir, teacher): all of wine as all.csv, its rows of alcohol > 12.6 (every class,
    other means and stds) as sub.csv; an MLP teacher trained on all.csv."""
    tmp = tmp_path_factory.mktemp("wine")
    frame = load_wine(as_frame=True).frame.rename(columns={"target": "label"})
    frame.to_csv(tmp / "all.csv", index=False)
    frame[frame["alcohol"] > 12.6].to_csv(tmp / "sub.csv", index=False)
    json_result(run(["-q", "train", "--dataset", f"csv:{tmp / 'all.csv'}", "--model",
                     '{"family": "mlp", "hidden": [16]}', "--epochs", "5",
                     "--out", str(tmp / "t.pt"), "--json"]))
    return tmp, tmp / "t.pt"


def _accuracy(model, x, y) -> float:
    with torch.no_grad():
        return (model(x).argmax(1) == y).float().mean().item()


def test_search_scores_another_file_as_eval_does(wine):
    tmp, teacher = wine
    dataset = f"csv:{tmp / 'sub.csv'}"
    config = SearchConfig(teacher=str(teacher), data=str(tmp), dataset=dataset)
    seed = real_split_seed(config)
    got = real_data(dataset, seed, str(teacher))
    meta = read_checkpoint(teacher)["dataset"]
    assert (got.mean, got.std) == (meta["mean"], meta["std"])   # its own before
    model = load_model(teacher).eval()
    evaluated = checkpoint_dataset(model, dataset)              # what eval scores
    assert torch.equal(got.x_test, evaluated.x_test)
    shown = json_result(run(["-q", "eval", "--model", str(teacher), "--dataset", dataset,
                             "--json"]))["accuracy"]
    assert _accuracy(model, got.x_test, got.y_test) == pytest.approx(shown)
    assert data_digest(config) == got.digest()


def test_the_teachers_own_file_is_unchanged(wine):
    tmp, teacher = wine
    dataset = f"csv:{tmp / 'all.csv'}"
    assert real_data(dataset, 0, str(teacher)).digest() == load_dataset(dataset,
                                                                        seed=0).digest()
