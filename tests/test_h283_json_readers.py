"""Every JSON file nnsynth reads back from its outputs goes through ``synth.files.read_json``
(helper h283): a key given twice -- which json reads as the last one, without a word -- is
refused in one line naming the file and the key.  Before, each of these read the file as
json does: a synthesis job's job.json, a run's ledger, a searcher's saved state, a cached
latency table and a synthesized set's job record took the second value."""
import json

import pytest

from synth.errors import ConfigError, UserError


def _twice(path, key="version"):
    path.write_text('{"%s": 1, "%s": 2}' % (key, key))
    return path


def _named(excinfo, path, key="version"):
    text = str(excinfo.value)
    assert "\n" not in text and f"{path} gives the key '{key}' twice; keep one" in text, text


def test_a_synthesis_manifest(tmp_path):
    from cluster.pairs import MANIFEST, _read_manifest
    path = _twice(tmp_path / MANIFEST, "seed")
    with pytest.raises(UserError) as e:
        _read_manifest(path)
    text = str(e.value)
    assert f"{path} is not a synthesis job's manifest (gives the key 'seed' twice" in text, text


def test_a_pipeline_ledger(tmp_path):
    from deploy.ledger import LEDGER, Ledger
    path = _twice(tmp_path / LEDGER)
    with pytest.raises(UserError) as e:
        Ledger(tmp_path)
    text = str(e.value)
    assert f"{path} is corrupt (gives the key 'version' twice; keep one)" in text, text


def test_a_searchers_saved_state(tmp_path):
    from search.searchers import SEARCHERS
    from search.space import load_space
    space = load_space({"x": {"int": [0, 100]}})
    s = SEARCHERS["random"](space, seed=0)
    path = tmp_path / "state.json"
    s.save(str(path))
    state = json.loads(path.read_text())
    path.write_text('{"kind": "evil", ' + json.dumps(state)[1:])
    with pytest.raises(ConfigError) as e:
        SEARCHERS["random"](space, seed=0).restore(str(path))
    _named(e, path, "kind")


def test_a_cached_latency_table(tmp_path):
    from cluster.latency import read_table
    path = _twice(tmp_path / "latency-x.json", "rows")
    table, why = read_table(path)
    assert table is None and "gives the key 'rows' twice" in why, why


def test_a_synthesized_sets_job_record(tmp_path):
    from synth.data_parquet import set_job
    path = _twice(tmp_path / "job.json", "num_images")
    with pytest.raises(ConfigError) as e:
        set_job(tmp_path)
    _named(e, path, "num_images")
    path.write_text('{"num_images": 2}')
    assert set_job(tmp_path) == {"num_images": 2}
