"""Word-level language models (family ``lm``): an embedding, the recurrent layers of
``synth.models.lstm`` / ``synth.models.hlstm`` stacked, and a decoder to the vocabulary.

Spec (JSON-able): ``{"family": "lm", "cell": "lstm" | "hlstm", "embed": E, "hidden": [H1, ...],
"tied": bool, "dropout": p, "gate_hidden": M}``: an embedding of E units, the recurrent layers
stacked (dropout between them and around them, Zaremba et al. 2014), and a Linear decoder to
the vocabulary whose weight is the embedding's when ``tied`` (Press & Wolf 2017; needs
``hidden[-1] == embed``).  ``gate_hidden`` is the width of every H-LSTM gate's hidden layer;
0 means half the layer width (``gate_width``).

As a registered family, ``build(spec, (steps,), vocab_size)`` makes it: its "classes" are the
vocabulary (one logit a word) and its sample a sequence of ``steps`` token ids (integers; the
BPTT window it is priced on, 35 by default).  Training and perplexity are ``synth.lm``'s
(``nnsynth symbiotic`` trains it on a text set); a model of this family fed floating-point
inputs (a classification set's features) is a one-line error naming the family.
"""
from __future__ import annotations

import copy

import torch
from torch import nn

from synth.config import check_choice, check_range, short_repr
from synth.errors import UserError
from synth.models.hlstm import HLSTMLayer
from synth.models.lstm import LSTMLayer
from synth.models.registry import (PROBABILITY, WIDTH, SpecModel, check_parameter_count,
                                   meta_shell, register_family)

CELLS = ("lstm", "hlstm")
LM_DEFAULTS = {"family": "lm", "cell": "lstm", "embed": 128, "hidden": [128], "tied": True,
               "dropout": 0.2, "gate_hidden": 0}
DEFAULT_STEPS = 35   # tokens of the sample a model of this family is sized and priced on (bptt)
# Its outputs are a vocabulary, not classes: at most the distinct words a text may hold
# (synth.text.MAX_TEXT_WORDS), not MAX_CLASSES (100,000): a text: file of 100,001 words seen
# --min-count times trained, and its checkpoint was refused as 'num_classes must be in ...'
MAX_VOCABULARY = 1 << 22


def lm_spec(spec: dict) -> dict:
    """A complete, checked LM spec (defaults filled, unknown keys rejected by name)."""
    if not isinstance(spec, dict):
        raise UserError(f"language-model spec must be a dict, got {spec!r}")
    unknown = sorted(set(spec) - set(LM_DEFAULTS))
    if unknown:
        raise UserError(f"unknown key {unknown[0]!r} in lm spec; known: {', '.join(LM_DEFAULTS)}")
    full = {**copy.deepcopy(LM_DEFAULTS), **spec}
    if full["family"] != "lm":
        raise UserError(f"lm spec family must be 'lm', got {full['family']!r}")
    check_choice("cell", full["cell"], CELLS)
    check_range("embed", full["embed"], 1, None, integer=True)
    hidden = full["hidden"]
    if (not isinstance(hidden, (list, tuple)) or not hidden
            or any(isinstance(h, bool) or not isinstance(h, int) or h < 1 for h in hidden)):
        raise UserError(f"lm hidden must be a non-empty list of widths >= 1, got {hidden!r}")
    full["hidden"] = [int(h) for h in hidden]
    check_range("dropout", full["dropout"], 0, 1, high_open=True)
    check_range("gate_hidden", full["gate_hidden"], 0, None, integer=True)
    if full["tied"] and full["hidden"][-1] != full["embed"]:
        raise UserError(f"a tied decoder needs hidden[-1] == embed, got hidden {full['hidden']} "
                        f"and embed {full['embed']}")
    return full


