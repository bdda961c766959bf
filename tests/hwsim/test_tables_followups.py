"""Follow-ups on hwsim.tables and the symbiotic plot: each test failed before its fix.

1. A host-CPU table is measured at a stated thread count, records how it was measured, and
   says in one warning line when it is used under other conditions.
2. The op a CPU table times is the layer's op: its type (average vs max pooling, GELU vs
   ReLU) and all its geometry (dilation, stride, padding, groups, bias).
3. The symbiotic plot's axis names the sequence length actually used.
"""
import json
import logging

import pytest
import torch
from click.testing import CliRunner
from torch import nn

from deploy.cli.main import cli
from hwsim import extract, tables
from hwsim.latency import host_identity


# --------------------------------------------------------------------------- 2: the timed op
def _layer_output(layer: nn.Module, op, seed: int = 0) -> torch.Tensor:
    """The layer on the tensors op_callable draws: input, then each parameter in order."""
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(op.in_shape, generator=gen)
    with torch.no_grad():
        for p in layer.parameters():
            p.copy_(torch.randn(p.shape, generator=gen))
        return layer.eval()(x)


LAYERS = {
    "avgpool": (nn.AvgPool2d(2), (3, 8, 8)),
    "avgpool_geometry": (nn.AvgPool2d(3, stride=2, padding=1, ceil_mode=True,
                                      count_include_pad=False), (3, 9, 9)),
    "maxpool_geometry": (nn.MaxPool2d(3, stride=2, padding=1), (3, 9, 9)),
    "maxpool_dilated": (nn.MaxPool2d(2, stride=1, dilation=2), (3, 8, 8)),
    "maxpool_rect": (nn.MaxPool2d((2, 3), stride=(2, 1)), (3, 8, 9)),
    "adaptive_avg": (nn.AdaptiveAvgPool2d((2, 3)), (3, 8, 9)),
    "adaptive_max": (nn.AdaptiveMaxPool2d(3), (3, 9, 9)),
    "conv_dilated": (nn.Conv2d(4, 6, 3, dilation=2, bias=False), (4, 9, 9)),
    "conv_dilated_padded": (nn.Conv2d(4, 6, 3, dilation=2, padding=2, bias=False), (4, 8, 8)),
    "conv_rect": (nn.Conv2d(4, 6, (3, 5), stride=(2, 1), padding=(1, 2), bias=False),
                  (4, 9, 9)),
    "conv_asymmetric_pad": (nn.Conv2d(4, 6, 3, stride=2, padding=0, bias=False), (4, 9, 9)),
    "conv_groups": (nn.Conv2d(8, 8, 3, groups=2, padding=1, bias=False), (8, 6, 6)),
    "depthwise_dilated": (nn.Conv2d(4, 4, 3, groups=4, padding=2, dilation=2, bias=False),
                          (4, 7, 7)),
    "conv_reflect": (nn.Conv2d(4, 6, 3, padding=1, padding_mode="reflect", bias=False),
                     (4, 6, 6)),
    "conv_same": (nn.Conv2d(4, 6, 4, padding="same", bias=False), (4, 6, 6)),
    "conv_circular_same": (nn.Conv2d(4, 6, (3, 4), padding="same", dilation=(1, 2),
                                     padding_mode="circular", bias=False), (4, 7, 9)),
    "conv_bias": (nn.Conv2d(4, 6, 3, stride=2, padding=1), (4, 8, 8)),
    "linear_bias": (nn.Linear(12, 5), (12,)),
    "gelu": (nn.GELU(), (3, 4, 4)),
    "sigmoid": (nn.Sigmoid(), (3, 4, 4)),
    "leaky": (nn.LeakyReLU(0.2), (3, 4, 4)),
    "softmax": (nn.Softmax(dim=1), (3, 4, 4)),
}


@pytest.mark.parametrize("name", list(LAYERS))
def test_the_timed_op_is_the_layers_op(name):
    """op_callable timed an AvgPool2d as max pooling (kernel in/out, no stride or padding),
    a dilated conv undilated (stride and padding guessed from the heights), a conv or linear
    without its bias and every activation as ReLU."""
    layer, shape = LAYERS[name]
    *copies, op = extract(layer, shape, batch=2)   # (a reflect-padded conv's copy: h209)
    assert [c.type for c in copies] == ["resample"] * ("reflect" in name or "circular" in name)
    got = tables.op_callable(op, torch.Generator().manual_seed(0))()
    want = _layer_output(layer, op)
    assert got.shape == want.shape and torch.allclose(got, want, atol=1e-5), name


def test_layers_of_one_shape_but_other_geometry_are_timed_apart():
    """A dilated and an undilated 3x3 conv of the same shapes (and ReLU vs GELU) were one
    table row: the second was priced at the first's time."""
    model = nn.Sequential(nn.Conv2d(4, 4, 3, padding=1), nn.ReLU(),
                          nn.Conv2d(4, 4, 3, padding=2, dilation=2), nn.GELU(),
                          nn.AvgPool2d(2), nn.Conv2d(4, 4, 1), nn.MaxPool2d(2))
    ops = extract(model, (4, 8, 8))
    assert len({op.key() for op in ops}) == len(ops)
    table = tables.build_table(ops, "cpu", repeats=4)
    assert len(table) == len(ops)
    assert not tables.predict(table, ops, threads=table.conditions["threads"])["missing"]


# --------------------------------------------------------------------------- 1: conditions
def _small_ops():
    return extract(nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU()), (1, 6, 6))


