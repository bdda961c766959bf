"""DeepInversion of sequence teachers (input (C, L), channels x steps): a BatchNorm MLP on a
sensor/time-series set was refused ("teacher must take images (C, H, W) or feature vectors
(F,), got input_shape (6, 100)").  It is inverted as C*L features (the tabular settings) and
the synthesized inputs keep their (C, L) shape: in memory, in the Parquet set ``nnsynth
invert`` writes, and in its grid (one line plot per sample).  A teacher whose BatchNorm
normalizes the channels of a Conv1d (refused here at first) is inverted with a roll along
time (test_h123_conv1d_inversion.py).  A generator (method amortized) is refused in one line
for a set that records no valid input range."""
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from torch import nn

from synth.data import Dataset, input_range
from synth.errors import UserError
from synth.inversion import as_teacher, balanced_labels, settings_for, synthesize

SHAPE = (3, 20)
SPEC = {"family": "mlp", "hidden": [32, 16], "bn": True}


def sequence_set() -> Dataset:
    """3 classes of (3, 20) series: class k is a sine of k + 1 periods on channel k, noise on
    the others; z-scored per channel (the sequence sets' normalization)."""
    g = torch.Generator().manual_seed(0)
    n = 240
    y = torch.arange(n) % 3
    t = torch.linspace(0, 2 * np.pi, SHAPE[1])
    x = 0.3 * torch.randn((n,) + SHAPE, generator=g)
    for i in range(n):
        k = int(y[i])
        x[i, k] += torch.sin((k + 1) * t + float(torch.rand((), generator=g)))
    parts = (slice(0, 180), slice(180, 210), slice(210, 240))
    return Dataset("seq3x20", *[v for p in parts for v in (x[p], y[p])], input_shape=SHAPE,
                   num_classes=3, class_names=["one", "two", "three"], mean=[0.0] * 3,
                   std=[1.0] * 3, extra={"kind": "sequence", "layout": "channels x steps"})


@pytest.fixture(scope="module")
def data():
    return sequence_set()


def sequence_teacher(spec, data: Dataset, epochs: int, lr: float) -> nn.Module:
    """``spec`` trained on ``data`` for a few epochs on one thread (the same weights whatever
    the machine's thread count), at least 90% right on its test split."""
    from hwsim.latency import torch_threads
    from synth.models import build
    from synth.train import TrainConfig, fit
    with torch_threads(1):
        torch.manual_seed(0)
        model = build(spec, SHAPE, 3)
        metrics = fit(model, data, TrainConfig(epochs=epochs, batch_size=32, lr=lr, seed=0,
                                               device="cpu", progress=False))
    assert metrics["test_accuracy"] >= 0.9
    return model.eval()


@pytest.fixture(scope="module")
def teacher(data):
    """A tiny BN MLP."""
    return sequence_teacher(SPEC, data, epochs=5, lr=0.1)


@pytest.fixture(scope="module")
def teacher_path(data, teacher, tmp_path_factory):
    from synth.checkpoint import save_checkpoint
    return save_checkpoint(tmp_path_factory.mktemp("t") / "teacher.pt", teacher,
                           dataset=data.metadata())


def test_a_sequence_teacher_inverts_as_feature_vectors_keeping_its_shape(data, teacher):
    config = settings_for(teacher, value_range=data.pixel_range(), iterations=400)
    # the tabular settings: no jitter, flips or spatial prior, x1 on the first (dense) BN layer
    # (an MLP on 60 features gets the same; a bare shape says nothing of its first BN layer)
    tabular = settings_for((60,), iterations=400).replace(first_bn_multiplier=1.0)
    assert config.to_dict() == tabular.to_dict()
    assert config.jitter == 0 and not config.flip and config.tv_l2_weight == 0
    assert config.first_bn_multiplier == 1.0 and config.method == "deepinversion"
    result = synthesize(teacher, balanced_labels(48, 3), config, pixel_range=data.pixel_range())
    assert result.images.shape == (48,) + SHAPE
    assert result.fidelity >= 0.9
    assert result.stats["bn_loss_final"] < result.stats["bn_loss_initial"]
    with torch.no_grad():   # the set as the teacher sees it
        assert (teacher(result.images).argmax(1) == result.labels).float().mean() >= 0.9


def test_a_conv1d_batchnorm_teacher_is_taken_with_a_roll_along_time():
    # refused before (h123): "'1' normalizes the channels of a sequence ... not for
    # Conv1d-BatchNorm networks"; now inverted with its per-channel statistics
    # (tests/synth/test_h123_conv1d_inversion.py)
    model = nn.Sequential(nn.Conv1d(3, 4, 3, padding=1), nn.BatchNorm1d(4), nn.ReLU(),
                          nn.Flatten(), nn.Linear(4 * SHAPE[1], 3))
    config = settings_for(as_teacher(model, SHAPE))
    assert config.jitter == 1 and config.first_bn_multiplier == 10.0 and not config.flip
    # BatchNorm only after the flatten (per-feature statistics) inverts like an MLP
    ok = nn.Sequential(nn.Conv1d(3, 4, 3, padding=1), nn.ReLU(), nn.Flatten(),
                       nn.Linear(4 * SHAPE[1], 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, 3))
    assert as_teacher(ok, SHAPE).input_shape == SHAPE
    config = settings_for(ok)
    assert config.jitter == 0 and config.first_bn_multiplier == 1.0 and config.tv_l2_weight == 0


def test_a_generator_needs_a_valid_range_and_makes_sequences_within_one(data, teacher):
    from synth.amortized import AmortizedConfig, build_generator
    config = AmortizedConfig()
    with pytest.raises(UserError, match="method amortized .* records none"):
        build_generator(teacher, config, input_range(data.metadata()))   # (-inf, inf)
    bounded = (torch.full((3,), -3.0), torch.full((3,), 3.0))
    generator = build_generator(teacher, config, bounded).eval()
    x = generator(torch.randn(4, config.latent_dim), torch.tensor([0, 1, 2, 0]))
    assert x.shape == (4,) + SHAPE and bool((x.abs() <= 3).all())


def test_the_sequence_grid_has_one_row_per_class(data, tmp_path):
    from PIL import Image

    from synth.images import save_class_grid
    path = save_class_grid(tmp_path / "grid.png", data.x_train[:12], data.y_train[:12], 3,
                           data.mean, data.std, per_class=4, class_names=data.class_names)
    w, h = Image.open(path).size
    assert w > h > 100


def test_nnsynth_invert_writes_a_sequence_set_that_reads_back(ray_local, teacher_path,
                                                              tmp_path):
    from deploy.cli.main import cli
    from synth.data import load_dataset
    out = tmp_path / "syn"
    r = CliRunner().invoke(cli, ["invert", "--teacher", str(teacher_path), "--num-images", "24",
                                 "--iterations", "300", "--out", str(out), "--json"])
    assert r.exit_code == 0, r.output
    summary = json.loads(r.stdout.strip().splitlines()[-1])
    assert summary["fidelity"] >= 0.9 and summary["preset"] == "tabular"
    assert Path(summary["grid"]).is_file()
    data = load_dataset(f"parquet:{out}")
    assert tuple(data.input_shape) == SHAPE and data.x_train.shape[1:] == SHAPE
    r = CliRunner().invoke(cli, ["eval", "--model", str(teacher_path), "--dataset",
                                 f"parquet:{out}", "--split", "train", "--json"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout.strip().splitlines()[-1])["accuracy"] >= 0.9
