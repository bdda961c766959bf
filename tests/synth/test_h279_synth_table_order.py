"""A user's own Parquet table given as --synth meets the model's classes by name (h279).

``synthesized_for`` put a plain table's feature columns in the model's order and its values
in the model's normalization, but kept its labels' own class order: a table labelled 'lo',
'mid', 'hi' as text (classes hi, lo, mid, sorted) for a model of an ordered category (lo <
mid < hi) gave a search's trials their selection accuracy, and prune its Taylor importance's
cross-entropy targets (Molchanov et al. 2019, Eq. 8), with every label naming another class.
"""
import numpy as np
import pandas as pd

from synth.checkpoint import load_model, save_checkpoint, synthesized_for
from synth.data import load_dataset
from synth.models import build


def test_a_plain_tables_labels_follow_the_models_classes(tmp_path):
    rng = np.random.default_rng(0)
    y = np.arange(90) % 3
    words = np.array(["lo", "mid", "hi"])[y]
    x = rng.normal(size=(90, 2)) + 4 * y[:, None]   # classes far apart
    ordered = pd.Categorical(words, categories=["lo", "mid", "hi"], ordered=True)
    table = pd.DataFrame({"a": x[:, 0], "b": x[:, 1], "label": ordered})
    table.to_parquet(tmp_path / "m.parquet")
    data = load_dataset(f"parquet:{tmp_path / 'm.parquet'}")
    assert data.class_names == ["lo", "mid", "hi"]
    path = save_checkpoint(tmp_path / "m.pt", build("mlp_small", (2,), 3),
                           dataset=data.metadata())
    (tmp_path / "syn").mkdir()
    pd.DataFrame({"a": x[:, 0], "b": x[:, 1], "label": words}).to_parquet(
        tmp_path / "syn" / "t.parquet")   # text labels: classes hi, lo, mid by themselves
    found = synthesized_for(load_model(path), tmp_path / "syn")
    assert found.class_names == ["lo", "mid", "hi"]
    for split in ("train", "val"):
        xs, ys = found.split(split)
        # a row's label is the model's class of its word: feature a grows lo < mid < hi
        means = [float(xs[ys == k][:, 0].mean()) for k in range(3)]
        assert means == sorted(means), means
