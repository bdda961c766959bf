"""A search's grow-and-prune trials (SearchConfig.grow_prune) take nnsynth grow-prune's recipe
(``GrowPruneSchedule.recipe``: RECIPE's 17 LAMP steps, dead weights removed, the 60-step
retraining floor, at most 0.5 pt given up) for every field their grow_prune does not set, as
the pipeline's refine does (h292).  They built ``GrowPruneSchedule.from_dict``: its library
values but the retraining floor (h288).  A search begun before resumes as it began: its
saved config lacks those fields, and they resume with the library's values."""
import json

from search.run import SearchConfig, as_begun, check_same_settings
from synth.choices import RECIPE
from synth.grow_prune import GrowPruneSchedule


def test_the_trials_grow_and_prune_with_the_one_recipe():
    from deploy.run_config import RunConfig
    from deploy.stages import refine_schedule
    config = SearchConfig(dataset="iris", space="mlp", grow_prune={"prune_steps": 3},
                          device="cpu")
    assert config.grow_prune == {**RECIPE, "prune_steps": 3}   # saved with the search
    from search.trial import grow_prune_schedule
    schedule = grow_prune_schedule(config.to_dict())
    assert schedule == GrowPruneSchedule.recipe(seed=0, device="cpu", prune_steps=3)
    assert (schedule.remove_dead, schedule.max_accuracy_drop, schedule.retrain_min_steps) == (
        True, 0.005, 60)
    # the pipeline's refine makes the same schedule from the same fields
    run = RunConfig.from_dict({"name": "x", "teacher": {"dataset": "iris", "model": "mlp_small"},
                               "seed": 0, "device": "cpu",
                               "refine": {"schedule": {"prune_steps": 3}}})
    assert refine_schedule(run) == schedule
    # a field the user sets wins; all 17 steps where none is set
    assert grow_prune_schedule(SearchConfig(dataset="iris", space="mlp", grow_prune={
        "remove_dead": False}).to_dict()).remove_dead is False
    assert grow_prune_schedule(SearchConfig(dataset="iris", space="mlp",
                                            grow_prune={}).to_dict()).prune_steps == 17


def _saved(tmp_path, config, grow_prune):
    old = config.to_dict()
    old["grow_prune"] = grow_prune            # as a search begun before it saved
    (tmp_path / "search_config.json").write_text(json.dumps(old))
    return tmp_path / "search_config.json"


def test_a_search_begun_before_resumes_with_the_library_values(tmp_path):
    from search.trial import grow_prune_schedule
    config = SearchConfig(dataset="iris", space="mlp", trials=2, grow_prune={"prune_steps": 3},
                          device="cpu")
    # begun after h288 (the floor recorded), before h292: the trials' schedule then
    saved = _saved(tmp_path, config, {"prune_steps": 3, "retrain_min_steps": 60})
    ran = GrowPruneSchedule.from_dict({"seed": 0, "device": "cpu", "prune_steps": 3,
                                       "retrain_min_steps": 60})
    begun = as_begun(tmp_path, config, {"grow_prune": {"prune_steps": 3}})
    check_same_settings(saved, begun)                       # resumed, not started over
    assert grow_prune_schedule(begun.to_dict()) == ran      # the rest of its trials so
    # (check_same_settings compares it with the saved settings as run_search(None,
    # resume=True) reads them: the same config resumes a search given none)
    # begun before h288 too: no floor either
    _saved(tmp_path, config, {"prune_steps": 3})
    begun = as_begun(tmp_path, config, {"grow_prune": {"prune_steps": 3}})
    check_same_settings(saved, begun)
    assert grow_prune_schedule(begun.to_dict()) == ran.replace(retrain_min_steps=0)
    # a field the caller sets now is its own: a changed setting, the search starts over
    asked = SearchConfig(dataset="iris", space="mlp", trials=2, device="cpu",
                         grow_prune={"prune_steps": 3, "remove_dead": True})
    begun = as_begun(tmp_path, asked, {"grow_prune": {"prune_steps": 3, "remove_dead": True}})
    assert begun.grow_prune["remove_dead"] is True and begun.grow_prune["max_accuracy_drop"] == 1
    import pytest
    from synth.errors import UserError
    with pytest.raises(UserError, match=r"began with grow_prune.remove_dead False; the config "
                                        r"given has grow_prune.remove_dead True: "):
        check_same_settings(saved, begun)
