"""A DiabNN's grow-and-prune history numbers its steps in order (h230).

The growth and the pruning are two grow_and_prune calls, each counting its steps from 1, and
the pruning's rows were appended as they came: the report's history read 'start 0, grow 1,
grow 2, prune 1, prune 2, finetune 3' (``nnsynth diabdeep --out r.json``), two rows of each
step number and a finetune row numbered after the growth, as SCANN's joined runs are not."""
from synth.data import load_dataset
from synth.diabdeep import DiabDeepConfig, frame_for, synthesize


def test_the_steps_of_a_diabnn_history_increase():
    data = load_dataset("basicmotions")
    config = DiabDeepConfig.from_dict(dict(
        dataset="basicmotions", steps=5, epochs=2, growth_rounds=2, prune_steps=2,
        retrain_epochs=1, final_epochs=1, server_hidden=(8,), baselines=(), device="cpu",
        max_accuracy_drop=1.0, max_loss_rise=0.0))
    _, history = synthesize("server", data, config, frame_for(data, 5))
    phases = [r["phase"] for r in history]
    assert phases == ["start", "grow", "grow", "prune", "prune", "finetune"], phases
    assert [r["step"] for r in history] == [0, 1, 2, 3, 4, 5]
