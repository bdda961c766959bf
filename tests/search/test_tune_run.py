"""One small Tune search with Ray: two tiny trials on digits, priced by the hwsim pool;
results.parquet, the Pareto plot and the best checkpoint; resuming repeats nothing."""
import json

import pytest

from search.results import read_results
from search.run import SearchConfig, run_search


@pytest.fixture(scope="module")
def ray_session(ray_local):
    """The module's Ray, started here from the project's directory before any test changes
    the working directory: run_search started it, in test_tiny_search_and_resume, inside
    tmp_path/a, and Ray's workers then could not import this module's functions (``tests``:
    test_ctrl_c_... failed with 'No module named tests' after it, and passed alone)."""
    return ray_local


def test_tiny_search_and_resume(ray_session, tmp_path, monkeypatch, capsys):
    """The space is given by a relative path; the resume runs elsewhere, where a file of
    that name is not a space (it was read, or the resume failed with 'not found'): it reads
    the space saved in the search's directory.  Without progress nothing reaches stdout:
    Tune's experiment box and result paths were printed there, under -q too."""
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "tiny.yaml").write_text(
        "family: convnet\nparams:\n  widths: {list: [4, 8], length: [1, 2]}\n"
        "  kernels: {list: [3], length: widths}\n  strides: {list: [1], length: widths}\n"
        "  pool: flatten\n")
    monkeypatch.chdir(tmp_path / "a")
    config = SearchConfig(space="tiny.yaml", dataset="digits", trials=2, concurrency=2,
                          n_initial=2, epochs=1, pool_shards=1)
    out = tmp_path / "run"
    summary = run_search(config, out, progress=False)
    assert capsys.readouterr().out == ""
    table = read_results(out / "results.parquet")
    assert summary["trials"] == 2 == len(table) == table["trial_id"].nunique()
    assert table["spec"].nunique() == 2
    assert (table["latency_ms"] > 0).all() and (table["energy_mj"] > 0).all()
    assert (table["accuracy"] > 0.3).all()  # chance is 0.1
    assert summary["best_accuracy"] == table["accuracy"].max()
    assert (out / "pareto.png").stat().st_size > 1000 and (out / "best.pt").exists()
    assert json.loads((out / "search_config.json").read_text())["trials"] == 2
    saved = json.loads((out / "search_space.json").read_text())
    assert saved["family"] == "convnet" and saved["params"]["pool"] == "flatten"
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "tiny.yaml").write_text("family: no_such_family\n")
    monkeypatch.chdir(tmp_path / "b")
    again = run_search(None, out, resume=True, progress=False)  # all finished: nothing reruns
    after = read_results(out / "results.parquet")
    assert again["trials"] == 2 and list(after["trial_id"]) == list(table["trial_id"])


def test_a_trial_whose_training_diverges_is_a_flagged_result_not_an_error(ray_session,
                                                                         tmp_path):
    """fit() raises TrainingDiverged on NaN weights; in a trial that error made Tune retry the
    same training max_failures times and leave no row.  A diverged candidate is a result:
    measured as it is, flagged, and the search goes on."""
    import numpy as np
    from tests.synth._tiny import diverging_set
    config = SearchConfig(space="mlp", dataset=diverging_set(tmp_path / "data"), trials=1,
                          concurrency=1, epochs=2, hardware=False)
    # a hwsim pool an earlier search of this session left holding a CPU: trials sized on the
    # cluster's total asked for 2 CPUs where 1 was free, and waited for ever
    from cluster.hwsim_pool import get_pool
    get_pool(num_shards=1, num_cpus=1.0).stats()     # up and holding its CPU
    summary = run_search(config, tmp_path / "run", progress=False)
    table = read_results(tmp_path / "run" / "results.parquet")
    assert summary["trials"] == 1 == len(table)
    assert table["diverged_epoch"].notna().all()      # the epoch (from 1) it happened in
    assert 0 <= table["accuracy"].iloc[0] <= 1 and np.isfinite(table["test_accuracy"]).all()


