"""The ask/tell API probed as a user writing their own space (helper 89)."""
import pytest

from search.optimize import optimize
from search.space import Space, spec_key
from synth.errors import ConfigError


@pytest.mark.parametrize("name", ["localbo", "steerage", "chameleon"])
@pytest.mark.parametrize("choices", [[[1, 2], [3], []], [{"k": 1}, {"k": 2}, {"k": 3}]])
def test_choices_of_lists_or_mappings_count_without_a_type_error(name, choices):
    """Three lists (or mappings) as one choice's values: localbo's choice counts hashed the
    choices, a TypeError (unhashable type: 'list') at its first predictor-guided ask."""
    space = {"a": {"choice": choices}, "b": {"choice": choices}, "n": {"int": [1, 6]}}
    r = optimize(lambda c: c["n"] + len(str(c["a"])), space, trials=14, searcher=name,
                 n_initial=2, choice_counts=True, seed=0)
    keys = [spec_key(c) for c, _ in r.history]
    assert len(keys) == 14 and len(set(keys)) == 14
    sp = Space(space)
    assert all(sp.contains(c) for c, _ in r.history)
    counts = sp.choice_counts([{"a": choices[0], "b": choices[0], "n": 1},
                               {"a": choices[2], "b": choices[1], "n": 1}])
    assert counts.tolist() == [[2, 0, 0], [0, 1, 1]]
    assert sp.count_sets() == [(tuple(choices), ["a", "b"])]


def test_a_bool_choice_set_and_a_number_one_are_not_shared():
    """(True, 'x', 'y') and (1, 'x', 'y') are different values (the space keeps a bool
    apart from a number): they were counted as one shared set."""
    sp = Space({"a": {"choice": [True, "x", "y"]}, "b": {"choice": [1, "x", "y"]}})
    assert sp.count_sets() == []
    rows = sp.to_rows([{"a": True, "b": 1}])
    assert sp.row_choice_counts(rows).shape == (1, 0)


def test_list_choices_count_by_value_not_by_spelling():
    """[1.0] is the listed [1] (as the space compares), [true] is not."""
    sp = Space({"a": {"choice": [[1], [2], [3]]}, "b": {"choice": [[1], [2], [3]]},
                "c": {"choice": [[True], [2], [3]]}})
    assert sp.count_sets() == [(([1], [2], [3]), ["a", "b"])]
    assert sp.choice_counts([{"a": [1.0], "b": [1], "c": [True]}]).tolist() == [[2, 0, 0]]


@pytest.mark.parametrize("choices, when", [([1, 2], True), ([True, False], 1),
                                           ([0, 1], [False]), (["a", 1], [True])])
def test_a_condition_on_a_bool_for_a_number_choice_is_refused(choices, when):
    """``when: {o: true}`` on the choice [1, 2] was accepted and held for o == 1 (True == 1),
    though the space keeps a bool apart from a number (true is no member of [1, 2])."""
    with pytest.raises(ConfigError, match=r"space\.m\.when names o="):
        Space({"o": {"choice": choices}, "m": {"int": [1, 3], "when": {"o": when}}})


def test_a_condition_on_an_equal_number_still_holds():
    sp = Space({"o": {"choice": [1, 2]}, "m": {"int": [1, 3], "when": {"o": 1.0}}})
    assert sp.contains({"o": 1, "m": 2}) and sp.contains({"o": 2})


@pytest.mark.parametrize("space", [{"a": {"choice": [float("nan"), 1.0, 2.0]}},
                                   {"a": {"choice": [[1.0, float("nan")], [2.0]]}},
                                   {"a": float("nan"), "b": {"int": [1, 3]}}])
def test_a_nan_value_is_refused_in_one_line(space):
    """NaN equals nothing, not even itself: a space with a NaN choice (or fixed NaN)
    suggested a configuration that tell() then refused as no member ('a = nan is not one
    of [nan, 1.0, 2.0]'), after the objective had run."""
    with pytest.raises(ConfigError, match="NaN"):
        Space(space)


@pytest.mark.parametrize("name", ["random", "localbo", "steerage", "chameleon"])
def test_restoring_a_state_of_the_other_mode_is_refused(name, tmp_path):
    """A state saved by a minimizing searcher, restored into one built with the default
    mode (max), was taken in: its observations were then maximized, the best ones treated
    as the worst, without a word."""
    from search.searchers import SEARCHERS
    from synth.errors import UserError
    space = {"n": {"int": [1, 50]}}
    kw = {} if name == "random" else {"n_initial": 2}
    s = SEARCHERS[name](space, mode="min", seed=0, **kw)
    for _ in range(4):
        c = s.ask()
        s.tell(c, c["n"])
    s.save(str(tmp_path / "state.json"))
    with pytest.raises(UserError, match="saved with mode .min.*mode max"):
        SEARCHERS[name](space, seed=0, **kw).restore(str(tmp_path / "state.json"))
    with pytest.raises(UserError, match="metric"):
        SEARCHERS[name](space, mode="min", metric="loss", seed=0, **kw).restore(
            str(tmp_path / "state.json"))
    again = SEARCHERS[name](space, mode="min", seed=0, **kw)
    again.restore(str(tmp_path / "state.json"))
    assert again.history == s.history
