"""A teacher checkpoint of a user's table meets another table by its feature columns' names
on every path that pairs the two (h127), as eval does (synth.checkpoint.in_model_columns):
a search's --dataset and the Parquet inputs of distill, prune, continual and a search's KD
(--synth DIR, which may be a plain table) in another column order are put in the teacher's
order; other columns are refused in one line naming them.  Before, the search refused the
reordered --dataset, and distill/prune/continual fed a reordered table to the teacher with
its features swapped, silently (wine: the teacher's own data scored 56% instead of 100%)."""
import json

import pytest
import torch
from click.testing import CliRunner

from deploy.cli.main import cli
from search.run import SearchConfig, check_teacher_inputs, data_digest
from search.trial import real_data
from synth.checkpoint import load_model, read_checkpoint, synthesized_for
from synth.errors import UserError
from tests._wine import wine_tables


def _invoke(*args):
    return CliRunner().invoke(cli, ["-q", *map(str, args)])


@pytest.fixture(scope="module")
def wine(tmp_path_factory):
    """(dir, teacher): wine as train.csv, the same rows with the features permuted as
    perm.csv, and both as plain Parquet tables (ok/, perm/, label first there); a BatchNorm
    MLP teacher trained on train.csv."""
    tmp = tmp_path_factory.mktemp("wine")
    frame, features, perm = wine_tables(tmp)
    for name, cols in (("ok", features), ("perm", perm)):
        (tmp / name).mkdir()
        frame[["label"] + cols].to_parquet(tmp / name / "part.parquet")
    (tmp / "wider").mkdir()
    frame.assign(extra=1.0).to_parquet(tmp / "wider" / "part.parquet")
    r = _invoke("train", "--dataset", f"csv:{tmp / 'train.csv'}", "--model",
                '{"family": "mlp", "hidden": [16], "bn": true}', "--epochs", "5",
                "--min-steps", "0", "--out", tmp / "t.pt", "--json")
    assert r.exit_code == 0, r.output
    return tmp, tmp / "t.pt"


def _states_equal(a, b):
    sa, sb = read_checkpoint(a)["state_dict"], read_checkpoint(b)["state_dict"]
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


def test_search_takes_a_permuted_dataset_in_the_teachers_order(wine):
    tmp, teacher = wine
    ordered = SearchConfig(teacher=str(teacher), data=str(tmp / "ok"),
                           dataset=f"csv:{tmp / 'train.csv'}")
    permuted = ordered.replace(dataset=f"csv:{tmp / 'perm.csv'}", data=str(tmp / "perm"))
    check_teacher_inputs(permuted)          # refused before: 'takes the feature columns ...'
    got = real_data(permuted.dataset, 0, permuted.teacher)
    want = real_data(ordered.dataset, 0, ordered.teacher)
    assert got.extra["feature_names"] == want.extra["feature_names"]
    assert torch.equal(got.x_test, want.x_test) and got.mean == want.mean
    assert data_digest(permuted) is not None
    model = load_model(teacher)             # the trials' KD inputs, as the teacher takes them
    assert torch.equal(synthesized_for(model, tmp / "perm", owner="teacher").x_train,
                       synthesized_for(model, tmp / "ok", owner="teacher").x_train)


def test_search_refuses_other_columns_naming_them(wine):
    tmp, teacher = wine
    config = SearchConfig(teacher=str(teacher), data=str(tmp / "wider"),
                          dataset=f"csv:{tmp / 'train.csv'}")
    with pytest.raises(UserError, match="unexpected 'extra'") as e:
        check_teacher_inputs(config)
    assert "\n" not in str(e.value)


def test_distill_on_a_permuted_table_is_the_ordered_tables_distillation(wine):
    """``nnsynth distill --synth``'s workflow (``distill_checkpoint``) with its local fit:
    the CLI runs the same call on Ray Train workers (two Ray Train starts took ~60 s of the
    suite for the same check)."""
    from synth.distill import DistillConfig
    from synth.workflows import distill_checkpoint
    tmp, teacher = wine
    config = DistillConfig(epochs=2, min_steps=0, seed=0, device="cpu", progress=False)
    outs = []
    for name in ("ok", "perm"):
        out = tmp / f"distill_{name}.pt"
        distill_checkpoint(teacher, '{"family": "mlp", "hidden": [8]}', out, config,
                           synth_dir=tmp / name)
        outs.append(out)
    assert _states_equal(*outs)


def test_distill_refuses_a_wider_table_naming_the_column(wine):
    tmp, teacher = wine
    r = _invoke("distill", "--teacher", teacher, "--student", '{"family": "mlp"}',
                "--synth", tmp / "wider", "--out", tmp / "never.pt")
    assert r.exit_code == 2 and len(r.output.strip().splitlines()) == 1, r.output
    assert "unexpected 'extra'" in r.output and "Traceback" not in r.output, r.output


def test_prune_on_a_permuted_table_is_the_ordered_tables_pruning(wine):
    tmp, teacher = wine
    results = []
    for name in ("ok", "perm"):
        out = tmp / f"prune_{name}.pt"
        r = _invoke("prune", "--model", teacher, "--synth", tmp / name, "--ratio", "0.25",
                    "--kd-steps", "3", "--out", out, "--json")
        assert r.exit_code == 0, r.output
        results.append(out)
    assert _states_equal(*results)


def test_continual_with_a_permuted_table_of_old_inputs(wine):
    tmp, _ = wine
    old = tmp / "t01.pt"
    r = _invoke("train", "--dataset", f"csv:{tmp / 'train.csv'}[0,1]", "--model",
                '{"family": "mlp", "hidden": [16], "bn": true}', "--epochs", "3",
                "--out", old, "--json")
    assert r.exit_code == 0, r.output
    outs = []
    for name in ("ok", "perm"):
        out = tmp / f"continual_{name}.pt"
        r = _invoke("continual", "--model", old, "--new-dataset", f"csv:{tmp / 'perm.csv'}",
                    "--new-classes", "2", "--method", "deepinversion", "--synth", tmp / name,
                    "--out", out, "--json")
        assert r.exit_code == 0, r.output
        outs.append(out)
    assert _states_equal(*outs)
    assert json.loads(r.output.strip().splitlines()[-1])["accuracy_old"] > 0.5
