"""Helper 228: a failed trial is one line of the search's progress, which says why and names
the error file in the search's own directory.

A 1-trial iris search whose trial could not save its model printed 49 lines on stderr:
Tune's 'Trial task failed for trial ...' with the trial's traceback (~45 lines) and
'Trials did not complete: [...]' around nnsynth's own 'trial 1/1  failed  ...' line, which
named Tune's copy of the error in the driver's staging folder under Ray's session folder
(/tmp/ray/session_.../artifacts/.../error.txt, Ray's to clean up) and not why it failed.
Now 3 lines: the start line, 'trial 1/1  failed  mlp ...  synth.errors.UserError: checkpoint
... cannot be written: ... is a file, not a directory  (its error: <out>/tune/<trial>/error.txt)'
and the summary's error; Tune's failure logs show under -v, with its other output.
Driven through the driver's Tune callback as Tune calls it (no Ray)."""
import inspect
import json
import logging
from types import SimpleNamespace

from search.run import (_PROGRESS, ERRORS_FILE, TRIAL_FAILURE_LOGGERS, ResultsCallback,
                        SearchConfig, TrialProgress, _no_trial_failure_logs)

SPEC = json.dumps({"family": "mlp", "hidden": [16]})
TRACEBACK = ("Failure # 1 (occurred at 2026-12-06_06-32-36)\n"
             "\x1b[36mray::ImplicitFunc.train()\x1b[39m (pid=9492, ip=127.0.0.1)\n"
             "  File \"/work/main/search/trial.py\", line 205, in train_candidate\n"
             "synth.errors.UserError: checkpoint /o/models/t1.pt cannot be written: /o/models "
             "is a file, not a directory\n\n")


def _failed(tmp_path, capsys, storage):
    """(ERRORS_FILE's record, the line shown) of trial t1 failing, Tune's error file in a
    staging folder and the trial's storage folder ``storage``."""
    staged = tmp_path / "staging" / "t1" / "error.txt"
    staged.parent.mkdir(parents=True)
    staged.write_text(TRACEBACK)
    results = str(tmp_path / "results.parquet")
    _PROGRESS[results] = TrialProgress(tmp_path, SearchConfig(dataset="iris", trials=2,
                                                              hardware=False))
    try:
        ResultsCallback(results).on_trial_error(0, [], SimpleNamespace(
            trial_id="t1", config={"spec": SPEC}, error_file=str(staged), path=storage))
    finally:
        _PROGRESS.pop(results, None)
    return (json.loads((tmp_path / ERRORS_FILE).read_text())["t1"],
            capsys.readouterr().err.splitlines())


def test_the_line_says_why_and_names_the_searchs_copy(tmp_path, capsys):
    stored = tmp_path / "tune" / "train_candidate_t1"
    stored.mkdir(parents=True)
    record, lines = _failed(tmp_path, capsys, str(stored))
    assert record == {"spec": SPEC, "error_file": str(stored / "error.txt")}
    assert lines == [f"trial 1/2  failed  mlp hidden=[16]  synth.errors.UserError: checkpoint "
                     f"/o/models/t1.pt cannot be written: /o/models is a file, not a directory"
                     f"  (its error: {stored / 'error.txt'})"]


def test_a_storage_that_is_no_local_folder_keeps_tunes_file(tmp_path, capsys):
    record, lines = _failed(tmp_path, capsys, "bucket/search/tune/train_candidate_t1")  # s3://
    staged = tmp_path / "staging" / "t1" / "error.txt"
    assert record["error_file"] == str(staged) and lines[0].endswith(f"(its error: {staged})")


def test_a_trial_tried_again_says_so_and_keeps_no_number(tmp_path, capsys):
    """A failed trial Tune tries again (max_failures) showed a traceback and no line."""
    from search.searchers import DONE_KEY
    staged = tmp_path / "error.txt"
    staged.write_text(TRACEBACK)
    results = str(tmp_path / "results.parquet")
    _PROGRESS[results] = TrialProgress(tmp_path, SearchConfig(dataset="iris", trials=2,
                                                              hardware=False))
    trial = SimpleNamespace(trial_id="t1", config={"spec": SPEC}, error_file=str(staged),
                            path=None, last_result={
                                "trial_id": "t1", "spec": SPEC, "accuracy": 0.5,
                                "test_accuracy": 0.5, "parameters": 131,
                                "nonzero_parameters": 131, "flops": 128, "nonzero_flops": 128,
                                "epochs": 1, "wall_seconds": 1.5, "stopped_early": False,
                                "checkpoint": "/x/t1.pt", "finished_at": 0.0, DONE_KEY: True})
    try:
        callback = ResultsCallback(results)
        callback.on_trial_recover(0, [], trial)
        callback.on_trial_complete(0, [], trial)
    finally:
        _PROGRESS.pop(results, None)
    lines = capsys.readouterr().err.splitlines()
    assert lines[0] == ("trial failed, trying again  mlp hidden=[16]  synth.errors.UserError: "
                        "checkpoint /o/models/t1.pt cannot be written: /o/models is a file, "
                        "not a directory")
    assert lines[1].startswith("trial 1/2  acc 0.500 (best so far)") and len(lines) == 2
    assert not (tmp_path / ERRORS_FILE).exists()


def _record(msg: str) -> logging.LogRecord:
    return logging.LogRecord("ray.tune.execution.tune_controller", logging.ERROR, __file__, 1,
                             msg, None, None)


def test_tunes_failure_logs_are_held_back():
    assert not _no_trial_failure_logs(_record("Trial task failed for trial train_candidate_t1"))
    assert not _no_trial_failure_logs(_record("Trials did not complete: %s"))
    assert _no_trial_failure_logs(_record("Failed to restore the run state."))
    # the coupling to Ray's own words and loggers (Ray 2.60)
    from ray.tune import tune
    from ray.tune.execution import tune_controller
    assert (tune_controller.logger.name, tune.logger.name) == TRIAL_FAILURE_LOGGERS
    assert 'logger.error(f"Trial task failed for trial {trial}", exc_info=exception)' in \
        inspect.getsource(tune_controller)
    assert 'logger.error("Trials did not complete: %s", incomplete_trials)' in \
        inspect.getsource(tune)
