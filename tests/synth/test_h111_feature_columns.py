"""A model of a user's table meets another table by its feature columns' names (h111): the
same columns in another order are put in the model's order, other columns are refused in
one line, and a checkpoint written before names were recorded keeps today's behaviour
(columns by position).  Before, a test file with columns b,a for a model of a,b was scored
with its features swapped, silently (49% for a model right on 97%)."""
import json

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import torch
from click.testing import CliRunner

from deploy.cli.main import cli
from synth.checkpoint import (checkpoint_dataset, check_model_classes, load_model,
                              read_checkpoint, save_checkpoint)
from synth.data import load_dataset
from synth.errors import UserError

N = 200


def _rows(seed=0):
    """(a, b, label): the label is a's sign; b is noise on another scale."""
    rng = np.random.default_rng(seed)
    a = rng.normal(size=N)
    b = rng.normal(5.0, 3.0, size=N)
    return a, b, (a > 0).astype(int)


def _csv(path, columns: dict):
    names = list(columns)
    lines = [",".join(names)] + [",".join(f"{columns[n][i]:.6g}" if n != "label" else
                                          str(columns[n][i]) for n in names) for i in range(N)]
    path.write_text("\n".join(lines) + "\n")
    return path


def _train(tmp_path, dataset, *options):
    out = tmp_path / "m.pt"
    r = CliRunner().invoke(cli, ["train", "--dataset", dataset, "--model",
                                 '{"family": "mlp", "hidden": [8]}', "--epochs", "2",
                                 "--lr", "0.1", *options, "--out", str(out), "--json"])
    assert r.exit_code == 0, r.output
    return out


def _eval(model, dataset):
    return CliRunner().invoke(cli, ["eval", "--model", str(model), "--dataset", dataset,
                                    "--split", "all", "--json"])


def _trained(tmp_path, *options):
    a, b, y = _rows()
    train = _csv(tmp_path / "train.csv", {"a": a, "b": b, "label": y})
    return tmp_path, _train(tmp_path, f"csv:{train}", *options)


@pytest.fixture
def trained(tmp_path):
    """A model of train.csv trained exactly its 2 epochs (--min-steps 0): the tests that
    take it read its columns and compare scores, not how well it learnt."""
    return _trained(tmp_path, "--min-steps", "0")


@pytest.fixture
def learnt(tmp_path):
    """A model of train.csv trained as nnsynth train trains it (its step floor included)."""
    return _trained(tmp_path)


def test_swapped_columns_score_like_ordered_ones(learnt):
    tmp_path, model = learnt
    a, b, y = _rows(1)
    ordered = _csv(tmp_path / "ab.csv", {"a": a, "b": b, "label": y})
    swapped = _csv(tmp_path / "ba.csv", {"b": b, "a": a, "label": y})
    r1, r2 = _eval(model, f"csv:{ordered}"), _eval(model, f"csv:{swapped}")
    assert r1.exit_code == 0 and r2.exit_code == 0, r1.output + r2.output
    one, two = json.loads(r1.output), json.loads(r2.output)
    assert one["accuracy"] > 0.7, one             # the model learnt something to lose
    assert two["accuracy"] == one["accuracy"] and two["loss"] == pytest.approx(one["loss"])


def test_swapped_parquet_and_label_first_score_like_ordered(trained):
    """A plain Parquet table (pandas' layout) with the label first and the features in
    another order: the same columns by name."""
    tmp_path, model = trained
    a, b, y = _rows(1)
    ordered = _csv(tmp_path / "ab.csv", {"a": a, "b": b, "label": y})
    pq.write_table(pa.table({"label": y, "b": b, "a": a}), tmp_path / "ba.parquet")
    one = json.loads(_eval(model, f"csv:{ordered}").output)
    r = _eval(model, f"parquet:{tmp_path / 'ba.parquet'}")
    assert r.exit_code == 0, r.output
    assert json.loads(r.output)["accuracy"] == one["accuracy"]


def test_library_reorders_inputs_mean_and_range(trained, caplog):
    tmp_path, model_path = trained
    a, b, y = _rows(1)
    ordered = load_dataset(f"csv:{_csv(tmp_path / 'ab.csv', {'a': a, 'b': b, 'label': y})}")
    model = load_model(model_path)
    with caplog.at_level("INFO", logger="synth.checkpoint"):
        got = checkpoint_dataset(
            model, f"csv:{_csv(tmp_path / 'ba.csv', {'b': b, 'a': a, 'label': y})}")
    want = checkpoint_dataset(model, ordered.name)
    assert got.metadata()["feature_names"] == ["a", "b"]
    assert torch.equal(got.x_test, want.x_test) and torch.equal(got.y_test, want.y_test)
    assert got.mean == want.mean and got.value_range == want.value_range
    said = [m for m in caplog.messages if "feature columns" in m]
    assert len(said) == 1 and "'b', 'a'" in said[0], caplog.messages


