"""H-LSTM: an LSTM whose control gates are small feed-forward networks.

Dai, Yin & Jha, "Grow and Prune Compact, Fast, and Accurate LSTMs" (arXiv 1805.11797).
Each of the four gates reads z_t = [x_t; h_{t-1}] through one hidden layer with ReLU and
dropout (the paper's "hidden layer" in every control gate) before its sigmoid or tanh:

    f_t = sigma(W_f  D(ReLU(W*_f z_t + b*_f)) + b_f)
    i_t = sigma(W_i  D(ReLU(W*_i z_t + b*_i)) + b_i)
    o_t = sigma(W_o  D(ReLU(W*_o z_t + b*_o)) + b_o)
    g_t = tanh (W_g  D(ReLU(W*_g z_t + b*_g)) + b_g)
    c_t = f_t * c_{t-1} + i_t * g_t,   h_t = o_t * tanh(c_t)    (as in an LSTM)

D is dropout.  W*_k is the Linear ``gates.k.hid`` ((I + H) -> M_k) and W_k the Linear
``gates.k.out`` (M_k -> H), so grow-and-prune and hwsim see eight Linear layers per H-LSTM
layer; the gate widths M_k may differ after compaction removes dead gate units.

Spec: ``{"family": "hlstm", "hidden": [32], "gate_hidden": 16, "dropout": 0.2, "frame": 1}``
(``frame`` as in ``synth.models.lstm``);
``gate_hidden`` is one width for every gate, or a list with one entry per layer, each an
int or four ints in gate order (i, f, g, o).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils import parametrize

from synth.errors import UserError
from synth.models.lstm import (CELL_OPS, RecurrentLayer, RecurrentStack, SequenceClassifier, _base_type,
                               _hooked, cell_update, check_hidden, frame_size, to_frames)
from synth.models.registry import PROBABILITY, SIDE, WIDTH, register_family, register_variant

GATES = ("i", "f", "g", "o")     # the LSTM's gate order; g (the candidate) uses tanh


class GateNet(nn.Module):
    """One control gate: Linear -> ReLU -> dropout -> Linear (pre-activation of the gate)."""

    def __init__(self, in_size: int, width: int, out_size: int, dropout: float):
        super().__init__()
        self.hid = nn.Linear(in_size, width)     # W*_k, b*_k
        self.drop = nn.Dropout(dropout)
        self.out = nn.Linear(width, out_size)    # W_k, b_k

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        u = torch.relu(self.hid(z))
        if self.training and self.drop.p > 0:    # dropout only in training (no call at inference)
            u = self.drop(u)
        return self.out(u)


def _plain_gate(w_hid, b_hid, w_out, b_out, p: float, inplace: bool):
    """``GateNet.forward`` on weights read beforehand; ``p`` 0: no dropout call (eval).
    ``F.linear`` of a matrix with a bias is ``addmm(b, z, w.t())``: the transposes are
    taken once here, not at every step (and autograd sums their gradients once)."""
    if b_hid is None or b_out is None:
        hid = lambda z: F.linear(z, w_hid, b_hid)         # noqa: E731
        out = lambda u: F.linear(u, w_out, b_out)         # noqa: E731
    else:
        t_hid, t_out = w_hid.t(), w_out.t()
        hid = lambda z: torch.addmm(b_hid, z, t_hid)      # noqa: E731
        out = lambda u: torch.addmm(b_out, u, t_out)      # noqa: E731

    def gate(z: torch.Tensor) -> torch.Tensor:
        u = torch.relu(hid(z))
        if p > 0:
            u = F.dropout(u, p, True, inplace)
        return out(u)
    return gate


class HLSTMLayer(RecurrentLayer):
    def __init__(self, input_size: int, hidden_size: int, gate_hidden, dropout: float = 0.0):
        super().__init__()
        self.input_size, self.hidden_size = int(input_size), int(hidden_size)
        widths = [int(gate_hidden)] * 4 if isinstance(gate_hidden, int) else list(gate_hidden)
        if len(widths) != 4 or any(int(w) < 1 for w in widths):
            raise UserError(f"hlstm gate widths must be one int or four ints >= 1 (gates i, f, g,"
                            f" o), got {gate_hidden!r}")
        z = self.input_size + self.hidden_size
        self.gates = nn.ModuleDict({k: GateNet(z, int(w), self.hidden_size, float(dropout))
                                    for k, w in zip(GATES, widths)})

    def gemms(self):
        return [(f"gates.{k}.{part}", getattr(self.gates[k], part), True)
                for k in GATES for part in ("hid", "out")]

    def bridge_pairs(self):
        return [(f"gates.{k}.hid", f"gates.{k}.out") for k in GATES]

    @property
    def cell_elems(self) -> int:   # the LSTM cell update + the ReLU of every gate unit
        return CELL_OPS * self.hidden_size + sum(self.gates[k].hid.out_features for k in GATES)

    def forward(self, x: torch.Tensor, state=None):
        with parametrize.cached():
            return self.steps(x, state, self._gate_fn())

    def steps(self, x: torch.Tensor, state, gates: dict):
        """The recurrence over ``x``'s steps with ``gates[k](z)`` as gate k's pre-activation."""
        h, c = state if state is not None else self.zero_state(x)
        outs = []
        for x_t in x.unbind(1):
            z = torch.cat([x_t, h], dim=1)                                  # [x_t; h_{t-1}]
            pre = {k: gates[k](z) for k in GATES}
            h, c = cell_update(torch.sigmoid(pre["i"]), torch.sigmoid(pre["f"]),
                               torch.tanh(pre["g"]), torch.sigmoid(pre["o"]), c)
            outs.append(h)
        return torch.stack(outs, 1), (h, c)

    def fusable(self) -> bool:
        """Whether every gate's two layers are Linear ones (masked or not), whose weights
        ``fused_hlstm_weights`` stacks; a sparse copy's (``synth.sparse_exec.CSRLinear``)
        hold no dense ``weight`` to stack."""
        return all(_base_type(getattr(self.gates[k], part)) is nn.Linear
                   for k in GATES for part in ("hid", "out"))

    def _gate_fn(self) -> dict:
        """Per gate, the function a step calls: the GateNet module itself when a hook watches
        any of its modules (grow-and-prune's bridge gradients, FLOP counting, hwsim read the
        Linear calls), else the same operations on weights read once per sequence
        (``F.linear``, ``F.dropout``: what ``GateNet.forward`` computes, bit for bit, and the
        same random draws) without the per-step module-call overhead of 4 x 3 modules, about
        a fifth of a training step's time at these sizes (tests/synth/test_growth_probe7.py)."""
        mods = [m for k in GATES for m in (self.gates[k], self.gates[k].hid,
                                           self.gates[k].drop, self.gates[k].out)]
        plain = [GateNet, nn.Linear, nn.Dropout, nn.Linear] * len(GATES)   # no subclass
        if _hooked(mods) or [_base_type(m) for m in mods] != plain:
            return {k: self.gates[k] for k in GATES}
        out = {}
        for k in GATES:
            net = self.gates[k]
            drop = net.training and net.drop.p > 0 and net.drop.training
            p = net.drop.p if drop else 0.0
            out[k] = _plain_gate(net.hid.weight, net.hid.bias, net.out.weight, net.out.bias, p,
                                 net.drop.inplace)
        return out


