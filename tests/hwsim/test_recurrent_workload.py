"""hwsim prices recurrent layers: per-step GEMMs x steps, with sparsity; tables cover both cells."""
import pytest
import torch

from hwsim import accel, tables
from hwsim.workload import extract, summary
from synth.masked import attach_masks
from synth.models import build, count_flops

C, T, H, K, M, B = 3, 11, 8, 4, 5, 2


def test_lstm_macs_by_hand():
    model = build({"family": "lstm", "hidden": [H]}, (C, T), K)
    ops = {o.name: o for o in extract(model, (C, T), batch=B)}
    assert set(ops) == {"rnn.layers.0.ih", "rnn.layers.0.hh", "rnn.layers.0.cell", "head"}
    ih, hh, cell = ops["rnn.layers.0.ih"], ops["rnn.layers.0.hh"], ops["rnn.layers.0.cell"]
    # W_ih x_t for all steps at once: one GEMM with T*B rows
    assert ih.type == "linear" and ih.gemm == (T * B, C, 4 * H) and ih.macs == B * T * C * 4 * H
    # W_hh h_{t-1}: one (B x H) @ (H x 4H) GEMM per step, T steps one after another
    assert hh.type == "recurrent" and hh.gemm == (B, H, 4 * H) and hh.groups == T
    assert hh.macs == B * T * H * 4 * H
    assert cell.elems == B * T * 9 * H and ops["head"].macs == B * H * K
    total = B * (T * (C * 4 * H + H * 4 * H) + H * K)
    assert summary(list(ops.values()))["macs"] == total == B * count_flops(model, (C, T))



def test_the_lstm_family_and_nn_lstm_price_the_same_cell_work():
    """The family's cell counted 8 element ops per unit and step, nn.LSTM's 9 (3 sigmoids, the
    tanh of g, f*c, i*g, their sum, tanh(c), o*tanh(c)): one network priced two ways."""
    class Torch(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.rnn = torch.nn.LSTM(C, H, batch_first=True)

        def forward(self, x):                      # (N, C, T) like the family takes
            return self.rnn(x.transpose(1, 2))[0]

    family = build({"family": "lstm", "hidden": [H]}, (C, T), K)
    cells = [o.elems for o in extract(family, (C, T), batch=B) if o.name.endswith(".cell")]
    torch_elems = sum(o.elems for o in extract(Torch(), (C, T), batch=B) if o.type == "lstm")
    assert cells == [torch_elems] == [B * T * 9 * H]

def test_hlstm_macs_by_hand_and_sparsity():
    model = build({"family": "hlstm", "hidden": [H], "gate_hidden": M}, (C, T), K)
    attach_masks(model)
    with torch.no_grad():   # prune half of gate f's hidden-layer weights
        model.rnn.layers[0].gates["f"].hid.parametrizations.weight[0].mask[:, ::2] = False
    ops = extract(model, (C, T), batch=B)
    rec = {o.name: o for o in ops if o.type == "recurrent"}
    assert len(rec) == 8 and all(o.groups == T for o in rec.values())
    for k in "ifgo":   # per step: [x_t; h] (C+H) -> M, then M -> H
        assert rec[f"rnn.layers.0.gates.{k}.hid"].macs == B * T * (C + H) * M
        assert rec[f"rnn.layers.0.gates.{k}.out"].macs == B * T * M * H
    assert summary(ops)["macs"] == B * (T * 4 * ((C + H) * M + M * H) + H * K)
    cell = [o for o in ops if o.name == "rnn.layers.0.cell"][0]
    assert cell.elems == B * T * (9 * H + 4 * M)       # cell update + the gate units' ReLUs
    f = rec["rnn.layers.0.gates.f.hid"]
    assert f.weight_sparsity == pytest.approx(6 / 11)     # columns 0, 2, ..., 10 of 11 masked
    assert rec["rnn.layers.0.gates.i.hid"].weight_sparsity == 0
    assert not [o for o in ops if o.name.startswith("add")]   # the cell's sums are not residuals


@pytest.mark.parametrize("spec", [{"family": "lstm", "hidden": [H]},
                                  {"family": "hlstm", "hidden": [H], "gate_hidden": M}])
def test_tables_cover_both_cells(spec):
    model = build(spec, (C, T), K)
    ops = extract(model, (C, T), batch=1)
    for device in ("accel", "cpu"):
        table = tables.build_table(ops, device, repeats=3)
        pred = tables.predict(table, ops)
        assert not pred["missing"] and pred["latency_ms"] > 0
    # more steps cost more on the accelerator: the recurrent GEMMs run one after another
    longer = extract(build(spec, (C, 4 * T), K), (C, 4 * T), batch=1)
    cfg = accel.AcceleratorConfig()
    assert accel.evaluate(longer, cfg)["cycles"] > 2 * accel.evaluate(ops, cfg)["cycles"]
