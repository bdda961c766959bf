"""One table says what kind of input a sample shape is (helper 125):
``synth.models.registry.INPUT_KINDS``.  Four places had their own rank -> word map -- the
model families' wrong-kind error, `nnsynth run`'s data check (deploy.stages.check_data), the
ONNX export's ``kind`` and summary.md's unit -- and the data check called a table's rows
"feature vectors" where the model error (and every other message) says "feature vectors
(features,)".  Each user-facing path is asked here for the word of the same shape."""
import pytest

from deploy.onnx_export import onnx_metadata
from deploy.summary import input_unit
from synth.errors import UserError
from synth.models import build
from synth.models.registry import INPUT_KINDS, input_kind
from tests.deploy.test_h121_data_fit import _check, _table

SHAPES = {1: (13,), 2: (6, 100), 3: (1, 28, 28)}
# a family of each fixed rank (mlp takes any input, flattened)
FAMILY = {2: "lstm32", 3: "lenet5_bn"}


@pytest.mark.parametrize("rank", sorted(INPUT_KINDS))
def test_export_summary_and_table_agree(rank):
    shape = SHAPES[rank]
    kind = input_kind(shape)
    assert kind == INPUT_KINDS[rank]
    assert onnx_metadata({}, shape)["kind"] == kind.kind
    assert input_unit(shape) == kind.one


def test_an_unknown_rank_is_the_same_everywhere():
    shape = (2, 3, 4, 5)
    assert onnx_metadata({}, shape)["kind"] == input_kind(shape).kind == "unknown"
    assert input_unit(shape) == input_kind(shape).one == "input"


@pytest.mark.parametrize("takes, given", [(2, 3), (3, 2), (3, 1), (2, 1)])
def test_model_errors_name_both_kinds_from_the_table(takes, given):
    with pytest.raises(UserError) as e:
        build(FAMILY[takes], SHAPES[given], 2, meta=True)
    assert f"takes {INPUT_KINDS[takes].many};" in str(e.value)
    assert f"({INPUT_KINDS[given].many})" in str(e.value)


def test_a_sequence_sets_recorded_kind_is_the_tables():
    """The data module records a sequence set's kind in its metadata (and a Parquet set
    carries it); it is the table's word for its shape."""
    from synth.data import load_dataset
    data = load_dataset("basicmotions", seed=0)
    assert data.metadata()["kind"] == input_kind(data.input_shape).kind == "sequence"


def test_run_check_names_the_datas_kind_as_the_model_error_does(tmp_path):
    """`nnsynth run --check` on a table with an image-only search space: the data check's
    way out named the table's inputs "feature vectors", the model error "feature vectors
    (features,)"."""
    code, out = _check(tmp_path, f"csv:{_table(tmp_path)}",
                       search="{options: {space: convnet}}")
    assert code == 2 and len(out.splitlines()) == 1, out
    assert f"whose models take {INPUT_KINDS[1].many}, or auto" in out, out