def test_a_space_nothing_of_which_can_run_says_why(ray_session, tmp_path):
    """Every member unbuildable for the data (convnet on iris's 4 features) or outside the
    constraints ended in 'finished no trial; see DIR/tune', where nothing said why."""
    from synth.errors import UserError
    from search.run import no_trial_reason
    from search.space import load_space
    space = tmp_path / "tight.yaml"
    space.write_text("family: mlp\nparams: {hidden: {list: [8, 16], length: [1, 2]}}\n"
                     "constraints: ['parameters<=5']\n")
    config = SearchConfig(space=str(space), dataset="iris", trials=1, concurrency=1,
                          n_initial=2, epochs=1, hardware=False)
    with pytest.raises(UserError, match=r"finished no trial: none of 64 random members of "
                                        r"the space meets parameters<=5 \(best seen 67\)"):
        run_search(config, tmp_path / "run", progress=False)
    assert "takes images" in no_trial_reason(load_space("convnet"), config, (4,), 3)
    assert no_trial_reason(load_space("mlp"), config, (4,), 3) is None


def test_a_hwsim_pool_larger_than_the_cluster_is_one_line(ray_session, tmp_path):
    """pool_shards x pool_cpus beyond the cluster's CPUs: the pool's actors (or the trials
    behind them) could never be scheduled, and the search waited forever (a 4-minute
    timeout on 2 CPUs with 2 x 4 asked); now one line before any trial."""
    import ray
    from synth.errors import UserError
    cpus = ray.cluster_resources()["CPU"]
    for shards, each in ((2, cpus), (1, cpus + 1)):
        config = SearchConfig(dataset="iris", trials=1, concurrency=1, n_initial=2, epochs=1,
                              searcher="random", pool_shards=shards, pool_cpus=each)
        with pytest.raises(UserError, match=rf"^the hwsim pool asks for pool_shards {shards} x "
                                            rf"pool_cpus {each:g} .* lower pool_shards or "
                                            rf"pool_cpus$"):
            run_search(config, tmp_path / f"run{shards}", progress=False)


def test_a_space_without_a_model_family_is_refused_before_any_work(tmp_path):
    """A space of plain parameters (no family) made every candidate unbuildable: Ray started,
    Tune ran no trial, and the error was 'finished no trial'."""
    from click.testing import CliRunner
    from deploy.cli.main import cli
    space = tmp_path / "flat.yaml"
    space.write_text("lr: {float: [0.001, 0.1], log: true}\n")
    r = CliRunner().invoke(cli, ["search", "--space", str(space), "--dataset", "iris",
                                 "--out", str(tmp_path / "s")])
    lines = r.output.strip().splitlines()
    assert r.exit_code == 2 and len(lines) == 1, r.output
    assert "has no model family" in lines[0] and "it declares lr" in lines[0]
    assert not (tmp_path / "s").exists()          # refused before the directory is made


def test_resume_without_its_saved_space_is_a_one_line_error(tmp_path):
    """A resume reads the space from the search's directory only; a missing or corrupt one
    is refused before Ray starts."""
    from search.run import SPACE_FILE
    from synth.errors import UserError
    from synth.files import claim_dir
    from search.trust import register_search
    out = tmp_path / "run"
    claim_dir(out, "--out")
    register_search(out)             # this user's own search (else refused as another's)
    config = SearchConfig(space="mlp", dataset="iris", trials=1, concurrency=1, hardware=False)
    (out / "search_config.json").write_text(json.dumps(config.to_dict()))
    with pytest.raises(UserError, match=f"cannot resume .*: no {SPACE_FILE}"):
        run_search(None, out, resume=True, progress=False)
    for text in ("{", "[1]", '{"family": "mlp", "params": {"hidden": {"nope": 1}}}'):
        (out / SPACE_FILE).write_text(text)
        with pytest.raises(UserError, match=f"{SPACE_FILE} is corrupt"):
            run_search(None, out, resume=True, progress=False)


def _stop_after_saving(monkeypatch):
    """The search stops right after search_config.json is saved (where it names its Tune
    experiment, before it reads its inputs), by a crash rather than a refusal: since ba8af0b
    a search refused before its first trial takes away what it wrote, so the missing files'
    UserError would leave no config to read."""
    import search.run

    def crash(*args, **kwargs):
        raise RuntimeError("stopped after the config was saved")
    monkeypatch.setattr(search.run, "tune_experiment", crash)