def test_renamed_column_is_refused_in_one_line(trained):
    tmp_path, model = trained
    a, b, y = _rows(1)
    renamed = _csv(tmp_path / "ac.csv", {"a": a, "c": b, "label": y})
    r = _eval(model, f"csv:{renamed}")
    assert r.exit_code == 2, r.output
    assert "Traceback" not in r.output and len(r.output.strip().splitlines()) == 1, r.output
    assert "missing 'b'" in r.output and "unexpected 'c'" in r.output, r.output


def test_extra_column_is_refused_by_name_not_by_shape(trained):
    tmp_path, model = trained
    a, b, y = _rows(1)
    wider = _csv(tmp_path / "abd.csv", {"a": a, "b": b, "d": a * 2, "label": y})
    r = _eval(model, f"csv:{wider}")
    assert r.exit_code == 2 and len(r.output.strip().splitlines()) == 1, r.output
    assert "unexpected 'd'" in r.output and "missing" not in r.output, r.output


def test_old_checkpoint_without_names_keeps_columns_by_position(trained):
    """A checkpoint written before names were recorded: loads and scores by position."""
    tmp_path, model_path = trained
    payload = read_checkpoint(model_path)
    assert payload["dataset"]["feature_names"] == ["a", "b"]
    model = load_model(model_path)
    meta = {k: v for k, v in payload["dataset"].items() if k != "feature_names"}
    old = save_checkpoint(tmp_path / "old.pt", model, dataset=meta, metrics=payload["metrics"])
    a, b, y = _rows(1)
    renamed = _csv(tmp_path / "xy.csv", {"x1": a, "x2": b, "label": y})
    ordered = _csv(tmp_path / "ab.csv", {"a": a, "b": b, "label": y})
    r1, r2 = _eval(old, f"csv:{renamed}"), _eval(old, f"csv:{ordered}")
    assert r1.exit_code == 0 and r2.exit_code == 0, r1.output + r2.output
    assert json.loads(r1.output)["accuracy"] == json.loads(r2.output)["accuracy"]
    r = CliRunner().invoke(cli, ["eval", "--model", str(old), "--json"])   # its own set
    assert r.exit_code == 0, r.output


def test_a_teacher_meets_its_columns_in_order_or_is_refused(trained):
    """Where the data cannot be reordered for the model (a search's teacher check), columns
    in another order are refused, naming both orders."""
    tmp_path, model_path = trained
    a, b, y = _rows(1)
    teacher = load_model(model_path)
    check_model_classes(teacher, load_dataset(f"csv:{tmp_path / 'train.csv'}"), "teacher")
    swapped = load_dataset(f"csv:{_csv(tmp_path / 'ba.csv', {'b': b, 'a': a, 'label': y})}")
    with pytest.raises(UserError, match="feature columns") as e:
        check_model_classes(teacher, swapped, "teacher")
    assert "\n" not in str(e.value) and "'b', 'a'" in str(e.value)


def test_digest_of_a_table_is_unchanged_by_recording_names(tmp_path):
    """The names are metadata for matching, not content: a set's digest (resume keys,
    caches) is what it was before they were recorded."""
    a, b, y = _rows()
    data = load_dataset(f"csv:{_csv(tmp_path / 't.csv', {'a': a, 'b': b, 'label': y})}")
    assert data.metadata()["feature_names"] == ["a", "b"]
    before = data.digest()
    data.extra.pop("feature_names")
    assert data.digest() == before


def test_a_set_inverted_from_a_tables_model_keeps_its_names(tmp_path):
    """A synthesized set (write_parquet with its teacher's data-set record) carries the
    teacher's feature names, so a student trained on it records them too."""
    from synth.data import write_parquet
    a, b, y = _rows()
    meta = load_dataset(f"csv:{_csv(tmp_path / 't.csv', {'a': a, 'b': b, 'label': y})}"
                        ).metadata()
    (tmp_path / "s").mkdir()
    write_parquet(tmp_path / "s" / "part-0.parquet", torch.zeros(20, 2), torch.arange(20) % 2,
                  meta)
    assert load_dataset(f"parquet:{tmp_path / 's'}").metadata()["feature_names"] == ["a", "b"]


def test_a_checkpoints_bad_feature_names_are_refused_in_one_line(trained):
    tmp_path, model_path = trained
    model = load_model(model_path)
    meta = {**read_checkpoint(model_path)["dataset"], "feature_names": ["a", "a"]}
    bad = save_checkpoint(tmp_path / "bad.pt", model, dataset=meta)
    with pytest.raises(UserError, match="feature_names must be 2 distinct strings") as e:
        load_model(bad)
    assert "\n" not in str(e.value)
