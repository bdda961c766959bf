"""A class list of something else than class numbers after a set that exists (helper 254):
'--dataset iris[setosa]' was 'unknown data set 'iris[setosa]'; known: ..., iris, ...' and
'--dataset csv:iris.csv[setosa,versicolor]' was 'CSV file not found: iris.csv[setosa,
versicolor]' of a file that is there.  Both now say a class list is class numbers."""
import pytest
from click.testing import CliRunner

from deploy.cli.main import cli
from synth.data_registry import check_dataset_name
from synth.errors import ConfigError


def _table(path):
    path.write_text("a,b,label\n" + "".join(f"{i},{i % 3},{'xy'[i % 2]}\n" for i in range(40)))
    return path


@pytest.mark.parametrize("name", ["iris[setosa]", "iris[0,1,]", "iris[ 0,1]", "iris[]"])
def test_a_registered_sets_class_list_of_names_is_told_it_takes_numbers(name):
    with pytest.raises(ConfigError, match=r"a class list is class numbers separated by "
                                          r"commas, e\.g\. iris\[0,2\]"):
        check_dataset_name(name)


def test_a_tables_class_list_of_names_is_told_it_takes_numbers(tmp_path):
    path = _table(tmp_path / "t.csv")
    done = CliRunner().invoke(cli, ["train", "--dataset", f"csv:{path}[x,y]", "--model",
                                    "mlp_small", "--epochs", "1",
                                    "--out", str(tmp_path / "m.pt")])
    assert done.exit_code == 2, done.output
    assert "a class list is class numbers" in done.output and "got [x,y]" in done.output
    assert "not found" not in done.output and "Traceback" not in done.output
    assert len(done.output.strip().splitlines()) == 1


def test_a_file_so_named_and_a_missing_file_are_not_class_lists(tmp_path):
    odd = _table(tmp_path / "odd[x]")
    assert check_dataset_name(f"csv:{odd}") == f"csv:{odd}"     # the file's own name
    assert check_dataset_name(f"csv:{tmp_path}/none.csv[x]")    # the loader says not found
    assert check_dataset_name("iris[0,2]") == "iris[0,2]"
