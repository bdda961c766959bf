"""DeepInversion and Adaptive DeepInversion (Yin et al., arXiv 1912.08795), written from the paper.

Random noise x is optimized into class-conditional images for a frozen teacher:

    min_x  L_CE(teacher(x), y) + R_prior(x) + a_f R_feature(x) [+ a_c R_compete(x)]   (paper Eq. 2/6)

* R_feature (Eq. 4): for every BatchNorm layer l, || mu_l(x) - running_mean_l ||_2 +
  || var_l(x) - running_var_l ||_2, the batch statistics of the layer's *input* over (N, H, W)
  with the biased variance; summed over layers, the first layer weighted ``first_bn_multiplier``.
* R_prior (DeepDream prior, Eq. 3): total variation (L1 and L2 forms) and the L2 norm of x.
* R_compete (ADI, Eq. 8): 1 - JS(p_teacher || p_student) at temperature T, pushing images to
  where the student disagrees with the teacher.

The BN statistics come from forward hooks registered once per ``synthesize`` call (not per
step).  Adam on the inputs with linear warm-up and cosine decay, random jitter (roll) and
flips each step (images; sequences are rolled along time, never flipped), an optional
low-resolution first phase, clipping to the data set's valid normalized range
(``synth.data.input_range``, per channel for images and sequences).  Any BatchNorm teacher
inverts: images (C, H, W) and feature vectors (F,) for MLPs with BatchNorm1d alike, and
sequences (C, L) (channels x steps), which keep their (C, L) shape.  A sequence network whose
BatchNorm layers see feature vectors (an MLP on the flattened series) is inverted exactly as
C*L features (per-feature statistics, no jitter, the tabular settings); one whose first
BatchNorm normalizes the channels of a Conv1d (``convnet1d``) matches per-channel statistics
averaged over time (Eq. 4 over (N, L)), with a roll along time as its jitter and a TV prior
along time (``settings_for``).

Stopping rule (per batch, checked every ``check_every`` iterations, within the cap
``iterations``): stop once (a) the teacher assigns all but ``allowed_misses`` inputs of the
*clean* (un-augmented) batch to their targets and (b) the objective has converged -- its mean
over the last window fell by less than ``stop_tolerance`` relative to the window before.  Easy
teachers stop after a few hundred iterations (the speed lever against the reference's fixed
2k); a batch that the teacher does not yet recognize runs on to the cap.  A few misses are
tolerated (``stop_fidelity`` 0.99, and at least one in a batch large enough that one miss
keeps it above ``min_fidelity``): with none, one stubborn input of 244 held a ResNet-18's
batch to the 2k cap (0.43 instead of ~4 inputs/s).  The inputs that miss are kept and
counted: the reported fidelity is measured on the whole set, and ``stats["missed"]`` says how
many inputs the teacher assigns to another class.  The snapshot kept is the check with the
highest clean fidelity (ties: the lowest window loss).
Inputs that still miss after ``restart_patience`` checks without a new hit, while the batch
cannot stop, are drawn again from noise (random restarts, ``restart_missed``;
``stats["inputs_restarted"]``): a ReLU teacher's loss has local minima inside the box of valid
inputs, where more steps do not move an input out of a wrong class (iris' BN MLP: 5-16 of 150
inputs, from different noise, on one wrong-class point at the 2k cap; with restarts every seed
stops at fidelity >= 0.99).  A batch whose hits keep rising until it meets the rule never
restarts, so its inputs are those of the rule alone.

``settings_for(input_shape)`` derives the settings from the teacher's input instead of a
fixed table: the nearest preset is the starting point and jitter, flips, priors and the
learning rate follow the input's size, channels and value range.
"""
from __future__ import annotations

import dataclasses
import inspect
import logging
import math
import time

import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

from synth.choices import AMORTIZED_REFINE, SEQUENCE_AMORTIZED
from synth.config import (Config, check_batch_size, check_choice, check_range, short_repr,
                          shown_below)
from synth.device import borrowed, module_device, pick_device
from synth.errors import UserError
from synth.models import batchnorm_layers
from synth.modes import module_modes, restore_modes
from synth.train import lr_factor

log = logging.getLogger(__name__)


MAX_LOSS_WEIGHT = 1e6   # a loss weight (or temperature): finite; inf made every image NaN
TARGETS = ("onehot", "dirichlet")   # InversionConfig.targets
MAX_DIRICHLET_SCALES = 16          # InversionConfig.dirichlet_beta: at most this many scales
DIRICHLET_FLOOR = 1e-4             # added to every concentration (Dir needs them > 0; the
                                   # least similar class's min-max similarity is 0)
DIRICHLET_DRAWS = 100              # draws of a target whose argmax is not its class, at most
MAX_IMAGES_IN_MEMORY = 1_000_000   # images one process synthesizes and holds (prune, continual,
                                   # distill --data-free); sharded `nnsynth invert` takes more


@dataclasses.dataclass(frozen=True)
class InversionConfig(Config):
    iterations: int = 2000            # maximum per batch (the paper's 2k)
    batch_size: int = 256
    lr: float = 0.1                   # Adam on pixels
    betas: tuple = (0.5, 0.9)
    warmup_iterations: int = 0
    schedule: str = "cosine"          # cosine | constant
    ce_weight: float = 1.0
    bn_weight: float = 1.0            # a_f, Eq. 2
    first_bn_multiplier: float = 10.0
    tv_l1_weight: float = 0.0
    tv_l2_weight: float = 1e-4
    l2_weight: float = 1e-5
    adi_weight: float = 0.0           # a_c, Eq. 8; used only when a student is given
    adi_temperature: float = 3.0      # ANCHORS: T = 3
    jitter: int = 2                   # pixels, random roll each step
    flip: bool = False
    lowres_iterations: int = 0        # first phase at 1/lowres_factor resolution
    lowres_factor: int = 2
    early_stop: bool = True
    check_every: int = 25             # host syncs happen only here
    min_iterations: int = 100
    stop_fidelity: float = 0.99       # fraction of the batch the teacher must assign to its
                                      # target (``allowed_misses``: at least one miss tolerated
                                      # where it keeps the batch above min_fidelity; 1.0: none)
    stop_tolerance: float = 0.02      # relative loss decrease per check window below which we stop
    min_fidelity: float = 0.95        # below this at the end: a warning (``fidelity_warning``)
    restart_patience: int = 8         # checks without a new hit, while the batch misses more
                                      # inputs than the stopping rule tolerates, before those
                                      # inputs are drawn again from noise (``restart_missed``);
                                      # 0: never.  A ReLU teacher's loss has local minima
                                      # inside the box of valid inputs: iris' BN MLP held 5-16
                                      # of 150 inputs on one wrong-class point to the 2k cap
    device: str = "auto"
    # "amortized": train a generator with this objective, then sample it (synth.amortized);
    # ``amortized`` holds its AmortizedConfig fields (validated there)
    method: str = "deepinversion"
    amortized: dict | None = None
    # a set (or a pair's shard) whose fidelity the method leaves below ``min_fidelity`` is made
    # again by the other and the better of the two kept (``synth.synthesis.method_fallback``):
    # after a generator per pixel (DeepInversion from noise); after per-pixel inversion the
    # generator ``amortized`` names (none named: no fallback).  ``settings_for`` turns it on
    # where it picks the method itself; a method asked for by name keeps its inputs
    fallback: bool = False
    # sequences of a left-padded set: real lengths in steps, [shortest, ..., longest] at equal
    # steps of probability (``settings_for``: the set's [shortest, longest], i.e. uniform; its
    # training deciles, metadata "length_quantiles", may be given); each synthesized input
    # gets a length drawn from them and zeros before it (``padded_bounds``).  None: every
    # input spans all steps
    lengths: list | None = None
    # the cross-entropy's targets (L_CE of Eq. 2): "onehot" -- the target class;
    # "dirichlet" -- Zero-Shot KD's data impressions (Nayak et al., ICML 2019, Sec. 3.2-3.3):
    # each input's target is a softmax vector y ~ Dir(beta * c_k + 1e-4), c_k its class k's row
    # of the class-similarity matrix of the teacher's last Linear layer (``class_similarity``),
    # drawn until its argmax is k (``dirichlet_targets``), and the teacher's softmax at
    # ``target_temperature`` is fit to it (cross-entropy with the soft target), the BN and
    # prior terms unchanged.  ``dirichlet_beta``: the scales beta, each taking an equal
    # share of every batch (the paper: 1.0 and 0.1, half the inputs each; temperature 20).
    # Fidelity and the stopping rule still ask that the teacher's argmax be the class.
    # Per pixel only (not the generator).  Not a default: on convnet_digits/digits T 20 cost
    # 5.0 pt of student accuracy and T 3 moved it +0.45 (4 sets x 2 students, within noise;
    # benchmarks/results/inversion_any_hard.md)
    targets: str = "onehot"
    dirichlet_beta: tuple = (1.0, 0.1)
    target_temperature: float = 20.0

    def validate(self) -> None:
        check_range("iterations", self.iterations, 1, 1_000_000, integer=True)
        check_batch_size("batch_size", self.batch_size)
        check_range("lr", self.lr, 0, 10, low_open=True)
        if len(self.betas) != 2 or not all(0 <= b < 1 for b in self.betas):
            raise UserError(f"betas must be two numbers in [0, 1), got {short_repr(self.betas)}")
        check_range("warmup_iterations", self.warmup_iterations, 0, self.iterations, integer=True)
        check_choice("schedule", self.schedule, ("cosine", "constant"))
        for name in ("ce_weight", "bn_weight", "first_bn_multiplier", "tv_l1_weight",
                     "tv_l2_weight", "l2_weight", "adi_weight"):
            check_range(name, getattr(self, name), 0, MAX_LOSS_WEIGHT)
        check_range("adi_temperature", self.adi_temperature, 0, MAX_LOSS_WEIGHT, low_open=True)
        check_range("jitter", self.jitter, 0, 1000, integer=True)
        check_range("lowres_iterations", self.lowres_iterations, 0, self.iterations, integer=True)
        check_range("lowres_factor", self.lowres_factor, 1, 16, integer=True)
        check_range("check_every", self.check_every, 1, None, integer=True)
        check_range("min_iterations", self.min_iterations, 0, None, integer=True)
        check_range("restart_patience", self.restart_patience, 0, 1_000_000, integer=True)
        check_range("stop_fidelity", self.stop_fidelity, 0, 1)
        check_range("stop_tolerance", self.stop_tolerance, 0, 1)
        check_range("min_fidelity", self.min_fidelity, 0, 1)
        check_choice("method", self.method, ("deepinversion", "amortized"))
        check_lengths(self.lengths)
        check_choice("targets", self.targets, TARGETS)
        beta = self.dirichlet_beta
        if not (isinstance(beta, (list, tuple)) and 1 <= len(beta) <= MAX_DIRICHLET_SCALES
                and all(isinstance(b, (int, float)) and not isinstance(b, bool)
                        and math.isfinite(b) and 0 < b <= MAX_LOSS_WEIGHT for b in beta)):
            raise UserError(f"dirichlet_beta must be 1 to {MAX_DIRICHLET_SCALES} numbers in "
                            f"(0, {MAX_LOSS_WEIGHT:g}] (the Dirichlet concentration scales), "
                            f"got {short_repr(beta)}")
        check_range("target_temperature", self.target_temperature, 0, MAX_LOSS_WEIGHT,
                    low_open=True)
        if self.targets != "onehot" and self.method == "amortized":
            raise UserError(f"targets {self.targets!r} is for per-pixel inversion (method "
                            f"'deepinversion'); the generator (method 'amortized') fits "
                            f"one-hot targets")
        if self.amortized is not None and not isinstance(self.amortized, dict):
            raise UserError(f"amortized must be a mapping of generator settings, got "
                            f"{short_repr(self.amortized)}")

    @classmethod
    def preset(cls, name: str, **overrides) -> "InversionConfig":
        """``mnist28`` (1x28x28), ``cifar32`` (3x32x32), ``imagenet224`` (3x224x224),
        ``tabular`` (feature vectors); ``settings_for`` adapts one to a teacher's input."""
        if name not in PRESETS:
            raise UserError(f"unknown inversion preset {short_repr(name)}; known: {', '.join(PRESETS)}")
        values = dict(PRESETS[name])
        cap_phases(values, overrides)   # as settings_for does: a preset's 100-iteration
        return cls.from_dict({**values, **overrides})   # warm-up within iterations 10


