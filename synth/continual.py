"""Data-free class-incremental learning (DeepInversion, Yin et al. 2020, Sec. 4.4).

A classifier trained on *old* classes is given real data of *new* classes only.  Its head
is enlarged (``extend_head``: the old rows are copied, so the old logits are unchanged),
and the enlarged network is trained with one of three methods:

  * ``finetune``: cross-entropy on the new data over the full head (forgets the old classes).
  * ``lwf``: Learning without Forgetting (Li & Hoiem 2017, Eq. 2-3): the same cross-entropy
    plus ``kd_weight`` * T^2 KL between the old network's logits and the old head's logits
    on the *new* images (T = 2 as in LwF).
  * ``deepinversion``: LwF plus images synthesized from the old network standing in for the
    old classes: on them the full head is distilled towards the old network's distribution
    with zero mass on the new classes (the old logits padded with -1e4), so the enlarged
    head learns to prefer old classes on old-looking inputs, which LwF never sees.

Training runs ``epochs`` passes over the new data (with ``deepinversion`` plus as many
synthesized images, the smaller side repeated so that every synthesized image is used), and
at least ``min_steps`` optimizer steps: on a small set (iris's 36 samples of one new class are one
batch of 64) 8 epochs were 8 SGD steps, and the new classes were barely learned (accuracy on
them 0.10 after fine-tuning an iris[0,1] MLP), a silent failure that looked like the method's.
Where ``epochs`` give fewer steps, the epochs are raised (a warning says so) and the result
reports the steps that ran (``steps``).

``incremental`` chains several such steps (each step inverts the current network, which
already knows every class seen so far).  Class lists refer to the *data set's* labels; the
network's output ``i`` is the ``i``-th class of ``old_classes + new_classes``.
"""
from __future__ import annotations

import dataclasses
import logging
import math
import re
from typing import Callable, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from synth.choices import CONTINUAL_METHODS as METHODS
from synth.config import Config, check_batch_size, check_choice, check_range, check_seed, short_repr
from synth.data import Dataset, class_subset  # noqa: F401  (its home was here)
from synth.data import spelled_as
from synth.device import borrowed, module_device, pick_device
from synth.distill import kd_loss
from synth.errors import UserError
from synth.inversion import InversionConfig, InversionResult, balanced_labels
from synth.masked import attach_masks, nonzero_masks, plain_state
from synth.models import batchnorm_layers, build, prunable_layers
from synth.modes import in_mode
from synth.quant import refuse_fixed_point
from synth.synthesis import input_counts, synthesize_inputs
from synth.train import TrainConfig, epochs_for_steps, evaluate, fit

_ABSENT = -1e4   # logit for "no probability" on the new classes (finite: KL stays defined)
MAX_STEPS = 100_000   # min_steps' bound: epochs raised to it stay within TrainConfig's

log = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class ContinualConfig(Config):
    method: str = "deepinversion"    # finetune | lwf | deepinversion
    epochs: int = 8
    # at least this many SGD steps (epochs raised where the set is small): 8 epochs of iris's
    # one new class were 8 steps (new-class accuracy 0.10 -> 1.0 at 50 steps, iris[0,1] MLP;
    # 5-shot digits 5-9, deepinversion: 0.03 -> 0.81).  50 leaves the mnist5k runs of
    # benchmarks/continual.py as they were (the recorded --epochs 4: 116 steps, 228 with
    # deepinversion; its default 8 epochs: >= 96, the two-step table's included), and
    # digits 0-4 -> 5-9 at 8 epochs (88 steps; 168 with deepinversion)
    min_steps: int = 50
    batch_size: int = 64
    lr: float = 0.01                 # SGD, cosine
    weight_decay: float = 5e-4
    temperature: float = 2.0         # LwF's T = 2
    kd_weight: float = 1.0           # lambda_o of LwF (old-head distillation on new data)
    synth_weight: float = 1.0        # weight of the distillation on synthesized images
    freeze_bn: bool = True           # keep the old BatchNorm statistics (no drift to new data)
    seed: int = 0
    device: str = "auto"
    progress: bool = True

    def validate(self) -> None:
        check_choice("method", self.method, METHODS)
        check_range("epochs", self.epochs, 1, 100000, integer=True)
        check_range("min_steps", self.min_steps, 0, MAX_STEPS, integer=True)
        check_batch_size("batch_size", self.batch_size)
        check_range("lr", self.lr, 0, 10, low_open=True)
        check_range("weight_decay", self.weight_decay, 0, 1)
        check_range("temperature", self.temperature, 0, 1000, low_open=True)
        check_range("kd_weight", self.kd_weight, 0, None)
        check_range("synth_weight", self.synth_weight, 0, None)
        check_seed("seed", self.seed)

    def steps_per_epoch(self, samples: int) -> int:
        """Optimizer steps of one pass over ``samples`` training inputs (synth.train.fit's
        count: the last batch may be partial)."""
        return max(1, math.ceil(samples / self.batch_size))

    def epochs_for(self, samples: int) -> int:
        """``epochs``, raised so that ``samples`` training inputs make at least ``min_steps``
        optimizer steps."""
        return epochs_for_steps(self.epochs, self.min_steps, samples, self.batch_size)

    def train_config(self, epochs: int | None = None) -> TrainConfig:
        """The training of ``epochs`` passes (default ``self.epochs``; ``epochs_for`` gives
        the ones that make ``min_steps``)."""
        # keep_best off: selecting epochs on held-out data would need the old classes' data
        return TrainConfig(epochs=epochs or self.epochs, batch_size=self.batch_size, lr=self.lr,
                           weight_decay=self.weight_decay, seed=self.seed, device=self.device,
                           keep_best=False, progress=self.progress)


