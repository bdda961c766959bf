"""A class name holding a no-break space (``'left\\xa0hand'``, common in spreadsheet exports)
or another Unicode space separator (category Zs) is a printable name (helper h307): it was
refused as holding "a control character (a newline, an escape sequence...)".  Control and
format characters stay refused; a no-break space and a plain one in two otherwise equal
names are one name written two ways."""
import pytest

from synth.data import load_dataset
from synth.data_registry import check_class_names
from synth.errors import ConfigError


def _csv(path, labels):
    rows = ["a,b,label"] + [f"{i % 3}.{i},{i},{labels[i % len(labels)]}" for i in range(30)]
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return f"csv:{path}"


def test_a_csv_label_with_a_no_break_space_loads(tmp_path):
    data = load_dataset(_csv(tmp_path / "s.csv", ["left\xa0hand", "right hand", "foot"]))
    assert sorted(data.class_names) == ["foot", "left\xa0hand", "right hand"]


@pytest.mark.parametrize("space", ["\xa0", "\u202f", "\u2009", "\u3000"])
def test_unicode_spaces_are_printable(space):
    check_class_names([f"left{space}hand", "foot"], "here", loaded=True)


def test_a_no_break_space_and_a_plain_one_are_one_name(tmp_path):
    with pytest.raises(ConfigError, match="one name in two Unicode forms .*no-break space"):
        load_dataset(_csv(tmp_path / "d.csv", ["left hand", "left\xa0hand", "foot"]))


@pytest.mark.parametrize("name,said", [("left\nhand", "a control character"),
                                       ("left\x1b[2Jhand", "a control character"),
                                       ("left\x85hand", "a control character"),
                                       ("left\u200bhand", "an invisible format character"),
                                       ("left\u202ehand", "an invisible format character"),
                                       ("left\u2028hand", "a control character")])
def test_control_and_format_characters_stay_refused(name, said):
    with pytest.raises(ConfigError, match=f"holds {said}"):
        check_class_names([name, "foot"], "here")