def fused_hlstm_weights(layer: "HLSTMLayer") -> tuple[torch.Tensor, ...]:
    """The four gate networks of ``layer`` as two matrices (inference only).

    Hidden layers: W* = [W*_i; W*_f; W*_o; W*_g] ((sum M_k) x (I + H)), split into the
    columns that read x_t (applied to all steps at once, before the loop) and those that
    read h_{t-1}; output layers: block-diagonal diag(W_i, W_f, W_o, W_g) (4H x sum M_k),
    so that one product gives the four pre-activations, the three sigmoid gates first.
    Masked (``synth.masked``) weights are read through ``.weight`` (zeros where pruned)."""
    order = ("i", "f", "o", "g")
    hid = [layer.gates[k].hid for k in order]
    out = [layer.gates[k].out for k in order]
    w = torch.cat([lin.weight for lin in hid])
    n = layer.input_size
    return (w[:, :n].t(), w[:, n:].t().contiguous(), torch.cat([lin.bias for lin in hid]),
            torch.block_diag(*[lin.weight for lin in out]).t().contiguous(),
            torch.cat([lin.bias for lin in out]))


@torch.no_grad()
def hlstm_infer(layer: "HLSTMLayer", x: torch.Tensor, state=None):
    """``layer(x, state)`` in evaluation mode (no dropout), computed with two matrix
    products per step instead of eight Linear calls (``fused_hlstm_weights``): the same
    function, for batch-1 latency on a CPU, where a step's cost is mostly per-call
    overhead.  Batch-first ``(N, T, I)`` -> ``((N, T, H), (h, c))``.  A layer whose gates
    are not plain Linear layers (a ``synth.sparse_exec.sparse_copy``: CSR products) runs its
    own gate modules step by step, without dropout: ``infer`` on a sparse copy raised
    AttributeError ('CSRLinear' object has no attribute 'weight')."""
    if not layer.fusable():
        def gate(net):
            return lambda z: net.out(torch.relu(net.hid(z)))
        return layer.steps(x, state, {k: gate(layer.gates[k]) for k in GATES})
    # the stacked weights are kept on the layer while no parameter or mask changes (an
    # in-place update bumps the tensor's version; a new tensor has a new address)
    key = tuple((t.data_ptr(), t._version) for t in (*layer.parameters(), *layer.buffers()))
    cached = layer.__dict__.get("_fused")
    if cached is None or cached[0] != key:
        cached = layer.__dict__["_fused"] = (key, fused_hlstm_weights(layer))
    wx, wh, b_hid, w_out, b_out = cached[1]
    h, c = state if state is not None else layer.zero_state(x)
    hs = layer.hidden_size
    ux = torch.matmul(x, wx) + b_hid                 # W*_x x_t + b* for every t: (N, T, M)
    outs = []
    for ux_t in ux.unbind(1):
        u = torch.relu(torch.addmm(ux_t, h, wh))     # ReLU(W* [x_t; h_{t-1}] + b*)
        pre = torch.addmm(b_out, u, w_out)           # (N, 4H): i, f, o, g
        gates = torch.sigmoid(pre[:, :3 * hs])
        i, f, o = gates[:, :hs], gates[:, hs:2 * hs], gates[:, 2 * hs:]
        h, c = cell_update(i, f, torch.tanh(pre[:, 3 * hs:]), o, c)
        outs.append(h)
    return torch.stack(outs, 1), (h, c)


