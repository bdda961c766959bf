"""``run_secret(class_names=...)`` with one class's words twice is told as nnsynth secret tells
it: the words and their positions (h255).  The Python API said 'classes '0' and '1' have the
same label vector (words 'small' and 'small')' (the classes by the numbers they are fitted
as), while ``nnsynth secret --class-names small,small,large`` named the words and positions
(b5d6ad2) through a check of its own; the one check now serves both, before any data set or
model loads."""
import pytest

from synth.errors import UserError
from synth.secret_eval import fuse_network, run_secret
from tests._cli import one_error_line, run

SAID = ("--class-names gives 'small' twice (positions 1 and 2 of 3): SECRET tells classes "
        "apart by their words' meaning; give each class its own words")


def test_the_api_names_the_repeated_words_and_positions():
    with pytest.raises(UserError) as err:
        run_secret("iris", "lr", class_names=["small", "small", "large"])
    assert str(err.value) == SAID
    # before the data set loads: a set that is not there is not what is said
    with pytest.raises(UserError, match="^--class-names gives 'a' and 'A', the same words "
                                        r"\(positions 1 and 2 of 2\)"):
        run_secret("no_such_set", class_names=["a", "A"])


def test_with_a_network_as_the_base_too_before_the_checkpoint_loads(tmp_path):
    for call in (lambda: run_secret("iris", model_path=str(tmp_path / "none.pt"),
                                    class_names=["small", "small", "large"]),
                 lambda: fuse_network(str(tmp_path / "none.pt"), "iris",
                                      class_names=["small", "small", "large"])):
        with pytest.raises(UserError) as err:
            call()
        assert str(err.value) == SAID


def test_the_cli_says_the_same_line():
    line = one_error_line(run(["secret", "--dataset", "iris", "--class-names",
                               "small,small,large"]))
    assert line == f"error: {SAID}"