# --------------------------------------------------------------------------- classes
def check_classes(old_classes: Sequence[int], new_classes: Sequence[int], num_classes: int,
                  old_outputs: int | None = None) -> tuple[list[int], list[int]]:
    """Validate class lists against a data set of ``num_classes`` labels (and a network
    with ``old_outputs`` outputs); returns them as int lists."""
    import numbers
    for name, cls in (("old classes", old_classes), ("new classes", new_classes)):
        # the old ones may come from a checkpoint's extra.classes: 'abc' was a ValueError
        # traceback from int('a'), and [0.5, 1.7] were taken as classes 0 and 1
        bad = ([cls] if isinstance(cls, (str, bytes)) or not hasattr(cls, "__iter__") else
               [c for c in cls if not isinstance(c, numbers.Integral) or isinstance(c, bool)])
        if bad:
            where = " (--old-classes, or the ones a checkpoint records)" if name[0] == "o" else ""
            raise UserError(f"{name}{where} must be a list of class numbers, got "
                            f"{short_repr(bad[0])}")
    old, new = [int(c) for c in old_classes], [int(c) for c in new_classes]
    for name, cls in (("old classes", old), ("new classes", new)):
        if not cls:
            raise UserError(f"{name} must list at least one class, got none")
        if len(set(cls)) != len(cls):
            raise UserError(f"{name} must be distinct, got {cls}")
        bad = [c for c in cls if not 0 <= c < num_classes]
        if bad:
            raise UserError(f"{name} must be in [0, {num_classes}), got {bad[0]}")
    both = sorted(set(old) & set(new))
    if both:
        raise UserError(f"new classes must not repeat old classes, got {both[0]} in both")
    if old_outputs is not None and len(old) != old_outputs:
        raise UserError(f"old classes must name one data set class per network output: "
                        f"the network has {old_outputs} outputs, got {len(old)} classes {old}")
    return old, new


def classes_by_name(classes: Sequence[int | str] | None, data_names: Sequence, option: str,
                    dataset: str) -> list[int] | None:
    """``classes`` as ``dataset``'s class numbers: a number is one already, a name is found
    among ``data_names`` (as given, else in one other case).  A user's CSV of text labels
    ('red', 'rose') had to be given by the number its label sorted to, which nothing
    printed; ``--new-classes rose`` was 'must be comma-separated class indices'.

    A number that is the label of one of the set's classes is that class: a table of labels
    3, 7, 42 (classes numbered 0, 1, 2) took ``--new-classes 7`` as class number 7 ('must be
    in [0, 3)'), and one of labels 0, 2, 5 took ``--new-classes 2`` as the class labelled 5,
    without a word.  Any other number is a class number, as for a set of text labels."""
    if classes is None:
        return None
    data_names = [str(n) for n in data_names]
    labels = _integer_labels(data_names)
    numbers = []
    for c in classes:
        if not isinstance(c, str):
            numbers.append(labels.get(int(c), c) if _is_int(c) else c)
            continue
        spelled = spelled_as([c], data_names)[0]
        if spelled not in data_names:
            shown = ", ".join(short_repr(n, 20) for n in data_names[:10]) + (
                ", ..." if len(data_names) > 10 else "")
            raise UserError(f"{option} {short_repr(c, 40)}: {dataset} has no class of that "
                            f"name (its classes, numbered from 0: {shown})")
        numbers.append(data_names.index(spelled))
    return numbers


