"""A data set path holding a no-break space (``csv:my\\xa0set.csv``, a name a spreadsheet or a
file manager wrote) is a printable name (helper h307): it was refused as holding a control
character (then, briefly, "an invisible format character").  Control and format characters
in a set's name stay refused."""
import pytest

from synth.data import load_dataset
from synth.data_registry import check_dataset_path
from synth.errors import ConfigError


def test_a_csv_path_with_a_no_break_space_loads(tmp_path):
    path = tmp_path / "my\xa0set.csv"
    path.write_text("a,b,label\n" + "".join(f"{i}.5,{i % 3},{'xyz'[i % 3]}\n"
                                             for i in range(30)), encoding="utf-8")
    data = load_dataset(f"csv:{path}")
    assert sorted(data.class_names) == ["x", "y", "z"]


@pytest.mark.parametrize("name,said", [("csv:a\nb.csv", "a control character"),
                                       ("csv:a\u200bb.csv", "an invisible format character")])
def test_control_and_format_characters_in_a_set_name_stay_refused(name, said):
    with pytest.raises(ConfigError, match=f"holds {said}"):
        check_dataset_path(name)


def test_a_parquet_folder_with_a_no_break_space_in_a_file_name_loads(tmp_path):
    """The files inside a parquet: folder were checked with str.isprintable, which calls a
    no-break space unprintable: 'holds a control character' (found by h307)."""
    import pandas as pd
    folder = tmp_path / "set"
    folder.mkdir()
    frame = pd.DataFrame({"a": [i + 0.5 for i in range(30)], "b": [i % 3 for i in range(30)],
                          "label": ["xyz"[i % 3] for i in range(30)]})
    frame.to_parquet(folder / "part\xa0one.parquet")
    data = load_dataset(f"parquet:{folder}")
    assert sorted(data.class_names) == ["x", "y", "z"]