PRESETS: dict[str, dict] = {
    # Digits are not mirror-symmetric: no flips.  Jitter +-2 px as at 32x32 (ANCHORS).
    "mnist28": dict(iterations=2000, batch_size=256, lr=0.1, jitter=2, flip=False,
                    bn_weight=1.0, first_bn_multiplier=10.0, tv_l2_weight=1e-4, l2_weight=1e-5),
    # CIFAR protocol of the paper: 2k iterations, batch 256, jitter 2, flips.
    "cifar32": dict(iterations=2000, batch_size=256, lr=0.1, jitter=2, flip=True,
                    bn_weight=1.0, first_bn_multiplier=10.0, tv_l2_weight=1e-4, l2_weight=1e-5),
    # ImageNet: jitter 30, flips, 2k iterations at 112 px then 1k at 224 (multi-resolution).
    "imagenet224": dict(iterations=3000, batch_size=64, lr=0.25, jitter=30, flip=True,
                        lowres_iterations=2000, lowres_factor=2, warmup_iterations=100,
                        bn_weight=0.01, first_bn_multiplier=10.0, tv_l1_weight=0.0,
                        tv_l2_weight=1e-4, l2_weight=1e-5, min_iterations=500),
    # Feature vectors (MLPs with BatchNorm1d): no spatial prior, no jitter or flips.
    "tabular": dict(iterations=2000, batch_size=256, lr=0.1, jitter=0, flip=False,
                    bn_weight=1.0, first_bn_multiplier=10.0, tv_l2_weight=0.0, l2_weight=1e-5),
}
# Sequence teachers whose first BN layer normalizes the channels of a Conv1d (``settings_for``):
# a roll along time of up to this fraction of the steps (the images' 2 px of 28), and this
# weight on the TV prior along time
SEQUENCE_JITTER = 2 / 28
SEQUENCE_TV_L2 = 1e-4
PRESET_SIZES = {"mnist28": (1, 28, 28), "cifar32": (3, 32, 32), "imagenet224": (3, 224, 224)}
REFERENCE_BN_LAYERS = 4     # LeNet-5-BN, the teacher the presets were tuned on
REFERENCE_SPAN = 1 / 0.3083  # normalized width of an mnist5k pixel's valid range, 1 / std
# Smallest image side (px) at which an MLP teacher is inverted through a generator
# (``settings_for``): its output is built from a quarter of the side by upsampling convolutions
AMORTIZED_MIN_SIDE = 16
# Generator samples of a teacher with only convolution-channel BN are refined per pixel, from a
# generator of 32 channels: AMORTIZED_REFINE (synth.choices, where the CLI's help reads it)
# ... and with at least this many BN layers, each batch the generator makes must match the BN
# statistics on its own (``bn_momentum`` 0) instead of blended with the batches before it
PER_BATCH_BN_MIN_LAYERS = 4


def as_teacher(model: nn.Module, input_shape, num_classes: int | None = None) -> nn.Module:
    """Any ``nn.Module`` with BatchNorm layers (a model not built by nnsynth: torchvision's,
    your own) made invertible: ``input_shape`` (C, H, W) for images, (C, L) for sequences or
    (F,) for feature vectors, and ``num_classes`` (when not given, the width of its output for one input of
    zeros, in eval mode; when given, checked against it), recorded on ``model`` as nnsynth's
    own models carry them.  Returns
    ``model`` itself; its inputs are in the normalized units its training used.  A model
    whose BatchNorm layers all still hold their initial statistics (``initial_statistics``)
    is logged as one warning line."""
    from synth.models import check_shape
    shape = tuple(input_shape) if isinstance(input_shape, (tuple, list, torch.Size)) else None
    if shape is None or len(shape) not in (1, 2, 3):
        raise UserError(f"input_shape must be (C, H, W) for images, (C, L) for sequences or "
                        f"(F,) for feature vectors, got {short_repr(input_shape)}")
    if isinstance(num_classes, int) and not isinstance(num_classes, bool) and num_classes == 1:
        raise UserError(one_logit("num_classes is 1"))
    check_shape(list(shape), 2 if num_classes is None else num_classes, "teacher")
    modes = module_modes(model)
    used = set()   # the BatchNorm layers the eval-mode forward pass runs
    handles = [m.register_forward_hook(lambda m, i, o: used.add(id(m)))
               for m in batchnorm_layers(model)]
    try:   # run once, also where num_classes is given: the output must be logits
        model.eval()
        with torch.no_grad():
            param = next(iter(model.parameters()), None)
            x = torch.zeros((1,) + tuple(int(v) for v in shape),
                            device=param.device if param is not None else "cpu")
            out = model(x)
    except Exception as e:
        raise UserError(f"the model does not take one input of shape {tuple(shape)}: "
                        f"{type(e).__name__}: {str(e)[:200]}") from None
    finally:
        restore_modes(modes)
        for h in handles:
            h.remove()
    if handles and not used:
        raise UserError(unused_batchnorm(len(handles)))
    if not torch.is_tensor(out) or out.dim() != 2 or out.shape[0] != 1:
        raise UserError(f"the model must return logits of shape (batch, classes), got "
                        f"{tuple(out.shape) if torch.is_tensor(out) else type(out).__name__}")
    if num_classes is None and out.shape[1] == 1:
        raise UserError(one_logit("the model returns one logit per input"))
    shape, num_classes = check_shape(list(shape), int(out.shape[1]) if num_classes is None
                                     else num_classes, "teacher")
    if num_classes != out.shape[1]:
        raise UserError(f"num_classes is {num_classes} but the model returns {out.shape[1]} "
                        f"logits per input")
    model.input_shape, model.num_classes = tuple(shape), int(num_classes)
    check_teacher(model)
    untrained = initial_statistics(model)
    if untrained:   # a set made against N(0, 1) looks fine: said once, here
        log.warning(untrained)
    return model


def one_logit(what: str) -> str:
    """Why a single-logit (sigmoid) binary classifier is not a teacher, and the wrapper that
    makes it one."""
    return (f"teacher: {what}, but inversion needs one logit per class (at least 2): for a "
            f"binary classifier with one logit z, wrap it to return "
            f"torch.cat([torch.zeros_like(z), z], 1) (softmax of (0, z) is sigmoid(z) for "
            f"class 1)")


def teacher_shape(teacher: nn.Module) -> tuple:
    """The input shape a teacher records; a model without one (not built by nnsynth) is
    named with the call that gives it one."""
    shape = getattr(teacher, "input_shape", None)
    if shape is None or not isinstance(getattr(teacher, "num_classes", None), int):
        raise UserError(f"teacher {type(teacher).__name__} records no input_shape and "
                        f"num_classes (a model not built by nnsynth): give them with "
                        f"synth.inversion.as_teacher(model, input_shape=(C, H, W))")
    shape = tuple(int(v) for v in shape)
    if len(shape) not in (1, 2, 3):
        raise UserError(f"teacher must take images (C, H, W), sequences (C, L) or feature "
                        f"vectors (F,), got input_shape {shape}")
    return shape


# Families with no BatchNorm option: nothing DeepInversion can invert (check_teacher)
NO_BN_FAMILIES = {"lstm": "stacked LSTM", "hlstm": "H-LSTM", "lm": "language model"}


def retrain_advice(teacher: nn.Module) -> str:
    """How to get a teacher DeepInversion can invert in place of ``teacher`` (one without
    BatchNorm): train its spec again with ``"bn": true`` (a BatchNorm family for a recurrent
    one, which has no such option)."""
    import json
    spec = getattr(teacher, "spec", None) or {}
    if spec.get("family") == "lm":   # a language model over tokens: nothing to invert into
        return ("DeepInversion synthesizes inputs of a classifier with BatchNorm; a language "
                "model takes token ids (evaluate it with nnsynth eval, price it with nnsynth "
                "hwsim eval)")
    if spec.get("family") in NO_BN_FAMILIES:
        return ("train a family with BatchNorm to invert (convnet1d, or mlp with bn=true, on "
                "sequences)")
    if spec.get("bn") is False:
        text = json.dumps({**spec, "bn": True})
        if len(text) <= 200:
            return f"train its spec with \"bn\": true to invert (nnsynth train --model '{text}')"
    return "train a model with bn=true to invert (e.g. nnsynth train --model lenet5_bn)"


