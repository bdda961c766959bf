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
                     '{"family": "mlp", "hidden": [16]}', "--epochs", "5", "--min-steps", "0",
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


def _toy_ts(path, declared: str) -> str:
    """A .ts file of 60 two-channel series, 'up' (rising) and 'down' (falling) in turn,
    its @classLabel line declaring the classes in the order ``declared``."""
    from tests.synth._tiny import TOY_TS_HEADER
    rng = torch.Generator().manual_seed(0)
    rows = []
    for i in range(60):
        label = "up" if i % 2 == 0 else "down"
        ramp = torch.linspace(0, 1, 6) * (1 if label == "up" else -1)
        series = [ramp + 0.1 * torch.randn(6, generator=rng) for _ in range(2)]
        rows.append(":".join(",".join(f"{v:.3f}" for v in s.tolist()) for s in series)
                    + f":{label}")
    path.write_text(TOY_TS_HEADER.replace("up down", declared) + "\n".join(rows) + "\n")
    return f"ts:{path}"


def test_search_puts_classes_in_the_teachers_order_as_eval_does(tmp_path):
    """A --dataset declaring the teacher's classes in another order ('down up' for a teacher
    of 'up down') is scored with its labels in the teacher's output order, as eval scores it
    (``in_model_order``); before, the search took its labels index by index: every label
    swapped, silently (lead, after h129's report)."""
    teacher = tmp_path / "t.pt"
    json_result(run(["-q", "train", "--dataset", _toy_ts(tmp_path / "a.ts", "up down"),
                     "--model", "mlp_small", "--epochs", "5", "--out", str(teacher),
                     "--json"]))
    dataset = _toy_ts(tmp_path / "b.ts", "down up")
    got = real_data(dataset, 0, str(teacher))
    assert list(got.class_names) == ["up", "down"]
    model = load_model(teacher).eval()
    evaluated = checkpoint_dataset(model, dataset)
    assert torch.equal(got.y_test, evaluated.y_test)
    assert _accuracy(model, got.x_test, got.y_test) > 0.9
