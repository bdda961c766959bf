"""A CSV label column read by pyarrow's type inference (helper h283, from h279's probe):
labels '01' and '1' were both the integer 1, so two classes of the file became one class
named '1', silently.  A column that spells one value two ways is now read as text, each
spelling its own class, with a warning naming the two; a column spelling each value one
way ('+1'/'-1', zero-padded '01'..'03', True/False) keeps its numeric classes and names, so
its runs' digests and resume keys are unchanged."""
import logging

import pytest

from synth.data import load_dataset


def _csv(tmp_path, labels, name="l.csv"):
    path = tmp_path / name
    rows = [f"{i % 7 + 0.5 * j},{(i * 3) % 5},{lab}" for j, lab in enumerate(labels)
            for i in range(12)]
    path.write_text("a,b,label\n" + "\n".join(rows) + "\n")
    return f"csv:{path}"


def test_two_spellings_of_one_number_are_two_classes(tmp_path, caplog):
    with caplog.at_level(logging.WARNING):
        data = load_dataset(_csv(tmp_path, ["1", "01", "2"]))
    assert data.class_names == ["01", "1", "2"] and data.num_classes == 3   # ['1', '2'] before
    said = [r.getMessage() for r in caplog.records if "spell one value two ways" in r.getMessage()]
    assert len(said) == 1 and "('1' and '01')" in said[0], said


@pytest.mark.parametrize("labels, names", [
    (["+1", "-1"], ["-1", "1"]),
    (["01", "02", "03"], ["1", "2", "3"]),
    (["True", "false", "TRUE"], ["0", "1"]),
    (["3", "1", "2"], ["1", "2", "3"]),
])
def test_one_spelling_per_value_reads_as_before(tmp_path, caplog, labels, names):
    with caplog.at_level(logging.WARNING):
        data = load_dataset(_csv(tmp_path, labels))
    assert data.class_names == names
    assert not [r for r in caplog.records if "spell one value two ways" in r.getMessage()]
