"""``nnsynth secret --class-names`` takes the words in class order; a list that gives a class
the name of another class is a one-line error, not a fit of crossed meanings.

wine saved as a CSV with its cultivars' names has the classes (barbera, barolo, grignolino),
sorted; 'barolo,grape,barbera' (the user's own order, grignolino renamed) fitted class
barbera to the meaning of "barolo" and grignolino to "barbera", and the summary only listed
the words."""
from __future__ import annotations

import pytest
from click.testing import CliRunner

from deploy.cli.main import cli
from tests._hostile_paths import tiny_checkpoint


def _secret(*args):
    return CliRunner().invoke(cli, ["secret", *args])


@pytest.fixture(scope="module")
def wine_csv(tmp_path_factory):
    from sklearn.datasets import load_wine
    frame = load_wine(as_frame=True).frame
    frame["label"] = frame.pop("target").map({0: "barolo", 1: "grignolino", 2: "barbera"})
    path = tmp_path_factory.mktemp("wine") / "wine.csv"
    frame[list(frame.columns[::-1])].to_csv(path, index=False)
    return f"csv:{path}"


def test_names_of_other_classes_are_refused_with_the_class_order(wine_csv):
    r = _secret("--dataset", wine_csv, "--class-names", "barolo,grape,barbera")
    lines = r.output.strip().splitlines()
    assert r.exit_code == 2 and len(lines) == 1, r.output
    assert "'barolo' for class 'barbera'" in lines[0]
    assert "'barbera' for class 'grignolino'" in lines[0]
    assert "class order, barbera, barolo, grignolino" in lines[0]
    r = _secret("--dataset", "iris", "--class-names", '["Virginica", "versicolor", "setosa"]')
    assert r.exit_code == 2 and "'Virginica' for class 'setosa'" in r.output, r.output


def test_names_in_class_order_and_new_words_are_taken(wine_csv):
    r = _secret("--dataset", wine_csv, "--class-names", "barbera,barolo,grape", "--json")
    assert r.exit_code == 0, r.output
    r = _secret("--dataset", "iris", "--class-names", "small iris,blue iris,large iris")
    assert r.exit_code == 0, r.output


def test_the_network_path_checks_the_order_too(tmp_path):
    """``--model``: the names go in the network's output order (iris[0,1]: setosa,
    versicolor), checked as the fitted path checks them."""
    model = tiny_checkpoint(tmp_path / "m.pt")
    r = _secret("--model", model, "--class-names", "versicolor,setosa")
    assert r.exit_code == 2 and "'versicolor' for class 'setosa'" in r.output, r.output
    assert _secret("--model", model, "--class-names", "small iris,blue iris").exit_code == 0
