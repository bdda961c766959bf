"""A config's error about one value that is no range error (a value not among the choices,
a name given twice, a searcher's n_initial too small) carries its fields too, and the CLI
names the option from them, as it does a range error's (test_h107_option_fields).

- ``nnsynth diabdeep --baselines``: its checks (an unknown name, a name twice) were a copy in
  the command beside DiabDeepConfig's own (the config's, with its field name, was told by
  the option only by matching the message's text); the copy is gone, the config's error is
  told by --baselines from ``field``/``value``/``expected``/``got``.
- ``nnsynth search --n-initial 1`` was named by the text-matching fallback only.
- ``nnsynth scann --hidden 99999999999999999999999`` said 'model spec ... has more parameters
  than a tensor can hold' (one line, but neither --hidden nor the width).
"""
from __future__ import annotations

import pickle

import pytest

from synth.config import check_choice
from synth.errors import ConfigError
from tests._cli import one_error_line, run


def test_a_choice_error_carries_what_it_checked():
    with pytest.raises(ConfigError) as caught:
        check_choice("mode", "maximize", ("max", "min"))
    for e in (caught.value, pickle.loads(pickle.dumps(caught.value))):   # as Ray sends it
        assert str(e) == "mode must be one of max, min, got 'maximize'"
        assert (e.field, e.value, e.expected, e.got) == (
            "mode", "maximize", "must be one of max, min", "'maximize'")


def test_diabdeep_config_baseline_errors_carry_fields():
    from synth.choices import DIABDEEP_BASELINES
    from synth.diabdeep import DiabDeepConfig
    names = ", ".join(DIABDEEP_BASELINES)
    with pytest.raises(ConfigError) as caught:   # the first unknown name, in order
        DiabDeepConfig(baselines=("mlp", "svm", "abc"))
    e = caught.value
    assert str(e) == f"baselines must be among {names}, got 'svm'"
    assert (e.field, e.value, e.expected) == ("baselines[]", "svm", f"must be among {names}")
    with pytest.raises(ConfigError) as caught:
        DiabDeepConfig(baselines=("mlp", "forest", "mlp"))
    e = caught.value
    assert str(e) == "baselines must name each baseline once, got 'mlp' twice"
    assert (e.field, e.value, e.expected, e.got) == (
        "baselines", ("mlp", "forest", "mlp"), "must name each baseline once", "'mlp' twice")


@pytest.mark.parametrize("baselines,config_value", [
    ("mlp,svm", ("mlp", "svm")), ("mlp,,lstm1", ("mlp", "", "lstm1")),
    ("mlp,lstm1,mlp", ("mlp", "lstm1", "mlp"))])
def test_diabdeep_baselines_are_told_from_the_configs_error(baselines, config_value):
    """The command's line is the config's error in the option's name: no copy of the check
    in the command words it on its own."""
    from synth.diabdeep import DiabDeepConfig
    with pytest.raises(ConfigError) as caught:
        DiabDeepConfig(baselines=config_value)
    e = caught.value
    name = "--baselines: each value" if e.field.endswith("[]") else "--baselines"
    line = one_error_line(run(["diabdeep", "--dataset", "blink", "--baselines", baselines,
                               "--options", '{"prune_fraction": 5}']))
    assert line == f"error: {name} {e.expected}, got {e.got}"


def test_search_n_initial_error_carries_fields():
    from search.choices import MIN_ROWS, check_n_initial   # search.searchers re-exports the check
    with pytest.raises(ConfigError) as caught:
        check_n_initial(1)
    e = caught.value
    assert (e.field, e.value, e.got) == ("n_initial", 1, "1")
    assert e.expected == (f"must be >= {MIN_ROWS} for a predictor-guided searcher (the "
                          f"predictor needs {MIN_ROWS} results to fit)")
    check_n_initial(1, uses_predictor=False)   # random search: no predictor to fit


def test_search_n_initial_names_the_option(tmp_path):
    line = one_error_line(run(["search", "--out", str(tmp_path / "s"), "--n-initial", "1"]))
    assert line == ("error: --n-initial must be >= 2 for a predictor-guided searcher (the "
                    "predictor needs 2 results to fit), got 1")
    assert not (tmp_path / "s").exists()


@pytest.mark.parametrize("hidden,bad", [("99999999999999999999999", "99999999999999999999999"),
                                        ("64,100000001", "100000001")])
def test_scann_hidden_too_wide_names_the_option_and_the_value(hidden, bad):
    from synth.models import max_parameters
    line = one_error_line(run(["scann", "--dataset", "iris", "--hidden", hidden]))
    assert line == f"error: --hidden: each value must be in [1, {max_parameters()}], got {bad}"


def test_an_error_about_a_value_the_user_did_not_type_keeps_the_configs_words():
    """--options sets the list: the config's field name, not --baselines (behind --options,
    the option that gave it, since h250)."""
    line = one_error_line(run(["diabdeep", "--dataset", "blink", "--options",
                               '{"baselines": ["mlp", "svm"]}']))
    assert line == ("error: --options: baselines must be among mlp, lstm1, lstm2, hlstm_dense, "
                    "forest, got 'svm'")
