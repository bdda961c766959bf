"""The pipeline's refine stage grows and prunes with ``nnsynth grow-prune``'s recipe where
``refine.schedule`` sets no field (h289): it took GrowPruneSchedule's library defaults (no
retraining floor, 10 pruning steps, dead weights kept, no accuracy floor), so the same
schedule fields gave another model in ``nnsynth run`` than in ``nnsynth grow-prune``.
``deploy.stages.refine_schedule`` (``GrowPruneSchedule.recipe``) serves the stage and its
check, as the recipe serves the command."""
import pytest
import torch
from click.testing import CliRunner

from deploy.cli.main import cli
from deploy.run_config import RunConfig
from deploy.stages import check_stages, refine_schedule
from synth.choices import RECIPE
from synth.errors import ConfigError

SCHEDULE = {"prune_steps": 1, "retrain_epochs": 1, "retrain_min_steps": 0}


def _config(schedule) -> RunConfig:
    return RunConfig.from_dict({
        "name": "h289", "seed": 3, "device": "cpu",
        "teacher": {"dataset": "iris", "model": '{"family": "mlp", "hidden": [4], "bn": true}'},
        "synthesis": {"num_images": 30, "student": ""}, "search": {"options": {"trials": 1}},
        "refine": {"schedule": schedule}, "export": {"onnx": False, "price": False}})


def test_refine_takes_the_recipe_where_its_schedule_sets_nothing():
    schedule = refine_schedule(_config({"prune_steps": 3, "max_accuracy_drop": 0.02}))
    assert (schedule.prune_steps, schedule.max_accuracy_drop) == (3, 0.02)     # the user's
    assert (schedule.seed, schedule.device) == (3, "cpu")                     # the run's
    for field in ("retrain_min_steps", "remove_dead", "criterion", "prune_fraction",
                  "retrain_epochs", "batch_size"):                            # the recipe's
        assert getattr(schedule, field) == RECIPE[field], field
    assert schedule.retrain_min_steps == 60 and schedule.remove_dead   # were 0 and False


def test_refine_and_grow_prune_make_one_schedule_of_the_same_fields(tmp_path):
    out = tmp_path / "g.pt"
    done = CliRunner().invoke(cli, [
        "grow-prune", "--dataset", "iris", "--model", '{"family": "mlp", "hidden": [4]}',
        "--epochs", "1", "--min-steps", "0", "--prune-steps", "1", "--retrain-epochs", "1",
        "--retrain-min-steps", "0", "--seed", "3", "--device", "cpu", "--out", str(out),
        "--json"])
    assert done.exit_code == 0, done.output
    saved = torch.load(out, weights_only=True)["extra"]["schedule"]
    assert refine_schedule(_config(SCHEDULE)).to_dict() == saved


def test_the_check_names_a_bad_field_of_the_merged_schedule():
    config = _config({**SCHEDULE, "retrain_min_steps": -1})
    with pytest.raises(ConfigError, match=r"refine\.schedule.*retrain_min_steps"):
        check_stages(config, ["refine"])
