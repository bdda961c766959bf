"""Commands a user runs with a convnet1d model on sequences (h132)."""
import pytest

from tests._cli import one_error_line, run


@pytest.mark.parametrize("args,where", [
    # no --input-shape: its image default was called "the data", with no word of the option
    (["hwsim", "eval", "--spec", "convnet1d_small"], "--input-shape 1x28x28 (the default"),
    (["hwsim", "eval", "--spec", "convnet1d_small", "--input-shape", "1x8x8"],
     "--input-shape 1x8x8 has"),
    (["hwsim", "dse", "--model", "convnet1d_small@3x8x8"], "the shape after @ in "
                                                          "convnet1d_small@3x8x8 has"),
])
def test_hwsim_spec_of_another_kind_names_the_shape_option(args, where):
    line = one_error_line(run(args))
    assert "model family 'convnet1d' takes sequences (channels, steps)" in line
    assert where in line and "the data" not in line
    assert "--input-shape" in line


def test_hwsim_input_shape_help_names_sequences():
    for sub in ("eval", "dse", "table"):
        out = run(["hwsim", sub, "--help"]).output
        assert "CxL" in " ".join(out.split()), sub


def test_grow_prune_target_accuracy_help_names_the_recipes_drop():
    # '--target-accuracy 0' still stopped convnet1d_small on basicmotions after one step
    # (0.857 < 1.0 - 0.005): the help named the floor only, not the recipe's drop
    from synth.choices import RECIPE
    text = " ".join(run(["grow-prune", "--help"]).output.split())
    assert "max_accuracy_drop" in text and f"{RECIPE['max_accuracy_drop']:g}" in text
