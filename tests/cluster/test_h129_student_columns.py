"""An ADI student checkpoint meets its teacher's feature columns by name (h129): a student
trained on the teacher's table with its columns in another order (or on other columns) is
refused in one line naming the difference, before any pair runs.  Before, it was paired
with the teacher as it was: every synthesized input reached it with its features swapped,
and it was saved as students/pair-<i>.pt under the teacher's column names."""
import pytest

from cluster.pairs import resolve_student, run_synthesis
from synth.checkpoint import load_model
from synth.errors import UserError
from synth.inversion import InversionConfig
from tests._cli import json_result, one_error_line, run
from tests._wine import wine_tables


def _train(tmp, csv, out, spec):
    json_result(run(["-q", "train", "--dataset", f"csv:{tmp / csv}", "--model", spec,
                     "--epochs", "1", "--min-steps", "0", "--out", str(tmp / out), "--json"]))
    return tmp / out


@pytest.fixture(scope="module")
def wine(tmp_path_factory):
    """(dir, teacher): a BatchNorm MLP teacher of wine (train.csv); students of the same
    rows with the columns permuted (perm.csv), of other columns (renamed.csv) and of
    train.csv itself."""
    tmp = tmp_path_factory.mktemp("wine")
    frame, _, _ = wine_tables(tmp)
    frame.rename(columns={"proline": "prolin"}).to_csv(tmp / "renamed.csv", index=False)
    student = '{"family": "mlp", "hidden": [8]}'
    teacher = _train(tmp, "train.csv", "t.pt", '{"family": "mlp", "hidden": [16], "bn": true}')
    for csv in ("perm", "renamed", "train"):
        _train(tmp, f"{csv}.csv", f"s_{csv}.pt", student)
    return tmp, teacher


@pytest.mark.parametrize("student, says", [
    ("s_perm.pt", "(in another order)"),
    ("s_renamed.pt", "(missing 'proline'; unexpected 'prolin')"),
])
def test_a_student_of_other_columns_is_refused(wine, student, says):
    tmp, teacher = wine
    out = tmp / f"out_{student}"   # the job refuses it before any pair (or Ray) runs
    with pytest.raises(UserError) as e:
        run_synthesis(teacher, out, 6, 1, InversionConfig(iterations=1, adi_weight=1.0),
                      student_spec=str(tmp / student))
    assert says in str(e.value) and "\n" not in str(e.value)
    assert not out.exists()


def test_a_student_of_the_teachers_table_is_taken(wine):
    tmp, teacher = wine
    meta = load_model(teacher).checkpoint_info["dataset"]
    model = resolve_student(str(tmp / "s_train.pt"), (13,), 3, teacher_meta=meta)
    assert model.checkpoint_info["dataset"]["feature_names"] == meta["feature_names"]


def test_the_cli_refuses_it_before_ray_or_its_out_folder(wine):
    """`nnsynth invert --adi --student S.pt` checks the student's columns where it loads the
    student (cluster.invert), before Ray starts and --out is made; it was refused only in
    run_synthesis, after the out folder and a Ray start (lead, after h129's report)."""
    import time
    tmp, teacher = wine
    out = tmp / "cli_out"
    start = time.monotonic()
    result = run(["invert", "--teacher", str(teacher), "--num-images", "6", "--adi",
                  "--student", str(tmp / "s_perm.pt"), "--out", str(out)])
    assert "(in another order)" in one_error_line(result)
    assert not out.exists() and time.monotonic() - start < 20
