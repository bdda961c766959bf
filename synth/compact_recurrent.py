"""Compaction of the recurrent families (``lstm``, ``hlstm``): dead units removed, outputs equal.

The rules of ``synth.compact`` adapted to a cell whose hidden state is read twice (by the
next step and by the next layer or the classifier):

- a **gate hidden unit** u of an H-LSTM gate k (a row of ``gates.k.hid``, a column of
  ``gates.k.out``) with no outgoing connection contributes nothing: removed; one with no
  incoming connection outputs the constant c = ReLU(b*_u) at every step (eval mode:
  dropout is the identity), so c * W_k[:, u] moves into the gate's bias b_k and the unit
  is removed;
- a **cell unit** j (h_j, c_j) that cannot reach the consumer (the next layer's input
  matrices, or the classifier) is removed with its four gate rows: the units that can are
  those the consumer reads (a nonzero column) and, repeatedly, those the gates of such a
  unit read (LSTM: its rows of W_hh; H-LSTM: the h-part of the ``gates.k.hid`` rows of the
  gate units that feed it).  c_j feeds only h_j, so a unit read only by itself, or by
  other units outside that set (a recurrent loop nothing else reads), goes too.

A layer or gate left with no live unit keeps one, all of whose weights are zero (it feeds
nothing).  Removal repeats until nothing changes.  The result is a dense model of the same family
built from the smaller spec (``hidden`` and, for the H-LSTM, per-gate ``gate_hidden``).
"""
from __future__ import annotations

import copy

import torch

from synth.errors import UserError
from synth.models import build

GATES = ("i", "f", "g", "o")


def _lin(layer) -> dict:
    return {"w": layer.weight.detach().clone(), "b": layer.bias.detach().clone()}


def _states(model) -> list[dict]:
    """Effective (masked) weights per recurrent layer, plain tensors."""
    out = []
    for layer in model.rnn.layers:
        if model.spec["family"] == "lstm":
            out.append({"in": layer.input_size, "ih": _lin(layer.ih), "hh": _lin(layer.hh)})
        else:
            out.append({"in": layer.input_size,
                        "gates": {k: {"hid": _lin(layer.gates[k].hid),
                                      "out": _lin(layer.gates[k].out)} for k in GATES}})
    return out


def _hidden(st: dict) -> int:
    return st["hh"]["w"].shape[1] if "hh" in st else st["gates"]["i"]["out"]["w"].shape[0]


def _input_columns(st: dict) -> list[torch.Tensor]:
    """The matrices whose columns [0, in) read this layer's input."""
    if "ih" in st:
        return [st["ih"]["w"]]
    return [g["hid"]["w"][:, :st["in"]] for g in st["gates"].values()]


def _drop_input_columns(st: dict, keep: torch.Tensor) -> None:
    """Keep only input columns ``keep`` (indices into [0, in)); the h-part stays."""
    if "ih" in st:
        st["ih"]["w"] = st["ih"]["w"][:, keep]
    else:
        for g in st["gates"].values():
            w = g["hid"]["w"]
            g["hid"]["w"] = torch.cat([w[:, keep], w[:, st["in"]:]], 1)
    st["in"] = len(keep)


def _zero(tensors) -> bool:
    """Set ``tensors`` to 0 in place; whether any held a nonzero."""
    nonzero = any(bool((t != 0).any()) for t in tensors)
    for t in tensors:
        t.zero_()
    return nonzero


def _gate_units(st: dict) -> bool:
    """H-LSTM: remove gate hidden units without outputs, fold those without inputs.  A gate
    none of whose units is live keeps one unit, with zero weights (its constant, if any,
    folded first): its weights fed nothing, yet counted as connections and MACs."""
    changed = False
    for g in st["gates"].values():
        hid, out = g["hid"], g["out"]
        out_dead = ~(out["w"] != 0).any(0)
        in_dead = ~(hid["w"] != 0).any(1)
        const = torch.relu(hid["b"])
        remove = out_dead | in_dead
        fold = remove & in_dead & ~out_dead & (const != 0)
        if fold.any():             # sum_u W_k[:, u] * c_u moves into b_k
            out["b"] += (out["w"][:, fold] * const[fold]).sum(1)
        all_removed = bool(remove.all())
        if all_removed:
            remove[0] = False      # keep one unit so that the gate exists: it feeds nothing
        if remove.any():
            keep = (~remove).nonzero().squeeze(1)
            hid["w"], hid["b"] = hid["w"][keep], hid["b"][keep]
            out["w"] = out["w"][:, keep]
            changed = True
        if all_removed:            # (its constant, if any, is in b_k now)
            changed |= _zero([hid["w"], hid["b"], out["w"]])
    return changed


def _read_by(st: dict, cells: torch.Tensor) -> torch.Tensor:
    """Cell units whose h_{t-1} the gates of ``cells`` (bool, length H) read."""
    h = _hidden(st)
    if "hh" in st:   # rows j, H+j, 2H+j, 3H+j of W_hh are unit j's gates
        rows = torch.cat([cells.nonzero().squeeze(1) + q * h for q in range(4)])
        return (st["hh"]["w"][rows] != 0).any(0)
    read = torch.zeros(h, dtype=torch.bool)
    for g in st["gates"].values():   # the gate units that feed a row of ``cells``
        units = (g["out"]["w"][cells] != 0).any(0)
        read |= (g["hid"]["w"][units][:, st["in"]:] != 0).any(0)
    return read


