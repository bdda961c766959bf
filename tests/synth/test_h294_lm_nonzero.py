"""A language model's nonzero parameters are counted as every other model's (h294).

``synth.lm.count_lm_parameters(nonzero=True)`` (symbiotic's report: 'params (nonzero)',
``nonzero_parameters``) counted the entries the masks keep, while
``synth.models.count_parameters(nonzero=True)`` (eval, grow-prune, export, search) counts the
entries not exactly 0: a kept weight rounded to 0 was live in one and absent in the other,
and a model's decoder bias at its zero initialisation likewise.  Now the one counter serves
both."""
import torch

from synth import masked
from synth.lm import LanguageModel, count_lm_parameters
from synth.models import count_parameters


def _lm(cell="lstm", **spec):
    torch.manual_seed(0)
    return LanguageModel({"cell": cell, "embed": 8, "hidden": [8], "dropout": 0.0, **spec}, 11)


def test_a_kept_weight_rounded_to_zero_is_not_counted():
    model = _lm()
    masked.attach_masks(model.rnn)
    masked.prune_connections(model.rnn, 0.5, "layerwise")
    with torch.no_grad():   # every weight to a grid of 1/2 (a coarse fixed point): the
        for p in model.parameters():    # small ones among those kept become 0
            p.copy_(torch.round(p * 2) / 2)
    kept = sum(int(m.sum()) for m in masked.masks_of(model.rnn).values())
    live_zero = sum(int(((masked.original_weight(layer) == 0) & m.mask).sum())
                    for _, layer, m in masked.masked_layers(model.rnn))
    assert live_zero > 0 and kept > 0
    nonzero = count_lm_parameters(model, nonzero=True)
    assert nonzero == count_parameters(model, nonzero=True)   # was more by the zeros kept
    assert nonzero == sum(int((p != 0).sum()) for n, p in model.named_parameters()
                          if "original" not in n) + sum(
        int((layer.weight != 0).sum()) for _, layer, _ in masked.masked_layers(model.rnn))
    assert count_lm_parameters(model) == count_parameters(model)   # every entry, tied once


def test_one_count_for_every_cell_tied_or_not():
    for model in (_lm(), _lm(tied=False), _lm("hlstm", gate_hidden=4)):
        zeros = int((model.decoder.bias == 0).sum())   # its zero initialisation
        assert zeros == 11
        assert count_lm_parameters(model, nonzero=True) == \
            count_parameters(model, nonzero=True) == count_lm_parameters(model) - zeros
