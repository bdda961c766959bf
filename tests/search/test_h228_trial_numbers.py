"""Helper 228: a search's trial lines count distinct trials.  A failed trial is counted when
it fails; a --resume retries it (Tune's ``resume_errored``), and its line when it ended again
counted it a second time: a 2-trial search whose trials both failed (their models could not
be saved) said, resumed, 'trial 3/2  acc 0.333 ...' and 'trial 4/2  acc 0.333 ...'.  Now a
number is a trial's: the retried trial keeps the one it was given, and no line counts past
the total.  Driven here through the driver's Tune callback as Tune calls it (no Ray)."""
import json
from types import SimpleNamespace

import pytest

from search.run import _PROGRESS, ERRORS_FILE, ResultsCallback, SearchConfig, TrialProgress
from search.searchers import DONE_KEY

SPEC = json.dumps({"family": "mlp", "hidden": [16], "bn": False, "dropout": 0.0})
CONFIG = SearchConfig(space="mlp", dataset="iris", trials=3, hardware=False)


def _trial(trial_id: str, accuracy: float | None = None):
    row = None if accuracy is None else {
        "trial_id": trial_id, "spec": SPEC, "accuracy": accuracy, "test_accuracy": accuracy,
        "parameters": 131, "nonzero_parameters": 131, "flops": 128, "nonzero_flops": 128,
        "epochs": 1, "wall_seconds": 1.5, "stopped_early": False,
        "checkpoint": f"/x/{trial_id}.pt", "finished_at": 0.0, DONE_KEY: True}
    return SimpleNamespace(trial_id=trial_id, config={"spec": SPEC}, last_result=row,
                           error_file=f"/tune/train_candidate_{trial_id}/error.txt")


@pytest.fixture
def shown(tmp_path, capsys):
    """(callback, lines): the driver's results callback of a search in tmp_path, and a
    function giving the progress lines shown since its last call; the progress is made anew
    (as a resumed run makes it) by ``lines(resume=True)``."""
    results = str(tmp_path / "results.parquet")
    callback = ResultsCallback(results)

    def lines(resume=False):
        if resume:
            _PROGRESS[results] = TrialProgress(tmp_path, CONFIG)
        return capsys.readouterr().err.splitlines()
    lines(resume=True)
    yield callback, lines
    _PROGRESS.pop(results, None)


def test_a_retried_trial_keeps_its_number(shown, tmp_path):
    callback, lines = shown
    callback.on_trial_error(0, [], _trial("a"))
    callback.on_trial_complete(0, [], _trial("b", 0.5))
    callback.on_trial_error(0, [], _trial("c"))
    assert [line[:16] for line in lines()] == ["trial 1/3  faile", "trial 2/3  acc 0",
                                               "trial 3/3  faile"]
    # resumed: a and c are retried; a fails again, c finishes
    lines(resume=True)
    callback.on_trial_error(0, [], _trial("a"))
    callback.on_trial_complete(0, [], _trial("c", 0.75))
    again = lines()
    assert again[0].startswith("trial 2/3  failed  mlp"), again
    assert again[1].startswith("trial 3/3  acc 0.750 (best so far)"), again
    assert json.loads((tmp_path / ERRORS_FILE).read_text()).keys() == {"a", "c"}
    # resumed once more: a finishes at last
    lines(resume=True)
    callback.on_trial_complete(0, [], _trial("a", 0.25))
    assert lines()[0].startswith("trial 3/3  acc 0.250 (best 0.750)")


def test_a_callback_pickled_before_the_id_finds_it_by_its_error_file(shown, tmp_path):
    """A search begun before the record carried the trial's id restores its old callback,
    which shows the error record alone: the id is the one ERRORS_FILE holds it under."""
    _, lines = shown
    (tmp_path / ERRORS_FILE).write_text(json.dumps(
        {t: {"spec": SPEC, "error_file": _trial(t).error_file} for t in ("a", "b")}))
    lines(resume=True)
    progress = _PROGRESS[str(tmp_path / "results.parquet")]
    progress.failed({"spec": SPEC, "error_file": _trial("b").error_file})
    progress.failed({"spec": SPEC, "error_file": "/tune/another/error.txt"})   # not recorded
    assert [line[:16] for line in lines()] == ["trial 2/3  faile", "trial 3/3  faile"]
    assert progress.done == 3
