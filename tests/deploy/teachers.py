"""A run config's teacher, trained in this process by ``synth.train.fit`` (the loop a Ray
Train worker runs) and saved where the teacher stage looks for it (``teacher.cache``, under
the key ``deploy.stages.teacher_cache_key``): a test whose point lies in later stages then
spends no time starting Ray Train for a teacher that other tests train on workers."""
from __future__ import annotations

from pathlib import Path


def seed_teacher_cache(cfg, cache_dir: Path) -> Path:
    """Train ``cfg``'s teacher (one torch thread) and save it as ``cache_dir/<key>``."""
    import torch
    from deploy.stages import teacher_cache_key
    from synth.checkpoint import save_checkpoint
    from hwsim.latency import torch_threads
    from synth.data import load_dataset
    from synth.models import build
    from synth.train import TrainConfig, fit
    c = cfg.teacher
    data = load_dataset(c.dataset, seed=cfg.data_seed)
    torch.manual_seed(cfg.seed)
    model = build(c.model, data.input_shape, data.num_classes)
    train = TrainConfig(epochs=c.epochs, batch_size=c.batch_size, lr=c.lr, seed=cfg.seed,
                        device="cpu", progress=False)
    with torch_threads(1):   # seconds, where two threads on a busy machine take a minute
        metrics = fit(model, data, train)
    path = Path(cache_dir) / teacher_cache_key(cfg, data)
    save_checkpoint(path, model, dataset=data.metadata(),
                    metrics={"test_accuracy": metrics["test_accuracy"]},
                    extra={"train_config": train.to_dict(), "role": "teacher"})
    return path


def teacher_only(name: str, dataset: str, model: str, epochs: int = 1) -> dict:
    """A run config (as a dict) whose only stages are the teacher and the export (no
    synthesis, search or refine; no ONNX, no pricing), on one process (no Ray Train)."""
    return {"name": name, "scaling": {"num_workers": 0},
            # exactly `epochs` (teacher.min_steps 0): the 500-step floor is not their point
            "teacher": {"dataset": dataset, "model": model, "epochs": epochs, "min_steps": 0},
            "synthesis": {"enabled": False}, "search": {"enabled": False},
            "refine": {"enabled": False}, "export": {"onnx": False, "price": False}}
