"""A tiny BatchNorm teacher on the 8x8 digits, shared by the inversion/distillation/pair tests."""
import torch

TINY_SPEC = {"family": "convnet", "widths": [8, 16], "kernels": [3, 3], "strides": [1, 2],
             "bn": True, "pool": "avg", "hidden": []}


def tiny_teacher(digits, epochs: int = 3):
    """(model, test accuracy): trained for a few epochs; deterministic."""
    from synth.models import build
    from synth.train import TrainConfig, fit
    torch.manual_seed(0)
    model = build(TINY_SPEC, digits.input_shape, digits.num_classes)
    metrics = fit(model, digits, TrainConfig(epochs=epochs, batch_size=32, lr=0.1, seed=0,
                                             device="cpu", progress=False))
    return model.eval(), metrics["test_accuracy"]


def tiny_teacher_checkpoint(digits, path):
    from synth.checkpoint import save_checkpoint
    model, acc = tiny_teacher(digits)
    save_checkpoint(path, model, dataset=digits.metadata(), metrics={"test_accuracy": acc})
    return path
