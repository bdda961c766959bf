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
def test_rows_mismatch_names_other_unknown_and_mixed_conditions():
    from hwsim.latency import host_identity, rows_mismatch
    here = host_identity(1)
    row = {"platform": "host", "cell": "lstm", "width": 4, "best_ms": 1.0}
    assert rows_mismatch([{**row, "conditions": here}], 1) is None
    assert rows_mismatch([{**row, "platform": "accel"}], 1) is None   # deterministic models
    other = rows_mismatch([{**row, "conditions": {**here, "threads": 4}}], 1)
    assert other and "threads 4" in other and "threads 1" in other and "\n" not in other
    assert "records no measurement conditions" in rows_mismatch([row], 1)
    mixed = rows_mismatch([{**row, "conditions": here},
                           {**row, "width": 8, "conditions": {**here, "torch": "0.0"}}], 1)
    assert "2 different conditions" in mixed


def _tiny_text(tmp_path):
    words = "the cat sat on the mat and the dog ran far away then slept".split()
    text = "\n".join(" ".join(words[(i * 5 + j) % len(words)] for j in range(8)).capitalize()
                     + "." for i in range(60))
    (tmp_path / "t.txt").write_text(text)
    return f"text:{tmp_path / 't.txt'}"


class _Stop(Exception):
    pass


def _fake_host_table(calls, stale_on_refresh):
    from hwsim.latency import host_identity

    def host_table(keys, *, refresh=False, threads=1, **kw):
        calls.append(refresh)
        conditions = ({**host_identity(threads), "threads": threads + 7}
                      if stale_on_refresh or not refresh else host_identity(threads))
        rows = [{"platform": "host", **k, "best_ms": 1.0, "q1_ms": 1.0, "q3_ms": 1.0,
                 "conditions": conditions} for k in keys]
        return {"rows": rows, "identity": host_identity(threads), "cached": not refresh}
    return host_table


def test_symbiotic_measures_again_a_host_table_of_other_conditions(tmp_path, monkeypatch):
    """A host table whose rows were measured under other conditions (threads, torch, CPU)
    than the models are timed at was used as it was; it is measured again (refresh)."""
    import deploy.symbiotic as ds
    calls = []
    monkeypatch.setattr(ds, "host_table", _fake_host_table(calls, stale_on_refresh=False))

    def model_rows(keys, *a, **kw):     # the step after the host table: stop there
        raise _Stop
    monkeypatch.setattr(ds, "model_rows", model_rows)
    with pytest.raises(_Stop):
        ds.run_symbiotic(_tiny_text(tmp_path), "host", tmp_path / "out", min_count=1,
                         threads=1, use_ray=False, progress=False)
    assert calls == [False, True]


def test_symbiotic_refuses_a_host_table_that_stays_of_other_conditions(tmp_path, monkeypatch):
    import deploy.symbiotic as ds
    calls = []
    monkeypatch.setattr(ds, "host_table", _fake_host_table(calls, stale_on_refresh=True))
    with pytest.raises(UserError, match="was measured at threads 8") as e:
        ds.run_symbiotic(_tiny_text(tmp_path), "host", tmp_path / "out", min_count=1,
                         threads=1, use_ray=False, progress=False)
    assert calls == [False, True] and "\n" not in str(e.value)


# --------------------------------------------------------------------------- LM parameter count
def test_count_lm_parameters_nonzero_follows_the_masks_not_the_values():
    """count_lm_parameters(nonzero=True) counted entries != 0: a fresh model's decoder bias
    (initialised to 0) made an unpruned model vocab_size parameters short, and a live
    connection at exactly 0 was counted absent; it now counts what the masks keep."""
    from synth import masked
    from synth.lm import LanguageModel, count_lm_parameters
    torch.manual_seed(0)
    model = LanguageModel({"cell": "lstm", "embed": 8, "hidden": [8], "dropout": 0.0}, 11)
    dense = sum(p.numel() for p in model.parameters())          # tied: the matrix once
    assert count_lm_parameters(model) == count_lm_parameters(model, nonzero=True) == dense
    masked.attach_masks(model.rnn)
    masked.prune_connections(model.rnn, 0.5, "layerwise")
    layer, mask = model.rnn[0].hh, masked.masks_of(model.rnn)["0.hh"]
    with torch.no_grad():                       # a live connection that happens to be 0
        masked.original_weight(layer).view(-1)[mask.view(-1).nonzero()[0]] = 0.0
    off = sum(int((~m).sum()) for m in masked.masks_of(model.rnn).values())
    assert off > 0
    assert count_lm_parameters(model, nonzero=True) == dense - off
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
