"""SCANN: feature reduction, layer compression and the three schemes on iris."""
import pytest
import torch

from synth.errors import ConfigError, UserError
from synth.scann import (REDUCERS, ScannConfig, compressed_widths, geometric_mean,
                         reduce_dataset, run_scann)


@pytest.fixture(scope="module")
def iris():
    from synth.data import load_dataset
    return load_dataset("iris")


@pytest.mark.parametrize("method", [m for m in REDUCERS if m != "none"])
def test_reducers_fit_on_train_and_standardize(iris, method):
    red = reduce_dataset(iris, method, 2, seed=0)
    assert red.input_shape == (2,) and red.x_test.shape == (len(iris.y_test), 2)
    assert torch.allclose(red.x_train.mean(0), torch.zeros(2), atol=1e-4)
    assert torch.equal(red.y_train, iris.y_train)


def test_reduce_rejects_too_many_components(iris):
    with pytest.raises(UserError, match="at most the 4 features of iris, got 9"):
        reduce_dataset(iris, "pca", 9)


@pytest.mark.parametrize("components, expected", [
    ("2.7", "--components of 1 or more is a number of features and must be whole (a fraction "
            "of them is below 1), got 2.7"),
    ("inf", "--components must be a finite number in (0, inf), got inf"),
    ("1e300", "components must be at most the 4 features of iris, got 1e+300"),
])
def test_cli_components_that_are_not_a_feature_count_are_refused(components, expected):
    """--components 2.7 kept 2 features without a word; inf was an OverflowError traceback;
    1e300 printed a 301-digit number."""
    from click.testing import CliRunner
    from deploy.cli.main import cli
    r = CliRunner().invoke(cli, ["scann", "--dataset", "iris", "--components", components])
    lines = r.output.strip().splitlines()
    assert r.exit_code == 2 and len(lines) == 1 and len(lines[0]) < 200, r.output
    assert expected in lines[0], lines[0]
    with pytest.raises(UserError, match="must be whole"):
        reduce_dataset(None, "pca", 1.5)   # the library function checks before any work


def test_compressed_widths_follow_the_feature_ratio():
    assert compressed_widths([64, 32], 64, 16) == [16, 8]
    assert compressed_widths([64, 32], 30, 1) == [2, 2]


def test_config_errors_name_the_value():
    with pytest.raises(ConfigError, match="scheme must be one of A, B, C, got 'D'"):
        ScannConfig(scheme="D")
    with pytest.raises(ConfigError, match="reduce must be one of"):
        ScannConfig(reduce="tsne")


@pytest.mark.parametrize("scheme", ["A", "B", "C"])
def test_schemes_reduce_connections(iris, scheme):
    config = ScannConfig(scheme=scheme, epochs=15, prune_steps=2, retrain_epochs=3,
                         hidden=(16, 8), device="cpu", max_accuracy_drop=1.0)
    r = run_scann(iris, config)
    assert r["reduced_features"] == 2 and r["hidden"] == [8, 4]
    assert r["baseline_connections"] == 4 * 16 + 16 * 8 + 8 * 3
    assert 0 < r["connections"] < 2 * 8 + 8 * 4 + 4 * 3
    assert r["reduction"] == pytest.approx(r["baseline_connections"] / r["connections"])
    phases = [h["phase"] for h in r["history"]]
    assert ("grow" in phases) and ("prune" in phases)


def test_geometric_mean():
    assert geometric_mean([2, 8]) == pytest.approx(4.0)
    with pytest.raises(UserError):
        geometric_mean([0, 1])
