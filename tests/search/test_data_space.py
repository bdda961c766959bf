"""A search without a space searches the built-in one for its data: the default was the
convnet space whatever the data, so `nnsynth run` on a table of features (csv:, wine) ended
its search stage with 'finished no trial: none of 64 random members ... builds for input
shape (13,)'."""
import numpy as np
import pytest

from search.run import SearchConfig, data_space, searchable_space, with_data_space
from synth.data import load_dataset
from synth.errors import UserError
from synth.models import build


@pytest.mark.parametrize("dataset, expected", [("wine", "mlp"), ("digits", "convnet")])
def test_the_default_space_is_the_one_for_the_data(dataset, expected):
    config = with_data_space(SearchConfig(dataset=dataset))
    assert config.space == expected
    data = load_dataset(dataset)
    space = searchable_space(config.space)
    rng = np.random.default_rng(0)
    for _ in range(5):                                    # its members build for the data
        build(space.sample(rng), data.input_shape, data.num_classes)


def test_a_given_space_is_kept_and_sequences_have_one():
    """Sequences (C, L) search the convnet1d space (5d4def6's family), taken as they come:
    before, auto had no space for them and named mlp (flattened) or a space file."""
    assert with_data_space(SearchConfig(dataset="wine", space="resnet")).space == "resnet"
    assert with_data_space(SearchConfig(dataset="basicmotions")).space == "convnet1d"
    space, rng = searchable_space("convnet1d"), np.random.default_rng(0)
    for _ in range(5):
        build(space.sample(rng), (6, 100), 4)
    with pytest.raises(UserError, match="no built-in search space takes inputs of shape"):
        data_space((1, 4, 8, 8))


def test_with_a_teacher_the_space_follows_its_recorded_inputs(tmp_path):
    """The pipeline's search has a teacher: its checkpoint names the inputs, no data set load."""
    from synth.checkpoint import save_checkpoint
    wine = load_dataset("wine")
    path = save_checkpoint(tmp_path / "t.pt", build("mlp_small", wine.input_shape, 3),
                           dataset=wine.metadata())
    config = SearchConfig(dataset="wine", teacher=str(path), data=str(tmp_path))
    assert with_data_space(config).space == "mlp"
