"""Helper 88: the latency tables of symbiotic training (hwsim.latency) price a language
model's embedding lookup.  A model's latency is its layers' rows plus the ``decoder`` row,
and that row was the decoder Linear alone: the lookup of every token in the embedding
table (a vocabulary x width table, read from DRAM on the accelerator) was left out."""
import torch
from torch import nn

from hwsim import AcceleratorConfig, SpringConfig, accel, extract, spring
from hwsim.latency import grid, host_rows, model_rows, probe


def _ends(width, vocab, batch, steps):
    """The embedding and tied decoder of a synth.lm model, priced here by hand."""
    torch.manual_seed(0)
    emb, dec = nn.Embedding(vocab, width), nn.Linear(width, vocab)
    dec.weight = emb.weight
    tokens = torch.randint(0, vocab, (batch, steps))
    return extract(nn.Sequential(emb, dec), (steps,), inputs=tokens)


def test_decoder_row_prices_the_embedding_lookup_and_the_decoder():
    width, vocab, steps = 16, 3000, 5
    keys = grid(("decoder",), [width], [2], ())
    ops = _ends(width, vocab, 2, steps)
    assert [o.type for o in ops] == ["embedding", "linear"]
    (row,) = model_rows(keys, "accel", steps=steps, vocab=vocab)
    assert row["best_ms"] == accel.evaluate(ops, AcceleratorConfig())["latency_ms"]
    assert row["best_ms"] > accel.evaluate(ops[1:], AcceleratorConfig())["latency_ms"]
    (srow,) = model_rows(keys, "spring", steps=steps, vocab=vocab)
    cfg = SpringConfig(sparsity=False)
    assert srow["best_ms"] == spring.evaluate(ops, cfg, "inference")["latency_ms"]
    module = probe("decoder", width, vocab=vocab)
    out = extract(module, (steps,), inputs=torch.randint(0, vocab, (1, steps)))
    assert [o.type for o in out] == ["embedding", "linear"]


def test_host_decoder_row_times_tokens():
    (row,) = host_rows(grid(("decoder",), [8], [1], ()), steps=4, vocab=50, rounds=2,
                       warmup=1, threads=1)
    assert row["cell"] == "decoder" and row["best_ms"] > 0
