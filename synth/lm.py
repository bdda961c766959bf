"""Word-level language models on the ``lstm`` / ``hlstm`` cells, trained by truncated BPTT.

Spec (JSON-able): ``{"family": "lm", "cell": "lstm" | "hlstm", "embed": E, "hidden": [H1, ...],
"tied": bool, "dropout": p, "gate_hidden": M}``: an embedding of E units, the recurrent layers of
``synth.models.lstm`` / ``synth.models.hlstm`` stacked (dropout between them and around them,
Zaremba et al. 2014), and a Linear decoder to the vocabulary whose weight is the embedding's
when ``tied`` (Press & Wolf 2017; needs ``hidden[-1] == embed``).  ``gate_hidden`` is the
width of every H-LSTM gate's hidden layer; 0 means half the layer width (``gate_width``).

The metric is perplexity, exp of the mean cross-entropy (nats) over every target token of a
split, with the hidden state carried across BPTT windows (the split read in order as
``synth.text.batchify`` columns).  ``fit_lm`` follows ``synth.train.fit``: seeded, tqdm on
stderr, CPU or CUDA, weights of the best validation epoch restored.
"""
from __future__ import annotations

import copy
import dataclasses
import math
import time

import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

from synth.config import Config, check_batch_size, check_choice, check_range, check_seed, short_repr
from synth.device import pick_device
from synth.errors import UserError
from synth.models.hlstm import HLSTMLayer
from synth.models.lstm import LSTMLayer
from synth.modes import in_mode
from synth.text import TextDataset, batchify, bptt_batches
from synth.train import reported_epoch

CELLS = ("lstm", "hlstm")
LM_DEFAULTS = {"family": "lm", "cell": "lstm", "embed": 128, "hidden": [128], "tied": True,
               "dropout": 0.2, "gate_hidden": 0}


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
    from synth.models.registry import check_parameter_count, meta_shell
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
    from synth.models.registry import check_parameter_count, meta_shell
    what = lambda: (f"language model {short_repr(lm_spec(spec), 200)} with a vocabulary of "  # noqa: E731
                    f"{vocab_size:,}")
    return check_parameter_count(meta_shell(lambda: LanguageModel(spec, vocab_size, sized=True),
                                            what), what)


class LanguageModel(nn.Module):
    """tokens (N, T) -> logits (N, T, V); ``forward(x, state)`` returns ``(logits, state)``."""

    def __init__(self, spec: dict, vocab_size: int, *, sized: bool = False):
        super().__init__()
        self.spec = lm_spec(spec)
        if vocab_size < 2:
            raise UserError(f"vocab_size must be >= 2, got {vocab_size}")
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
        x = self.drop(self.embed(tokens))
        new_state = []
        for k, layer in enumerate(self.rnn):
            x, st = layer(x, None if state is None else state[k])
            x = self.drop(x)
            new_state.append(st)
        return self.decoder(x), new_state


def detach_state(state):
    return [tuple(t.detach() for t in st) for st in state]


def count_lm_parameters(model: LanguageModel, nonzero: bool = False) -> int:
    """Parameters, a tied matrix counted once; ``nonzero``: those not exactly 0 (a masked
    weight's effective value): ``synth.models.count_parameters``, the one definition every
    other nnsynth figure of nonzero parameters uses (eval, grow-prune, export, search).  It
    counted by the masks of ``synth.masked`` instead, so a kept weight at exactly 0 (rounded
    there, or a decoder bias still at its zero initialisation) was live in symbiotic's
    report and absent everywhere else (h290)."""
    from synth.models import count_parameters
    return count_parameters(model, nonzero)


@torch.no_grad()
def perplexity(model: LanguageModel, ids: torch.Tensor, *, batch: int = 10, bptt: int = 35,
               device=None) -> float:
    """exp(mean cross-entropy in nats) over every target token of ``ids``, each of the
    ``len(ids) - 1`` scored once, read in order as ``batch`` columns (``synth.text.batchify``)
    as the PyTorch word-LM example reads them: every column starts from a zero state and
    carries it across its BPTT windows (so ``bptt`` does not change the figure; ``batch=1``
    reads the split as one stream, and a larger ``batch`` only gives each column's first
    tokens less context).  Unlike that example, the last token of a column also predicts the
    next column's first, and the last column goes on over the ``len(ids) % batch`` tokens
    ``batchify`` leaves over (those ``batch - 1 + len(ids) % batch`` targets were not scored,
    fewer tokens for every larger ``batch``)."""
    device = torch.device(device) if device is not None else next(model.parameters()).device
    with in_mode(model, False):
        cols = batchify(ids, batch).to(device)
        rest = ids[cols.numel():].to(device)            # the tokens batchify leaves over
        total, count, state = 0.0, 0, None

        def score(logits, targets):
            nonlocal total, count
            total += F.cross_entropy(logits.reshape(-1, model.vocab_size), targets.reshape(-1),
                                     reduction="sum").item()
            count += targets.numel()

        for x, y in bptt_batches(cols, bptt):
            logits, state = model(x.t(), state)
            score(logits, y.t())
        if batch > 1 or len(rest):
            # the last row, never an input above: column k's last token -> column k+1's first
            logits, state = model(cols[-1:].t(), state)           # (batch, 1, V)
            score(logits[:-1, 0], cols[0, 1:])
            if len(rest):   # the last column goes on over the left-over tokens, in order
                score(logits[-1:, 0], rest[:1])
                state = [tuple(t[-1:] for t in st) for st in state]
                tail = rest.unsqueeze(1)                           # (steps, 1)
                for x, y in bptt_batches(tail, bptt):
                    logits, state = model(x.t(), state)
                    score(logits, y.t())
    assert count == len(ids) - 1, (count, len(ids))
    return math.exp(total / count)


