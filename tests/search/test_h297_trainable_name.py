"""Each search registers its Tune trainable under its own name (h297).  Tune keeps trainables
by name in the Ray job's registry, and every search registered ``train_candidate``: two
searches running at once in one job (``nnsynth sweep``'s runs are tasks of its driver's job)
overwrote each other's, and a trial of one ran with the other's settings -- a sweep over
``export.accel`` priced the 128x128 is run's [16] trial at 0.00318 ms, the 8x64 os run's
figure (0.0391 ms on its own array), and saved its model in the other run's folder.  Now the
name is ``train_candidate_<search id[:8]>`` (``search.run.trainable_name``), stable for a
search (``Tuner.restore`` requires it); a search begun before restores with the old name."""
import pytest

from search.run import LEGACY_TRAINABLE, restore_tuner, trainable_name

SETTINGS = {"cpus_per_trial": 1, "gpus_per_trial": 0}


def test_each_search_has_its_own_stable_name(tmp_path):
    from tests.search._trial import begun_search
    a, b = begun_search(tmp_path / "a"), begun_search(tmp_path / "b")
    assert trainable_name(a) != trainable_name(b)
    assert trainable_name(a) == trainable_name(a)
    assert trainable_name(a).startswith(LEGACY_TRAINABLE + "_")
    assert len(trainable_name(a)) == len(LEGACY_TRAINABLE) + 9


def _noop(config):
    return None


@pytest.mark.parametrize("begun_as", ["train_candidate_0123abcd", LEGACY_TRAINABLE])
def test_a_search_restores_under_the_name_it_began_with(tmp_path, ray_local, begun_as):
    from ray import tune
    _noop.__name__ = begun_as      # the name Tune recorded in the experiment's state
    tune.Tuner(_noop, tune_config=tune.TuneConfig(num_samples=1),
               run_config=tune.RunConfig(name="tune", storage_path=str(tmp_path),
                                         verbose=0)).fit()
    tuner = restore_tuner(str(tmp_path / "tune"), SETTINGS, "train_candidate_0123abcd", None)
    assert tuner is not None
    with pytest.raises(ValueError, match="Invalid `trainable`"):   # another search's name
        tune.Tuner.restore(str(tmp_path / "tune"), trainable=_other())


def _other():
    def train_candidate_ffffffff(config):
        return None
    return train_candidate_ffffffff
