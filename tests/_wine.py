"""wine as a user's tables: the same rows with the feature columns in another order."""
import numpy as np
from sklearn.datasets import load_wine


def wine_tables(folder):
    """(frame, features, perm): wine (label column ``label``, last) written as
    ``folder``/train.csv, and its rows with the features in a fixed random order ``perm`` as
    ``folder``/perm.csv."""
    frame = load_wine(as_frame=True).frame.rename(columns={"target": "label"})
    features = list(frame.columns[:-1])
    perm = list(np.random.default_rng(0).permutation(features))
    frame.to_csv(folder / "train.csv", index=False)
    frame[perm + ["label"]].to_csv(folder / "perm.csv", index=False)
    return frame, features, perm
