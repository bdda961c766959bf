"""Symbiotic training pieces: hysteresis finder, sparse-vs-dense, table sums, width choice,
perplexity against a hand computation, CSR execution equal to dense."""
import math

import pytest
import torch

from synth.errors import UserError
from synth.lm import LanguageModel, lm_spec, perplexity
from synth.sparse_exec import CSRLinear, sparse_copy
from synth.symbiotic import (LatencyTable, SymbioticConfig, choose_width, hysteresis_points,
                             sparse_wins)


def row(width, best, q1, q3, cell="lstm", sparsity=0.0, exec_="dense"):
    return {"platform": "host", "cell": cell, "width": width, "batch": 1, "sparsity": sparsity,
            "exec": exec_, "best_ms": best, "median_ms": (q1 + q3) / 2, "q1_ms": q1, "q3_ms": q3}


def test_hysteresis_finder_on_a_hand_made_table():
    rows = [row(32, 1.0, 1.0, 1.2), row(48, 2.0, 2.0, 2.4), row(64, 1.5, 1.5, 1.9),
            row(80, 1.9, 1.8, 2.1),        # faster than 48 but its q3 2.1 overlaps 48's q1 2.0
            row(96, 3.0, 3.0, 3.1)]
    pts = hysteresis_points(rows)
    assert [(p["w1"], p["w2"]) for p in pts] == [(48, 64)]
    assert pts[0]["ms1"] == 2.0 and pts[0]["ms2"] == 1.5
    # another series (other cell) is never compared with this one
    assert hysteresis_points(rows + [row(16, 9.0, 9.0, 9.0, cell="hlstm")]) == pts


def test_sparse_wins_needs_separated_spreads():
    rows = [row(64, 2.0, 2.0, 2.2), row(64, 1.0, 1.0, 1.5, sparsity=0.9, exec_="sparse"),
            row(64, 1.9, 1.9, 2.5, sparsity=0.5, exec_="sparse")]
    wins = {w["sparsity"]: w["wins"] for w in sparse_wins(rows)}
    assert wins == {0.9: True, 0.5: False}


def test_table_model_sum_and_choice():
    rows = [row(32, 3.0, 3.0, 3.2), row(64, 1.0, 1.0, 1.1), row(96, 4.0, 4.0, 4.0),
            row(32, 0.5, 0.5, 0.5, cell="decoder"), row(64, 0.7, 0.7, 0.7, cell="decoder"),
            row(96, 0.9, 0.9, 0.9, cell="decoder")]
    table = LatencyTable(rows)
    assert table.model("lstm", [64, 64])["best_ms"] == pytest.approx(1.0 + 1.0 + 0.7)
    with pytest.raises(UserError, match="no row for lstm width 48"):
        table.row("lstm", 48)
    results = {("lstm", 32): {"val_perplexity": 100.5, "parameters": 10},
               ("lstm", 64): {"val_perplexity": 100.0, "parameters": 20},
               ("lstm", 96): {"val_perplexity": 99.0, "parameters": 30}}
    cfg = SymbioticConfig(cells=("lstm",), widths=(32, 64, 96), target_perplexity=100.0,
                          tolerance=0.01)
    choice = choose_width(results, table, cfg)
    # all three keep perplexity (<= 101): plain takes the smallest, symbiotic the faster 64
    assert choice["plain"] == ("lstm", 32) and choice["symbiotic"] == ("lstm", 64)
    results[("lstm", 64)]["val_perplexity"] = 102.0
    choice = choose_width(results, table, cfg)
    assert choice["plain"] == ("lstm", 32) and choice["symbiotic"] == ("lstm", 32)


def test_perplexity_of_a_tiny_model_against_a_hand_computation():
    torch.manual_seed(0)
    model = LanguageModel({"family": "lm", "cell": "lstm", "embed": 3, "hidden": [3],
                           "tied": True, "dropout": 0.0}, vocab_size=5).eval()
    ids = torch.tensor([1, 3, 2, 4, 0, 1, 1, 2, 3])
    # batch 1, bptt 3: the whole stream in order, state carried; by hand: softmax per step
    nll, count = 0.0, 0
    with torch.no_grad():
        logits, _ = model(ids[:-1].unsqueeze(0))
    for t in range(len(ids) - 1):
        z = logits[0, t].tolist()
        logsum = math.log(sum(math.exp(v) for v in z))
        nll += logsum - z[int(ids[t + 1])]
        count += 1
    assert perplexity(model, ids, batch=1, bptt=3) == pytest.approx(math.exp(nll / count),
                                                                     rel=1e-5)


