"""h293: an H-LSTM of 38k MACs priced 0.0441 ms on the accelerator model against 0.0119 ms
for an LSTM of 52k (DiabDeep's table on japanesevowels, h291) without a word on why.

The price follows the documented formula (``hwsim.accel.gemm_compute_cycles``, SCALE-Sim's
ws count): one step of the H-LSTM (I = 12, H = 16, gate width M = 8) is eight dependent or
unfused GEMMs of one row, W*_k: 1 x 28 x 8 and W_k: 1 x 8 x 16 (Dai et al. 1805.11797
Eq. 1-4), each one fold of the 32 x 32 array: (2R + C + T - 2) - 1 = 64 + 32 + 1 - 2 - 1 = 94
cycles, 752 a step, 21,808 over 29 steps.  The LSTM's step is one GEMM 1 x 16 x 64 (its
input projection runs once over all steps): ceil(64 / 32) = 2 folds, 2 x 95 - 1 = 189 cycles,
5,481 over 29 steps.  Time follows GEMMs x folds x steps, not MACs (utilization 0.18%).
Reports now say so (``serial_note``); the figures are unchanged."""
from hwsim import accel_cost, price_report
from synth.models import build

SHAPE = (12, 29)
HLSTM = {"family": "hlstm", "hidden": [16], "gate_hidden": 8, "dropout": 0.2, "frame": 1}
LSTM = {"family": "lstm", "hidden": [16], "frame": 1}


def test_hlstm_report_says_its_steps_cost_folds_not_macs():
    out = price_report(build(HLSTM, SHAPE, 9).eval(), SHAPE)
    assert out["cycles"] == 8 * 29 * 94 + 160 + 94       # gates, cell (5,104 / 32), head
    note = out["serial_note"]
    assert "8 GEMMs a step" in note and "29 steps" in note, note
    assert "752 cycles a step" in note and "21,808 of the 22,062 cycles" in note, note
    assert "40,832 MACs" in note and "utilization 0.18%" in note, note


def test_lstm_report_and_accel_cost_note():
    out = price_report(build(LSTM, SHAPE, 9).eval(), SHAPE)
    assert "1 GEMM a step" in out["serial_note"] and "189 cycles a step" in out["serial_note"]
    assert "5,481 of the 5,951 cycles" in out["serial_note"]
    # DiabDeep's accel column (hwsim.accel_cost): its note carries the same line
    cost = accel_cost(build(LSTM, SHAPE, 9).eval(), SHAPE)
    assert cost["note"] == out["serial_note"] and cost["latency_ms"] == out["latency_ms"]


def test_no_note_without_per_step_gemms():
    model = build("mlp_small", (1, 8, 8), 10)
    assert "serial_note" not in price_report(model, (1, 8, 8))
    assert "note" not in accel_cost(model, (1, 8, 8))
