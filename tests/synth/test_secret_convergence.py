"""``nnsynth secret --base mlp``: scikit-learn's ConvergenceWarning (its MLP stops at 300
iterations on wine) printed raw, with its source line, once per fit (4 times); it is one
logged line of nnsynth's, in the result's warning too."""
import logging
import warnings

from sklearn.exceptions import ConvergenceWarning

from synth.secret_eval import run_secret


def test_an_unconverged_base_is_one_line_not_sklearns_warnings(caplog):
    with warnings.catch_warnings(record=True) as escaped, caplog.at_level(logging.WARNING):
        warnings.simplefilter("always")
        result = run_secret("wine", "mlp", class_names=["first", "second", "third"])
    assert not [w for w in escaped if issubclass(w.category, ConvergenceWarning)]
    lines = [r.getMessage() for r in caplog.records if "iteration limit" in r.getMessage()]
    assert len(lines) == 1, lines
    assert lines[0].startswith("the mlp base's solver stopped at its iteration limit")
    assert lines[0] in result["warning"]
    assert 0 <= result["secret_scores"]["accuracy"] <= 1
