"""Helper 88: a weight matrix two ops read (synth.lm's tied language model: the decoder's
weight is the embedding's Parameter) is stored once; hwsim's summary() and the weight_bytes
of price/price_layers counted it twice.  Both ops still read it: their prices keep it."""
import torch

from hwsim import accel, extract, price_layers, price_ops, workload
from synth.lm import LanguageModel


def _lm(tied):
    torch.manual_seed(0)
    return LanguageModel({"family": "lm", "cell": "lstm", "embed": 32, "hidden": [32],
                          "tied": tied}, 500)


def _ops(model):
    return extract(model, (7,), inputs=torch.randint(0, 500, (2, 7),
                                                     generator=torch.Generator().manual_seed(0)))


def test_tied_matrix_counts_once_in_weight_bytes():
    tied, untied = _ops(_lm(True)), _ops(_lm(False))
    table = 500 * 32 * 4                                   # bytes of the shared matrix
    s_tied, s_untied = workload.summary(tied), workload.summary(untied)
    assert s_untied["weight_bytes"] - s_tied["weight_bytes"] == table
    assert s_untied["nonzero_weights"] - s_tied["nonzero_weights"] == 500 * 32
    assert price_ops(tied)["weight_bytes"] == s_tied["weight_bytes"]
    assert price_layers(tied)["weight_bytes"] == s_tied["weight_bytes"]
    assert price_ops(untied)["weight_bytes"] == s_untied["weight_bytes"]
    # the model's own storage (a Parameter counted once) besides biases and 1-d weights
    model = _lm(True)
    matrices = {id(p): p.numel() for p in model.parameters() if p.dim() >= 2}
    assert s_tied["weight_bytes"] == 4 * sum(matrices.values())
    # both ops still read it: the decoder's and the embedding's prices are unchanged
    assert accel.evaluate(tied)["latency_ms"] == accel.evaluate(untied)["latency_ms"]


def test_two_extracts_do_not_share_ids_and_ops_stay_equal():
    a, b = _ops(_lm(True)), _ops(_lm(True))
    assert a == b                                           # ids are not part of equality
    assert workload.summary(a + b)["weight_bytes"] == 2 * workload.summary(a)["weight_bytes"]
