"""Sequence sets record a valid input range, per channel, from their training split (as a
table does per feature): synthesized inputs of a sequence teacher were clipped to nothing
(input_range gave (-inf, inf)) and ``--method amortized`` was refused for every sequence set.
A set synthesized from a sequence teacher (``parquet:OUT``) keeps the teacher's data-set
``kind`` and ``layout`` (it read back with kind None)."""
import dataclasses

import numpy as np
import pytest
import torch

from synth.data import input_range, load_dataset, write_parquet
from tests.synth._tiny import TOY_TS_HEADER

# 2 channels, series of 4 to 6 steps (left-padded to 6); channel 1 far from zero in raw
# units, so a range that missed the padding (the train mean) would show
HEADER = TOY_TS_HEADER


def _write_toy(path, seed):
    rng = np.random.default_rng(seed)
    lines = []
    for i in range(20):
        label = "up" if i % 2 == 0 else "down"
        steps = 4 + i % 3
        a = rng.normal(size=(2, steps)) * [[1.0], [0.01]] + [[0.0], [50.0]]
        a[0] += 2.0 if label == "up" else -2.0
        lines.append(":".join(",".join(f"{v:.6f}" for v in c) for c in a) + ":" + label)
    path.write_text(HEADER + "\n".join(lines) + "\n")


@pytest.fixture(scope="module")
def toy(tmp_path_factory):
    d = tmp_path_factory.mktemp("ts")
    _write_toy(d / "Toy_TRAIN.ts", 0)
    _write_toy(d / "Toy_TEST.ts", 1)
    return load_dataset(f"ts:{d}", seed=0)


def _contained(data):
    """The normalized training inputs (padding included) lie within input_range, per channel."""
    lo, hi = input_range(data.metadata())
    c = data.input_shape[0]
    assert lo.shape == hi.shape == (c,)
    assert torch.isfinite(lo).all() and torch.isfinite(hi).all() and (lo <= hi).all()
    x = data.x_train
    # exactly: the bounds are computed as the inputs are (float64, then float32)
    assert (x >= lo.view(c, 1)).all() and (x <= hi.view(c, 1)).all()
    # tight: each bound is some training input's value (min / max over the split)
    assert torch.equal(x.amin(dim=(0, 2)), lo) and torch.equal(x.amax(dim=(0, 2)), hi)
    return lo, hi


@pytest.mark.parametrize("name", ["basicmotions", "japanesevowels"])
def test_packaged_sequence_sets_record_a_per_channel_range(name):
    data = load_dataset(name)
    assert data.value_range is not None
    raw_lo, raw_hi = data.value_range
    assert len(raw_lo) == len(raw_hi) == data.input_shape[0]
    assert data.metadata()["value_range"] == [raw_lo, raw_hi]
    lo, hi = _contained(data)
    if name == "japanesevowels":   # left-padded with zeros: zero is a valid value
        assert (lo <= 0).all() and (hi >= 0).all()
        assert (data.x_train == 0).all(dim=1).any()   # some steps are padding


def test_a_users_ts_set_records_its_train_range_padding_included(toy):
    assert toy.extra["padding"].startswith("left")
    lo, hi = _contained(toy)
    assert (lo <= 0).all() and (hi >= 0).all()
    # from the training split only: val/test values beyond it are not folded in
    raw = [torch.tensor(v, dtype=torch.float64) for v in toy.value_range]
    mean, std = (torch.tensor(v, dtype=torch.float64) for v in (toy.mean, toy.std))
    train_raw = toy.x_train.double() * std.view(-1, 1) + mean.view(-1, 1)
    assert torch.allclose(raw[1], train_raw.amax(dim=(0, 2)), atol=1e-4)


def test_the_range_leaves_the_digest_as_it_was():
    data = load_dataset("basicmotions")
    assert data.value_range is not None
    assert data.digest() == dataclasses.replace(data, value_range=None).digest()


def test_a_generator_is_accepted_for_a_sequence_set_and_stays_in_range():
    from synth.amortized import AmortizedConfig, build_generator, check_bounded
    from synth.models import build
    data = load_dataset("basicmotions")
    lo, hi = input_range(data.metadata())
    check_bounded(lo, hi)   # was: "method amortized ... records none"
    torch.manual_seed(0)
    teacher = build({"family": "mlp", "hidden": [16], "bn": True}, data.input_shape,
                    data.num_classes).eval()
    config = AmortizedConfig()
    generator = build_generator(teacher, config, (lo, hi)).eval()
    with torch.no_grad():
        x = generator(torch.randn(8, config.latent_dim), torch.arange(8) % data.num_classes)
    assert x.shape == (8,) + tuple(data.input_shape)
    assert (x >= lo.view(-1, 1) - 1e-5).all() and (x <= hi.view(-1, 1) + 1e-5).all()


def test_a_synthesized_sequence_set_keeps_kind_layout_and_range(toy, tmp_path):
    """The metadata nnsynth invert writes into each shard is the teacher checkpoint's
    data-set record (cluster.pairs: payload['dataset'], renamed, plus 'synthesis')."""
    from synth.checkpoint import read_checkpoint, save_checkpoint
    from synth.models import build
    model = build({"family": "mlp", "hidden": [8], "bn": True}, toy.input_shape, 2)
    path = save_checkpoint(tmp_path / "t.pt", model, dataset=toy.metadata())
    meta = dict(read_checkpoint(path)["dataset"])
    assert meta["kind"] == "sequence" and meta["layout"] == "channels x steps"
    meta["name"] = f"inverted:{meta['name']}"
    meta["synthesis"] = {"teacher_checksum": "0" * 16, "config": {}, "student": None}
    out = tmp_path / "syn"
    out.mkdir()
    x = toy.x_train[:12].clone()
    y = torch.arange(12) % 2
    write_parquet(out / "shard_00000.parquet", x[:6], y[:6], meta)
    write_parquet(out / "shard_00001.parquet", x[6:], y[6:], meta)
    back = load_dataset(f"parquet:{out}")
    got = back.metadata()
    assert got["kind"] == "sequence" and got["layout"] == "channels x steps"
    assert back.is_sequence and tuple(back.input_shape) == tuple(toy.input_shape)
    assert got["value_range"] == meta["value_range"]
    lo, hi = back.pixel_range()
    assert torch.equal(lo, input_range(toy.metadata())[0])
    assert torch.equal(hi, input_range(toy.metadata())[1])
    # its padding and lengths are kept (h246): the inputs inverted from a left-padded set's
    # teacher are left-padded in its range (synth.inversion.padded_lengths, after this test)
    for key in ("padding", "lengths"):
        assert got.get(key) == meta.get(key), key
    # what a synthesized set is not: the real set's split or source
    for key in ("source", "split", "synthesis"):
        assert key not in got, key


def test_a_tables_range_holds_its_training_inputs_exactly():
    """The bounds were computed in float32 from raw values (wine's proline: hundreds against
    a std of 300) and cut into the smallest training inputs they are the min of."""
    data = load_dataset("wine")
    lo, hi = input_range(data.metadata())
    x = data.x_train
    assert (x >= lo).all() and (x <= hi).all()
    assert torch.equal(x.amin(0), lo) and torch.equal(x.amax(0), hi)
