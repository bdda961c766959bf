"""Follow-ups of the probe-6 review: the lock file and a hard link, torch's thread count
after a host latency table, the symbiotic host table's measurement conditions, and what
count_lm_parameters(nonzero=True) counts."""
import os

import pytest
import torch

from synth.errors import UserError


# --------------------------------------------------------------------------- lock file
def test_lock_file_hard_link_to_a_users_file_is_refused_not_overwritten(tmp_path):
    """O_NOFOLLOW refuses a symbolic link at .nnsynth.lock but not a hard link: taking the
    lock truncated the linked user's file and wrote our pid into it."""
    from synth.files import LOCK_FILE, claim_dir, lock_dir
    victim = tmp_path / "thesis.tex"
    victim.write_text("precious\n")
    run = claim_dir(tmp_path / "run")
    os.link(victim, run / LOCK_FILE)
    with pytest.raises(UserError, match="hard links") as e:
        with lock_dir(run):
            pass
    assert "\n" not in str(e.value)
    assert victim.read_text() == "precious\n"


def test_lock_file_of_our_own_is_reused(tmp_path):
    from synth.files import LOCK_FILE, claim_dir, lock_dir
    run = claim_dir(tmp_path / "run")
    with lock_dir(run):
        pass
    assert (run / LOCK_FILE).read_text() == f"{os.getpid()}\n"
    with lock_dir(run):      # the file it left is ours, one link: taken again
        pass


# --------------------------------------------------------------------------- torch threads
def _tiny_keys():
    from hwsim.latency import grid
    return grid(["lstm"], [4], [1], ())


def test_host_rows_gives_the_callers_thread_count_back_and_records_its_conditions():
    """host_rows(threads=1) called torch.set_num_threads(1) and left it there: the caller's
    later work (a training, a table at another count) ran at one thread."""
    from hwsim.latency import host_identity, host_rows
    before = torch.get_num_threads()
    torch.set_num_threads(3)
    try:
        rows = host_rows(_tiny_keys(), steps=2, rounds=2, warmup=0, threads=1)
        assert torch.get_num_threads() == 3
    finally:
        torch.set_num_threads(before)
    assert rows[0]["conditions"] == host_identity(1)


def test_measure_models_gives_the_callers_thread_count_back():
    from deploy.symbiotic import measure_models
    before = torch.get_num_threads()
    torch.set_num_threads(3)
    try:
        timing = measure_models({"id": torch.nn.Identity()}, steps=2, rounds=2, threads=1, seed=0)
        assert torch.get_num_threads() == 3 and timing["id"]["n"] == 2
    finally:
        torch.set_num_threads(before)


# --------------------------------------------------------------------------- table conditions
def test_a_cached_host_table_of_other_conditions_is_measured_again(tmp_path):
    """A host latency table measured under other conditions (threads, torch, CPU) than it is
    used at is not reused: the cache key holds them, an older cache version (rows without
    conditions) is not read, and a file under the right name that records others (a copy
    from another machine) is measured again."""
    import json

    from cluster.latency import CACHE_VERSION, cache_key, cached_table
    from hwsim.latency import host_identity
    here, params, calls = host_identity(1), {"keys": [], "rounds": 2}, []

    def measure():
        calls.append(1)
        return [{"platform": "host", "best_ms": 1.0, "conditions": here}]
    assert CACHE_VERSION >= 3
    path = tmp_path / f"latency-{cache_key(here, params)}.json"
    path.write_text(json.dumps({"rows": [{"platform": "host", "best_ms": 9.0}],
                                "identity": {**here, "threads": 4}}))
    table = cached_table(tmp_path, here, params, measure)
    assert calls == [1] and not table["cached"] and table["rows"][0]["best_ms"] == 1.0
    assert cached_table(tmp_path, here, params, measure)["cached"] and calls == [1]


# --------------------------------------------------------------------------- LM parameter count
def test_count_lm_parameters_nonzero_counts_what_is_not_zero():
    """count_lm_parameters(nonzero=True) counted entries != 0 with the masks not read; this
    probe made it count what the masks keep, and h294 made it the general counter
    (synth.models.count_parameters: entries not exactly 0, a masked weight's effective
    value), the definition of every other nonzero figure: a pruned connection is not
    counted, nor a kept one at exactly 0, nor the decoder bias at its zero initialisation."""
    from synth import masked
    from synth.lm import LanguageModel, count_lm_parameters
    torch.manual_seed(0)
    model = LanguageModel({"cell": "lstm", "embed": 8, "hidden": [8], "dropout": 0.0}, 11)
    dense = sum(p.numel() for p in model.parameters())          # tied: the matrix once
    assert count_lm_parameters(model) == dense
    assert count_lm_parameters(model, nonzero=True) == dense - 11   # the decoder bias at 0
    masked.attach_masks(model.rnn)
    masked.prune_connections(model.rnn, 0.5, "layerwise")
    layer, mask = model.rnn[0].hh, masked.masks_of(model.rnn)["0.hh"]
    with torch.no_grad():                       # a kept connection that happens to be 0
        masked.original_weight(layer).view(-1)[mask.view(-1).nonzero()[0]] = 0.0
    off = sum(int((~m).sum()) for m in masked.masks_of(model.rnn).values())
    assert off > 0
    assert count_lm_parameters(model, nonzero=True) == dense - 11 - off - 1
    assert count_lm_parameters(model) == dense


# --------------------------------------------------------------------------- perplexity
@pytest.mark.parametrize("batch", [1, 10, 32])
def test_perplexity_is_each_column_from_a_zero_state_whatever_the_bptt(batch):
    """Checked, not changed: at batch 1, 10 and 32 the figure is the one of reading each
    column from a zero state over its tokens and one past its end (the last column over the
    left-over tokens too), every target once, and does not depend on bptt (the state is
    carried across windows)."""
    import math

    import torch.nn.functional as F
    from synth.lm import LanguageModel, perplexity
    torch.manual_seed(0)
    model = LanguageModel({"cell": "hlstm", "embed": 6, "hidden": [6, 6], "dropout": 0.3}, 9)
    ids = torch.randint(9, (331,), generator=torch.Generator().manual_seed(3))
    steps, total, count = len(ids) // batch, 0.0, 0
    with torch.no_grad():
        model.eval()
        for k in range(batch):
            stop = (k + 1) * steps if k < batch - 1 else len(ids) - 1
            logits = model(ids[k * steps:stop].unsqueeze(0))[0][0]
            total += F.cross_entropy(logits, ids[k * steps + 1:stop + 1], reduction="sum").item()
            count += stop - k * steps
    assert count == len(ids) - 1
    model.train()
    for bptt in (1, 4, 35, 1000):
        assert perplexity(model, ids, batch=batch, bptt=bptt) == pytest.approx(
            math.exp(total / count), rel=1e-5)
        assert model.training          # the caller's mode given back
