"""The pipeline's "starting the search over" line (``deploy.stages.search_restart_reason``)
names the settings that changed as ``search.run`` reads the saved search config: a search
begun before the trials' step floor (no ``min_steps``) or before they took nnsynth
grow-prune's recipe (a ``grow_prune`` without RECIPE's fields) resumes with the values it ran
(``as_begun``), so those are no changed settings.  The raw search_config.json was compared,
and a search restarted for another reason (its trials changed) was said to have changed
grow_prune and min_steps too (h292)."""
import json

from deploy.stages import search_restart_reason
from search.run import SPACE_FILE, SearchConfig, as_begun, resumable
from search.space import load_space
from tests.deploy import test_pipeline_stale as stale
from tests.deploy.test_pipeline_stale import FULL, _config, _search_log, _with

cache, stand_ins = stale.cache, stale.stand_ins   # its fixtures: a teacher cache, stand-ins


def _begun_before(out_dir, config):
    """A search directory as a search begun before min_steps and the recipe saved it."""
    out_dir.mkdir()
    old = config.to_dict()
    del old["min_steps"]
    old["grow_prune"] = {"prune_steps": 3}
    (out_dir / "search_config.json").write_text(json.dumps(old))
    (out_dir / SPACE_FILE).write_text(json.dumps(load_space(config.space).definition))


def test_the_restart_line_names_only_what_changed(tmp_path):
    given = {"space": "mlp", "grow_prune": {"prune_steps": 3}, "trials": 2}
    config = SearchConfig(dataset="iris", device="cpu", **given)
    out = tmp_path / "search"
    _begun_before(out, config)
    same = as_begun(out, config, given)
    assert resumable(out, same)                      # as begun: resumed, no line
    more = as_begun(out, config.replace(trials=5), {**given, "trials": 5})
    assert not resumable(out, more)
    # ctx is read only where the search's inputs changed (no search_inputs.json here)
    assert search_restart_reason(None, out, more) == "the search settings changed (trials)"
    # a setting the caller changes is still named
    changed = {**given, "grow_prune": {"prune_steps": 4}, "min_steps": 7}
    more = as_begun(out, SearchConfig(dataset="iris", device="cpu", **changed), changed)
    assert search_restart_reason(None, out, more) == \
        "the search settings changed (grow_prune, min_steps)"


def test_the_pipelines_line_of_a_search_begun_before(tmp_path, cache, stand_ins, caplog):
    """Through ``nnsynth run``'s pipeline (its search stage real, the trials a stand-in, as
    tests/deploy/test_pipeline_stale.py runs it): a search whose saved config has no
    min_steps and a grow_prune without the recipe's fields, rerun with more trials."""
    from deploy.pipeline import run_pipeline
    values = _with(FULL, "search", options={"trials": 1, "grow_prune": {"prune_steps": 1}})
    run = tmp_path / "run"
    run_pipeline(_config(values, cache), run, progress=False, log=lambda m: None,
                 stop_after="search")
    saved = run / "search" / "search_config.json"
    old = json.loads(saved.read_text())
    del old["min_steps"]
    old["grow_prune"] = {"prune_steps": 1}
    saved.write_text(json.dumps(old))
    line = _search_log(caplog, run, _with(values, "search", options={
        "trials": 2, "grow_prune": {"prune_steps": 1}}), cache)
    assert line.strip() == "the search settings changed (trials): starting the search over"
