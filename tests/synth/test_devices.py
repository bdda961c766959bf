"""Devices: what a function makes for a model goes to the model's device, and the models a
function only reads (a teacher, the network it inverts or prunes into a copy, the old model
of continual learning) are left on the device they were on; the new model made from one (the
pruned copy, the extended model) is returned beside it.

The first wave had never run on a GPU.  On the first one (an H200, benchmarks/gpu_check.py)
every CLI command that trains crashed after training ("mat1 is on cpu, different from other
tensors on cuda:0": ``count_flops`` probed the trained model with a CPU input), as did
grow-and-prune (a search trial's refinement) and data-free pruning; ``distill(...,
device="cpu")`` left the caller's CUDA teacher on the CPU; an inversion on CUDA inside
``adi_distill`` with KD on the CPU left the student on CUDA for the CPU steps that followed.
The meta-device test runs everywhere; the rest need CUDA (run on the GPU machine).
"""
import pytest
import torch
from click.testing import CliRunner

from synth.continual import ContinualConfig, learn_new_classes
from synth.data import class_subset, load_dataset
from synth.device import borrowed, module_device
from synth.dfprune import PruneConfig, prune
from synth.distill import DistillConfig, adi_distill, distill
from synth.grow_prune import GrowPruneSchedule, grow_and_prune
from synth.inversion import InversionConfig, balanced_labels, synthesize
from synth.models import build, count_flops
from synth.train import TrainConfig, fit

CUDA = torch.cuda.is_available()
needs_cuda = pytest.mark.skipif(not CUDA, reason="needs a CUDA device")
SPEC = {"family": "convnet", "widths": [4, 8], "bn": True}


def test_flop_counts_probe_the_model_on_its_own_device():
    """On the meta device (no memory, no CUDA needed) a Linear given a CPU probe raises, as
    CUDA does: before, count_flops made its probe on the CPU whatever the model's device."""
    for name, shape in (("lenet300_100", (1, 28, 28)), ("lenet5_bn", (1, 28, 28))):
        cpu = build(name, shape, 10)
        meta = build(name, shape, 10).to("meta")
        assert module_device(meta).type == "meta"
        assert count_flops(meta, shape) == count_flops(cpu, shape) > 0


def test_module_device_of_a_module_without_tensors_is_the_cpu():
    assert module_device(torch.nn.ReLU()) == torch.device("cpu")


@pytest.fixture(scope="module")
def digits():
    return load_dataset("digits", seed=0)


@pytest.fixture(scope="module")
def teacher(digits):
    torch.manual_seed(0)
    model = build(SPEC, digits.input_shape, digits.num_classes)
    fit(model, digits, TrainConfig(epochs=2, device="cpu", progress=False))
    return model.cpu().eval()


@needs_cuda
def test_borrowed_moves_each_module_back_where_it_was():
    a, b = torch.nn.Linear(2, 2), torch.nn.Linear(2, 2).cuda()
    with borrowed(a, None, b, device="cuda") as (x, y):
        assert module_device(x).type == module_device(y).type == "cuda"
    assert module_device(a).type == "cpu" and module_device(b).type == "cuda"


@needs_cuda
@pytest.mark.parametrize("home,work", [("cpu", "cuda"), ("cuda", "cpu")])
def test_functions_that_read_a_model_leave_it_on_its_device(teacher, digits, home, work):
    teacher.to(home)
    inv = InversionConfig.preset("mnist28", iterations=5, min_iterations=1, batch_size=20,
                                 early_stop=False, device=work)
    r = synthesize(teacher, balanced_labels(20, 10), inv, pixel_range=digits.pixel_range())
    assert module_device(teacher).type == home and r.images.device.type == "cpu"

    student = build({**SPEC, "widths": [2, 4]}, digits.input_shape, digits.num_classes)
    distill(student, teacher, r.images, digits,
            DistillConfig(epochs=1, batch_size=10, min_steps=0, progress=False, device=work))
    assert module_device(teacher).type == home

    result = prune(teacher, digits.x_train[:64], digits.y_train[:64],
                   PruneConfig(ratio=0.5, progress=False, device=work))
    assert module_device(teacher).type == module_device(result.model).type == home

    old = class_subset(digits, [0, 1, 2, 3, 4])
    old_model = build(SPEC, digits.input_shape, 5).to(home)
    new = class_subset(digits, [5, 6], offset=5)
    model, _ = learn_new_classes(old_model, new, ContinualConfig(method="finetune", epochs=1,
                                                                 progress=False, device=work))
    assert module_device(old_model).type == module_device(model).type == home
    assert old.num_classes == 5
    teacher.cpu()


@needs_cuda
def test_adi_with_inversion_on_cuda_and_kd_on_the_cpu_runs(teacher, digits):
    """Before: synthesize moved the student to CUDA, then PoolKD's CPU steps fed it CPU
    inputs ("Input type (torch.FloatTensor) and weight type (torch.cuda.FloatTensor)")."""
    student = build({**SPEC, "widths": [2, 4]}, digits.input_shape, digits.num_classes)
    cfg = DistillConfig(rounds=2, images_per_round=20, kd_steps_per_round=3, final_kd_steps=3,
                        min_steps=0, batch_size=10, progress=False, device="cpu")
    inv = InversionConfig.preset("mnist28", iterations=5, min_iterations=1, batch_size=20,
                                 device="cuda")
    m = adi_distill(student, teacher, digits.pixel_range(), cfg, inv, data=digits)
    assert m["kd_steps"] == 9 and module_device(teacher).type == "cpu"


@needs_cuda
def test_grow_and_prune_on_cuda(digits):
    """Before: its first measurement (count_flops) crashed on a model on CUDA."""
    torch.manual_seed(0)
    model = build(SPEC, digits.input_shape, digits.num_classes)
    model, history = grow_and_prune(model, digits, GrowPruneSchedule(
        prune_steps=1, retrain_epochs=1, device="cuda"))
    assert module_device(model).type == "cuda" and len(history) >= 2


@needs_cuda
def test_cli_train_on_a_gpu_machine(tmp_path):
    """``nnsynth train`` (device auto: CUDA here) crashed after training, before saving."""
    from deploy.cli.main import cli
    out = tmp_path / "m.pt"
    r = CliRunner().invoke(cli, ["train", "--dataset", "digits", "--model", "lenet300_100",
                                  "--epochs", "1", "--min-steps", "0", "--out", str(out)])
    assert r.exit_code == 0, r.output
    assert out.exists()
