"""A --synth Parquet set of the user's own is fitted to the teacher as a --dataset is (h258).

``synth.checkpoint.synthesized_for`` (every --synth given with a teacher or model: search,
distill, prune, continual) only checked the set's shape against the model's: a user's own
Parquet of shorter series than a left-padded teacher's was refused ('--synth DIR has input
shape (2, 4); the teacher expects (2, 6)') where ``--dataset`` of the same rows is padded
(``in_model_scale``), and one recorded in another normalization was read in it.  Now the set
is fitted as ``checkpoint_dataset`` fits a --dataset (a set nnsynth synthesized for the model
is unchanged: its normalization and shape are the model's), and a shape it cannot be fitted
to says why, naming the option."""
import pytest
import torch

from search.run import SearchConfig, check_teacher_inputs
from synth.checkpoint import checkpoint_dataset, load_model, synthesized_for
from synth.data import load_dataset, write_parquet
from synth.errors import UserError
from tests._cli import json_result, run
from tests.test_h254_short_series_updates import _write


@pytest.fixture(scope="module")
def sets(tmp_path_factory):
    """(left-padded teacher, equal-length teacher, the user's Parquet of 3-4 step series)."""
    tmp = tmp_path_factory.mktemp("h258_synth")
    own = _write(tmp / "Own.ts", [4 + i % 3 for i in range(40)], ["up", "down"], 0)
    equal = _write(tmp / "Equal.ts", [6] * 40, ["up", "down"], 2)
    short = load_dataset(_write(tmp / "Short.ts", [3 + i % 2 for i in range(40)],
                                ["up", "down"], 1))
    teachers = []
    for data, name in ((own, "t.pt"), (equal, "e.pt")):
        json_result(run(["-q", "train", "--dataset", data, "--model", "mlp_small", "--epochs",
                         "1", "--min-steps", "0", "--out", str(tmp / name), "--json"]))
        teachers.append(tmp / name)
    (tmp / "mine").mkdir()   # the user's own set, in its own normalization and length
    write_parquet(tmp / "mine" / "part-0.parquet", torch.cat([short.x_train, short.x_val,
                                                              short.x_test]),
                  torch.cat([short.y_train, short.y_val, short.y_test]), short.metadata())
    return teachers[0], teachers[1], tmp / "mine"


def test_a_users_parquet_of_shorter_series_is_fitted_as_a_dataset_is(sets):
    teacher, _, mine = sets
    model = load_model(teacher)
    found = synthesized_for(model, mine, owner="teacher")   # refused before, by its shape
    as_dataset = checkpoint_dataset(model, f"parquet:{mine}")   # what eval scores
    assert tuple(found.input_shape) == (2, 6)
    assert found.mean == as_dataset.mean and found.std == as_dataset.std
    for split in ("x_train", "x_val", "x_test"):
        assert torch.equal(getattr(found, split), getattr(as_dataset, split)), split
    # nnsynth search --teacher t.pt --synth DIR: checked against the teacher, not refused
    check_teacher_inputs(SearchConfig(teacher=str(teacher), data=str(mine),
                                      dataset=f"parquet:{mine}", space="mlp",
                                      epochs=1, trials=1, searcher="random", hardware=False))


def test_a_set_the_teacher_cannot_take_says_why(sets):
    _, flat, mine = sets
    with pytest.raises(UserError) as e:
        synthesized_for(load_model(flat), mine, owner="teacher")
    assert str(e.value) == (
        f"--synth {mine} has input shape (2, 4); the teacher expects (2, 6) (the teacher's "
        f"training series were all of 6 steps: shorter ones are left-padded only for a model "
        f"trained on left-padded series)")