def _is_int(value) -> bool:
    import numbers
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _integer_labels(data_names: Sequence[str]) -> dict[int, int]:
    """{integer: class number} for the class names that are integers ('7', '-1', '07'),
    each integer kept only where one name spells it."""
    found: dict[int, list[int]] = {}
    for i, name in enumerate(data_names):
        text = name.strip()
        if re.fullmatch(r"[+-]?[0-9]{1,18}", text):
            found.setdefault(int(text), []).append(i)
    return {value: at[0] for value, at in found.items() if len(at) == 1}


def check_recorded_classes(model: nn.Module, old_classes: Sequence[int] | None,
                           dataset: str) -> None:
    """``--old-classes`` of the loaded checkpoint ``model`` name the classes its outputs were
    trained on, when it records them for ``dataset``'s set (its own set, or a class subset
    of it: a model of digits[0,1,2,3,4] or of all of digits).  Given otherwise they were
    taken as the outputs' meaning: a digits[0..4] model with --old-classes 5,6,7,8,9 was
    scored on digits 5-9 as its outputs 0-4 (old_model_accuracy_old 0.14 for 0.94)."""
    if old_classes is None:
        return
    from synth.data_registry import split_class_list
    info = getattr(model, "checkpoint_info", None) or {}
    meta, extra = info.get("dataset") or {}, info.get("extra") or {}
    own, listed = split_class_list(str(meta.get("name") or ""))
    if not own or split_class_list(dataset)[0] != own:
        return   # another set: its class numbers are not the recorded ones
    try:   # a crafted record is refused later, by check_classes, in one line
        recorded = [int(c) for c in (extra.get("classes") or listed
                                     or range(int(model.num_classes)))]
    except (TypeError, ValueError):
        return
    if [int(c) for c in old_classes] != recorded:
        raise UserError(f"--old-classes {','.join(map(str, old_classes))}: the model's outputs "
                        f"are {own}'s classes {','.join(map(str, recorded))} in that order "
                        f"(its checkpoint records {short_repr(meta.get('name'))}); drop "
                        f"--old-classes or give those")


def old_classes_by_name(model_names: Sequence | None, outputs: int, data_names: Sequence,
                        dataset: str, old_classes: Sequence[int] | None) -> list[int] | None:
    """The old classes as ``dataset``'s class numbers, found by the class names the model's
    checkpoint records (``model_names``, one per output) among ``data_names``.  Without it a
    model of a file of classes '1','2' extended with a file of '0','1','2','3' took outputs
    0, 1 as '0', '1' (old_model_accuracy_old 0.26 for a 0.97 model, and the new checkpoint
    named its outputs wrongly).  Returns ``old_classes`` when the model records no names or
    none of them is a class of ``dataset`` (other names: the numbers are the user's word);
    refuses ``old_classes`` that name other classes than the model's, and a set that holds
    only some of the model's classes unless ``old_classes`` is given.  Names that are not
    one per output (``outputs``) are not the outputs' and are passed over."""
    names = [str(n) for n in (model_names or [])]
    data_names = [str(n) for n in data_names]
    if not names or len(set(names)) != len(names) or len(names) != outputs:
        return None if old_classes is None else [int(c) for c in old_classes]
    # as the new set spells them: a file that capitalized the model's names matched none of
    # them ('Ant', 'Bird', 'Cat' for a model of 'bird', 'cat', 'dog' took its first classes)
    spelled = spelled_as(names, data_names)
    found = [n for n in spelled if n in data_names]
    if not found:
        return None if old_classes is None else [int(c) for c in old_classes]
    shown = ",".join(short_repr(n, 20) for n in names[:8]) + (",..." if len(names) > 8 else "")
    if len(found) < len(names):
        if old_classes is not None:
            return [int(c) for c in old_classes]
        missing = [n for n, s in zip(names, spelled) if s not in data_names]
        raise UserError(f"--new-dataset {dataset} lacks the model's class "
                        f"{short_repr(missing[0], 40)} (its outputs are {shown}): give "
                        f"--old-classes, the set's class numbers of the model's outputs")
    by_name = [data_names.index(n) for n in spelled]
    if old_classes is not None and [int(c) for c in old_classes] != by_name:
        given = [int(c) for c in old_classes]
        theirs = ",".join(short_repr(data_names[c], 20) if 0 <= c < len(data_names) else
                          str(c) for c in given[:8])
        raise UserError(f"--old-classes {','.join(map(str, given))} are {dataset}'s classes "
                        f"{theirs}; the model's outputs are {shown}, its classes "
                        f"{','.join(map(str, by_name))} there (drop --old-classes or give "
                        f"those)")
    return by_name


