"""An interrupted ``nnsynth invert`` folder (its job.json plans more inputs than its shards
hold) is refused by the commands that read a synthesized set -- prune, distill, continual --
in one line naming the folder, its count of the planned inputs and that rerunning the same
invert command resumes it; they took the 10 inputs of a 20-input run as the set, silently.
Finished folders, and folders whose job.json records no planned count, load as before."""
import json
import shutil

import pytest
import torch

from cluster.invert import invert_checkpoint
from cluster.pairs import run_synthesis
from synth.checkpoint import load_model, save_checkpoint, synthesized_for
from synth.data import load_dataset
from synth.errors import UserError
from synth.inversion import InversionConfig
from tests._cli import one_error_line, run
from tests.synth._tiny import TINY_SPEC

SETTINGS = dict(iterations=2, batch_size=10, shard_size=10, early_stop=False, progress=False)


class Interrupted(Exception):
    """Stands for the kill: raised in the driver once the first shard is on disk."""


@pytest.fixture(scope="module")
def old_teacher(tmp_path_factory):
    """A tiny BatchNorm convnet trained on the digits' classes 0-4 (continual's old model)."""
    from hwsim.latency import torch_threads
    from synth.models import build
    from synth.train import TrainConfig, fit
    data = load_dataset("digits[0,1,2,3,4]")
    with torch_threads(1):
        torch.manual_seed(0)
        model = build(TINY_SPEC, data.input_shape, data.num_classes)
        fit(model, data, TrainConfig(epochs=1, batch_size=32, lr=0.1, seed=0, device="cpu",
                                     progress=False))
    path = tmp_path_factory.mktemp("t") / "old.pt"
    save_checkpoint(path, model.eval(), dataset=data.metadata())
    return path


@pytest.fixture(scope="module")
def folders(ray_local, old_teacher, tmp_path_factory):
    """(finished, unfinished): one 20-input job run whole, and the same job stopped after
    its first shard of 10 was written."""
    root = tmp_path_factory.mktemp("sets")
    finished = root / "finished"
    invert_checkpoint(old_teacher, finished, 20, **SETTINGS)
    unfinished = root / "unfinished"   # the same job (invert's settings, as job.json has them)
    config = InversionConfig.from_dict(json.loads((finished / "job.json").read_text())["config"])

    def stop(info, pool):
        raise Interrupted(info["index"])

    with pytest.raises(Interrupted):
        run_synthesis(old_teacher, unfinished, 20, 1, config, shard_size=10, on_shard=stop)
    assert len(list(unfinished.glob("shard-*.parquet"))) == 1
    return finished, unfinished


def _said(path) -> str:
    return (f"--synth {path} is an unfinished nnsynth invert run: it holds 10 of the 20 inputs "
            f"planned; rerun the same nnsynth invert command to finish it (it resumes where it "
            f"stopped)")


def test_prune_distill_and_continual_refuse_an_unfinished_set(folders, old_teacher, tmp_path):
    _, unfinished = folders
    for args in (["prune", "--model", str(old_teacher), "--ratio", "0.5", "--kd-steps", "1"],
                 ["distill", "--teacher", str(old_teacher), "--student", json.dumps(TINY_SPEC),
                  "--epochs", "1", "--min-steps", "0"],
                 ["continual", "--model", str(old_teacher), "--new-dataset", "digits",
                  "--new-classes", "5,6,7,8,9", "--epochs", "1"]):
        out = tmp_path / f"{args[0]}.pt"
        line = one_error_line(run([*args, "--synth", str(unfinished), "--out", str(out)]))
        assert line == f"error: {_said(unfinished)}", line
        assert not out.exists() and not (tmp_path / f"{args[0]}.pt.resume").exists()


def test_a_finished_or_older_set_loads_and_the_rerun_finishes_it(folders, old_teacher,
                                                                 tmp_path):
    finished, unfinished = folders
    model = load_model(old_teacher)
    found = synthesized_for(model, finished)
    assert len(found.x_train) + len(found.x_val) + len(found.x_test) == 20
    # a folder written before job.json recorded the planned count: loaded as it is
    older = tmp_path / "older"
    shutil.copytree(unfinished, older)
    job = json.loads((older / "job.json").read_text())
    del job["num_images"]
    (older / "job.json").write_text(json.dumps(job))
    found = synthesized_for(model, older)
    assert len(found.x_train) + len(found.x_val) + len(found.x_test) == 10
    # the same invert command resumes the unfinished one; then it loads
    copy = tmp_path / "resumed"
    shutil.copytree(unfinished, copy)
    with pytest.raises(UserError, match="holds 10 of the 20 inputs"):
        synthesized_for(model, copy)
    summary = invert_checkpoint(old_teacher, copy, 20, **SETTINGS)
    assert summary["skipped"] == 1 and summary["written"] == 1
    found = synthesized_for(model, copy)
    assert len(found.x_train) + len(found.x_val) + len(found.x_test) == 20


def test_rerunning_a_finished_job_says_nothing_but_its_result(folders, old_teacher):
    """The rerun of a finished nnsynth invert printed 'WARNING cluster.pairs: 0 of 1 pairs
    used: only 0 shards left to synthesize' and PyTorch's 'The given NumPy array is not
    writable ...' UserWarning with its source line (the kept shards' fidelity is measured
    on arrays read from Parquet).  Run in a fresh process (PyTorch says that warning once
    per process); a finished job starts no Ray."""
    import subprocess
    import sys
    finished, _ = folders
    code = ("import json, sys; from cluster.pairs import run_synthesis; "
            "from synth.inversion import InversionConfig; "
            "c = InversionConfig.from_dict(json.load(open(sys.argv[2] + '/job.json'))['config']); "
            "s = run_synthesis(sys.argv[1], sys.argv[2], 20, 1, c, shard_size=10); "
            "print(s['skipped'], s['written'])")
    r = subprocess.run([sys.executable, "-c", code, str(old_teacher), str(finished)],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["2", "0"] and r.stderr == "", r.stderr
