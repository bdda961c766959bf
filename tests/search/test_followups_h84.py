"""Follow-ups (helper 84): what a search space and a search's storage may be, said up front."""
import pytest

from search.run import SearchConfig
from search.space import load_space
from synth.errors import UserError
from tests._cli import one_error_line, run


@pytest.mark.parametrize("source", [5, True, [1, 2], None, "", "  "])
def test_a_space_that_is_no_name_file_or_mapping_says_what_a_space_is(source):
    # a number in search.options.space was "space file not found: 5"
    with pytest.raises(UserError, match=r"^a search space is a built-in name \(convnet, "
                                        r"convnet1d, mlp, resnet\), a YAML/JSON space file "
                                        r"or a mapping"):
        load_space(source)


def test_a_space_folder_is_named_a_folder_not_a_missing_file(tmp_path):
    # a folder was "space file not found: <folder>", though the folder was there
    with pytest.raises(UserError, match="is a folder, not a space file: give a built-in "
                                        "space name .* or a YAML/JSON space file"):
        load_space(tmp_path)
    line = one_error_line(run(["-q", "search", "--space", str(tmp_path),
                               "--out", str(tmp_path / "out")]))
    assert "is a folder, not a space file" in line
    assert not (tmp_path / "out").exists()


def test_a_missing_space_file_still_says_not_found(tmp_path):
    with pytest.raises(UserError, match="space file not found: .*nope.yaml \\(give a built-in"):
        load_space(tmp_path / "nope.yaml")


@pytest.mark.parametrize("space", [5, True, ("convnet",), ""])
def test_search_config_refuses_a_space_of_the_wrong_kind(space):
    with pytest.raises(UserError, match="^space must be a built-in space name, a YAML/JSON "
                                        "space file or a mapping of choices, got"):
        SearchConfig(space=space)


@pytest.mark.parametrize("path, message", [
    (5, "storage_path must be a path or a URI"),
    ("   ", "storage_path is blank"),
    ("ftp://host/runs", "the URI scheme must be one of file, s3, gs"),
    ("s3://", "names no bucket or path")])
def test_search_config_refuses_a_storage_path_tune_cannot_use(path, message):
    # accepted by validation: 5 crashed in run_search ("'in <string>' requires string"),
    # ftp:// when Tune opened its storage
    with pytest.raises(UserError, match=message):
        SearchConfig(storage_path=path)


def test_search_config_keeps_the_storage_paths_tune_uses():
    for path in ("", "runs/tune", "s3://bucket/runs", "gs://b/x", "file:///tmp/x"):
        assert SearchConfig(storage_path=path).storage_path == path
    assert SearchConfig(space={"family": "mlp"}).space == {"family": "mlp"}


@pytest.mark.parametrize("args", [["--teacher", "t.pt"], ["--synth", "."]])
def test_search_teacher_without_synth_names_both_options(tmp_path, args):
    # said "teacher and data go together": `data` is no option of nnsynth search (--synth)
    line = one_error_line(run(["-q", "search", *args, "--out", str(tmp_path / "o")]))
    assert "--teacher CKPT --synth DIR" in line, line
    assert not (tmp_path / "o").exists()