def gate_width(hidden_size: int, gate_hidden: int = 0) -> int:
    """H-LSTM gate hidden width: ``gate_hidden``, or half the layer width when 0."""
    return int(gate_hidden) or max(1, int(hidden_size) // 2)


def recurrent_layer(cell: str, input_size: int, hidden_size: int, *, gate_hidden: int = 0,
                    dropout: float = 0.0) -> nn.Module:
    """One layer of ``cell``: batch-first ``(N, T, I) -> ((N, T, H), state)``."""
    check_choice("cell", cell, CELLS)

    def make() -> nn.Module:
        if cell == "lstm":
            return LSTMLayer(input_size, hidden_size)
        return HLSTMLayer(input_size, hidden_size, gate_width(hidden_size, gate_hidden), dropout)
    what = lambda: f"a {cell} layer of width {hidden_size:,} on {input_size:,} inputs"  # noqa: E731
    # sized before any weight is allocated (timing probes build layers of any width asked for)
    check_parameter_count(meta_shell(make, what), what)
    return make()


def check_lm_size(spec: dict, vocab_size: int) -> int:
    """The parameter count of ``LanguageModel(spec, vocab_size)``, made on the meta device (no
    memory); above ``synth.models`` ``max_parameters()`` it is a one-line UserError (a width of
    10^8 tried to allocate 160 PB: a RuntimeError traceback)."""
    what = lambda: (f"language model {short_repr(lm_spec(spec), 200)} with a vocabulary of "  # noqa: E731
                    f"{vocab_size:,}")
    return check_parameter_count(meta_shell(lambda: LanguageModel(spec, vocab_size, sized=True),
                                            what), what)


class LanguageModel(SpecModel):
    """tokens (N, T) -> logits (N, T, V); ``forward(x, state)`` returns ``(logits, state)``.

    A ``SpecModel`` of family ``lm``: ``num_classes`` is the vocabulary, ``input_shape``
    ``(steps,)`` the token sequence it is priced on (``DEFAULT_STEPS``)."""

    INPUT_DTYPE = torch.long   # the registry's fit check feeds token ids, not float zeros

    def __init__(self, spec: dict, vocab_size: int, *, sized: bool = False,
                 steps: int = DEFAULT_STEPS):
        full = lm_spec(spec)
        if vocab_size < 2:
            raise UserError(f"vocab_size must be >= 2, got {vocab_size}")
        super().__init__(full, (steps,), vocab_size)
        if not sized:   # counted on the meta device before a weight is allocated (as build does)
            check_lm_size(self.spec, vocab_size)
        self.vocab_size = int(vocab_size)
        s = self.spec
        self.embed = nn.Embedding(vocab_size, s["embed"])
        sizes = [s["embed"]] + s["hidden"]
        self.rnn = nn.ModuleList(recurrent_layer(s["cell"], a, b, gate_hidden=s["gate_hidden"],
                                                 dropout=s["dropout"])
                                 for a, b in zip(sizes, s["hidden"]))
        self.drop = nn.Dropout(s["dropout"])
        self.decoder = nn.Linear(s["hidden"][-1], vocab_size)
        nn.init.uniform_(self.embed.weight, -0.1, 0.1)
        nn.init.zeros_(self.decoder.bias)
        if s["tied"]:
            self.decoder.weight = self.embed.weight

    def forward(self, tokens: torch.Tensor, state: list | None = None):
        if tokens.is_floating_point() or tokens.is_complex():
            # a classification set's features (nnsynth train --model '{"family": "lm"}'):
            # the embedding's 'Expected tensor for argument #1 indices to have ... Long'
            raise UserError(f"model family 'lm' is a language model: it takes token ids (a "
                            f"text set, enwiki or text:<file>, which nnsynth symbiotic trains "
                            f"it on), got {str(tokens.dtype).replace('torch.', '')} inputs")
        x = self.drop(self.embed(tokens))
        new_state = []
        for k, layer in enumerate(self.rnn):
            x, st = layer(x, None if state is None else state[k])
            x = self.drop(x)
            new_state.append(st)
        return self.decoder(x), new_state


@register_family("lm", {k: copy.deepcopy(v) for k, v in LM_DEFAULTS.items() if k != "family"},
                 "word-level language model (LSTM / H-LSTM) on token ids; "
                 "input_shape (steps,), classes = vocabulary (nnsynth symbiotic)",
                 input_rank=1, takes="sequences of token ids (steps,)",
                 ranges={"embed": WIDTH, "hidden": WIDTH, "dropout": PROBABILITY,
                        "gate_hidden": (0, WIDTH[1])},
                 max_classes=MAX_VOCABULARY)
def build_lm(spec: dict, input_shape: tuple, num_classes: int) -> LanguageModel:
    return LanguageModel(spec, num_classes, sized=True, steps=int(input_shape[0]))
