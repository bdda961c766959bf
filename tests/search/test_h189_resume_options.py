"""run_search(config, out, resume=True) with a config other than the one the search in `out`
began with: the saved one ran and the given one was dropped without a word (a search of
trials 3, epochs 1 resumed with trials=5, epochs=2 ran its 3 one-epoch trials and reported
'3 trials').  `nnsynth search --resume DIR --trials 5` was refused already; the library now
says so too, before Ray starts.  The same config (or None) goes on to resume."""
import pytest

from search.run import SearchConfig, run_search
from synth.errors import UserError
from synth.files import claim_dir, write_json_atomic


def _saved_search(tmp_path, config):
    out = claim_dir(tmp_path / "s", "--out")
    write_json_atomic(out / "search_config.json", config.to_dict())
    return out


def test_resume_with_other_options_is_refused(tmp_path):
    config = SearchConfig(space="mlp", dataset="iris", trials=3, epochs=1)
    out = _saved_search(tmp_path, config)
    with pytest.raises(UserError) as e:
        run_search(config.replace(trials=5, epochs=2), out, resume=True, progress=False)
    line = str(e.value)
    assert "\n" not in line
    assert "trials 3" in line and "trials 5" in line and "epochs 1" in line and "epochs 2" in line


def test_resume_with_the_same_options_goes_on(tmp_path):
    """Past the comparison: refused next only as a search this user did not start here
    (search.trust; no Ray)."""
    config = SearchConfig(space="mlp", dataset="iris", trials=3, epochs=1)
    out = _saved_search(tmp_path, config)
    for given in (config, None):
        with pytest.raises(UserError, match="did not start here"):
            run_search(given, out, resume=True, progress=False)
