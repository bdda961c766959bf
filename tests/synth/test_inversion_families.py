"""Generated from the model registry (as timm's tests are): every registered family that can
have BatchNorm is inverted briefly on a tiny teacher of its own -- images for the families that
take them, feature vectors for those that take those, sequences (C, L) for those (an MLP on
the flattened series; convnet1d, BatchNorm over Conv1d channels) -- and the inversion must raise
the teacher's fidelity and lower the BN and per-input losses.  A family added to the registry is
tested here without editing this file."""
import dataclasses

import pytest
import torch

from synth.errors import UserError
from synth.inversion import balanced_labels, settings_for, synthesize
from synth.models import batchnorm_layers, build, list_families, list_variants

# The smallest bundled set of each kind: 8x8 digits (28x28 mnist5k for families that need
# more pixels), wine's 13 features, and basicmotions' 6 channels x 100 steps (80 windows).
DATASETS = {"image": ("digits", "mnist5k"), "features": ("wine",), "sequence": ("basicmotions",)}
SHAPES = {"digits": (1, 8, 8), "mnist5k": (1, 28, 28), "wine": (13,), "basicmotions": (6, 100)}


def _size(spec: dict) -> int:
    """A proxy for a spec's size that needs no model: the sum of its integer entries
    (widths, depths, hidden sizes, kernels)."""
    total = 0
    for v in spec.values():
        for item in (v if isinstance(v, (list, tuple)) else [v]):
            if isinstance(item, int) and not isinstance(item, bool):
                total += item
    return total


def _bn_spec(family: str) -> dict:
    """The family's smallest registered variant (or its defaults), with BatchNorm switched on
    where BatchNorm is an option."""
    specs = [s for s in list_variants().values() if s["family"] == family] or [{"family": family}]
    spec = dict(min(specs, key=_size))
    if "bn" in spec:
        spec["bn"] = True
    return spec


def _cases():
    for family in sorted(list_families()):
        for kind, names in DATASETS.items():
            yield pytest.param(family, kind, id=f"{family}-{kind}")


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)


def _tiny_teacher(spec, dataset: str):
    """A teacher trained 4 epochs on at most 1,500 training inputs (seeded)."""
    from synth.data import load_dataset
    from synth.train import TrainConfig, fit
    data = load_dataset(dataset)
    data = dataclasses.replace(data, x_train=data.x_train[:1500], y_train=data.y_train[:1500])
    torch.manual_seed(0)
    model = build(spec, data.input_shape, data.num_classes)
    fit(model, data, TrainConfig(epochs=4, batch_size=32, lr=0.1, seed=0, device="cpu",
                                 progress=False, keep_best=False, validate_each_epoch=False))
    return model.eval(), data


@pytest.mark.parametrize("family,kind", list(_cases()))
def test_short_inversion_of_every_bn_family(family, kind):
    spec = _bn_spec(family)
    for dataset in DATASETS[kind]:
        try:
            with torch.device("meta"):
                probe = build(spec, SHAPES[dataset], 10)
        except UserError:
            continue  # does not fit this input: try the next, larger one
        break
    else:
        pytest.skip(f"family {family} takes no {kind} input of the bundled sets")
    if not batchnorm_layers(probe):
        pytest.skip(f"family {family} has no BatchNorm variant: nothing to invert")
    teacher, data = _tiny_teacher(spec, dataset)
    lo, hi = data.pixel_range()
    config = settings_for(teacher, value_range=(lo, hi), iterations=150, batch_size=10,
                          early_stop=False, device="cpu")
    r = synthesize(teacher, balanced_labels(10, data.num_classes), config,
                   pixel_range=(lo, hi), seed=0)
    s = r.stats
    assert r.images.shape == (10,) + tuple(data.input_shape)
    assert s["fidelity"] > s["fidelity_initial"] and s["fidelity"] >= 0.3, s   # chance: 0.1
    assert s["bn_loss_final"] < s["bn_loss_initial"], s
    assert s["loss_final"] < s["loss_initial"], s
    if kind == "sequence":   # a per-channel range (C,) against inputs (N, C, L)
        lo, hi = lo.view(-1, 1), hi.view(-1, 1)
    assert torch.isfinite(lo).all() and torch.isfinite(hi).all()   # every kind records one
    assert (r.images >= lo - 1e-5).all() and (r.images <= hi + 1e-5).all()