def test_cpu_table_is_measured_at_its_thread_count_and_records_it(monkeypatch):
    """The table was timed at whatever torch's thread count happened to be and recorded
    none of it (threads, torch version, CPU)."""
    seen = []
    real = tables.time_callable

    def spy(fn, repeats=20, warmup=3):
        seen.append(torch.get_num_threads())
        return real(fn, repeats, warmup)
    monkeypatch.setattr(tables, "time_callable", spy)
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        table = tables.build_table(_small_ops(), "cpu", repeats=4, threads=1)
        assert seen and set(seen) == {1}
        assert torch.get_num_threads() == 2            # the caller's setting is given back
    finally:
        torch.set_num_threads(before)
    c = table.conditions
    assert c["threads"] == 1 and c["torch"] == torch.__version__
    assert c["cpu"] and c["machine"]
    assert tables.build_table(_small_ops(), "accel").conditions is None   # a model: no host


def test_using_a_cpu_table_under_other_conditions_warns_in_one_line(caplog):
    ops = _small_ops()
    table = tables.build_table(ops, "cpu", repeats=4, threads=1)
    with caplog.at_level(logging.WARNING, logger="hwsim"):
        tables.predict(table, ops, threads=1)
    assert not caplog.records
    with caplog.at_level(logging.WARNING, logger="hwsim"):
        tables.predict(table, ops, threads=2)
    (rec,) = caplog.records
    assert rec.levelno == logging.WARNING and "\n" not in rec.getMessage()
    assert "threads 1" in rec.getMessage() and "2" in rec.getMessage()
    caplog.clear()
    other = tables.Table(table, device="cpu",
                         conditions={**table.conditions, "torch": "1.0.0", "cpu": "Other CPU"})
    with caplog.at_level(logging.WARNING, logger="hwsim"):
        tables.predict(other, ops, threads=1)
    (rec,) = caplog.records
    assert "1.0.0" in rec.getMessage() and "Other CPU" in rec.getMessage()


def test_a_table_round_trips_through_its_report_and_an_old_one_loads_with_a_warning(caplog):
    ops = _small_ops()
    table = tables.build_table(ops, "cpu", repeats=4, threads=1)
    out, _ = tables.table_report("m", "cpu", table, tables.predict(table, ops, threads=1))
    assert out["conditions"]["threads"] == 1
    back = tables.load_table(json.loads(json.dumps(out)))
    assert dict(back) == dict(table) and back.conditions == table.conditions
    with caplog.at_level(logging.WARNING, logger="hwsim"):
        assert tables.predict(back, ops, threads=1)["latency_ms"] == pytest.approx(
            tables.predict(table, ops, threads=1)["latency_ms"])
    assert not caplog.records
    # a table written before conditions (and layer geometry) were recorded: rows keyed by
    # the shorter key, no conditions -- it loads, every op is found, and it says so
    old = {"device": "cpu", "model": "m", "prediction": {},
           "rows": [{"key": repr(op.key()[:-1]), "type": op.type, "latency_ms": 1.0,
                     "energy_mj": None} for op in ops]}
    legacy = tables.load_table(old)
    assert legacy.conditions is None
    with caplog.at_level(logging.WARNING, logger="hwsim"):
        pred = tables.predict(legacy, ops, threads=1)
    assert not pred["missing"] and pred["latency_ms"] == pytest.approx(len(ops))
    (rec,) = caplog.records
    assert "unknown" in rec.getMessage()


def _run(args):
    return CliRunner().invoke(cli, args)


def test_cli_table_measures_at_threads_and_predicts_from_a_saved_table(tmp_path, caplog):
    r = _run(["hwsim", "table", "--device", "cpu", "--model", "mlp_small@1x4x4",
              "--repeats", "4", "--json"])
    assert r.exit_code == 0, r.output
    out = json.loads(r.output.strip().splitlines()[-1])
    assert out["conditions"]["threads"] == 1 and out["conditions"]["torch"] == torch.__version__
    path = tmp_path / "t.json"
    path.write_text(json.dumps(out))
    with caplog.at_level(logging.WARNING, logger="hwsim"):
        r = _run(["hwsim", "table", "--table", str(path), "--model", "mlp_small@1x4x4",
                  "--threads", "2", "--json"])
    assert r.exit_code == 0, r.output
    again = json.loads(r.output.strip().splitlines()[-1])
    assert again["prediction"]["latency_ms"] == pytest.approx(out["prediction"]["latency_ms"])
    assert any("threads 1" in rec.getMessage() for rec in caplog.records)
    r = _run(["hwsim", "table", "--device", "accel", "--model", "mlp_small@1x4x4",
              "--threads", "2"])
    assert r.exit_code == 2 and "--threads" in r.output and "Traceback" not in r.output


def test_host_identity_names_the_cpu():
    """platform.processor() is '' on Linux: the identity named no CPU model."""
    assert host_identity(1)["cpu"]


# --------------------------------------------------------------------------- 3: the plot
def test_symbiotic_plot_names_the_sequence_length_used(tmp_path, monkeypatch):
    """The host axis said 'ms per 35-token sequence' whatever bptt was."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from deploy import symbiotic
    figs = []
    real_close = plt.close
    monkeypatch.setattr(plt, "close", lambda fig=None: (figs.append(fig), real_close(fig)))
    rows = [{"cell": "lstm", "width": w, "exec": "dense", "best_ms": 1.0 + w, "q1_ms": 1.0,
             "q3_ms": 2.0 + w, "lo_ms": 1.0, "hi_ms": 2.0 + w} for w in (8, 16)]
    symbiotic._plot(tmp_path / "latency.png", {"host": rows, "accel": rows},
                    {"plain": ("lstm", 8)}, steps=12)
    labels = [ax.get_ylabel() for ax in figs[0].axes]
    assert any("12-token" in label for label in labels)
    assert not any("35" in label for label in labels)
