"""h225: the bundled scikit-learn tables (iris, wine, breast_cancer) carried no feature names,
although scikit-learn names their columns (``load_iris().feature_names``): a model trained on
one recorded none, and its ONNX export (whose ``feature_names`` metadata says which column goes
where) named no input.  They carry scikit-learn's names now, as a csv:/parquet: table carries
its header's; their class names, splits and digests are what they were."""
import json

import pytest
import sklearn.datasets as skd
import torch

from synth.data import load_dataset


@pytest.mark.parametrize("name", ["iris", "wine", "breast_cancer"])
def test_bundled_tables_carry_scikit_learns_feature_names(name):
    bunch = getattr(skd, f"load_{name}")()
    data = load_dataset(name, seed=0)
    names = [str(n) for n in bunch.feature_names]
    assert data.metadata()["feature_names"] == names
    assert data.class_names == [str(c) for c in bunch.target_names]   # unchanged


@pytest.mark.parametrize("name,sizes,digest", [
    ("iris", [108, 12, 30], "f8e106644c81027d"), ("wine", [127, 15, 36], "a92929b4b8e1462a"),
    ("breast_cancer", [409, 46, 114], "eb30b48dcdf20a44")])
def test_names_change_no_split_and_no_digest(name, sizes, digest):
    data = load_dataset(name, seed=0)   # (sizes and digests read before the names were kept)
    assert [len(data.y_train), len(data.y_val), len(data.y_test)] == sizes
    assert data.digest() == digest   # names are not trained on: checkpoints' digests hold


def test_an_iris_models_onnx_export_names_its_features(tmp_path):
    import onnx

    from deploy.onnx_export import export_checkpoint
    from synth.checkpoint import read_checkpoint
    from synth.train import TrainConfig
    from synth.workflows import train_checkpoint
    names = [str(n) for n in skd.load_iris().feature_names]
    train_checkpoint("iris", "mlp_small", tmp_path / "m.pt",
                     TrainConfig(epochs=1, device="cpu", progress=False))
    assert read_checkpoint(tmp_path / "m.pt")["dataset"]["feature_names"] == names
    result, _ = export_checkpoint(tmp_path / "m.pt", tmp_path / "m.onnx")
    props = {p.key: p.value for p in onnx.load(str(tmp_path / "m.onnx")).metadata_props}
    assert json.loads(props["feature_names"]) == names == ['sepal length (cm)',
                                                          'sepal width (cm)',
                                                          'petal length (cm)',
                                                          'petal width (cm)']
    assert result["metadata"] == props
    assert torch.tensor(json.loads(props["mean"])).shape == (4,)


def test_a_table_meets_an_iris_model_by_position_unless_it_holds_its_names(tmp_path):
    """scikit-learn's names are not the user's: a CSV of iris headed a,b,c,d meets an iris
    model by position, as before the names were kept; iris's own names in another order are
    put in the model's order (a table's are); the data iris meets a model of a,b,c,d by
    position too."""
    import pandas as pd

    from synth.checkpoint import in_model_columns, names_by_position
    iris = load_dataset("iris", seed=0)
    meta = iris.metadata()
    names = meta["feature_names"]
    x = iris.x_train.numpy()
    pd.DataFrame({**{c: x[:, i] for i, c in enumerate("abcd")},
                  "label": iris.y_train.numpy()}).to_csv(tmp_path / "abcd.csv", index=False)
    own = load_dataset(f"csv:{tmp_path / 'abcd.csv'}", seed=0)
    assert in_model_columns(own, meta) is own                       # by position
    assert in_model_columns(iris, own.metadata()) is iris           # by position
    order = [2, 0, 3, 1]
    pd.DataFrame({**{names[i]: x[:, i] for i in order},
                  "label": iris.y_train.numpy()}).to_csv(tmp_path / "named.csv", index=False)
    named = load_dataset(f"csv:{tmp_path / 'named.csv'}", seed=0)
    moved = in_model_columns(named, meta)
    assert moved.metadata()["feature_names"] == names
    assert torch.equal(moved.x_train, named.x_train[:, [1, 3, 0, 2]])
    assert names_by_position("iris[0,1]", "csv:x") and names_by_position(None, "wine")
    assert not names_by_position("csv:a", "parquet:b", None)