def check_batchnorm(teacher: nn.Module, name: str = "", instead: str = "") -> None:
    """``check_teacher``'s first check, for a caller that wants it before its own work (the
    rest runs where the teacher is inverted): a teacher without BatchNorm layers is one line
    beginning with ``name``, ending with ``instead`` -- what the caller's command can do with
    that teacher (its options that need no inversion) -- else ``retrain_advice``."""
    if not batchnorm_layers(teacher):
        family = (getattr(teacher, "spec", None) or {}).get("family")
        what = (f"the teacher's family {family} ({NO_BN_FAMILIES[family]})"
                if family in NO_BN_FAMILIES else "teacher")
        raise UserError(f"{name + ': ' if name else ''}{what} has no BatchNorm layers: "
                        f"DeepInversion needs their running statistics; "
                        f"{instead or retrain_advice(teacher)}")


def check_teacher(teacher: nn.Module, name: str = "", instead: str = "") -> None:
    """What any inversion needs of a teacher: BatchNorm layers (``check_batchnorm``) that
    keep running statistics (they are the data's, Eq. 4; not ``track_running_stats=False``),
    a recorded input shape and class count (``teacher_shape``), and statistics that can be
    some data's (``statistics_problem``: finite, variances not negative).  ``name`` (e.g.
    "--model m.pt", the file the caller read it from) begins the message; ``instead`` ends
    the one of a teacher without BatchNorm (``check_batchnorm``)."""
    where = f"{name}: " if name else ""
    check_batchnorm(teacher, name, instead)
    blind = [n for n, m in teacher.named_modules()
             if isinstance(m, nn.modules.batchnorm._BatchNorm)
             and (m.running_mean is None or m.running_var is None)]
    if blind:   # track_running_stats=False: no statistics of the data to match (Eq. 4)
        raise UserError(f"{where}teacher's BatchNorm layer {blind[0]!r}"
                        f"{f' (and {len(blind) - 1} more)' if len(blind) > 1 else ''} keeps no "
                        f"running statistics (track_running_stats=False): DeepInversion needs "
                        f"the running mean and variance of the data it was trained on")
    try:
        teacher_shape(teacher)
    except UserError as e:
        if not name:
            raise
        raise UserError(f"{where}{e}") from None
    problem = statistics_problem(teacher)
    if problem:   # statistics, but not the data's: a set made against them looks fine
        raise UserError(f"{where}{problem}")


def statistics_problem(teacher: nn.Module) -> str | None:
    """Why the running statistics of the teacher's BatchNorm layers cannot be any data's (one
    line), or None: a running mean or variance that is NaN or infinite, or a negative
    variance (a diverged training, buffers written by hand).  Eq. 4 matches them: the inputs
    came out NaN behind a "raise the iteration cap" warning."""
    for name, m in running_layers(teacher):
        mean, var = m.running_mean.detach(), m.running_var.detach()
        if not (bool(torch.isfinite(mean).all()) and bool(torch.isfinite(var).all())):
            return (f"teacher's BatchNorm layer {name!r} has NaN or infinite running "
                    f"statistics (a diverged training?): DeepInversion matches them, so its "
                    f"inputs would be NaN; retrain the teacher or load its trained "
                    f"running_mean and running_var")
        if bool((var < 0).any()):
            return (f"teacher's BatchNorm layer {name!r} has a negative running variance "
                    f"(min {float(var.min()):.3g}): not statistics of any data; load the "
                    f"teacher's trained running_mean and running_var")
    return None


def initial_statistics(teacher: nn.Module) -> str | None:
    """One line where every BatchNorm layer of the teacher still holds its initial running
    statistics (mean 0, variance 1 in every channel), else None: a model trained in eval
    mode only, buffers a ``load_state_dict(strict=False)`` left out, or one never trained.
    Eq. 4 then matches N(0, 1), not the data: a convnet on digits trained in eval mode (95%
    test) gave inputs of fidelity 1.0 with no warning, its BN term 31 -> 16 where a trained
    one ends below 1.  Said by ``as_teacher`` (a model nnsynth did not train), not refused:
    an untrained teacher is a fast stand-in where only settings or refusals matter."""
    layers = running_layers(teacher)
    if not layers or not all(bool((m.running_mean.detach() == 0).all())
                             and bool((m.running_var.detach() == 1).all()) for _, m in layers):
        return None
    which = (f"BatchNorm layer {layers[0][0]!r} still holds its" if len(layers) == 1
             else f"{len(layers)} BatchNorm layers all still hold their")
    return (f"teacher's {which} initial running statistics (mean 0, variance 1 in every "
            f"channel), not its data's: it never ran in training mode on data (trained in "
            f"eval mode, or running_mean/running_var not loaded), so inputs inverted from it "
            f"match N(0, 1), not the data; train it in train() mode or load its trained "
            f"buffers")


def running_layers(teacher: nn.Module) -> list:
    """(name, layer) of the teacher's BatchNorm layers that keep running statistics."""
    return [(n, m) for n, m in teacher.named_modules()
            if isinstance(m, nn.modules.batchnorm._BatchNorm)
            and torch.is_tensor(m.running_mean) and torch.is_tensor(m.running_var)]


def batchnorm_order(teacher: nn.Module, shape) -> list:
    """The teacher's BatchNorm layers in the order its eval-mode forward pass runs them (once
    each), from one input of zeros of ``shape``: the registration order of
    ``batchnorm_layers`` need not be it (a head defined before the features), and the
    hooks' first layer (``first_bn_multiplier``) is the first run.  Registration order where
    the forward pass fails."""
    return [m for m, _ in batchnorm_inputs(teacher, shape)]


def batchnorm_inputs(teacher: nn.Module, shape) -> list:
    """(layer, dimensions of its input) for the teacher's BatchNorm layers in the order its
    eval-mode forward pass runs them (``batchnorm_order``): 2 for a layer after a dense layer
    (per-feature statistics), 3 for one over the channels of a Conv1d (N, C, L), 4 over those
    of a Conv2d.  Registration order, dimensions None, where the forward pass fails."""
    layers = batchnorm_layers(teacher)
    order: list = []
    handles = [m.register_forward_hook(lambda m, i, o: order.append(
        (m, i[0].dim() if torch.is_tensor(i[0]) else None)) if all(
        m is not seen for seen, _ in order) else None) for m in layers]
    modes = module_modes(teacher)
    try:
        teacher.eval()
        with torch.no_grad():
            teacher(torch.zeros((1,) + tuple(shape), device=module_device(teacher)))
    except Exception:   # the inversion itself will say what is wrong with the teacher
        return [(m, None) for m in layers]
    finally:
        restore_modes(modes)
        for h in handles:
            h.remove()
    return order or [(m, None) for m in layers]


def preset_for(input_shape) -> str:
    """The preset nearest to ``input_shape``: ``tabular`` for feature vectors and sequences
    (C, L) (the starting point; ``settings_for`` adds a roll and TV along time for a Conv1d-BN
    teacher), else the image preset closest in (log) side length, channels breaking ties."""
    shape = tuple(int(v) for v in input_shape)
    if len(shape) != 3:
        return "tabular"
    c, h, w = shape
    side = math.sqrt(h * w)
    return min(PRESET_SIZES, key=lambda k: (abs(math.log(side / PRESET_SIZES[k][1])),
                                            PRESET_SIZES[k][0] != c))


def preset_note(name: str, input_shape, given: bool = False) -> str | None:
    """One line where the image preset ``name`` is one for another number of channels than
    the teacher's input (an image preset's name says its side only: ``cifar32`` reported for
    a 1x32x32 teacher read as if its inputs had 3 channels), else None: the preset is the
    starting point ``settings_for`` adapts to the input, not the input's own preset.
    ``given``: the caller named it (else it is ``preset_for``'s, the nearest by side)."""
    size, shape = PRESET_SIZES.get(name), tuple(int(v) for v in input_shape)
    if size is None or len(shape) != 3 or size[0] == shape[0]:
        return None
    how = "the starting point" if given else "the nearest starting point (by image side)"
    return (f"{name} is {how}, a preset for {size[0]}-channel {size[1]}x{size[2]} images: its "
            f"settings were adapted to the teacher's {'x'.join(map(str, shape))} inputs")


