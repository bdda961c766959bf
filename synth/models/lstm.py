"""LSTM (Hochreiter & Schmidhuber 1997) with its gate matrices as ordinary ``nn.Linear`` layers.

Spec: ``{"family": "lstm", "hidden": [64], "dropout": 0.0, "frame": 1}`` -- one LSTM layer
per entry of ``hidden`` (stacked), dropout between layers, and a Linear classifier on the
last step's hidden state.  Input ``(N, C, T)``: C channels, T steps (``synth.sequences``).
``frame`` = k feeds k consecutive raw samples per recurrent step (C*k inputs, ceil(T/k)
steps; a window whose T is not a multiple of k is left-padded with zeros, the training
mean), as speech models read frames: the raw window, k times fewer sequential steps.

Per layer and step t, in ``torch.nn.LSTM``'s layout (gate order i, f, g, o):

    z_t = W_ih x_t + b_ih + W_hh h_{t-1} + b_hh          (4H pre-activations)
    i = sigma(z_i), f = sigma(z_f), g = tanh(z_g), o = sigma(z_o)
    c_t = f * c_{t-1} + i * g,   h_t = o * tanh(c_t)      (h_0 = c_0 = 0)

``W_ih`` is the Linear ``ih`` (applied to all steps at once) and ``W_hh`` the Linear ``hh``
(called once per step), so masks (``synth.masked``), growth, pruning, compaction
(``synth.compact``) and hwsim see two Linear layers per LSTM layer; with the same weights
the outputs equal ``torch.nn.LSTM``'s (tests/synth/test_recurrent.py).

``LSTMLayer`` and ``RecurrentStack`` are reusable on their own (batch-first ``(N, T, I)`` in,
``(N, T, H)`` out), e.g. between an embedding and a decoder for a language model.
"""
from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn.utils import parametrize

from synth.errors import UserError
from synth.models.registry import (PROBABILITY, SIDE, WIDTH, SpecModel, register_family,
                                   register_variant)

# element-wise operations per hidden unit and step of the LSTM cell update: the sigmoids of
# i, f, o and the tanh of g, then c_t = f * c_{t-1} + i * g (2 products, 1 sum), tanh(c_t) and
# h_t = o * tanh(c_t) (1 product): 9 (Hochreiter & Schmidhuber 1997, the form torch.nn.LSTM
# documents).  hwsim prices nn.LSTM and this family's cell with it.
CELL_OPS = 9


