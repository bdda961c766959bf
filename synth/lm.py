"""Word-level language models on the ``lstm`` / ``hlstm`` cells, trained by truncated BPTT.

The model is ``synth.models.lm.LanguageModel`` (family ``lm`` of the model registry: spec,
cells and defaults there, re-exported here).

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
from tqdm.auto import tqdm

from synth.config import Config, check_batch_size, check_range, check_seed
from synth.device import pick_device
from synth.models.lm import (CELLS, DEFAULT_STEPS, LM_DEFAULTS, LanguageModel,
                             check_lm_size, gate_width, lm_spec, recurrent_layer)
from synth.modes import in_mode
from synth.text import TextDataset, batchify, bptt_batches
from synth.train import reported_epoch

__all__ = ["CELLS", "DEFAULT_STEPS", "LM_DEFAULTS", "LMTrainConfig", "LanguageModel",
           "check_lm_size", "count_lm_parameters", "detach_state", "fit_lm", "gate_width",
           "lm_spec", "perplexity", "recurrent_layer"]


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


# --------------------------------------------------------------------------- checkpoints
def text_digest(data: TextDataset) -> str:
    """SHA-256 of what a training on ``data`` sees: its vocabulary and every split's ids (a
    symbiotic candidate's cache key; an LM checkpoint's ``dataset.digest``)."""
    import hashlib
    import json
    h = hashlib.sha256(json.dumps([data.name, data.vocab]).encode())
    for which in ("train", "val", "test"):
        h.update(data.split(which).detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()


def text_record(data: TextDataset) -> dict:
    """A language-model checkpoint's data-set record: ``data.metadata()`` (name, vocabulary,
    min count, tokens a split, source) and its ``text_digest``, by which ``evaluate_lm`` knows
    the set it loads again is the one the model was trained on."""
    # split_seed: a text's splits are contiguous (80/10/10 of its words), the same for any
    # seed; without one a reader warned 'records no data split seed (written before ...)'
    return {**data.metadata(), "digest": text_digest(data), "split_seed": 0}


def savable(model: LanguageModel, steps: int | None = None) -> LanguageModel:
    """``model`` as ``synth.checkpoint.save_checkpoint`` writes it and ``load_model`` rebuilds
    it: a pruned model's masks (``synth.masked``, its recurrent layers') recorded for every
    prunable layer, as grow-prune's checkpoints record them (the rest all ones; the rebuild
    masks every prunable layer, so a file masked in its rnn only did not load); a dense
    model as it is.  A copy, on the CPU, in eval mode; ``steps``: the tokens of the sequence
    it is priced on (its ``input_shape``; the bptt)."""
    from synth.masked import attach_masks, masks_of
    model = copy.deepcopy(model).cpu().eval()
    if steps is not None:
        model.input_shape = (int(steps),)
    masks = masks_of(model)
    if masks:
        attach_masks(model, masks)
    return model


def lm_checkpoint(meta: dict, where: str) -> dict:
    """A language-model checkpoint's ``extra["lm"]`` (what ``nnsynth symbiotic`` writes:
    ``bptt``, the ``tokens`` it is priced on) checked; one-line UserError naming ``where``."""
    from synth.errors import UserError
    lm = (meta.get("extra") or {}).get("lm")
    tokens = lm.get("tokens") if isinstance(lm, dict) else None
    if not (isinstance(tokens, list) and tokens and all(
            isinstance(t, int) and not isinstance(t, bool) for t in tokens)):
        raise UserError(f"{where}: a language model checkpoint records the token ids it is "
                        f"priced on (extra.lm.tokens, written by nnsynth symbiotic); this one "
                        f"has none")
    return lm


def priced_tokens(model: LanguageModel, where: str, batch: int = 1) -> torch.Tensor:
    """The (batch, steps) token ids a checkpointed language model is priced on: those its
    checkpoint records (``nnsynth symbiotic``'s, the first bptt tokens of its test split, as
    its report's ``priced_ms``), each row the same; ids beyond its vocabulary refused."""
    from synth.errors import UserError
    info = getattr(model, "checkpoint_info", {}) or {}
    tokens = torch.tensor(lm_checkpoint(info, where)["tokens"], dtype=torch.long)
    if tuple(tokens.shape) != tuple(model.input_shape):
        raise UserError(f"{where}: extra.lm.tokens holds {len(tokens)} ids; the model's "
                        f"input_shape is {tuple(model.input_shape)}")
    if bool((tokens < 0).any()) or bool((tokens >= model.vocab_size).any()):
        raise UserError(f"{where}: extra.lm.tokens must be ids in [0, {model.vocab_size}) "
                        f"(its vocabulary)")
    return tokens.reshape(1, -1).repeat(batch, 1)


def evaluate_lm(model: LanguageModel, where: str, split: str | None = None,
                dataset: str | None = None) -> tuple[dict, list[str]]:
    """``nnsynth eval`` of a language-model checkpoint: perplexity on ``split`` (default
    test) of the text set it records (its name and min count, loaded again and compared by
    ``text_digest``: another text, or the same file edited, is refused: its ids are another
    vocabulary's), read as ``perplexity`` reads it at the checkpoint's bptt; its parameters.
    Returns (result, notes) as ``synth.workflows.evaluate_checkpoint``."""
    from synth.errors import UserError
    from synth.text import load_text
    info = getattr(model, "checkpoint_info", {}) or {}
    meta, metrics = info.get("dataset") or {}, info.get("metrics") or {}
    lm = lm_checkpoint(info, where)
    name, min_count = meta.get("name"), meta.get("min_count")
    if dataset is not None and dataset != name:   # another text, in the model's vocabulary
        return _evaluate_on_other_text(model, where, split, dataset, meta, lm)
    if split == "all" or split not in (None, "train", "val", "test"):
        raise UserError(f"{where} is a language model: --split is train, val or test "
                        f"(perplexity over one split of {name!r}; all: of another text, "
                        f"given with --dataset), got {split!r}")
    if not isinstance(name, str) or not isinstance(min_count, int) or isinstance(min_count, bool):
        raise UserError(f"{where}: a language model checkpoint records its text set (dataset "
                        f"name and min_count); this one does not, so it cannot be scored")
    from synth.checkpoint import recorded_location
    try:   # a text: path relative to where it was trained: found where it was (``resolved``)
        data = dataclasses.replace(load_text(recorded_location(meta), min_count), name=name)
    except UserError as e:
        raise UserError(f"{where} records the text set {name!r}, which does not load here "
                        f"({e}); its perplexity is of that text only") from None
    if text_digest(data) != meta.get("digest"):
        raise UserError(f"{where}: text set {name!r} (min count {min_count}) is not the text "
                        f"the model was trained on (its vocabulary or splits differ from the "
                        f"recorded digest): its perplexity would be another vocabulary's")
    split = split or "test"
    bptt = int(lm.get("bptt") or model.input_shape[0])
    result = {"dataset": name, "split": split, **_scored(model, data.split(split), bptt),
              "recorded_perplexity": metrics.get(f"{split}_perplexity")}
    return result, []


def _scored(model: LanguageModel, ids: torch.Tensor, bptt: int) -> dict:
    """``evaluate_lm``'s figures of ``model`` on the token ids ``ids``: their count, its
    perplexity at ``bptt``, its vocabulary and parameters."""
    from synth.models import count_parameters
    return {"tokens": int(len(ids)), "perplexity": perplexity(model, ids, bptt=bptt),
            "vocab_size": model.vocab_size, "parameters": count_parameters(model),
            "nonzero_parameters": count_parameters(model, nonzero=True)}


def _evaluate_on_other_text(model: LanguageModel, where: str, split: str | None, dataset: str,
                            meta: dict, lm: dict) -> tuple[dict, list[str]]:
    """``evaluate_lm`` on a text other than the one recorded (a held-out file: a model
    trained on PTB's train file scored on its test file): the text read into the model's own
    vocabulary (``synth.text.text_in_vocab``: the vocabulary its checkpoint records, each
    other word ``<unk>``), ``split`` one of its contiguous cuts (default test) or ``all``:
    every token of it.  The note gives its ``<unk>`` share: a perplexity over a text of
    many unknown words is mostly the model's ``<unk>`` guessing."""
    from synth.errors import UserError
    from synth.text import text_in_vocab
    vocab = meta.get("vocab")
    if not (isinstance(vocab, list) and len(vocab) == model.vocab_size):
        raise UserError(f"{where} records no vocabulary of its {model.vocab_size:,} words, so "
                        f"it is scored on its own set only, {meta.get('name')!r} (leave "
                        f"--dataset out)")
    if split not in (None, "train", "val", "test", "all"):
        raise UserError(f"--split is train, val, test or all, got {split!r}")
    try:
        data = text_in_vocab(dataset, vocab, int(meta.get("min_count") or 1))
    except UserError as e:
        raise UserError(f"--dataset {dataset}: {e}") from None
    split = split or "test"
    ids = torch.cat([data.train, data.val, data.test]) if split == "all" else data.split(split)
    if len(ids) < 2:
        raise UserError(f"--dataset {dataset}: its {split} split holds {len(ids)} token(s); "
                        f"a perplexity needs at least 2 (--split all scores the whole text)")
    unk = float((ids == 0).float().mean())
    bptt = int(lm.get("bptt") or model.input_shape[0])
    result = {"dataset": dataset, "split": split, **_scored(model, ids, bptt), "unk_rate": unk,
              "vocabulary_of": meta.get("name")}
    note = (f"{dataset} read in the vocabulary of {meta.get('name')} (the model's "
            f"{model.vocab_size:,} words): {unk:.1%} of its "
            f"{'' if split == 'all' else split + ' '}tokens are <unk>")
    return result, [note]


def is_lm_checkpoint(path) -> bool:
    """Whether the file at ``path`` is an nnsynth checkpoint of family ``lm`` (its spec's
    ``"family": "lm"``), read from the archive's pickle as opcodes, never unpickled nor its
    weights loaded: ``nnsynth eval`` sends such a file to ``evaluate_lm`` and any other to
    the classification path, which reads it itself.  False for anything unreadable (that
    path's reader names it)."""
    import pickletools
    from synth.checkpoint import checkpoint_pickle
    raw = checkpoint_pickle(path)
    if raw is None:
        return False
    try:
        strings = []
        for op, arg, _ in pickletools.genops(raw):
            if isinstance(arg, str) and "UNICODE" in op.name:
                if len(strings) >= 2 and strings[-2:] == ["spec", "family"]:
                    return arg == "lm"   # the spec's family: the first key of the spec
                strings.append(arg)
            elif strings[-1:] == ["spec"] and op.name not in ("EMPTY_DICT", "BINPUT",
                                                               "LONG_BINPUT", "MARK", "MEMOIZE"):
                strings.append(None)   # "spec" was a value, not the key of a dict
    except (ValueError, EOFError):   # opcodes cut short or malformed
        return False
    return False


def evaluate_lm_checkpoint(path, dataset: str | None = None, split: str | None = None,
                           refused: str | None = None) -> tuple[dict, list[str]]:
    """``nnsynth eval --model`` of a language-model checkpoint (``is_lm_checkpoint``): the
    model loaded as every checkpoint is (``synth.checkpoint.load_model``) and scored by
    ``evaluate_lm``; ``refused``: an option given that applies to classifiers only (named
    in one line)."""
    from synth.checkpoint import load_model
    from synth.errors import UserError
    if refused:
        raise UserError(f"{refused} applies to a classifier's checkpoint; {path} is a "
                        f"language model (family 'lm'): leave {refused} out")
    model = load_model(path)
    return evaluate_lm(model, f"checkpoint {path}", split, dataset)