@dataclasses.dataclass(frozen=True)
class LMTrainConfig(Config):
    epochs: int = 4
    batch_size: int = 32           # BPTT columns
    bptt: int = 35                 # steps per window (truncated BPTT)
    lr: float = 3e-3               # Adam
    clip: float = 0.5              # gradient-norm clipping
    weight_decay: float = 0.0
    eval_batch: int = 10
    seed: int = 0
    device: str = "auto"
    keep_best: bool = True
    progress: bool = True
    max_batches: int = 0           # per epoch; 0 = the whole training split (tests use a few)

    def validate(self) -> None:
        check_range("epochs", self.epochs, 0, 10000, integer=True)
        check_batch_size("batch_size", self.batch_size)
        check_range("bptt", self.bptt, 1, None, integer=True)
        check_range("lr", self.lr, 0, 10, low_open=True)
        check_range("clip", self.clip, 0, None, low_open=True)
        check_range("weight_decay", self.weight_decay, 0, 1)
        check_batch_size("eval_batch", self.eval_batch)
        check_seed("seed", self.seed)
        check_range("max_batches", self.max_batches, 0, None, integer=True)


def fit_lm(model: LanguageModel, data: TextDataset, config: LMTrainConfig | None = None, *,
           after_step=None, desc: str = "lm") -> dict:
    """Train in place (Adam, clipped gradients, cosine learning rate); returns val/test
    perplexity of the restored best-validation weights, the best epoch and seconds.
    ``after_step(model)`` runs after every optimizer step (e.g. re-applying masks)."""
    config = config or LMTrainConfig()
    device = pick_device(config.device)
    torch.manual_seed(config.seed)
    model.to(device)
    cols = batchify(data.train, config.batch_size).to(device)
    windows = (len(cols) - 2) // config.bptt + 1
    per_epoch = min(windows, config.max_batches) if config.max_batches else windows
    total_steps = max(1, per_epoch * config.epochs)
    opt = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=config.lr,
                           weight_decay=config.weight_decay)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: 0.5 * (1 + math.cos(math.pi * min(1.0, s / total_steps))))
    gen = torch.Generator().manual_seed(config.seed)
    best = {"val": float("inf"), "epoch": -1, "state": None}
    history, start = [], time.perf_counter()
    bar = tqdm(range(config.epochs), desc=desc, disable=not config.progress, leave=False)
    for epoch in bar:
        model.train()
        # a random offset per epoch so that windows do not always start at the same tokens;
        # with max_batches, each epoch continues where the previous one stopped
        offset = int(torch.randint(config.bptt, (1,), generator=gen))
        if config.max_batches:
            offset += (epoch * per_epoch * config.bptt) % max(1, len(cols) - 2 * config.bptt)
        state = None
        for k, (x, y) in enumerate(bptt_batches(cols[offset:], config.bptt)):
            if config.max_batches and k >= config.max_batches:
                break
            logits, state = model(x.t(), state)
            state = detach_state(state)
            loss = F.cross_entropy(logits.reshape(-1, model.vocab_size), y.t().reshape(-1))
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), config.clip)
            opt.step()
            sched.step()
            if after_step is not None:
                after_step(model)
        val = perplexity(model, data.val, batch=config.eval_batch, bptt=config.bptt)
        history.append({"epoch": epoch, "val_perplexity": val})
        bar.set_postfix(val_ppl=f"{val:.1f}")
        if val < best["val"]:
            best = {"val": val, "epoch": epoch,
                    "state": copy.deepcopy(model.state_dict()) if config.keep_best else None}
    restored = config.keep_best and best["state"] is not None
    if restored:
        model.load_state_dict(best["state"])
    kw = dict(batch=config.eval_batch, bptt=config.bptt)
    # the weights kept were measured on val already (the best epoch's, or the last epoch's):
    # each pass over a split is most of a short run's time (enwiki's val, 46k tokens, through
    # an LSTM 200x2: ~10 s), and the same weights give the same figure
    return {"val_perplexity": best["val"] if restored else history[-1]["val_perplexity"],
            "test_perplexity": perplexity(model, data.test, **kw),
            "best_epoch": reported_epoch(best["epoch"]), "epochs": config.epochs,
            "history": [dict(h, epoch=h["epoch"] + 1) for h in history],
            "train_seconds": round(time.perf_counter() - start, 2), "device": str(device)}
