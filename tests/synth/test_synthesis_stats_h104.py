"""prune and continual report how they synthesized their inputs (``synthesis``: the method, the
per-batch cap, the generator's phases as the cap bounded them, fidelity, ...) where the
inversion ran in this run: ``synth.workflows.invert_here`` dropped the synthesis stats, so a
result said only ``synthesis_method`` and nothing of the iteration cap that bounded it."""
import pytest

import synth.continual as continual
import synth.dfprune as dfprune
from synth.checkpoint import load_model
from synth.continual import ContinualConfig
from synth.dfprune import PruneConfig
from synth.workflows import continual_checkpoint, prune_checkpoint
from tests.synth._tiny import make_set16

IMAGES, CAP = 10, 6


@pytest.fixture(scope="module")
def set16(tmp_path_factory):
    return make_set16(tmp_path_factory.mktemp("set16"))


def _prune(path, out, **kw):
    return prune_checkpoint(path, out, PruneConfig(ratio=0.5, seed=0, device="cpu",
                                                   progress=False),
                            num_images=IMAGES, kd_steps=0, **kw)


def _continual(name, path, out, **kw):
    return continual_checkpoint(path, name, [5], out,
                                ContinualConfig(epochs=1, seed=0, device="cpu", progress=False),
                                num_images=IMAGES, **kw)


def _check(summary: dict, method: str) -> None:
    assert summary["method"] == method and summary["iterations"] == CAP
    assert 0.0 <= summary["fidelity"] <= 1.0 and summary["seconds"] >= 0
    assert 1 <= summary["mean_iterations"] <= CAP
    if method == "amortized":   # the generator's phases, each within the cap
        report = summary["iteration_cap"]
        assert report["iterations"] == CAP and report["above_cap"] == []
        assert report["bounds"]["refine_iterations"] == CAP   # settings_for's 300, capped
        assert all(v <= CAP for v in report["bounds"].values())
    else:
        assert summary["iteration_cap"] is None


@pytest.mark.parametrize("key,method", [("per_pixel", "deepinversion"),
                                        ("generator", "amortized")])
def test_results_carry_the_synthesis_stats(set16, tmp_path, key, method):
    from hwsim.latency import torch_threads
    name, teachers = set16
    with torch_threads(1):
        pruned = _prune(teachers[key], tmp_path / "p.pt", iterations=CAP)
        extended = _continual(name, teachers[key], tmp_path / "c.pt", iterations=CAP)
    for result, out in ((pruned, "p.pt"), (extended, "c.pt")):
        assert result["synthesis_method"] == method
        _check(result["synthesis"], method)
        assert "resumed" not in result["synthesis"]
        # saved with the checkpoint's metrics as well
        saved = load_model(tmp_path / out).checkpoint_info["metrics"]["synthesis"]
        assert saved == result["synthesis"]


def test_a_resumed_run_reports_the_interrupted_runs_synthesis(set16, tmp_path, monkeypatch):
    """Inputs read back from the state of a run interrupted after its synthesis: the same
    summary, marked resumed."""
    from hwsim.latency import torch_threads
    name, teachers = set16

    def interrupt(*a, **k):
        raise KeyboardInterrupt
    with torch_threads(1):
        monkeypatch.setattr(dfprune, "prune", interrupt)
        monkeypatch.setattr(continual, "learn_new_classes", interrupt)
        with pytest.raises(KeyboardInterrupt):
            _prune(teachers["generator"], tmp_path / "p.pt", iterations=CAP)
        with pytest.raises(KeyboardInterrupt):
            _continual(name, teachers["generator"], tmp_path / "c.pt", iterations=CAP)
        monkeypatch.undo()
        pruned = _prune(teachers["generator"], tmp_path / "p.pt", iterations=CAP)
        extended = _continual(name, teachers["generator"], tmp_path / "c.pt", iterations=CAP)
    for result in (pruned, extended):
        assert result["synthesis"].pop("resumed") is True
        _check(result["synthesis"], "amortized")


def test_no_synthesis_here_reports_none(set16, tmp_path):
    name, teachers = set16
    result = prune_checkpoint(teachers["generator"], tmp_path / "p.pt",
                              PruneConfig(ratio=0.5, importance="magnitude", seed=0,
                                          device="cpu", progress=False), kd_steps=0)
    assert result["synthesis"] is None and result["synthesis_method"] is None
    extended = continual_checkpoint(teachers["generator"], name, [5], tmp_path / "c.pt",
                                    ContinualConfig(method="lwf", epochs=1, seed=0,
                                                    device="cpu", progress=False))
    assert extended["synthesis"] is None
