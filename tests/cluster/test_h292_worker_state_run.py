"""A state saved by fit on a Ray Train worker (``nnsynth distill --synth``'s fit runs there,
``cluster.train.ray_fit``) records the run its command claimed the path for, as a state
saved in the command's own process does (h292).  The worker's process knew no run, so its
state recorded none, and since h289 a rerun of the finished command kept its own run's
leftover with a warning instead of removing it."""
import logging

import torch

from synth.resume import RUN, claim_states, forget_states, is_finished
from synth.train import STATE_FORMAT, TrainConfig

KEPT = "is kept: it holds the state of"


def test_a_state_saved_on_a_ray_worker_records_the_run(ray_local, tmp_path, caplog):
    from cluster.train import Scaling, fit_on_workers
    from synth.data import load_dataset
    from synth.models import build
    data = load_dataset("iris")
    torch.manual_seed(0)
    model = build({"family": "mlp", "hidden": [4]}, data.input_shape, data.num_classes)
    out, stamp = tmp_path / "m.pt", {"command": "distill", "key": "k" * 64}
    forget_states()
    claim_states(out, stamp, {".resume": STATE_FORMAT})   # as finished_run claims it
    state = tmp_path / "m.pt.resume"
    config = TrainConfig(epochs=1, batch_size=64, progress=False, device="cpu")
    fit_on_workers(model, data, config, scaling=Scaling(num_workers=1), state_path=state,
                   storage_path=tmp_path / "ray")
    # left as a run killed between writing its checkpoint and removing the state leaves it
    saved = torch.load(state, weights_only=True)
    assert saved["format"] == STATE_FORMAT and saved.get(RUN) == stamp["key"]   # None before
    forget_states()                      # the rerun: another process, the same command
    out.write_bytes(b"")
    with caplog.at_level(logging.WARNING):
        assert is_finished(out, stamp, stamp, "distillation", {".resume": STATE_FORMAT})
    assert not state.exists() and KEPT not in caplog.text   # kept, with the line, before
