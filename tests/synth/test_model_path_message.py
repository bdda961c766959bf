"""A --model value that names a file is told as a file: `nnsynth grow-prune --model
/nonexistent.pt` said "unknown model '/nonexistent.pt'; variants: ..." as if a variant name
were misspelt; now "no such file", and a checkpoint given where only a spec is taken (train)
says so."""
import pytest

from synth.errors import UserError
from synth.models import resolve_spec


@pytest.mark.parametrize("value", ["/nonexistent.pt", "./runs/teacher.pt", "model.pth",
                                   "sub/dir/model"])
def test_a_missing_checkpoint_is_no_such_file(value):
    with pytest.raises(UserError, match="no such file"):
        resolve_spec(value)


def test_an_existing_file_where_a_spec_is_expected(tmp_path):
    path = tmp_path / "teacher.pt"
    path.write_bytes(b"")
    with pytest.raises(UserError, match="a file, where a variant name or JSON spec is expected"):
        resolve_spec(str(path))


def test_a_misspelt_variant_is_still_an_unknown_model():
    with pytest.raises(UserError, match="unknown model 'lenet5bn'"):
        resolve_spec("lenet5bn")