def gate_widths(spec: dict, layers: int) -> list:
    gh = spec["gate_hidden"]
    if isinstance(gh, int):
        return [gh] * layers
    if not isinstance(gh, list) or len(gh) != layers:
        nest = (f"; per-gate widths of a layer are one list: {[gh]!r}"
                if isinstance(gh, list) and len(gh) == 4 * layers == 4 else "")
        raise UserError(f"hlstm gate_hidden must be an int or a list with one entry per layer "
                        f"({layers}), got {gh!r}{nest}")
    return gh


@register_family("hlstm", {"hidden": [32], "gate_hidden": 16, "dropout": 0.2, "frame": 1},
                 "H-LSTM (gates are one-hidden-layer networks, arXiv 1805.11797) on (channels, "
                 "steps), classifier on h_T", input_rank=2,
                 ranges={"hidden": WIDTH, "gate_hidden": WIDTH, "dropout": PROBABILITY,
                         "frame": SIDE})
class HLSTMClassifier(SequenceClassifier):
    def __init__(self, spec, input_shape, num_classes):
        super().__init__(spec, input_shape, num_classes)
        widths = check_hidden("hlstm", spec["hidden"])
        sizes = [frame_size(spec, input_shape)] + widths
        layers = [HLSTMLayer(a, b, g, spec["dropout"])
                  for a, b, g in zip(sizes, widths, gate_widths(spec, len(widths)))]
        self._finish(RecurrentStack(layers), widths[-1], num_classes)

    @torch.no_grad()
    def infer(self, x: torch.Tensor) -> torch.Tensor:
        """The evaluation-mode output of ``forward`` through the fused H-LSTM steps
        (``hlstm_infer``): what a deployment calls for low batch-1 latency.  Training,
        growth, FLOP counting and hwsim use ``forward`` (its Linear layers and hooks)."""
        self.check_input(x)
        h = to_frames(x, self.spec.get("frame", 1))
        with parametrize.cached():
            for layer in self.rnn.layers:
                h = hlstm_infer(layer, h)[0]
        return self.head(h[:, -1])


register_variant("hlstm32", {"family": "hlstm", "hidden": [32], "gate_hidden": 16})
register_variant("hlstm64", {"family": "hlstm", "hidden": [64], "gate_hidden": 32})