# --------------------------------------------------------------------------- head surgery
def head_name(model: nn.Module) -> str:
    """The classifier: the last Linear layer with one output per class."""
    heads = [n for n, m in prunable_layers(model)
             if isinstance(m, nn.Linear) and m.out_features == model.num_classes]
    if not heads:
        raise UserError("model has no final Linear layer with one output per class")
    return heads[-1]


def extend_head(model: nn.Module, num_new: int, seed: int = 0) -> nn.Module:
    """A copy of ``model`` with ``num_new`` more outputs; old rows are copied exactly and
    the new rows keep their fresh (seeded) initialization.  A masked model (grow-and-prune
    ``--no-compact``) stays masked, so training does not revive its pruned connections,
    and an unmasked one whose layers hold exact zeros (a compacted one) comes out masked
    by its nonzero weights; the new head rows are dense (a KeyError on its mask's keys
    before)."""
    if int(num_new) < 1:
        raise UserError(f"number of new classes must be >= 1, got {num_new}")
    torch.manual_seed(seed)
    big = build(model.spec, model.input_shape, model.num_classes + int(num_new))
    state = big.state_dict()
    head = head_name(model)
    own, masks = plain_state(model)   # a masked layer's effective weight, and its mask
    if not masks:   # a compacted grow-and-prune checkpoint (the command's default output)
        # keeps its pruned connections as zeros: masked by them, as dfprune and grow-prune
        # mask it, or training on the new classes filled them in (h328: a pruned MLP of
        # wine's first two classes, 39 connections, came out with 112, every one nonzero)
        masks = {name: m for name, m in nonzero_masks(model).items() if not m.all()}
    for k, v in own.items():
        if k.startswith(head + "."):
            state[k][:model.num_classes] = v
        else:
            state[k] = v.clone()
    big.load_state_dict(state)
    if masks:
        if head in masks:
            rows = torch.ones((int(num_new),) + tuple(masks[head].shape[1:]), dtype=torch.bool)
            masks[head] = torch.cat([masks[head], rows])
        attach_masks(big, masks)
    return big.to(next(model.parameters()).device)


# --------------------------------------------------------------------------- training
def _loss_fn(old: nn.Module, k_old: int, config: ContinualConfig) -> Callable:
    """Real new images carry labels >= 0, synthesized old-class images carry -1."""
    t = config.temperature

    def loss_fn(model, xb, yb):
        logits = model(xb)
        real, syn = yb >= 0, yb < 0
        loss = logits.new_zeros(())
        if real.any():
            loss = loss + F.cross_entropy(logits[real], yb[real])
        if config.method == "finetune":
            return loss
        with torch.no_grad():
            target = old(xb)
        if real.any() and config.kd_weight > 0:  # LwF, Li & Hoiem 2017 Eq. 2
            loss = loss + config.kd_weight * kd_loss(logits[real, :k_old], target[real], t)
        if syn.any():  # DeepInversion Sec. 4.4: the old network's answer over the full head
            pad = target.new_full((int(syn.sum()), logits.shape[1] - k_old), _ABSENT)
            loss = loss + config.synth_weight * kd_loss(logits[syn], torch.cat(
                [target[syn], pad], 1), t)
        return loss
    return loss_fn


def _repeated(distinct: int, used: int, what: str) -> str:
    """``used`` inputs of ``distinct`` ones, worded: basicmotions' 14 new inputs balanced
    against 32 synthesized were '32 new', and 64 synthesized beside 128 new images '128
    synthesized' (the result's new_images and synthesized_images said 14 and 64)."""
    if used == distinct:
        return f"{used} {what}"
    return f"{distinct} {what} repeated to {used}"


