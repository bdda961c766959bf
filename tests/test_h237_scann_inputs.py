"""nnsynth scann counts the model of the data set's own inputs too (``input_connections``,
``input_reduction``), beside SCANN's count of the MLP on the reduced features.

``nnsynth scann --dataset basicmotions --components 10`` reported 'connections 32,
reduction 1268' and nothing else: the 32 are the MLP's on the 10 PCA features, the
projection from the 600 inputs left out, and the model that reads the set's inputs (what
--out saves, with checkpoint_connections only when --out was given) holds 1,212, 33x fewer
than the baseline's 40,576.  The help said neither."""
import functools

import torch

import synth.scann
from synth.scann import ScannConfig
from tests._cli import json_result, run


def _fast(monkeypatch):
    monkeypatch.setattr(synth.scann, "ScannConfig",
                        functools.partial(ScannConfig, epochs=2, prune_steps=1, retrain_epochs=1))


def test_scann_counts_the_model_of_the_inputs(tmp_path, monkeypatch):
    _fast(monkeypatch)
    out = tmp_path / "s.pt"
    result = json_result(run(["-q", "scann", "--dataset", "wine", "--out", str(out), "--json"]))
    saved = torch.load(out, weights_only=True)["state_dict"]
    nonzero = sum(int((v != 0).sum()) for k, v in saved.items() if k.endswith("weight"))
    assert result["input_connections"] == nonzero == result["checkpoint_connections"]
    assert result["input_connections"] > result["connections"]   # the projection's share
    assert result["input_reduction"] == result["baseline_connections"] / nonzero
    assert result["reduction"] == result["baseline_connections"] / result["connections"]
    # without --out too (the figure does not depend on saving)
    again = json_result(run(["-q", "scann", "--dataset", "wine", "--json"]))
    assert again["input_connections"] == nonzero
    assert "input_connections and input_reduction count" in " ".join(
        run(["scann", "-h"]).output.split())


def test_kernel_pca_has_no_model_of_the_inputs(monkeypatch):
    _fast(monkeypatch)
    result = json_result(run(["-q", "scann", "--dataset", "iris", "--reduce", "kernel_pca",
                              "--json"]))
    assert result["input_connections"] is None and result["input_reduction"] is None
