"""A pipeline's search begun before the trials' step floor (search_config.json without
``min_steps``) resumes with none, as ``nnsynth search --resume`` resumes it, unless the run
config sets one: it was started over, its finished trials lost."""
import json

from search.run import SearchConfig, as_begun


def _saved(tmp_path, **drop):
    values = SearchConfig(space="mlp", dataset="iris", hardware=False).to_dict()
    for key in drop:
        values.pop(key)
    (tmp_path / "search_config.json").write_text(json.dumps(values))


def test_a_search_saved_before_the_floor_resumes_without_one(tmp_path):
    config = SearchConfig(space="mlp", dataset="iris", hardware=False)
    assert config.min_steps == 60
    _saved(tmp_path, min_steps=None)
    assert as_begun(tmp_path, config, {}).min_steps == 0
    # set in the run config: the user's floor, compared as any other setting
    assert as_begun(tmp_path, config.replace(min_steps=60), {"min_steps": 60}).min_steps == 60


def test_a_search_saved_with_the_floor_or_none_saved_is_unchanged(tmp_path):
    config = SearchConfig(space="mlp", dataset="iris", hardware=False)
    assert as_begun(tmp_path, config, {}) is config          # no search there
    _saved(tmp_path)
    assert as_begun(tmp_path, config, {}) is config          # saved with its floor
    (tmp_path / "search_config.json").write_text("{not json")
    assert as_begun(tmp_path, config, {}) is config          # damaged: said elsewhere