def learn_new_classes(old_model: nn.Module, new_data: Dataset, config: ContinualConfig,
                      synth_x: torch.Tensor | None = None) -> tuple[nn.Module, dict]:
    """One class-incremental step.  ``new_data`` holds only the new classes, labelled
    ``old_model.num_classes + i`` (``class_subset(data, new, offset=k_old)``);
    ``synth_x`` are images synthesized from ``old_model`` (required for deepinversion)."""
    refuse_fixed_point(old_model, "class-incremental training")
    k_old = old_model.num_classes
    num_new = new_data.num_classes - k_old
    if len(new_data.y_train) == 0 or num_new < 1 or int(new_data.y_train.min()) < k_old:
        raise UserError(f"new data must hold only new classes labelled >= {k_old} "
                        f"(use class_subset(data, new_classes, offset={k_old}))")
    if config.method == "deepinversion" and (synth_x is None or len(synth_x) == 0):
        raise UserError("method deepinversion needs images synthesized from the old network")
    home = module_device(old_model)   # the new model is returned where the old one lives
    with borrowed(old_model, device=pick_device(config.device)):
        model, metrics = _learn(old_model.eval(), k_old, new_data, config, synth_x)
    return model.to(home), metrics


def _learn(old: nn.Module, k_old: int, new_data: Dataset, config: ContinualConfig,
           synth_x: torch.Tensor | None) -> tuple[nn.Module, dict]:
    """``learn_new_classes``' training, ``old`` on the training device."""
    for p in old.parameters():
        p.requires_grad_(False)
    model = extend_head(old, new_data.num_classes - k_old, config.seed)
    x, y = new_data.x_train, new_data.y_train
    distinct = (len(x), 0 if synth_x is None else len(synth_x))   # before the balancing
    if config.method == "deepinversion":
        # balanced: as many synthesized as new inputs in every epoch, the smaller side
        # repeated, so that every synthesized input is used (the first len(new) of them were
        # taken before: iris's 36 new samples used 36 of the 256 inverted, the rest were
        # paid for and dropped while the result reported 256)
        n = max(len(x), len(synth_x))
        real, syn = torch.arange(n) % len(x), torch.arange(n) % len(synth_x)
        x, y = (torch.cat([x[real], synth_x[syn]]),
                torch.cat([y[real], torch.full((n,), -1, dtype=y.dtype)]))
    per_epoch, epochs = config.steps_per_epoch(len(y)), config.epochs_for(len(y))
    if epochs > config.epochs:
        syn_n, new_n = int((y < 0).sum()), int((y >= 0).sum())
        log.warning("class-incremental training: %s training inputs make %d optimizer step%s "
                    "of batch %d per epoch, so %d epochs would be %d steps; running %d epochs "
                    "(%d steps, min_steps %d)",
                    f"{len(y)} ({_repeated(distinct[0], new_n, 'new')} + "
                    f"{_repeated(distinct[1], syn_n, 'synthesized')})" if syn_n
                    else f"{new_n} new",
                    per_epoch,
                    "" if per_epoch == 1 else "s", config.batch_size, config.epochs,
                    per_epoch * config.epochs, epochs, per_epoch * epochs, config.min_steps)
    hook = None
    if config.freeze_bn:  # fit() calls model.train() every epoch; BN goes back to eval per step
        def bn_eval(module, inputs):
            for bn in batchnorm_layers(module):
                bn.eval()
        hook = model.register_forward_pre_hook(bn_eval)
    try:
        metrics = fit(model, new_data, config.train_config(epochs),
                      loss_fn=_loss_fn(old, k_old, config), train_xy=(x, y), desc=config.method)
    finally:
        if hook is not None:
            hook.remove()
    for p in old.parameters():
        p.requires_grad_(True)
    metrics.pop("history", None)
    # epochs: the passes that ran (``epochs_requested`` raised to make ``min_steps``)
    metrics["method"] = config.method   # the counts of inputs (rows, series): INPUT_KEYS
    input_counts(metrics, new_images=len(new_data.y_train),
                 synthesized_images=0 if synth_x is None else len(synth_x))
    metrics.update(epochs=epochs, epochs_requested=config.epochs, steps=per_epoch * epochs,
                   min_steps=config.min_steps)
    return model.eval(), metrics


def synthesize_old(model: nn.Module, num_images: int, pixel_range, inversion: InversionConfig,
                   seed: int = 0, progress: bool = False, name: str = "",
                   full: bool = False) -> torch.Tensor | InversionResult:
    """``num_images`` inputs, balanced over every class ``model`` knows, by the method
    ``inversion`` names (``synth.synthesis.synthesize_inputs``: per-pixel DeepInversion or a
    generator, as ``settings_for`` picks for the teacher); ``name`` begins the errors about
    ``model`` as a teacher.  ``full``: the whole ``InversionResult`` (its ``stats`` say how
    the inputs were made) instead of the inputs alone."""
    result = synthesize_inputs(model, balanced_labels(num_images, model.num_classes), inversion,
                               pixel_range=pixel_range, seed=seed, progress=progress, name=name)
    return result if full else result.images


