"""A search whose trials grow and prune (SearchConfig.grow_prune) retrains with nnsynth
grow-prune's step floor (RECIPE's retrain_min_steps, 60) unless its grow_prune dict sets one
(h288): GrowPruneSchedule's own 0 retrained a trial of iris 6 steps per pruning step (3
epochs of 2 batches), where the CLI's recipe makes 60.  A search saved before (its
grow_prune without the key) resumes with 0, as it ran."""
import json

from search.run import SearchConfig, as_begun, check_same_settings
from synth.choices import RECIPE
from synth.grow_prune import GrowPruneSchedule


def test_trials_take_the_recipe_floor_unless_given():
    config = SearchConfig(dataset="iris", space="mlp", grow_prune={"prune_steps": 3})
    # (h292: every field of the recipe grow_prune does not set, the floor among them)
    assert config.grow_prune == {**RECIPE, "prune_steps": 3}
    assert config.grow_prune["retrain_min_steps"] == 60 == RECIPE["retrain_min_steps"]
    # the trial's schedule (search.trial builds it so): 30 epochs of iris' 108 inputs
    settings = config.to_dict()
    schedule = GrowPruneSchedule.from_dict({"seed": settings["seed"], "device": "cpu",
                                            **settings["grow_prune"]})
    assert schedule.retrain_epochs_for(108) == 30
    given = SearchConfig(dataset="iris", space="mlp", grow_prune={"retrain_min_steps": 0})
    assert given.grow_prune == {**RECIPE, "retrain_min_steps": 0}
    assert SearchConfig(dataset="iris", space="mlp").grow_prune is None
    assert json.loads(json.dumps(config.to_dict()))["grow_prune"]["retrain_min_steps"] == 60


def test_a_search_saved_before_resumes_without_the_floor(tmp_path):
    config = SearchConfig(dataset="iris", space="mlp", trials=2, grow_prune={"prune_steps": 3})
    old = config.to_dict()
    old["grow_prune"] = {"prune_steps": 3}          # as a search begun before h288 saved it
    (tmp_path / "search_config.json").write_text(json.dumps(old))
    begun = as_begun(tmp_path, config, {"grow_prune": {"prune_steps": 3}})
    assert (begun.grow_prune["prune_steps"], begun.grow_prune["retrain_min_steps"]) == (3, 0)
    check_same_settings(tmp_path / "search_config.json", begun)   # the same search: resumed
    # asked for by the caller: the caller's floor, a changed setting
    asked = SearchConfig(dataset="iris", space="mlp", trials=2,
                         grow_prune={"prune_steps": 3, "retrain_min_steps": 60})
    assert as_begun(tmp_path, asked, {"grow_prune": {"prune_steps": 3, "retrain_min_steps":
                                                     60}}).grow_prune["retrain_min_steps"] == 60


def test_an_unmakeable_retraining_floor_is_refused_before_the_search():
    import pytest
    from search.run import check_searchable
    from synth.train import StepFloorError
    config = SearchConfig(dataset="iris", space="mlp", trials=2, min_steps=0, hardware=False,
                          grow_prune={"retrain_min_steps": 1_000_000})
    # named as the search's user sets it (the config's grow_prune, the CLI's --schedule):
    # it said only "retrain_min_steps", which no option of nnsynth search is called
    with pytest.raises(StepFloorError, match=r"^grow_prune.retrain_min_steps 1,000,000 needs "
                                             r"500,000 passes over 108 inputs; the limit is "
                                             r"100,000 \(lower the schedule's retrain_min_steps: "
                                             r"nnsynth search --schedule\)$"):
        check_searchable(config)   # before Ray: each trial raised it inside Ray
