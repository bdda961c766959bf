"""Figures nnsynth reports, worded and rounded as what they are (helper 177).

1. ``synth.inversion.fidelity_warning`` rounded the fidelity to 3 decimals and its
   percentage to 1: 1,899 of 2,000 inputs kept their class (0.9495) and the warning read
   "inversion reached fidelity 0.950 (below 0.95) ... only 95.0% of the synthesized inputs".
   It now shows as many decimals as read below the threshold, with the helper that
   ``nnsynth invert --min-fidelity`` uses for its error (moved down to synth.config).
"""
import re

from synth.config import shown_below
from synth.inversion import fidelity_warning


def _shown(warning):
    fidelity = re.search(r"reached fidelity ([0-9.]+)", warning).group(1)
    percent = re.search(r"only ([0-9.]+)% of the synthesized", warning).group(1)
    return fidelity, percent


def test_fidelity_warning_shows_the_fidelity_below_its_threshold():
    for hits, n, threshold in ((1899, 2000, 0.95), (60, 64, 0.9376), (9499, 10000, 0.95),
                               (19999, 20000, 1.0), (5, 8, 0.95)):
        warning = fidelity_warning(hits / n, threshold, 60)
        fidelity, percent = _shown(warning)
        assert float(fidelity) < threshold, warning
        assert float(percent) < 100 * threshold, warning
        assert abs(float(fidelity) - hits / n) < 1e-3
    # as before where 3 and 1 decimals already read below
    assert _shown(fidelity_warning(0.625, 0.95, 60)) == ("0.625", "62.5")
    assert fidelity_warning(0.95, 0.95) is None


def test_invert_and_the_warning_share_one_formatting_helper():
    from deploy.cli.commands import invert
    assert invert.shown_below is shown_below
    assert shown_below(1899 / 2000, 0.95) == "0.9495" and shown_below(0.5, 0.95) == "0.500"