def per_class_accuracy(model: nn.Module, data: Dataset, split: str = "test") -> dict:
    """Accuracy over ``data``'s ``split`` and per class (NaN for a class with no sample
    there; ``task_accuracy`` gives the old and new tasks' figures)."""
    x, y = data.split(split)
    with torch.no_grad():
        pred = torch.cat([model(x[i:i + 1024].to(next(model.parameters()).device)).argmax(1).cpu()
                          for i in range(0, len(x), 1024)]) if len(x) else y
    return {"accuracy": evaluate(model, x, y)["accuracy"], "per_class": [
        float((pred[y == c] == c).double().mean()) for c in range(data.num_classes)]}


@torch.no_grad()
def task_accuracy(model: nn.Module, data: Dataset, k_old: int, split: str = "test",
                  said: list | None = None) -> dict:
    """``accuracy_old`` and ``accuracy_new``: the fraction of ``data``'s ``split`` samples of
    the outputs [0, ``k_old``) and of the rest that ``model`` classifies right, each over the
    samples it holds (their sample-weighted mean is the accuracy over the split).  A class
    with no sample in the split is left out of its task's figure and named in a warning; a
    task with none at all is None.  Weighting ``per_class_accuracy``'s figures by the counts
    made them NaN (JSON null) as soon as one class of the task had no test sample (its
    accuracy, a mean over nothing, is NaN and NaN * 0 is NaN: ``nnsynth continual
    --new-classes 5,6`` of a folder whose test/ lacks class 6 reported accuracy_new null),
    and a division by zero where the task had none.  ``said``: a list the warning lines are
    appended to as well (a result's ``warning``: the --json result said nothing of them)."""
    x, y = data.split(split)
    device = next(model.parameters()).device
    with in_mode(model, False):
        pred = torch.cat([model(x[i:i + 1024].to(device)).argmax(1).cpu()
                          for i in range(0, len(x), 1024)]) if len(x) else y
    right = pred == y
    result = {}
    for name, classes in (("accuracy_old", range(k_old)),
                          ("accuracy_new", range(k_old, data.num_classes))):
        part = (y >= classes.start) & (y < classes.stop)
        result[name] = float(right[part].double().mean()) if bool(part.any()) else None
        absent = [c for c in classes if not bool((y == c).any())]
        if absent:
            shown = ", ".join(short_repr(str(data.class_names[c]), 20) for c in absent[:8])
            line = "the %s split holds no sample of class%s %s%s: %s" % (
                split, "es" if len(absent) > 1 else "", shown, ", ..." if len(absent) > 8
                else "", f"{name} is over the other classes' samples"
                if result[name] is not None else f"{name} is none")
            log.warning("%s", line)
            if said is not None:
                said.append(line)
    return result


def incremental(model: nn.Module, data: Dataset, old_classes: Sequence[int],
                steps: Sequence[Sequence[int]], config: ContinualConfig,
                inversion: InversionConfig | None = None,
                num_images: int = 256) -> tuple[nn.Module, list]:
    """Several class-incremental steps; before each, the current network is inverted into
    ``num_images`` images (deepinversion only).  Returns the final model and, per step, the
    test accuracy over every class seen so far."""
    seen = list(old_classes)
    history = []
    for i, new in enumerate(steps):
        seen, new = check_classes(seen, new, data.num_classes, model.num_classes)
        synth_x = None
        if config.method == "deepinversion":
            synth_x = synthesize_old(model, num_images, data.pixel_range(),
                                     inversion or InversionConfig.preset("mnist28"),
                                     seed=config.seed * 1000 + i)
        model, metrics = learn_new_classes(model, class_subset(data, new, offset=len(seen)),
                                           config, synth_x)
        seen = seen + new
        acc = per_class_accuracy(model, class_subset(data, seen))
        history.append({"step": i, "classes": list(seen), "test_accuracy": acc["accuracy"],
                        "per_class": acc["per_class"], "seconds": metrics["train_seconds"],
                        "epochs": metrics["epochs"], "steps": metrics["steps"]})
    return model, history
