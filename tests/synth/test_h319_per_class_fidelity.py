"""Inversion says WHICH classes it could not synthesize (h319).

A synthesized set is balanced by target, so one fidelity figure of 0.67 could be one class the
teacher never predicts or misses spread over all three.  Every path counts fidelity per target
class where it measures fidelity (``stats["class_counts"]``: inputs synthesized and those the
teacher assigns to their target, per class) -- per pixel, the generator, the method fallback
-- and the low-fidelity warning names the classes below the floor, the worst first, by the
names the teacher's checkpoint records.  And ``preset_note``: an image preset's name says its
side only (``cifar32`` for a 1x32x32 teacher read as a 3-channel preset).  The teacher: a BN
MLP trained on iris whose last bias keeps versicolor out of reach."""
import pytest
import torch

from synth.inversion import (balanced_labels, class_counts, class_fidelity, fidelity_warning,
                             merge_class_counts, preset_for, preset_note, settings_for,
                             synthesize)
from synth.synthesis import synthesize_inputs

BLIND = "versicolor"   # class 1 of iris


def blind_checkpoint(folder):
    """A BN MLP trained 5 epochs on iris on one thread, then class 1's logit (versicolor)
    lowered by 1e4 so that no input reaches it, saved as ``folder``/teacher.pt; returns it."""
    from hwsim.latency import torch_threads
    from synth.checkpoint import save_checkpoint
    from synth.data import load_dataset
    from synth.models import build
    from synth.train import TrainConfig, fit
    data = load_dataset("iris")
    with torch_threads(1):
        torch.manual_seed(0)
        model = build({"family": "mlp", "hidden": [32, 16], "bn": True}, data.input_shape,
                      data.num_classes)
        fit(model, data, TrainConfig(epochs=5, seed=0, device="cpu", progress=False))
    with torch.no_grad():
        model.net[-1].bias[1] -= 1e4
    path = folder / "teacher.pt"
    save_checkpoint(path, model.eval(), dataset=data.metadata(), metrics={})
    return path


@pytest.fixture(scope="module")
def blind_teacher(tmp_path_factory):
    """(the blind teacher as loaded from its checkpoint, its value range)."""
    from synth.checkpoint import load_model
    from synth.data import input_range, load_dataset
    path = blind_checkpoint(tmp_path_factory.mktemp("blind"))
    return load_model(path), input_range(load_dataset("iris").metadata())


def _teachers_counts(teacher, result):
    with torch.no_grad():
        predicted = teacher(result.images).argmax(1)
    return class_counts(predicted, result.labels, teacher.num_classes)


def test_per_pixel_inversion_counts_each_class_and_names_the_blind_one(blind_teacher):
    from hwsim.latency import torch_threads
    teacher, value_range = blind_teacher
    config = settings_for(teacher, value_range=value_range, iterations=60, device="cpu")
    with torch_threads(1):
        result = synthesize(teacher, balanced_labels(12, 3), config, pixel_range=value_range,
                            warn=False)
    counts = result.stats["class_counts"]
    assert counts == _teachers_counts(teacher, result)
    assert counts["synthesized"] == [4, 4, 4] and counts["hits"][1] == 0
    assert sum(counts["hits"]) == round(result.fidelity * 12)
    warning = result.stats["warning"]
    assert "\n" not in warning and warning.startswith("inversion reached fidelity")
    # by the checkpoint's class names, the worst first
    assert f"; classes below 0.95: {BLIND} (0.00)" in warning, warning
    assert class_fidelity(counts, ["setosa", BLIND, "virginica"])[BLIND] == {
        "synthesized": 4, "hits": 0, "fidelity": 0.0}


def test_the_generator_and_its_fallback_carry_the_counts(blind_teacher):
    """The generator first (as settings_for picks it for images), below the floor: made
    again per pixel, the better kept -- its class counts and its warning naming the class."""
    from hwsim.latency import torch_threads
    from synth.amortized import AmortizedConfig, synthesize_amortized
    teacher, value_range = blind_teacher
    config = settings_for(teacher, value_range=value_range, iterations=20,
                          device="cpu").replace(method="amortized", fallback=True)
    labels = balanced_labels(12, 3)
    with torch_threads(1):
        made = synthesize_amortized(teacher, labels, AmortizedConfig.from_inversion(config),
                                    pixel_range=value_range, warn=False)
        kept = synthesize_inputs(teacher, labels, config, pixel_range=value_range)
    assert made.stats["class_counts"] == _teachers_counts(teacher, made)
    assert made.stats["class_counts"]["hits"][1] == 0
    assert f"classes below 0.95: {BLIND} (0.00)" in made.stats["warning"]
    assert kept.stats["fallback"]["first"] == "generator"   # made again, the better kept
    assert kept.stats["class_counts"] == _teachers_counts(teacher, kept)
    assert kept.stats["class_counts"]["synthesized"] == [4, 4, 4]
    assert f"classes below 0.95: {BLIND} (0.00)" in kept.stats["warning"]


def test_the_warning_names_the_worst_classes_first_and_counts_the_rest():
    names = [f"c{i}" for i in range(9)]
    counts = {"synthesized": [10] * 9, "hits": [10, 1, 9, 10, 0, 3, 5, 2, 7]}
    classes = class_fidelity(counts, names)
    warning = fidelity_warning(47 / 90, 0.95, 60, classes)
    assert warning.endswith("; classes below 0.95: c4 (0.00), c1 (0.10), c7 (0.20), c5 (0.30), "
                            "c6 (0.50) and 2 more"), warning
    # a class just below the floor reads below it; those at or above it are not named
    near = class_fidelity({"synthesized": [2000, 10], "hits": [1899, 10]}, ["a", "b"])
    assert fidelity_warning(1909 / 2010, 0.95, None, near).endswith(
        "; classes below 0.95: a (0.9495)")
    assert fidelity_warning(0.5, 0.95) == fidelity_warning(0.5, 0.95, None, {})
    assert fidelity_warning(0.96, 0.95, None, classes) is None


def test_parts_merge_by_counts_not_ratios():
    """Two shards of other sizes: class 1 at 1 of 1 and 0 of 3 is 0.25, not the mean of
    1.0 and 0.0; a label outside the classes (a damaged shard) is not counted."""
    a = class_counts(torch.tensor([0, 1]), torch.tensor([0, 1]), 2)
    b = class_counts(torch.tensor([0, 0, 0, 0, 0]), torch.tensor([0, 1, 1, 1, 7]), 2)
    merged = merge_class_counts([a, b])
    assert merged == {"synthesized": [2, 4], "hits": [2, 1]}
    assert class_fidelity(merged)["1"]["fidelity"] == 0.25
    assert merge_class_counts([a, None]) is None   # a part of unknown counts


def test_the_preset_note_says_a_preset_of_other_channels_is_the_starting_point():
    assert preset_for((1, 32, 32)) == "cifar32"   # nearest by side: a 3-channel preset
    note = preset_note("cifar32", (1, 32, 32))
    assert note.startswith("cifar32 is the nearest starting point"), note
    assert "3-channel 32x32 images" in note and "1x32x32" in note
    assert preset_note("cifar32", (1, 32, 32), given=True).startswith(
        "cifar32 is the starting point, a preset for 3-channel")
    for name, shape in (("cifar32", (3, 32, 32)), ("mnist28", (1, 8, 8)),
                        ("tabular", (4,)), ("tabular", (3, 100))):
        assert preset_note(name, shape) is None, (name, shape)