class RecurrentLayer(nn.Module):
    """Base of the recurrent layers: batch-first ``forward(x, state=None) -> (out, (h, c))``.

    ``gemms()`` tells hwsim which Linear layers run once per step (recurrent, sequential)
    and which run once over all steps (``hwsim.workload``); ``cell_elems`` is the element-wise
    work per step and sample (gate non-linearities and the cell update)."""

    hidden_size: int
    LOOPS_OVER_STEPS = True   # one Python call per step (registry.check_steps bounds them)

    def gemms(self) -> list[tuple[str, nn.Linear, bool]]:
        """(name, Linear, per_step) for every Linear of the layer."""
        raise NotImplementedError

    @property
    def cell_elems(self) -> int:
        raise NotImplementedError

    def bridge_pairs(self) -> list[tuple[str, str]]:
        """(A, B) Linear names where a hidden unit of A feeds only B through a ReLU (NeST
        neuron growth, dead-unit removal); an LSTM has none."""
        return []

    def zero_state(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        z = x.new_zeros(x.shape[0], self.hidden_size)
        return z, z


def _hooked(modules) -> bool:
    """Whether a forward or backward hook (a module's own or a global one), or a ``forward``
    set on the instance, would see a call of any of ``modules``."""
    from torch.nn.modules import module as mod
    if (mod._global_forward_hooks or mod._global_forward_pre_hooks
            or mod._global_backward_hooks or mod._global_backward_pre_hooks):
        return True
    return any(m._forward_hooks or m._forward_pre_hooks or m._backward_hooks
               or m._backward_pre_hooks or "forward" in m.__dict__ for m in modules)


def _base_type(m: nn.Module) -> type:
    """``type(m)``, or the class a parametrization (``synth.masked``'s masks) derived it from."""
    return type(m).__bases__[0] if parametrize.is_parametrized(m) else type(m)


def cell_update(i, f, g, o, c):
    """c_t = f * c_{t-1} + i * g;  h_t = o * tanh(c_t)  (both cells)."""
    c = f * c + i * g
    return o * torch.tanh(c), c


class LSTMLayer(RecurrentLayer):
    def __init__(self, input_size: int, hidden_size: int):
        super().__init__()
        self.input_size, self.hidden_size = int(input_size), int(hidden_size)
        self.ih = nn.Linear(self.input_size, 4 * self.hidden_size)   # W_ih, b_ih (i, f, g, o)
        self.hh = nn.Linear(self.hidden_size, 4 * self.hidden_size)  # W_hh, b_hh
        bound = 1.0 / math.sqrt(self.hidden_size)                    # torch.nn.LSTM's init
        for p in self.parameters():
            nn.init.uniform_(p, -bound, bound)

    def gemms(self):
        return [("ih", self.ih, False), ("hh", self.hh, True)]

    @property
    def cell_elems(self) -> int:
        return CELL_OPS * self.hidden_size

    def forward(self, x: torch.Tensor, state=None):
        h, c = state if state is not None else self.zero_state(x)
        outs = []
        with parametrize.cached():             # a masked weight is computed once, not per step
            zx = self.ih(x)                    # (N, T, 4H): W_ih x_t + b_ih for every t
            hh = self.hh
            if not (_hooked([hh]) or _base_type(hh) is not nn.Linear or hh.bias is None):
                # what Linear computes (addmm(b, h, W.t())), bit for bit, without a module
                # call and a transpose per step (hooks -- hwsim, FLOP counts -- see the module)
                w_t, b = hh.weight.t(), hh.bias
                hh = lambda h: torch.addmm(b, h, w_t)          # noqa: E731
            for zx_t in zx.unbind(1):          # unbind: one backward for all steps, not T
                i, f, g, o = (zx_t + hh(h)).chunk(4, dim=1)
                h, c = cell_update(torch.sigmoid(i), torch.sigmoid(f), torch.tanh(g),
                                   torch.sigmoid(o), c)
                outs.append(h)
        return torch.stack(outs, 1), (h, c)


class RecurrentStack(nn.Module):
    """Stacked recurrent layers (batch-first), dropout between layers."""

    def __init__(self, layers: list[RecurrentLayer], dropout: float = 0.0):
        super().__init__()
        self.layers = nn.ModuleList(layers)
        self.drop = nn.Dropout(float(dropout))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_with_state(x)[0]

    def forward_with_state(self, x: torch.Tensor, states=None):
        """(N, T, I) and optional per-layer (h, c) -> (N, T, H_last) and the final (h, c) of
        every layer (truncated backpropagation through time: pass them, detached, to the
        next chunk of a long sequence)."""
        states = states if states is not None else [None] * len(self.layers)
        if len(states) != len(self.layers):
            raise UserError(f"states must have one (h, c) per layer ({len(self.layers)}), got "
                            f"{len(states)}")
        out = []
        for k, (layer, state) in enumerate(zip(self.layers, states)):
            if k:
                x = self.drop(x)
            x, new = layer(x, state)
            out.append(new)
        return x, out


def check_hidden(family: str, hidden) -> list[int]:
    widths = [int(h) for h in hidden] if isinstance(hidden, (list, tuple)) else []
    if not widths or any(h < 1 for h in widths):
        raise UserError(f"{family} hidden must be a non-empty list of widths >= 1, got {hidden!r}")
    return widths


def frame_size(spec: dict, input_shape) -> int:
    """Inputs per recurrent step: channels x ``frame``."""
    k = spec.get("frame", 1)
    if not isinstance(k, int) or not 1 <= k <= int(input_shape[-1]):
        raise UserError(f"{spec['family']} frame must be an int in [1, steps={input_shape[-1]}],"
                        f" got {k!r}")
    return int(input_shape[0]) * k


def to_frames(x: torch.Tensor, k: int) -> torch.Tensor:
    """(N, C, T) -> (N, ceil(T/k), C*k), left-padded with zeros; frame j holds steps
    jk..jk+k-1 of every channel (channel-major)."""
    n, c, t = x.shape
    if k == 1:
        return x.transpose(1, 2)
    pad = (-t) % k
    if pad:
        x = torch.nn.functional.pad(x, (pad, 0))
    return x.reshape(n, c, -1, k).permute(0, 2, 1, 3).reshape(n, -1, c * k)


class SequenceClassifier(SpecModel):
    """(N, C, T) -> recurrent stack over the steps (or frames) -> Linear on the last hidden
    state."""

    def _finish(self, stack: RecurrentStack, last_width: int, num_classes: int):
        self.rnn = stack
        self.head = nn.Linear(last_width, num_classes)

    def bridge_pairs(self) -> list[tuple[str, str]]:
        """Qualified (A, B) names of the layers' bridge pairs (``synth.masked.linear_pairs``):
        h_t is read by the next step as well as by the next layer, so consecutive Linear
        layers are *not* a feed-forward chain here."""
        return [(f"rnn.layers.{k}.{a}", f"rnn.layers.{k}.{b}")
                for k, layer in enumerate(self.rnn.layers) for a, b in layer.bridge_pairs()]

    def check_input(self, x: torch.Tensor) -> None:
        if tuple(x.shape[1:]) != self.input_shape:
            raise UserError(f"{self.spec['family']} model expects input (N, {self.input_shape[0]}"
                            f", {self.input_shape[1]}) (channels x steps), got {tuple(x.shape)}")

    def infer(self, x: torch.Tensor) -> torch.Tensor:
        """Evaluation-mode output for deployment (the fastest path the family has; here
        ``forward`` itself, without autograd)."""
        with torch.no_grad():
            return self(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.check_input(x)
        out = self.rnn(to_frames(x, self.spec.get("frame", 1)))      # (N, steps, H)
        return self.head(out[:, -1])


@register_family("lstm", {"hidden": [64], "dropout": 0.0, "frame": 1},
                 "stacked LSTM on (channels, steps), gates as Linear layers, classifier on h_T",
                 input_rank=2, ranges={"hidden": WIDTH, "dropout": PROBABILITY, "frame": SIDE})
class LSTMClassifier(SequenceClassifier):
    def __init__(self, spec, input_shape, num_classes):
        super().__init__(spec, input_shape, num_classes)
        widths = check_hidden("lstm", spec["hidden"])
        sizes = [frame_size(spec, input_shape)] + widths
        layers = [LSTMLayer(a, b) for a, b in zip(sizes, widths)]
        self._finish(RecurrentStack(layers, spec["dropout"]), widths[-1], num_classes)


register_variant("lstm32", {"family": "lstm", "hidden": [32]})
register_variant("lstm64", {"family": "lstm", "hidden": [64]})
register_variant("lstm64x2", {"family": "lstm", "hidden": [64, 64]})
