"""An interrupted data-parallel training resumes to the model an uninterrupted one gives:
every worker continues from its own generators (``synth.train._rank_random``).  The state
held rank 0's only, and each worker took it: a worker's share of a batch has its own size
(61 inputs at 2 workers: 31 and 30), so its CutMix draws had advanced its generator by its
own count, and rank 1 resumed drawing other boxes (a 2-worker student 6e-5 from the
uninterrupted one; with 60 inputs, equal shares, they were equal).

Two real processes in a gloo process group, DistributedDataParallel averaging the gradients,
as a Ray Train worker runs ``fit`` (``cluster.train``), without Ray's start-up."""
import tempfile
from pathlib import Path

import torch
import torch.multiprocessing as mp

N, EPOCHS, STOP = 61, 3, 1


class Stop(Exception):
    pass


def _worker(rank: int, folder: str) -> None:
    import torch.distributed as dist
    from functools import partial
    from torch.nn.parallel import DistributedDataParallel
    import synth.train
    from synth.data import load_dataset
    from synth.distill import DistillConfig, distill
    from synth.models import build
    from synth.train import Parallel, fit
    torch.set_num_threads(1)
    synth.train.STATE_SECONDS = 0.0          # a state after every epoch
    dist.init_process_group("gloo", init_method=f"file://{folder}/store", rank=rank,
                            world_size=2)
    data = load_dataset("digits", seed=0)
    torch.manual_seed(0)
    teacher = build("mlp_small", data.input_shape, data.num_classes).eval()
    config = DistillConfig(epochs=EPOCHS, batch_size=64, min_steps=0, seed=0, progress=False,
                           cutmix=0.5, device="cpu")

    def student(state=None, stop=None):
        torch.manual_seed(1)
        model = build("mlp_small", data.input_shape, data.num_classes)

        def hook(m, epoch):
            if epoch == stop:
                raise Stop
        fit_fn = partial(fit, parallel=Parallel(rank=rank, world_size=2,
                                                wrap=DistributedDataParallel),
                         on_epoch_end=hook)
        try:
            distill(model, teacher, data.x_train[:N], data, config, fit_fn=fit_fn,
                    state_path=state)
        except Stop:
            return None
        return model.state_dict()

    whole = student()
    state = f"{folder}/s.pt.resume"
    assert student(state, stop=STOP) is None          # interrupted in its second epoch
    resumed = student(state)
    if rank == 0:
        torch.save({"whole": whole, "resumed": resumed,
                    "epoch": torch.load(state, weights_only=True)["epoch"]},
                   f"{folder}/out.pt")
    dist.destroy_process_group()


def test_an_interrupted_two_worker_distill_resumes_to_the_uninterrupted_student():
    with tempfile.TemporaryDirectory() as folder:
        mp.spawn(_worker, args=(folder,), nprocs=2)
        out = torch.load(Path(folder) / "out.pt", weights_only=True)
    assert out["epoch"] == EPOCHS - 1
    whole, resumed = out["whole"], out["resumed"]
    assert list(whole) == list(resumed)
    for k in whole:
        assert torch.equal(whole[k], resumed[k]), k