def test_the_saved_config_names_its_files_by_absolute_paths(tmp_path, monkeypatch):
    """search_config.json kept --teacher, --synth and a parquet:<dir> data set as given: a
    resume from another working directory read relative ones there (not found, or other
    files of those names)."""
    monkeypatch.chdir(tmp_path)
    config = SearchConfig(space="mlp", dataset="parquet:sets/mine", teacher="t.pt",
                          data="syn", trials=1, concurrency=1, hardware=False)
    _stop_after_saving(monkeypatch)
    with pytest.raises(RuntimeError, match="stopped after the config was saved"):
        run_search(config, tmp_path / "run", progress=False)
    saved = json.loads((tmp_path / "run" / "search_config.json").read_text())
    assert saved["dataset"] == f"parquet:{tmp_path / 'sets' / 'mine'}"
    assert saved["teacher"] == str(tmp_path / "t.pt") and saved["data"] == str(tmp_path / "syn")


def test_resumable_follows_absolute_paths_and_the_space_as_it_reads_now(tmp_path, monkeypatch):
    """The pipeline resumed a search when its saved config equalled the config: with the
    paths saved absolute, a parquet:<relative> set never matched (each rerun deleted the
    search and started over); and an edited space file resumed with the old space."""
    from search.run import resumable
    monkeypatch.chdir(tmp_path)
    (tmp_path / "sp.yaml").write_text("family: mlp\nparams:\n  hidden: {list: [4, 8], length: [1, 1]}\n")
    config = SearchConfig(space="sp.yaml", dataset="parquet:sets/mine", trials=1, concurrency=1,
                          hardware=False)
    _stop_after_saving(monkeypatch)
    with pytest.raises(RuntimeError, match="stopped after the config was saved"):
        run_search(config, tmp_path / "run", progress=False)
    assert resumable(tmp_path / "run", config)
    (tmp_path / "sp.yaml").write_text("family: mlp\nparams:\n  hidden: {list: [16], length: [1, 1]}\n")
    assert not resumable(tmp_path / "run", config)
    assert not resumable(tmp_path / "elsewhere", config)


def _slow_trainable(config):
    import time
    from ray import tune
    for step in range(50):
        time.sleep(0.1)
        tune.report({"step": step})


def test_ctrl_c_stops_tune_at_a_step_and_still_reports_an_interruption(ray_session, tmp_path):
    """A Ctrl-C during a search (here sent by a callback on the first result, in the
    driver's main thread, as a terminal's would arrive) ends Tune's loop at a step boundary:
    the experiment's end callbacks run (Tune cleaned up its trials and saved its state)
    instead of a KeyboardInterrupt raised inside Ray's own waiting, which can leave the process
    hanging.  The search is still reported as interrupted (KeyboardInterrupt after fit):
    fewer trials finished than requested."""
    import logging
    import os
    import signal
    import time
    from ray import tune
    from search.run import _fit_interruptibly

    events = []

    class CtrlC(tune.Callback):
        def on_trial_result(self, iteration, trials, trial, result, **info):
            if not events:
                events.append("sigint")
                os.kill(os.getpid(), signal.SIGINT)

        def on_experiment_end(self, trials, **info):
            events.append("experiment_end")

    tuner = tune.Tuner(_slow_trainable, tune_config=tune.TuneConfig(num_samples=3),
                       run_config=tune.RunConfig(name="ctrl_c", storage_path=str(tmp_path),
                                                 callbacks=[CtrlC()], verbose=0))
    before = signal.getsignal(signal.SIGINT)
    start = time.monotonic()
    seen = []                   # what Tune's logger lets through (after its filters)
    handler = logging.Handler()
    handler.emit = lambda record: seen.append(record.getMessage())
    logging.getLogger("ray.tune.tune").addHandler(handler)
    try:
        with pytest.raises(KeyboardInterrupt):
            _fit_interruptibly(tuner, tmp_path / "results.parquet", 3)
    finally:
        logging.getLogger("ray.tune.tune").removeHandler(handler)
    assert events == ["sigint", "experiment_end"]
    assert not [m for m in seen if "Tuner.restore" in m or "Stop signal" in m], seen
    assert time.monotonic() - start < 60
    assert signal.getsignal(signal.SIGINT) is before