def _cell_units(st: dict, consumer: list[torch.Tensor]) -> torch.Tensor:
    """Cell units of this layer that cannot change its output (bool, length H): those
    outside the closure of the units the consumer reads under "read by the gates of a unit
    in it".  A unit read only by itself or by other such units (a recurrent loop that
    nothing outside reads) is one too: c_j and h_j feed nothing but those gates."""
    h = _hidden(st)
    live = torch.stack([(m[:, :h] != 0).any(0) for m in consumer]).any(0)
    while True:
        grown = live | _read_by(st, live)
        if torch.equal(grown, live):
            return ~live
        live = grown


def _silence_cells(st: dict) -> bool:
    """Zero every weight and bias of this layer's cell units, which nothing reads (the one
    unit kept so that the layer exists): h_t = o * tanh(c_t) = 0 then, as nothing needs it
    to be otherwise.  Whether any was nonzero."""
    if "hh" in st:
        return _zero([st[n][k] for n in ("ih", "hh") for k in ("w", "b")])
    h = st["in"]
    return _zero([t for g in st["gates"].values()
                  for t in (g["out"]["w"], g["out"]["b"], g["hid"]["w"][:, h:])])


def _remove_cells(st: dict, keep: torch.Tensor) -> None:
    h = _hidden(st)
    if "hh" in st:   # rows j, H+j, 2H+j, 3H+j of both matrices (gate order i, f, g, o)
        rows = torch.cat([keep + q * h for q in range(4)])
        for name in ("ih", "hh"):
            st[name]["w"], st[name]["b"] = st[name]["w"][rows], st[name]["b"][rows]
        st["hh"]["w"] = st["hh"]["w"][:, keep]
    else:
        for g in st["gates"].values():
            g["out"]["w"], g["out"]["b"] = g["out"]["w"][keep], g["out"]["b"][keep]
            g["hid"]["w"] = torch.cat([g["hid"]["w"][:, :st["in"]],
                                       g["hid"]["w"][:, st["in"]:][:, keep]], 1)


@torch.no_grad()
def dead_cells(model) -> list[torch.Tensor]:
    """Per recurrent layer of an ``lstm``/``hlstm`` model, its cell units that cannot change
    the output (bool, length H; ``_cell_units``), by its weights as they are (a masked
    model's pruned weights are zeros): the units ``compact_recurrent`` removes, for
    ``synth.masked.remove_dead`` to mask their gate rows in place."""
    states = _states(model)
    head = model.head.weight.detach()
    return [_cell_units(st, _input_columns(states[k + 1]) if k + 1 < len(states) else [head])
            for k, st in enumerate(states)]


@torch.no_grad()
def compact_recurrent(model) -> torch.nn.Module:
    """A new dense ``lstm``/``hlstm`` model, smaller, computing the same function in eval mode."""
    family = getattr(model, "spec", {}).get("family")
    if family not in ("lstm", "hlstm"):
        raise UserError(f"compact_recurrent handles the lstm and hlstm families, not {family!r}")
    states = _states(model)
    head = _lin(model.head)
    changed = True
    while changed:
        changed = False
        for k, st in enumerate(states):
            if "gates" in st:
                changed |= _gate_units(st)
            nxt = states[k + 1] if k + 1 < len(states) else None
            consumer = _input_columns(nxt) if nxt is not None else [head["w"]]
            dead = _cell_units(st, consumer)
            silent = bool(dead.all())
            if silent:
                dead[0] = False    # keep one unit so that the layer exists (silenced below)
            if dead.any():
                keep = (~dead).nonzero().squeeze(1)
                _remove_cells(st, keep)
                if nxt is not None:
                    _drop_input_columns(nxt, keep)
                else:
                    head["w"] = head["w"][:, keep]
                changed = True
            if silent:             # its weights fed nothing, yet counted as connections
                changed |= _silence_cells(st)
    spec = copy.deepcopy(model.spec)
    spec["hidden"] = [_hidden(st) for st in states]
    if family == "hlstm":
        spec["gate_hidden"] = [[st["gates"][k]["hid"]["w"].shape[0] for k in GATES]
                               for st in states]
    new = build(spec, model.input_shape, model.num_classes)
    for layer, st in zip(new.rnn.layers, states):
        pairs = ([(layer.ih, st["ih"]), (layer.hh, st["hh"])] if family == "lstm" else
                 [(getattr(layer.gates[k], part), st["gates"][k][part])
                  for k in GATES for part in ("hid", "out")])
        for lin, s in pairs:
            lin.weight.copy_(s["w"])
            lin.bias.copy_(s["b"])
    new.head.weight.copy_(head["w"])
    new.head.bias.copy_(head["b"])
    return new.eval()
