"""``nnsynth secret --class-names`` giving one class's words twice is told by the words and
their positions (h253).

``nnsynth secret --dataset iris --class-names small,small,large`` said 'classes '0' and '1'
have the same label vector (words 'small' and 'small')': the classes by the numbers they are
fitted as, beside the words.  The names are checked before the data set loads."""
import pytest

from synth.errors import UserError
from synth.secret_eval import check_distinct_names
from tests._cli import one_error_line, run


@pytest.mark.parametrize("names, expected", [
    ("small,small,large", "error: --class-names gives 'small' twice (positions 1 and 2 of "
                          "3): SECRET tells classes apart by their words' meaning; give each "
                          "class its own words"),
    ("a,b,a,c,A", "error: --class-names gives 'a' and 'A', the same words (positions 1, 3 "
                  "and 5 of 5)"),
])
def test_the_duplicate_words_and_positions_are_named(names, expected):
    line = one_error_line(run(["secret", "--dataset", "iris", "--class-names", names]))
    assert line.startswith(expected), line
    assert "'0'" not in line and "label vector" not in line


def test_distinct_words_pass_and_the_library_names_its_option():
    check_distinct_names(["small iris", "blue iris", "large iris"])
    check_distinct_names(["", ""])   # no words: label_embeddings says so
    with pytest.raises(UserError, match=r"^words= gives 'x y' and 'y x', the same words "
                                        r"\(positions 2 and 3 of 3\)"):
        check_distinct_names(["z", "x y", "y x"], "words=")
