"""A set fed to a model on another scale than its training set is said by default (h265).

``in_model_scale`` feeds a set's raw values in the model's training normalization.  For a
held-out file of the same units that is right and stays an INFO line; but a Parquet set of
digits' raw 0..16 pixels, given to a digits model trained on 0..1, reached the model at 16
times its pixels with that INFO line alone (a padded series is noted in every result).  Now
a channel whose std or mean lies ``SCALE_FACTOR`` off the model's is one warning."""
import logging

import torch

from synth.checkpoint import checkpoint_dataset, save_checkpoint, load_model
from synth.data import load_dataset, write_parquet
from synth.models import build
from tests._cli import json_result, run


def _set(tmp_path, name, factor):
    """digits as a Parquet set whose raw pixels are ``factor`` times digits' (0..1)."""
    d = load_dataset("digits")
    meta = {**d.metadata(), "mean": [v * factor for v in d.mean],
            "std": [v * factor for v in d.std]}
    meta.pop("pixel_scale", None)
    (tmp_path / name).mkdir()
    write_parquet(tmp_path / name / "part-0.parquet", torch.cat([d.x_train, d.x_test]),
                  torch.cat([d.y_train, d.y_test]), meta)
    return f"parquet:{tmp_path / name}"


def _model(tmp_path):
    d = load_dataset("digits")
    torch.manual_seed(0)
    model = build({"family": "mlp", "hidden": [8], "bn": False}, d.input_shape, d.num_classes)
    return save_checkpoint(tmp_path / "m.pt", model, dataset=d.metadata(), metrics={})


def _said(caplog, tmp_path, dataset):
    model = load_model(_model(tmp_path))
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="synth.checkpoint"):
        checkpoint_dataset(model, dataset)
    return [(r.levelno, r.getMessage()) for r in caplog.records
            if "scale" in r.getMessage() or "normalization" in r.getMessage()]


def test_another_pixel_scale_is_a_warning(tmp_path, caplog):
    said = _said(caplog, tmp_path, _set(tmp_path, "raw16", 16.0))
    assert len(said) == 1 and said[0][0] == logging.WARNING, said
    assert said[0][1].startswith(f"data set parquet:{tmp_path / 'raw16'} is on another scale "
                                 f"than the model's training set (digits): channel 0 has mean ")
    assert "check the set's units or pixel scale" in said[0][1]


def test_a_held_out_set_of_the_same_units_stays_info(tmp_path, caplog):
    said = _said(caplog, tmp_path, _set(tmp_path, "near", 1.2))   # rescaled, same units
    assert [level for level, _ in said] == [logging.INFO], said


def test_eval_json_carries_it_once(tmp_path):
    dataset = _set(tmp_path, "raw16", 16.0)
    r = run(["eval", "--model", str(_model(tmp_path)), "--dataset", dataset, "--json"])
    assert json_result(r)["warning"].count("is on another scale") == 1, r.output


def test_a_synth_sets_line_is_in_the_results_warnings(tmp_path):
    """synthesized_for's ``notes`` (a --synth set's warnings, for distill's and prune's
    result 'warning') hold it too, as its other warnings."""
    from synth.checkpoint import synthesized_for
    _set(tmp_path, "raw16", 16.0)
    notes = []
    synthesized_for(load_model(_model(tmp_path)), tmp_path / "raw16", notes=notes)
    assert len(notes) == 1 and "is on another scale" in notes[0], notes


# A few rows of a user's file: one feature's std is noise there (lead, after h265).  Ten
# held-out breast_cancer rows in the model's own units were told they were 'on another
# scale' (feature 'radius error' 0.064 against 0.29, from the 6 rows of their training
# split); 2 of 3 random draws of 10 rows were.
BC_ROWS = [294, 457, 363, 144, 558, 216, 430, 565, 260, 346]   # in this order (the split)


def _bc_model(tmp_path):
    d = load_dataset("breast_cancer")
    torch.manual_seed(0)
    model = build({"family": "mlp", "hidden": [8], "bn": False}, d.input_shape, d.num_classes)
    return load_model(save_checkpoint(tmp_path / "bc.pt", model, dataset=d.metadata(),
                                      metrics={}))


def _bc_csv(tmp_path, rows, factor=1.0, column=None):
    """breast_cancer's rows ``rows`` as a CSV; every feature (or only ``column``) times
    ``factor``."""
    from sklearn.datasets import load_breast_cancer
    b = load_breast_cancer()
    x = b.data[rows].copy()
    if column is None:
        x *= factor
    else:
        x[:, column] *= factor
    f = tmp_path / f"bc{len(rows)}_{factor}_{column}.csv"
    lines = [",".join([*b.feature_names, "label"])]
    lines += [",".join([*(repr(float(v)) for v in r), str(b.target_names[t])])
              for r, t in zip(x, b.target[rows])]
    f.write_text("\n".join(lines) + "\n")
    return f"csv:{f}"


def _bc_said(caplog, tmp_path, dataset):
    model = _bc_model(tmp_path)
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="synth.checkpoint"):
        checkpoint_dataset(model, dataset)
    return [r.levelno for r in caplog.records if "scale" in r.getMessage()]


def test_ten_rows_in_the_models_units_are_no_warning(tmp_path, caplog):
    assert logging.WARNING not in _bc_said(caplog, tmp_path, _bc_csv(tmp_path, BC_ROWS))


def test_ten_rows_in_other_units_are_a_warning(tmp_path, caplog):
    said = _bc_said(caplog, tmp_path, _bc_csv(tmp_path, BC_ROWS, factor=100.0))
    assert said == [logging.WARNING], said


def test_one_column_in_other_units_of_a_larger_file_is_a_warning(tmp_path, caplog):
    rows = list(range(0, 569, 4))   # 143 rows: each feature's own statistics hold
    said = _bc_said(caplog, tmp_path, _bc_csv(tmp_path, rows, factor=100.0, column=3))
    assert said == [logging.WARNING], said