def settings_for(teacher, preset: str | None = None, *, flip: bool = False,
                 value_range: tuple | None = None, **overrides) -> InversionConfig:
    """Inversion settings that follow the teacher (the one place that maps a teacher or an
    input shape to settings; every command calls it).  ``teacher`` is a model (its
    ``input_shape`` and BatchNorm layers are read) or just an input shape.

    The starting point is ``preset`` (default: ``preset_for(input_shape)``); what depends on
    the input is then scaled from the preset's own size to this one:

    * jitter (px) in proportion to the shorter side (a roll moves both axes by up to the
      same amount), rounded *down* (+-2 px at 28-32 px, +-30 at 224, as in the paper): a
      roll is never a larger fraction of the image than the preset's (7% of the side).  At 8x8 that is 0.57 px, so none: a 1 px roll there is 12.5%
      of the side, which the teachers themselves do not tolerate (on real 8x8 digits their
      class agrees with the unrolled input's only 55-67% of the time), and with it the
      synthesized inputs taught a student 59-66% instead of 83-90% (benchmarks/results/
      inversion_any.md).  None for feature vectors and for sequences (C, L) whose first BN
      layer follows a dense layer (inverted as C*L features: settings as for those); for
      sequences whose first BN layer normalizes Conv1d channels (statistics averaged over
      time, which a roll keeps) a roll along time of up to ``SEQUENCE_JITTER`` of the steps
      (the images' 2 px of 28: 7 of basicmotions' 100 steps), and a TV prior along time of
      weight ``SEQUENCE_TV_L2``, both by analogy with the images': on ``convnet1d_small``
      teachers of basicmotions, japanesevowels and scp1 (one seed, 200-270 inputs) neither
      the roll (0, 7% or 14% of the steps) nor the TV prior (0 or 1e-4) moved fidelity
      (1.0 in all) or a student's real-test accuracy beyond 5 test inputs.  None where the
      first BN layer follows a dense layer over the whole input (an MLP on images): its
      statistics are those
      of fixed pixel positions, which a roll changes, so no input can match them under jitter
      (a BN MLP on digits: BN term 8 with jitter, 0.4 without);
    * flips only when ``flip=True`` (the user says the data is mirror-invariant: digits and
      text are not), whatever the preset says;
    * TV prior (mean squared neighbour difference) by (side / preset side)^2: neighbour
      differences of a natural image grow as its resolution falls; none for feature vectors;
    * L2 prior (norm of the whole input) by sqrt(preset size / input size), so its pull per
      value does not depend on the input size;
    * Adam's step size by the width of the valid normalized range (``value_range`` = (lo,
      hi), from ``synth.data.input_range``) relative to an mnist pixel's, clipped to
      [0.5x, 2x];
    * the low-resolution phase only for inputs of 64 px and more;
    * the BatchNorm term (a sum over layers, Eq. 4) by ``REFERENCE_BN_LAYERS`` / the teacher's
      BatchNorm layer count when it has more: a ResNet-18's 20 layers would otherwise outweigh
      the cross-entropy that makes the inputs look like their class to the teacher;
    * the x10 on the first BN layer (the first the forward pass runs: ``batchnorm_order``)
      only where that layer normalizes convolution channels (local, low-level statistics,
      as in the reference code); where it follows a dense layer
      of the whole input (an MLP) x10 swamps the cross-entropy (a BN MLP on digits: fidelity
      0.3 instead of 1.0 after 150 iterations), so it is x1 there.
    * the method: a generator (``method="amortized"``, ``synth.amortized``: Fast DFKD's
      meta-learned generator) instead of per-pixel optimization for images of side
      ``AMORTIZED_MIN_SIDE`` px or more where the BN statistics say nothing about the layout
      of a *local* image: (a) the first BN layer follows a dense layer over the pixels (an
      MLP): the teacher has no notion of neighbouring pixels, so inputs optimized pixel by
      pixel against it stay unstructured noise that it labels confidently but that teaches a
      student little; (b) every BN layer normalizes convolution channels (a ResNet, a convnet
      with global pooling): Eq. 4 then constrains only statistics averaged over positions, so
      nothing says where strokes go.  The generator's upsampling convolutions from a coarse
      grid supply the prior the objective lacks.  In (b) its samples are refined by this
      module's loop (``AMORTIZED_REFINE``, from the generator's output without added noise)
      until the teacher recognizes them: alone they reached fidelity 0.91 on a ResNet-8;
      in (a) refining them undid most of the gain (79.8% instead of 89.6%).  In (b) the
      generator has 32 channels instead of 16: +0.4 to +7.4 pt on three such teachers at
      1.0-1.7x the synthesis time in screens of 2 synthesized sets x 2 students; in (a) it
      gained nothing at twice the time.  In the table's rows (one set, 3 students) it moved
      ``resnet8_w8`` +0.7 pt and ``convnet_small`` -2.8 pt, within that row's spread.  A teacher with a
      BN layer after a flatten (LeNet-5-BN: per-position statistics of local features) keeps
      per-pixel inversion (92.9% from generator inputs against 95.2%, 2 seeds).  Students
      of 500 inputs (benchmarks/results/inversion_any.md, LeNet-5-BN-half on mnist5k, 3
      seeds): ``lenet300_100_bn`` 89.3% from the generator against 74.3% per pixel,
      ``resnet8_w8`` 79.4% against 60.0% (62 instead of 97 CPU seconds for 500 inputs),
      ``convnet_small`` 44.9 +- 6.1% against 41.2 +- 1.3%.  At 8x8 the generator has only
      two upsampling stages and did worse (digits, 2 seeds: ``lenet300_100_bn`` 83.7%
      against 86.7%, ``convnet_digits`` 56.5% against ~80%, 47.9% refined).
    * in (b), with ``PER_BATCH_BN_MIN_LAYERS`` BN layers or more, per-batch BN matching in the
      generator (``bn_momentum`` 0: each batch of 64 matches the statistics alone, where
      Fast DFKD blends it with the batches before it at 0.9).  Students of 500 inputs
      (``benchmarks/inversion_screen.py``, 2 synthesis x 2 student seeds, mnist5k): ResNet-8
      width 8 (9 BN layers) 84.3 -> 89.6%, width 16 (9) 67.7 -> 86.1%, a four-layer convnet
      with global pooling 79.5 -> 84.0%; with 2 BN layers ``convnet_small`` fell 57.3 ->
      46.4% (so not there), and an MLP (2 BatchNorm1d layers, case (a)) moved 92.5 -> 92.9%.
      With 3, a three-layer convnet with global pooling, 54.6 -> 55.5% with a far wider
      spread (sd 2.2 -> 8.9; benchmarks/results/inversion_any_hard.md): no gain for its 40%
      more synthesis time, so the line stays at 4.  The choice is
      run by ``synth.synthesis.synthesize_inputs`` (and ``nnsynth invert``); ``synthesize``
      here is always per pixel.
    * for sequences (C, L) whose BN layers all normalize Conv1d channels -- case (b) over
      time: Eq. 4 constrains statistics averaged over the steps only -- per-step inversion,
      with a generator as its ``fallback`` where ``value_range`` is finite (the generator
      squashes into it; a set recording no range has none): ``SEQUENCE_AMORTIZED``, the
      two-layer MLP generator, unrefined, with more redraws of a missed input.  The generator
      was the first method while the benchmark's teachers were undertrained (students of 500
      inputs led per-step ones by 1.2-8.2 pt); with teachers trained as `nnsynth train` trains
      them (its 500-step floor) it led on no Conv1d row: students (2 synthesis x 2 student
      seeds) japanesevowels 97.7% against 98.4% per step, basicmotions 100.0 against 100.0,
      gunpoint 76.3 against 84.4, scp1 71.9 against 71.9 (real inputs 98.0, 100.0, 80.0,
      73.9), at a third of the CPU on scp1's 896 steps (24 s against 78 s).  It stays as the
      fallback: on pickupgesture per-step inversion stopped at fidelity 0.920 and the
      generator reached 0.954 (benchmarks/results/inversion_any.md).  Refined per step as
      images in (b) are, its students fell back to per-step inversion's level, and the
      temporal generator (``sequence_generator="conv1d"``) lost 12.5 pt on basicmotions.  A
      BN MLP on sequences (the first BN layer after a dense layer) has no generator: neither
      gained on all three sets (benchmarks/results/inversion_any_hard.md).
    * ``lengths`` for a sequence teacher whose checkpoint records a left-padded set
      (``padded_lengths``): each input per pixel gets a length drawn uniformly in the set's
      range and zeros (the padding) before it, as the set's short series have.  The BN
      statistics were taken over padded series, and a student meets them at test time: on
      the BN MLP of japanesevowels (lengths 7-29) students of 500 inputs reached 90-95%
      against 59-76% from full-length inputs (2 synthesis x 2 student seeds; real inputs
      99.0%).  A generator pads its samples the same way (``synth.amortized.Generator``: the
      length follows the first latent).
    * where it picks the method, ``fallback``: a set or shard the generator leaves below
      ``min_fidelity`` is made again per pixel (a poorly trained ``convnet1d_small`` on
      gunpoint, 77.5% test, got 0 of 32 inputs of one class from the generator, adapted and
      re-drawn: fidelity 0.50, and 64 of 64 per pixel in 3.7 s of CPU), and one per-step
      inversion leaves there by the generator named above (``synth.synthesis.method_fallback``).

    ``overrides`` (any ``InversionConfig`` field) win over all of this.  An ``iterations`` cap
    among them bounds the preset's phases within it (the low-resolution phase to half the cap,
    the warm-up to a tenth, ``min_iterations`` to the cap) unless those are given too: a cap of
    200 on a 96 px teacher (imagenet224: 2,000 low-resolution iterations) is then a shorter
    run, not a refusal of a setting the caller did not give.  Where the method is a generator
    the cap bounds its phases as well: the refinement named here (``AMORTIZED_REFINE``) and,
    through ``AmortizedConfig.from_inversion``, the warm-up and each batch's adaptation."""
    shape = teacher_shape(teacher) if isinstance(teacher, nn.Module) else tuple(
        int(v) for v in teacher)
    layers, first_dense, first_conv1d, all_conv1d = 0, False, False, False
    if isinstance(teacher, nn.Module):
        seen = batchnorm_inputs(teacher, shape)
        bns = [m for m, _ in seen]
        dim = seen[0][1] if seen else None   # of the first BN layer's input
        layers = len(bns)
        first_dense = bool(bns) and (dim == 2 if dim is not None
                                     else isinstance(bns[0], nn.BatchNorm1d))
        first_conv1d = len(shape) == 2 and dim == 3
        all_conv1d = first_conv1d and all(d == 3 for _, d in seen)
    name = preset or preset_for(shape)
    if name not in PRESETS:
        raise UserError(f"unknown inversion preset {name!r}; known: {', '.join(PRESETS)}")
    if (name == "tabular") != (len(shape) != 3):   # reported as used, the other rules applied
        what = {1: "feature vectors", 2: "sequences"}.get(len(shape), "images")
        fits = "tabular" if len(shape) != 3 else ", ".join(PRESET_SIZES)
        raise UserError(f"inversion preset {name!r} is for "
                        f"{'feature vectors and sequences' if name == 'tabular' else 'images'}; the teacher "
                        f"takes {what} of shape {shape}: give {fits} (or no preset: the "
                        f"nearest to the input)")
    base = dict(PRESETS[name])
    values = dict(base, flip=bool(flip))
    numel = math.prod(shape)
    if len(shape) == 3:
        ref = PRESET_SIZES.get(name, (1, 28, 28))
        ratio = math.sqrt(shape[1] * shape[2]) / ref[1]
        values["jitter"] = 0 if first_dense else math.floor(
            base["jitter"] * min(shape[1:]) / ref[1] + 1e-9)   # a roll moves both axes
        values["tv_l1_weight"] = base.get("tv_l1_weight", 0.0) * ratio ** 2
        values["tv_l2_weight"] = base["tv_l2_weight"] * ratio ** 2
        values["l2_weight"] = base["l2_weight"] * math.sqrt(math.prod(ref) / numel)
        if min(shape[1:]) < 64:
            values["lowres_iterations"] = 0
    else:
        values.update(jitter=0, flip=False, tv_l1_weight=0.0, tv_l2_weight=0.0, lowres_iterations=0)
        if first_conv1d:   # BN over Conv1d channels: statistics averaged over time
            values["jitter"] = math.floor(SEQUENCE_JITTER * shape[1] + 1e-9)
            values["tv_l2_weight"] = SEQUENCE_TV_L2
        if len(shape) == 2:   # a left-padded set: inputs padded as its short series are
            values["lengths"] = padded_lengths(getattr(teacher, "checkpoint_info", None), shape)
    if layers > REFERENCE_BN_LAYERS:
        values["bn_weight"] = base["bn_weight"] * REFERENCE_BN_LAYERS / layers
    if first_dense:
        values["first_bn_multiplier"] = 1.0
    if len(shape) == 3 and min(shape[1:]) >= AMORTIZED_MIN_SIDE:
        if first_dense:
            values.update(method="amortized", fallback=True)
        elif layers and all(isinstance(b, nn.BatchNorm2d) for b in bns):
            amortized = dict(AMORTIZED_REFINE)
            if layers >= PER_BATCH_BN_MIN_LAYERS:
                amortized["bn_momentum"] = 0.0
            values.update(method="amortized", amortized=amortized, fallback=True)
    bounded = False
    if value_range is not None:
        lo, hi = (torch.as_tensor(v, dtype=torch.float32) for v in value_range)
        span = float(torch.median((hi - lo).flatten()))
        if math.isfinite(span) and span > 0:
            values["lr"] = base["lr"] * min(2.0, max(0.5, span / REFERENCE_SPAN))
        bounded = bool(torch.isfinite(lo).all() and torch.isfinite(hi).all() and (hi > lo).all())
    if all_conv1d and bounded:   # the fallback generator squashes into the range: needs one
        values.update(amortized=dict(SEQUENCE_AMORTIZED), fallback=True)
    cap_phases(values, overrides)
    values.update(overrides)
    return InversionConfig.from_dict(values)