def test_language_models_and_candidate_lists_are_bounded():
    """Sized before anything is allocated: --widths 100000000 tried to allocate 160 PB (a
    RuntimeError traceback), 5,000 widths each meant a training."""
    from hwsim.latency import probe   # the timing probe builds layers from the widths alone
    with pytest.raises(UserError, match="lstm layer of width 100,000,000 .* the limit is"):
        LanguageModel({"embed": 10 ** 8, "hidden": [10 ** 8]}, 11)
    with pytest.raises(UserError, match="vocabulary of 10,000,000 has .* the limit is"):
        LanguageModel({"embed": 64, "hidden": [64]}, 10 ** 7)     # the embedding's share
    with pytest.raises(UserError, match="the limit is"):
        probe("hlstm", 10 ** 6)
    with pytest.raises(UserError, match="widths must be 1 to 64 integers"):
        SymbioticConfig(widths=tuple(range(1, 100)))
    with pytest.raises(UserError, match="sparsities must be at most 64"):
        SymbioticConfig(sparsities=(0.5,) * 65)


def test_lm_spec_errors_and_csr_execution_equals_dense():
    with pytest.raises(UserError, match="tied decoder needs"):
        lm_spec({"embed": 8, "hidden": [16], "tied": True})
    with pytest.raises(UserError, match="unknown key 'width'"):
        lm_spec({"width": 3})
    torch.manual_seed(1)
    model = LanguageModel({"family": "lm", "cell": "lstm", "embed": 8, "hidden": [8],
                           "dropout": 0.0}, 11).eval()
    with torch.no_grad():
        for p in model.rnn.parameters():
            p.mul_((torch.rand_like(p) > 0.7).float())
    fast = sparse_copy(model, within="rnn")
    assert sum(isinstance(m, CSRLinear) for m in fast.modules()) == 2   # ih and hh
    x = torch.randint(11, (1, 6))
    with torch.no_grad():
        assert torch.allclose(fast(x)[0], model(x)[0], atol=1e-5)
        x2 = torch.randint(11, (3, 6))
        assert torch.allclose(fast(x2)[0], model(x2)[0], atol=1e-5)


def _tiny_text(tmp_path):
    from synth.text import load_text
    words = "the cat sat on the mat and the dog ran far away then slept".split()
    text = "\n".join(" ".join(words[(i * 7 + j) % len(words)] for j in range(9)).capitalize()
                     + "." for i in range(120))
    (tmp_path / "t.txt").write_text(text)
    return load_text(f"text:{tmp_path / 't.txt'}", min_count=1)


def test_pruning_follows_the_table(tmp_path):
    from synth import masked
    from synth.symbiotic import prune_for_latency
    data = _tiny_text(tmp_path)
    cfg = SymbioticConfig(cells=("lstm",), widths=(4,), sparsities=(0.5, 0.75), prune_epochs=0,
                          dropout=0.0)
    torch.manual_seed(0)
    rows = [row(4, 1.0, 1.0, 1.1), row(4, 2.0, 2.0, 2.2, sparsity=0.5, exec_="sparse"),
            row(4, 0.5, 0.5, 0.6, sparsity=0.75, exec_="sparse")]
    slow_sparse = LatencyTable(rows[:2])
    model = LanguageModel(cfg.spec("lstm", 4), data.vocab_size)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    kept, info = prune_for_latency(model, data, slow_sparse, cfg, float("inf"))
    assert info["skipped"] and not info["layers"][0]["sparse"]          # dense: nothing pruned
    assert all(torch.equal(before[k], v) for k, v in kept.state_dict().items())
    model = LanguageModel(cfg.spec("lstm", 4), data.vocab_size)
    pruned, info = prune_for_latency(model, data, LatencyTable(rows), cfg, float("inf"))
    assert info["reached"] == 0.75 and info["layers"][0] == {
        "layer": 0, "sparsity": 0.75, "table_sparsity": 0.75, "sparse": True}
    assert masked.sparsity(pruned.rnn)["total"] == pytest.approx(0.75, abs=0.01)
    model = LanguageModel(cfg.spec("lstm", 4), data.vocab_size)
    _, info = prune_for_latency(model, data, LatencyTable(rows), cfg, 0.0)   # nothing keeps ppl
    assert info["reached"] == 0.0 and not info["layers"][0]["sparse"]


def test_a_repeated_cell_is_trained_once(tmp_path):
    """--cells lstm,lstm trained every candidate twice (the results collapsed into one):
    cells are taken once each, in order, as widths are (4,4 is one width)."""
    from synth.symbiotic import symbiotic_train
    data = _tiny_text(tmp_path)
    cfg = SymbioticConfig(cells=("lstm", "lstm"), widths=(4, 4), sparsities=(0.5,),
                          prune_epochs=0, epochs=1, max_batches=1, dropout=0.0)
    assert cfg.cell_types == ("lstm",)
    assert SymbioticConfig(cells=("hlstm", "lstm", "hlstm")).cell_types == ("hlstm", "lstm")
    table = [row(4, 1.0, 1.0, 1.1), row(4, 2.0, 2.0, 2.2, sparsity=0.5, exec_="sparse")]
    jobs = []

    def recording_map(fn, jobs_run):   # symbiotic_train's serial map, noting each job it runs
        jobs.extend(jobs_run)
        return [fn(*job) for job in jobs_run]
    result = symbiotic_train(data, table, cfg, map_fn=recording_map)
    assert [job[0]["cell"] for job in jobs] == ["lstm"]
    assert [(c["cell"], c["width"]) for c in result["candidates"]] == [("lstm", 4)]
