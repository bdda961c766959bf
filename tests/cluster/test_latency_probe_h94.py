"""A cached host latency table is reused only for the probes it was measured with: the key
holds a fingerprint of what the rows time (3df4582 added the embedding lookup to the
'decoder' row; a table cached before kept the Linear-only figures)."""
import json

from cluster.latency import cache_key, host_table
from hwsim.latency import grid, host_identity

KW = dict(steps=2, vocab=5, rounds=2, threads=1, seed=0)


def test_a_table_cached_under_another_probe_definition_is_measured_again(tmp_path):
    keys = grid(["decoder"], [4], [1], ())
    ident = host_identity(1)
    # the file the code before this fix wrote and read back: keyed by the rows' keys and
    # the timing parameters only, whatever the probe measured then
    old_params = {"keys": keys, "steps": 2, "vocab": 5, "rounds": 2, "threads": 1, "seed": 0}
    stale = [{"platform": "host", **keys[0], "steps": 2, "best_ms": 999.0, "conditions": ident}]
    (tmp_path / f"latency-{cache_key(ident, old_params)}.json").write_text(json.dumps(
        {"rows": stale, "identity": ident, "params": old_params}))
    table = host_table(keys, cache_dir=tmp_path, use_ray=False, **KW)
    assert not table["cached"] and table["rows"][0]["best_ms"] != 999.0
    again = host_table(keys, cache_dir=tmp_path, use_ray=False, **KW)
    assert again["cached"] and again["rows"] == table["rows"]


def test_the_fingerprint_follows_the_probes_the_rows_time():
    from cluster.latency import probe_fingerprint
    lstm, decoder = grid(["lstm"], [4], [1], (0.5,)), grid(["decoder"], [4], [1], ())
    assert probe_fingerprint(lstm) == probe_fingerprint(grid(["lstm"], [8, 16], [2], (0.5,)))
    assert probe_fingerprint(lstm) != probe_fingerprint(decoder)
    assert probe_fingerprint(lstm) != probe_fingerprint(grid(["lstm"], [4], [1], ()))  # sparse
