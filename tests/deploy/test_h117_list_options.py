"""The comma-separated list options of ``nnsynth scann`` and ``nnsynth diabdeep`` name
themselves and the value at fault (as ``nnsynth symbiotic``'s do since 34780b5).

- ``nnsynth scann --hidden 64,0`` said ``hidden must be a non-empty list of widths >= 1,
  got (64, 0)``: ScannConfig's field, not the option typed.
- ``nnsynth diabdeep --baselines mlp,svm`` said ``baselines must be among mlp, ...,
  got 'svm'`` (a single name was told by --baselines only because the text-matching
  fallback compared the whole string); ``--baselines mlp,mlp`` trained the MLP once and
  reported its row twice.
"""
from __future__ import annotations

import pytest

from synth.errors import ConfigError
from tests._cli import one_error_line, run

NAMES = "mlp, lstm1, lstm2, hlstm_dense, forest"


# the widest a width may be: the parameter limit (test_h124_value_fields)
@pytest.mark.parametrize("hidden,expected", [
    ("64,0", "--hidden: each value must be in [1, 100000000], got 0"),
    ("64,-3", "--hidden: each value must be in [1, 100000000], got -3"),
    ("0", "--hidden: each value must be in [1, 100000000], got 0"),
    (" 8, 0 ", "--hidden: each value must be in [1, 100000000], got 0"),
    # controls: no list of integers at all was already told by the option
    ("64,x", "--hidden must be comma-separated integers, got '64,x'"),
    ("", "--hidden must be comma-separated integers, got ''"),
])
def test_scann_hidden_names_the_option_and_the_value(hidden, expected):
    line = one_error_line(run(["scann", "--dataset", "iris", "--hidden", hidden]))
    assert line == f"error: {expected}"


def test_scann_config_checks_each_width_by_check_range():
    from synth.scann import ScannConfig
    with pytest.raises(ConfigError) as caught:
        ScannConfig(hidden=(64, 0))
    e = caught.value
    assert (e.field, e.value, e.low, e.high, e.integer) == ("hidden[]", 0, 1, 100_000_000, True)
    with pytest.raises(ConfigError, match=r"^hidden\[\] must be an integer in "
                                          r"\[1, 100000000\], got 2\.5$"):
        ScannConfig(hidden=[64, 2.5])
    with pytest.raises(ConfigError, match=r"^hidden must be a non-empty list of widths, "
                                          r"got \(\)$"):
        ScannConfig(hidden=())
    with pytest.raises(ConfigError, match=r"^hidden must be a non-empty list of widths, "
                                          r"got '64'$"):
        ScannConfig(hidden="64")
    assert ScannConfig(hidden=[16, 8]).hidden == [16, 8]


# a field that fails after the baselines are read: the old code stops there, not in training
LATER = ["--options", '{"prune_fraction": 5}']


# an unknown name is DiabDeepConfig's error, told by --baselines from its fields (h124: the
# command's own copy of the check said "--baselines must be among ... (comma-separated), or
# none, got 'svm'")
@pytest.mark.parametrize("baselines,expected", [
    ("mlp,svm", f"--baselines: each value must be among {NAMES}, got 'svm'"),
    ("svm", f"--baselines: each value must be among {NAMES}, got 'svm'"),
    ("MLP,lstm1", f"--baselines: each value must be among {NAMES}, got 'MLP'"),
    ("mlp,,lstm1", f"--baselines: each value must be among {NAMES}, got ''"),
    ("none,mlp", "--baselines none means no baselines and takes no others, got 'none,mlp'"),
    ("mlp,lstm1,mlp", "--baselines must name each baseline once, got 'mlp' twice"),
])
def test_diabdeep_baselines_name_the_option_and_the_value(baselines, expected):
    line = one_error_line(run(["diabdeep", "--dataset", "blink", "--baselines", baselines,
                               *LATER]))
    assert line == f"error: {expected}"


@pytest.mark.parametrize("baselines", ["none", " none ", "", "mlp, forest"])
def test_diabdeep_baselines_that_are_fine_reach_the_config(baselines):
    """A valid --baselines passes to DiabDeepConfig, whose later field is the error."""
    line = one_error_line(run(["diabdeep", "--dataset", "blink", "--baselines", baselines,
                               *LATER]))
    assert line == "error: --options: prune_fraction must be in (0, 1), got 5"


def test_diabdeep_config_refuses_a_baseline_twice():
    """The report's rows repeated the first one's row for the second (one training)."""
    from synth.diabdeep import DiabDeepConfig
    with pytest.raises(ConfigError, match=r"^baselines must name each baseline once, got "
                                          r"'mlp' twice$"):
        DiabDeepConfig(baselines=("mlp", "forest", "mlp"))
    # a JSON --options list is the config's own field, told by its name (behind --options)
    line = one_error_line(run(["diabdeep", "--dataset", "blink", "--options",
                               '{"baselines": ["lstm1", "lstm1"]}']))
    assert line == "error: --options: baselines must name each baseline once, got 'lstm1' twice"
