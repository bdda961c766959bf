"""A new search into a directory that holds another table of results is refused, before Ray.
A pipeline run directory holds its search's results.parquet and pareto.png at its top
(deploy.stages copies them there) and is nnsynth's, so --out accepted it: nnsynth search
--trials 1 --out RUN appended its one trial to the 3 rows there, said '4 trials ... Pareto
front of 4', could pick another search's trial as its best (best.pt copied from that
search's models/), and overwrote the run's pareto.png.  No Ray: the refusal comes first."""
import pytest

from search.results import append_result, read_results
from search.run import SearchConfig, run_search
from synth.errors import UserError
from synth.files import claim_dir


def test_a_new_search_into_a_directory_with_results_is_refused(tmp_path):
    run = claim_dir(tmp_path / "run", "--run-dir")
    append_result(run / "results.parquet", {"trial_id": "t1", "spec": "{}", "accuracy": 0.9,
                                            "checkpoint": str(run / "search" / "t1.pt")})
    with pytest.raises(UserError) as e:
        run_search(SearchConfig(space="mlp", dataset="iris", trials=1, epochs=1), run,
                   progress=False)
    line = str(e.value)
    assert "\n" not in line and "results.parquet" in line and "another --out" in line
    assert list(read_results(run / "results.parquet")["trial_id"]) == ["t1"]
    assert not (run / "search_config.json").exists()