def cap_phases(values: dict, overrides: dict) -> None:
    """Where ``overrides`` sets ``iterations`` (a cap of the caller's), lower the phases of
    ``values`` inside it to fit: the low-resolution phase to half, the warm-up to a tenth,
    ``min_iterations`` to the cap, a generator's refinement to the cap (its other phases are
    bounded by ``AmortizedConfig.from_inversion``).  A phase ``overrides`` sets is its own."""
    cap = overrides.get("iterations")
    if not isinstance(cap, int) or isinstance(cap, bool) or cap < 1:
        return
    for field, limit in (("lowres_iterations", cap // 2), ("warmup_iterations", cap // 10),
                         ("min_iterations", cap)):
        default = InversionConfig.__dataclass_fields__[field].default
        values[field] = min(values.get(field, default), limit)
    if "refine_iterations" in (values.get("amortized") or {}):
        values["amortized"] = {**values["amortized"], "refine_iterations": min(
            values["amortized"]["refine_iterations"], cap)}


MAX_LENGTH_QUANTILES = 101   # percentiles 0, 1, ..., 100 at the finest


def check_lengths(lengths) -> None:
    """``lengths`` (InversionConfig's, AmortizedConfig's) is None or real lengths in steps
    at equal steps of probability: [shortest, ..., longest], 2 to ``MAX_LENGTH_QUANTILES``
    integers, non-decreasing, the first >= 1."""
    if lengths is not None and not (
            isinstance(lengths, (list, tuple)) and 2 <= len(lengths) <= MAX_LENGTH_QUANTILES
            and all(isinstance(v, int) and not isinstance(v, bool) for v in lengths)
            and lengths[0] >= 1 and all(a <= b for a, b in zip(lengths, lengths[1:]))):
        raise UserError(f"lengths must be [shortest, ..., longest] real lengths of a "
                        f"left-padded sequence set at equal steps of probability (2 to "
                        f"{MAX_LENGTH_QUANTILES} integers, non-decreasing, the first >= 1), "
                        f"got {short_repr(lengths)}")


def draw_lengths(lengths, steps: int, u: torch.Tensor) -> torch.Tensor:
    """Real lengths (long, in [1, ``steps``]) for ``u`` (values in [0, 1)) by the inverse of
    the piecewise-uniform distribution ``lengths`` = q_0 <= ... <= q_k (equal probability
    1/k between neighbours): u falls in segment i = floor(k u), which gives an integer
    uniform in [q_i, q_{i+1}].  Two values: uniform on [shortest, longest]."""
    q = torch.tensor([max(1, min(int(v), steps)) for v in lengths], device=u.device)
    k = len(q) - 1
    at = u * k
    i = at.floor().long().clamp(0, k - 1)
    low, high = q[i], q[i + 1]
    return (low + ((at - i) * (high - low + 1)).floor().long()).clamp(min=1).minimum(high)


def padding_mask(lengths, steps: int, u: torch.Tensor) -> torch.Tensor:
    """(n, 1, steps) of 1 on the real steps of left-padded inputs whose lengths are drawn
    from ``lengths`` (``draw_lengths``) by ``u`` (n values in [0, 1)), 0 on their padding
    before them."""
    length = draw_lengths(lengths, steps, u)
    live = torch.arange(steps, device=u.device)[None, :] >= (steps - length)[:, None]
    return live[:, None, :]


def padded_lengths(info, shape) -> list | None:
    """[shortest, longest] real length of a sequence teacher's set where the set is
    left-padded (``synth.sequences``: metadata "padding" begins with "left", "lengths" the
    shortest and longest series), from a checkpoint's ``checkpoint_info``; None for an
    equal-length set, a teacher without that record, or a record that does not fit ``shape``.
    Lengths are drawn uniformly in that range, not from the set's recorded deciles
    ("length_quantiles"): on japanesevowels' BN MLP the deciles (median 15 steps, against the
    range's 18) taught students 90.1 +- 4.4% against 92.7 +- 3.7% (3 seeds each, real inputs
    99.0%; benchmarks/results/inversion_any.md) -- uniform draws hold more of the short,
    half-padded series the students miss most.  ``InversionConfig(lengths=...)`` takes them."""
    meta = (info or {}).get("dataset") or {} if isinstance(info, dict) else {}
    lengths, padding = meta.get("lengths"), str(meta.get("padding", ""))
    if (not padding.startswith("left") or not isinstance(lengths, (list, tuple))
            or len(lengths) != 2 or len(shape) != 2):
        return None
    try:
        first, last = (int(v) for v in lengths)
    except (TypeError, ValueError):
        return None
    steps = int(shape[1])
    return [first, steps] if 1 <= first < steps and last == steps else None


def hit_fraction(hits: torch.Tensor) -> float:
    """Fidelity: the fraction of ``hits`` (booleans: the teacher assigns the input to its
    target) that are true, counted exactly; a float32 mean puts 19 of 20 at 0.94999999, below
    a 0.95 threshold."""
    return int(hits.sum()) / max(1, hits.numel())


def allowed_misses(batch: int, config: InversionConfig) -> int:
    """Inputs of a clean batch of ``batch`` that may still miss their target when the stopping
    rule stops: ``floor((1 - stop_fidelity) * batch)``, and at least one where one miss keeps the
    batch at ``min_fidelity`` or above (``batch >= 1 / (1 - min_fidelity)``: 20 inputs at 0.95);
    none when ``stop_fidelity`` is 1."""
    if config.stop_fidelity >= 1:
        return 0
    misses = math.floor((1 - config.stop_fidelity) * batch + 1e-9)
    if (1 - config.min_fidelity) * batch >= 1 - 1e-9:
        misses = max(misses, 1)
    return misses


def fidelity_warning(fidelity: float, min_fidelity: float, iterations=None,
                     classes: dict | None = None) -> str | None:
    """One line when a synthesized set is below ``min_fidelity`` (else None); the fidelity
    and its percentage are shown in enough decimals to read below it (``shown_below``).
    ``classes`` (``class_fidelity``: per target class, by name) adds the classes below
    ``min_fidelity``, the worst first (``classes_below``): a set balanced by target at 0.80
    may be two classes the teacher cannot be made to see, or misses spread over all."""
    if fidelity >= min_fidelity:
        return None
    where = f" with up to {iterations} iterations per batch" if iterations else ""
    percent = shown_below(100 * fidelity, 100 * min_fidelity, 1)
    return (f"inversion reached fidelity {shown_below(fidelity, min_fidelity)}{where} (below "
            f"{min_fidelity:g}): the teacher assigns only {percent}% of the synthesized inputs "
            f"to their target class, so the set is a poor stand-in for its data (raise the "
            f"iteration cap, or check the teacher){classes_below(classes, min_fidelity)}")


# The classes a low-fidelity warning names at most (the worst first); the rest are counted
MAX_CLASSES_NAMED = 5


def class_counts(predicted: torch.Tensor, labels: torch.Tensor, num_classes: int) -> dict:
    """Fidelity per target class, as counts: ``synthesized`` (the inputs made for each class)
    and ``hits`` (how many of those the teacher assigns to it), lists indexed by class.
    Counts, not ratios, so that rounds, shards and resumed sets add up exactly
    (``merge_class_counts``).  A label outside [0, num_classes) (a damaged shard on disk) is
    not counted."""
    labels = torch.as_tensor(labels).flatten().long().cpu()
    hit = torch.as_tensor(predicted).flatten().cpu() == labels
    known = (labels >= 0) & (labels < num_classes)
    return {"synthesized": torch.bincount(labels[known], minlength=num_classes).tolist(),
            "hits": torch.bincount(labels[known & hit], minlength=num_classes).tolist()}


def merge_class_counts(parts) -> dict | None:
    """The ``class_counts`` of several parts of one set (ADI rounds, shards, shards kept
    from an earlier run) as one: counts summed class by class.  None where a part is None
    (its counts unknown) or there is none."""
    parts = list(parts)
    if not parts or any(p is None for p in parts):
        return None
    assert len({len(p["synthesized"]) for p in parts}) == 1, "parts of other class counts"
    return {key: [sum(column) for column in zip(*(p[key] for p in parts))]
            for key in ("synthesized", "hits")}


def class_fidelity(counts: dict | None, class_names=None) -> dict:
    """``class_counts`` by class name (``class_names``: the set's; the class index where none
    fit): ``{name: {"synthesized": n, "hits": h, "fidelity": h / n}}`` in class order, for
    each class an input was made for; empty where ``counts`` is None."""
    if counts is None:
        return {}
    made, hits = counts["synthesized"], counts["hits"]
    names = [str(n) for n in class_names] if class_names is not None and len(
        class_names) == len(made) else [str(c) for c in range(len(made))]
    return {names[c]: {"synthesized": int(made[c]), "hits": int(hits[c]),
                       "fidelity": hits[c] / made[c]} for c in range(len(made)) if made[c]}


def classes_below(classes: dict | None, min_fidelity: float) -> str:
    """``; classes below 0.95: cat (0.10), dog (0.45)`` (``fidelity_warning``'s tail): the
    classes of ``class_fidelity`` whose fidelity is below ``min_fidelity``, the worst first
    (ties in class order), at most ``MAX_CLASSES_NAMED`` named and the rest counted; empty
    where none is (or no classes are given)."""
    low = sorted(((r["fidelity"], i, name) for i, (name, r) in enumerate((classes or {}).items())
                  if r["fidelity"] < min_fidelity), key=lambda t: t[:2])
    if not low:
        return ""
    from synth.files import printable
    # the figure in brackets: a class named by a number ('3 0.00') read as two numbers
    named = ", ".join(f"{printable(name)} ({shown_below(f, min_fidelity, 2)})"
                      for f, _, name in low[:MAX_CLASSES_NAMED])
    more = len(low) - MAX_CLASSES_NAMED
    return f"; classes below {min_fidelity:g}: {named}{f' and {more} more' if more > 0 else ''}"


def teacher_class_names(teacher) -> list[str] | None:
    """The class names a teacher's checkpoint records (``checkpoint_info``'s data set), or
    None where it records none that fit its classes (a module built here, ``as_teacher``)."""
    meta = (getattr(teacher, "checkpoint_info", None) or {}).get("dataset") or {}
    names = meta.get("class_names") if isinstance(meta, dict) else None
    if (not isinstance(names, (list, tuple)) or len(names) != getattr(teacher, "num_classes", -1)
            or not all(isinstance(n, str) for n in names)):
        return None
    return list(names)


# Above this fraction of synthesized inputs that keep their class with the halves swapped,
# ``layout_warning`` speaks (benchmarks/results/inversion_layout.md, 500 inputs per teacher:
# 0.866 and 0.958 on the two teachers whose students fell 12.6 and 31.5 pt short of
# real-input ones, 0.100-0.708 on the seven others).
LAYOUT_KEPT_WARN = 0.8


def swap_halves(x: torch.Tensor) -> torch.Tensor:
    """Images (N, C, H, W) with their top and bottom halves swapped (the layout probe)."""
    h = x.shape[2] // 2
    return torch.cat([x[:, :, h:], x[:, :, :h]], 2)


def layout_kept(teacher: nn.Module, images: torch.Tensor, batch: int = 512,
                predicted: torch.Tensor | None = None) -> float | None:
    """Fraction of ``images`` (N, C, H, W) to which ``teacher`` gives the same class after
    swapping their top and bottom halves: how little its decision depends on where things
    are.  Data-free (run on the synthesized inputs themselves); None for feature vectors and
    inputs of fewer than 2 rows.  ``predicted``: the teacher's classes of ``images`` where the
    caller has them already (one pass over the set fewer)."""
    if images.dim() != 4 or images.shape[2] < 2 or not len(images):
        return None
    device = next(teacher.parameters()).device
    kept, start = 0, 0
    with torch.no_grad():
        for part in images.split(batch):
            part = part.to(device)
            mine = (teacher(part).argmax(1) if predicted is None
                    else predicted[start:start + len(part)].to(device))
            kept += int((mine == teacher(swap_halves(part)).argmax(1)).sum())
            start += len(part)
    return kept / len(images)


def layout_warning(kept: float | None, threshold: float = LAYOUT_KEPT_WARN) -> str | None:
    """One line when the teacher keeps the class of more than ``threshold`` of its synthesized
    inputs with their halves swapped (``layout_kept``), else None."""
    if kept is None or kept <= threshold:
        return None
    return (f"the teacher keeps its class on {100 * kept:.0f}% of the synthesized inputs with "
            f"their top and bottom halves swapped: its decisions (and BatchNorm statistics) say "
            f"little about where things are, so these inputs carry little layout, and a student "
            f"distilled on them may fall far short of one trained on real data "
            f"(benchmarks/results/inversion_layout.md)")


def layout_report(teacher: nn.Module, images: torch.Tensor,
                  predicted: torch.Tensor | None = None) -> dict:
    """``layout_kept`` of a synthesized set, and its ``layout_warning`` where there is one, as
    the summaries of ``nnsynth invert`` and the pipeline's synthesis stage report them (empty
    for feature vectors)."""
    kept = layout_kept(teacher, images, predicted=predicted)
    if kept is None:
        return {}
    warning = layout_warning(kept)
    return {"layout_kept": round(kept, 4), **({"layout_warning": warning} if warning else {})}


@dataclasses.dataclass
class InversionResult:
    images: torch.Tensor              # (N, *input_shape), normalized like the teacher's data set
    labels: torch.Tensor              # (N,) target classes
    teacher_confidence: torch.Tensor  # (N,) teacher softmax probability of the target
    losses: torch.Tensor              # (N,) final per-image loss (CE + priors + ADI term)
    stats: dict                       # iterations, bn_loss_initial/final, fidelity, seconds...
    targets: torch.Tensor | None = None   # (N, K) soft targets (``targets="dirichlet"``), else None

    @property
    def fidelity(self) -> float:
        return float(self.stats["fidelity"])


# --------------------------------------------------------------------------- loss terms
def batch_statistics(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(mean, biased variance) of a BatchNorm layer's input per channel: over all dims but 1."""
    var, mean = torch.var_mean(x, dim=[0] + list(range(2, x.dim())), unbiased=False)
    return mean, var


def bn_statistics_gap(x: torch.Tensor, running_mean: torch.Tensor,
                      running_var: torch.Tensor, statistics=None) -> torch.Tensor:
    """Eq. 4 for one layer: ||mu - mu_run||_2 + ||var - var_run||_2, with (mu, var) the
    ``batch_statistics`` of ``x`` unless given as ``statistics``."""
    mean, var = statistics if statistics is not None else batch_statistics(x)
    return (torch.linalg.vector_norm(mean - running_mean)
            + torch.linalg.vector_norm(var - running_var))


def total_variation(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-image TV: (L1 form, L2 form) = mean |d| and mean d^2 over horizontal plus vertical
    neighbour differences d; for sequences (N, C, L) over neighbouring steps only."""
    dh = x[..., :, 1:] - x[..., :, :-1]
    if x.dim() == 3:
        return dh.abs().flatten(1).mean(1), dh.square().flatten(1).mean(1)
    dv = x[..., 1:, :] - x[..., :-1, :]
    l1 = dh.abs().flatten(1).mean(1) + dv.abs().flatten(1).mean(1)
    l2 = dh.square().flatten(1).mean(1) + dv.square().flatten(1).mean(1)
    return l1, l2


def js_divergence(teacher_logits: torch.Tensor, student_logits: torch.Tensor,
                  temperature: float = 3.0, clamp: tuple[float, float] = (0.01, 0.99)) -> torch.Tensor:
    """Per-sample Jensen-Shannon divergence (nats, in [0, ln 2]) of the tempered softmaxes;
    probabilities are clamped to ``clamp`` (ANCHORS) and renormalized."""
    def probs(logits):
        p = F.softmax(logits / temperature, dim=1).clamp(*clamp)
        return p / p.sum(1, keepdim=True)
    p, q = probs(teacher_logits), probs(student_logits)
    m = 0.5 * (p + q)
    kl = lambda a: (a * (a.log() - m.log())).sum(1)  # noqa: E731
    return 0.5 * kl(p) + 0.5 * kl(q)


def competition_loss(teacher_logits, student_logits, temperature: float = 3.0) -> torch.Tensor:
    """ADI Eq. 8 per sample: 1 - JS; in [1 - ln 2, 1], lowest where teacher and student disagree."""
    return 1.0 - js_divergence(teacher_logits, student_logits, temperature)


def class_similarity(teacher: nn.Module) -> torch.Tensor:
    """Zero-Shot KD's class-similarity matrix (Nayak et al., ICML 2019, Sec. 3.2): the cosine
    similarity of the class weight vectors (rows) of the teacher's last Linear layer, the one
    its forward pass runs last, each row min-max normalized to [0, 1] (its own class 1, the
    least similar 0).  (K, K) float32 on the CPU.  A teacher whose last layer run is not a
    Linear layer with one output per class is refused in one line."""
    shape = teacher_shape(teacher)
    ran: list = []
    handles = [m.register_forward_hook(lambda m, i, o: ran.append(m))
               for m in teacher.modules() if isinstance(m, nn.Linear)]
    modes = module_modes(teacher)
    try:
        teacher.eval()
        with torch.no_grad():
            teacher(torch.zeros((2,) + shape, device=module_device(teacher)))
    finally:
        restore_modes(modes)
        for h in handles:
            h.remove()
    last = ran[-1] if ran else None
    if last is None or last.out_features != teacher.num_classes:
        what = ("runs no Linear layer" if last is None
                else f"runs last a Linear layer of {last.out_features} outputs")
        raise UserError(f"targets 'dirichlet' needs the teacher's class weights: a last Linear "
                        f"layer with one output per class ({teacher.num_classes}); the teacher "
                        f"{what}")
    w = F.normalize(last.weight.detach().float().cpu(), dim=1)
    sim = w @ w.T
    low, high = sim.amin(1, keepdim=True), sim.amax(1, keepdim=True)
    span = high - low
    return torch.where(span > 1e-12, (sim - low) / span.clamp_min(1e-12), torch.ones_like(sim))


def dirichlet_targets(similarity: torch.Tensor, labels: torch.Tensor, betas,
                      gen: torch.Generator) -> torch.Tensor:
    """Soft targets (N, K) for ``labels`` (N,), Zero-Shot KD's data impressions (Nayak et al.
    2019, Sec. 3.3): input i of class k gets y ~ Dir(beta * c_k + ``DIRICHLET_FLOOR``), c_k the
    row k of ``similarity`` (``class_similarity``), beta the scale of its share of the batch
    (``betas`` in equal, contiguous shares, in order).  A draw whose argmax is not k is drawn
    again (up to ``DIRICHLET_DRAWS`` times; then its largest entry and k's are swapped), so
    the target's class is the argmax of its soft target, as fidelity counts it.  Seeded by
    ``gen`` (the global generator is left as it was)."""
    labels = labels.cpu()
    n = len(labels)
    scale = torch.tensor([float(betas[i * len(betas) // n]) for i in range(n)],
                         dtype=torch.float64)
    alpha = scale[:, None] * similarity.double()[labels] + DIRICHLET_FLOOR
    seed = int(torch.randint(0, 2 ** 62, (1,), generator=gen))
    y = torch.zeros_like(alpha)
    redraw = torch.ones(n, dtype=torch.bool)   # rows whose draw is not yet of their class
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        for _ in range(DIRICHLET_DRAWS):
            draw = torch.distributions.Dirichlet(alpha[redraw]).sample()
            y[redraw] = draw
            redraw &= ~(torch.isfinite(y).all(1) & (y.argmax(1) == labels))
            if not redraw.any():
                break
    y = torch.where(torch.isfinite(y), y, torch.zeros_like(y))
    for i in torch.nonzero(redraw).flatten().tolist():   # swap the largest entry into place
        k, top = int(labels[i]), int(y[i].argmax())
        y[i, k], y[i, top] = y[i, top].clone(), y[i, k].clone()
        if float(y[i].sum()) <= 0:
            y[i, k] = 1.0
    return (y / y.sum(1, keepdim=True)).float()


def unused_batchnorm(layers: int) -> str:
    """The refusal of a teacher whose eval-mode forward pass runs none of its BatchNorm
    layers (e.g. BN only in an auxiliary head used in training): no statistics to match."""
    return (f"the teacher's forward pass (in eval mode) uses none of its {layers} BatchNorm "
            f"layer{'s' if layers != 1 else ''}: DeepInversion matches the statistics of the "
            f"layers the inputs pass through")


class BNFeatureHooks:
    """Forward hooks on every BatchNorm layer, registered once; while ``active`` each forward
    appends that layer's Eq. 4 gap to ``gaps`` (autograd-connected)."""

    def __init__(self, model: nn.Module):
        self.layers = batchnorm_layers(model)
        self.gaps: list[torch.Tensor] = []
        self.active = False
        self._handles = [m.register_forward_hook(self._hook) for m in self.layers]

    def _hook(self, module, inputs, output):
        if self.active:
            self.gaps.append(bn_statistics_gap(inputs[0], module.running_mean, module.running_var))

    def loss(self, first_multiplier: float) -> torch.Tensor:
        """Sum over layers, the first multiplied; clears the collected gaps."""
        gaps, self.gaps = self.gaps, []
        if not gaps:
            raise UserError(unused_batchnorm(len(self.layers)))
        return first_multiplier * gaps[0] + sum(gaps[1:], torch.zeros((), device=gaps[0].device))

    def remove(self) -> None:
        for h in self._handles:
            h.remove()
        self._handles = []


class _Frozen:
    """Eval mode and no parameter gradients while synthesizing (each submodule's mode and
    flag restored afterwards): the backward pass then computes input gradients only."""

    def __init__(self, *models):
        self.models = [m for m in models if m is not None]

    def __enter__(self):
        self.saved = [(module_modes(m), [p.requires_grad for p in m.parameters()])
                      for m in self.models]
        for m in self.models:
            m.eval()
            m.requires_grad_(False)

    def __exit__(self, *exc):
        for m, (modes, flags) in zip(self.models, self.saved):
            restore_modes(modes)
            for p, f in zip(m.parameters(), flags):
                p.requires_grad_(f)


# --------------------------------------------------------------------------- the objective
def _objective(teacher, student, hooks, x, labels, config: InversionConfig, targets=None):
    """Total loss (scalar), per-image loss without the batch-level BN term, teacher logits, BN.
    ``targets`` (N, K): soft targets (``dirichlet_targets``) in place of the one-hot
    ``labels`` in the cross-entropy, fit by the softmax at ``config.target_temperature``."""
    hooks.active = True
    logits = teacher(x)
    hooks.active = False
    bn = hooks.loss(config.first_bn_multiplier)
    if targets is None:
        ce = F.cross_entropy(logits, labels, reduction="none")
    else:   # cross-entropy of the tempered softmax against the data impression's target,
        # times T: its gradient in the logits is then softmax(z / T) - y, the one-hot term's
        # form, so ``ce_weight`` weighs it against the BN term as it does the one-hot one
        # (unscaled, T = 20 left it 1/20 of that: 25% fidelity where T = 3 reached 85%)
        t = config.target_temperature
        ce = -t * (targets * F.log_softmax(logits / t, 1)).sum(1)
    per_image = config.ce_weight * ce
    if (config.tv_l1_weight or config.tv_l2_weight) and x.dim() in (3, 4):
        tv1, tv2 = total_variation(x)
        per_image = per_image + config.tv_l1_weight * tv1 + config.tv_l2_weight * tv2
    if config.l2_weight:
        per_image = per_image + config.l2_weight * torch.linalg.vector_norm(x.flatten(1), dim=1)
    if student is not None and config.adi_weight:
        per_image = per_image + config.adi_weight * competition_loss(
            logits, student(x), config.adi_temperature)
    return per_image.mean() + config.bn_weight * bn, per_image, logits, bn


def _augment(x: torch.Tensor, jitter: int, flip: bool, gen: torch.Generator) -> torch.Tensor:
    """Random roll by up to +-jitter pixels and a random horizontal flip of the whole batch
    (images); sequences (N, C, L) are rolled along time by up to +-jitter steps, never
    flipped (time reversed is another signal); feature vectors pass unchanged."""
    if x.dim() == 3:
        if jitter:
            shift = int(torch.randint(-jitter, jitter + 1, (1,), generator=gen))
            if shift:
                x = torch.roll(x, shifts=shift, dims=2)
        return x
    if x.dim() != 4:
        return x
    if jitter:
        ox, oy = (int(v) for v in torch.randint(-jitter, jitter + 1, (2,), generator=gen))
        if ox or oy:
            x = torch.roll(x, shifts=(ox, oy), dims=(2, 3))
    if flip and bool(torch.rand((), generator=gen) < 0.5):
        x = torch.flip(x, dims=(3,))
    return x


def _lowres_factor(shape, config) -> int:
    return config.lowres_factor if config.lowres_iterations and len(shape) == 3 else 1


def _initial_noise(n, shape, config, lo, hi, gen, device) -> torch.Tensor:
    """Gaussian noise in normalized units, clipped; at low resolution for a low-res phase."""
    f = _lowres_factor(shape, config)
    if f > 1:
        shape = (shape[0], shape[1] // f, shape[2] // f)
    x = torch.randn((n,) + tuple(shape), generator=gen).to(device)
    return torch.max(torch.min(x, hi), lo)


def _full_size(x: torch.Tensor, shape, f: int) -> torch.Tensor:
    return F.interpolate(x, size=tuple(shape[1:]), mode="nearest") if f > 1 else x


def value_bounds(pixel_range, shape, device) -> tuple[torch.Tensor, torch.Tensor]:
    """(lo, hi) of ``pixel_range`` shaped to broadcast against a batch of inputs of ``shape``:
    per channel (C, 1, 1) for images, per channel (C, 1) or per value (C, L) for sequences,
    per feature (F,) for feature vectors."""
    view = {3: (-1, 1, 1), 2: (int(shape[0]), -1)}.get(len(shape), (-1,))
    return tuple(torch.as_tensor(t, dtype=torch.float32).reshape(view).to(device)
                 for t in pixel_range)


def padded_bounds(lo, hi, n: int, shape, lengths, gen, device):
    """(lo, hi) for a batch of ``n`` inputs: as given, or -- for sequences whose set is
    left-padded (``lengths``: real lengths at equal steps of probability, ``synth.sequences``)
    -- per input, each with a length drawn from them (``draw_lengths``) and its first steps
    held at the padding value 0 (the channel's mean after normalization), as the set's short
    series are."""
    if not lengths or len(shape) != 2 or int(lengths[0]) >= int(shape[1]):
        return lo, hi
    live = padding_mask(lengths, int(shape[1]), torch.rand((n,), generator=gen)).to(device)
    return (torch.where(live, lo.expand(n, *shape), torch.zeros((), device=device)),
            torch.where(live, hi.expand(n, *shape), torch.zeros((), device=device)))


def restart_missed(x: torch.Tensor, opt: torch.optim.Adam, missed: torch.Tensor, config,
                   lo: torch.Tensor, hi: torch.Tensor, gen: torch.Generator) -> int:
    """Draw the ``missed`` inputs of the batch ``x`` (being optimized by ``opt``) again from
    noise (``_initial_noise``, within their bounds), with their Adam moments zeroed; the
    others keep their values and state.  Returns how many were drawn.  An input stuck where
    the teacher's loss has a local minimum (a kink of its ReLUs, or a face of the box of
    valid inputs) cannot leave it by more steps; from another start it usually lands in its
    class (random restarts)."""
    index = torch.nonzero(missed).flatten()
    n, shape = len(x), tuple(x.shape[1:])
    lo_rows, hi_rows = lo.expand(n, *shape)[index], hi.expand(n, *shape)[index]
    with torch.no_grad():
        x[index] = _initial_noise(len(index), shape, config, lo_rows, hi_rows, gen, x.device)
        for moment in opt.state[x].values():
            if torch.is_tensor(moment) and moment.shape == x.shape:
                moment[index] = 0
    return len(index)


def _invert_batch(teacher, student, hooks, x0, labels, config, lo, hi, gen, bar=None,
                  targets=None):
    """Optimize one batch from noise ``x0``; returns (kept inputs, stats).  The stopping rule
    and the kept snapshot are described in the module docstring; inputs that still miss
    after ``config.restart_patience`` checks without a new hit start again from noise
    (``restart_missed``), keeping their ``targets`` (soft ones, ``_objective``)."""
    shape = teacher.input_shape
    f = _lowres_factor(shape, config)
    x = x0.clone().requires_grad_(True)
    opt = torch.optim.Adam([x], lr=config.lr, betas=tuple(config.betas), eps=1e-8)
    best, best_x = (-1.0, -math.inf), None   # (clean fidelity, -window loss) of the snapshot
    last_window, window, steps, fidelity, it = math.inf, None, 0, 0.0, 0
    need = len(labels) - allowed_misses(len(labels), config)  # hits that let the batch stop
    most_hits, stalled, restarts = -1, 0, 0
    for it in range(config.iterations):
        if f > 1 and it == config.lowres_iterations:  # end of the low-resolution phase
            x = _full_size(x.detach(), shape, f).requires_grad_(True)
            opt = torch.optim.Adam([x], lr=config.lr, betas=tuple(config.betas), eps=1e-8)
            f, best, last_window = 1, (-1.0, -math.inf), math.inf
        for g in opt.param_groups:
            g["lr"] = config.lr * lr_factor(it, config.iterations, config.warmup_iterations,
                                            config.schedule)
        loss, _, _, _ = _objective(teacher, student, hooks,
                                   _augment(_full_size(x, shape, f), config.jitter, config.flip,
                                            gen), labels, config, targets)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        with torch.no_grad():
            x.data = torch.max(torch.min(x.data, hi), lo)
            window = loss.detach() if window is None else window + loss.detach()
        steps += 1
        if bar is not None:
            bar.update(1)
        if (it + 1) % config.check_every == 0 or it + 1 == config.iterations:
            value = float(window) / steps  # the host syncs happen here, once per window
            window, steps = None, 0
            if f > 1:
                continue
            with torch.no_grad():  # fidelity of the clean batch, as it will be written
                hit = teacher(x).argmax(1) == labels
            hits = int(hit.sum())
            fidelity = hits / len(labels)
            if (fidelity, -value) > best:
                best, best_x = (fidelity, -value), x.detach().clone()
            converged = (last_window - value) < config.stop_tolerance * abs(last_window)
            last_window = value
            if (config.early_stop and it + 1 >= config.min_iterations
                    and hits >= need and converged):
                break
            stalled = 0 if hits > most_hits or hits >= need else stalled + 1
            most_hits = max(most_hits, hits)
            if config.restart_patience and stalled >= config.restart_patience:
                restarts += restart_missed(x, opt, ~hit, config, lo, hi, gen)
                most_hits, stalled = hits, 0
    if best_x is None:
        best_x = _full_size(x.detach(), shape, f).clone()
    return best_x, {"iterations": it + 1, "batch_fidelity": max(best[0], 0.0),
                    "inputs_restarted": restarts}


@torch.no_grad()
def _evaluate(teacher, student, hooks, x, labels, config, targets=None):
    """Clean (un-augmented) evaluation: per-image loss, confidence, BN loss."""
    _, per_image, logits, bn = _objective(teacher, student, hooks, x, labels, config, targets)
    conf = F.softmax(logits, 1).gather(1, labels[:, None])[:, 0]
    return per_image, conf, logits.argmax(1) == labels, float(bn)


def synthesize(teacher: nn.Module, labels: torch.Tensor, config: InversionConfig | None = None, *,
               pixel_range: tuple[torch.Tensor, torch.Tensor], student: nn.Module | None = None,
               seed: int = 0, progress: bool = False, name: str = "",
               warn: bool = True) -> InversionResult:
    """Invert ``teacher`` into one input per entry of ``labels`` (batches of
    ``config.batch_size``).  ``pixel_range`` = (lo, hi) in normalized units, per channel for
    images and sequences, per feature for feature vectors (``synth.data.input_range``,
    ``value_bounds``); ``student`` turns
    on the ADI competition term.  Default settings: ``settings_for(teacher)``.  Always per
    pixel, whatever ``config.method`` says: ``synth.synthesis.synthesize_inputs`` follows it.
    ``name`` (e.g. "--model m.pt", where the caller read the teacher from) begins the
    messages of ``check_teacher``, which runs here: a caller need not check the teacher too."""
    check_teacher(teacher, name)
    config = config or settings_for(teacher, value_range=pixel_range)
    labels = target_labels(labels, teacher.num_classes)
    device = pick_device(config.device)
    with borrowed(teacher, student, device=device):
        lo, hi = value_bounds(pixel_range, teacher.input_shape, device)
        gen = torch.Generator().manual_seed(int(seed))
        images, confs, losses, iters, bn0, bn1, start_loss, start_hits = [], [], [], [], [], [], [], []
        softs = []
        restarts = 0
        start = time.perf_counter()
        hooks = BNFeatureHooks(teacher)
        similarity = class_similarity(teacher) if config.targets == "dirichlet" else None
        bar = tqdm(total=0, desc="invert", disable=not progress, leave=False)
        try:
            with _Frozen(teacher, student):
                for b in range(0, len(labels), config.batch_size):
                    y = labels[b:b + config.batch_size].to(device)
                    bar.total += config.iterations
                    bar.refresh()
                    blo, bhi = padded_bounds(lo, hi, len(y), teacher.input_shape, config.lengths,
                                             gen, device)
                    x0 = _initial_noise(len(y), teacher.input_shape, config, blo, bhi, gen, device)
                    noise = _full_size(x0, teacher.input_shape, _lowres_factor(teacher.input_shape,
                                                                               config))
                    soft = None if similarity is None else dirichlet_targets(
                        similarity, y, config.dirichlet_beta, gen).to(device)
                    per_image, _, hits, bn = _evaluate(teacher, student, hooks, noise, y, config,
                                                       soft)
                    bn0.append(bn), start_loss.append(per_image.cpu()), start_hits.append(hits.cpu())
                    x, st = _invert_batch(teacher, student, hooks, x0, y, config, blo, bhi, gen, bar,
                                          soft)
                    bar.update(config.iterations - st["iterations"])
                    per_image, conf, _, bn = _evaluate(teacher, student, hooks, x, y, config, soft)
                    images.append(x.cpu()), confs.append(conf.cpu()), losses.append(per_image.cpu())
                    iters.append(st["iterations"]), bn1.append(bn)
                    if soft is not None:
                        softs.append(soft.cpu())
                    restarts += st["inputs_restarted"]
        finally:
            hooks.remove()
            bar.close()
        seconds = time.perf_counter() - start
        images, conf = torch.cat(images), torch.cat(confs)
        with torch.no_grad(), _Frozen(teacher):
            pred = torch.cat([teacher(images[i:i + 1024].to(device)).argmax(1).cpu()
                              for i in range(0, len(images), 1024)])
        fidelity = hit_fraction(pred == labels)  # the whole set, misses included
        stats = {"batches": len(iters), "iterations": iters, "mean_iterations": sum(iters) / len(iters),
                 "bn_loss_initial": sum(bn0) / len(bn0), "bn_loss_final": sum(bn1) / len(bn1),
                 "loss_initial": float(torch.cat(start_loss).mean()),
                 "loss_final": float(torch.cat(losses).mean()),  # per input, without the BN term
                 "fidelity_initial": hit_fraction(torch.cat(start_hits)),
                 "fidelity": fidelity, "missed": int((pred != labels).sum()),
                 # per target class: made, and assigned to it by the teacher (counts)
                 "class_counts": class_counts(pred, labels, teacher.num_classes),
                 # inputs drawn again from noise after stalling on a miss (restart_missed)
                 "inputs_restarted": restarts,
                 "seconds": round(seconds, 3),
                 "images_per_second": len(labels) / max(seconds, 1e-9), "device": str(device)}
        warning = fidelity_warning(fidelity, config.min_fidelity, config.iterations,
                                   class_fidelity(stats["class_counts"],
                                                  teacher_class_names(teacher)))
        if warning:   # logged unless the caller says it (warn=False: stats["warning"] only)
            stats["warning"] = warning
            if warn:
                log.warning(warning)
        return InversionResult(images, labels.clone(), conf, torch.cat(losses), stats,
                               torch.cat(softs) if softs else None)


def target_labels(labels, num_classes: int) -> torch.Tensor:
    """``labels`` as a flat long tensor of class indices, each in [0, num_classes): the
    targets an inversion (or a generator's sampling) is asked for."""
    labels = torch.as_tensor(labels, dtype=torch.long).flatten()
    if len(labels) == 0:
        raise UserError("labels must contain at least one class index")
    if labels.min() < 0 or labels.max() >= num_classes:
        raise UserError(f"labels must be in [0, {num_classes}), got "
                        f"[{int(labels.min())}, {int(labels.max())}]")
    return labels


def balanced_labels(num_images: int, num_classes: int, offset: int = 0) -> torch.Tensor:
    """``num_images`` class indices cycling through all classes (counts differ by at most 1)."""
    return (torch.arange(num_images) + offset) % num_classes


def inversion_sources() -> list[str]:
    """The source of the code that turns settings into inputs (objective, augmentation,
    stopping rule): part of the cache key of a stored synthesized set."""
    return [inspect.getsource(f) for f in (synthesize, _invert_batch, restart_missed,
                                           allowed_misses, _objective, _augment, _initial_noise,
                                           batch_statistics, bn_statistics_gap, total_variation,
                                           BNFeatureHooks, class_similarity, dirichlet_targets)]
