"""h304: a rerun of ``nnsynth symbiotic`` with the same --out keeps its finished work.  The
baseline and candidates were kept (``cache/candidates/``), but the pruning of the chosen
models (``--sparsities`` steps, each retrained) ran again on every rerun; now each pruning
is kept beside them, and a rerun trains nothing and writes the same checkpoints."""
import torch

import synth.symbiotic
from deploy.symbiotic import run_symbiotic
from synth.symbiotic import SymbioticConfig
from tests._symbiotic import tiny_text


def test_a_rerun_trains_nothing_and_writes_the_same_models(tmp_path, monkeypatch):
    dataset, out = tiny_text(tmp_path, end="."), tmp_path / "out"
    config = SymbioticConfig(cells=("lstm",), widths=(4, 8), sparsities=(0.5,), epochs=1,
                             max_batches=2, device="cpu")
    kw = dict(config=config, min_count=1, baseline_width=8, baseline_layers=1, rounds=2,
              use_ray=False, progress=False)
    first = run_symbiotic(dataset, "spring", out, **kw)
    assert first["pruning"]["plain_pruned"]["steps"]   # a pruning that retrained
    weights = {n: torch.load(p, weights_only=True)["state_dict"]
               for n, p in first["checkpoints"].items()}

    trainings = []
    fit = synth.symbiotic.fit_lm

    def counted(*args, **kwargs):   # the real training, counted
        trainings.append(kwargs.get("desc"))
        return fit(*args, **kwargs)
    monkeypatch.setattr(synth.symbiotic, "fit_lm", counted)
    again = run_symbiotic(dataset, "spring", out, **kw)
    assert trainings == []
    assert again["pruning"] == first["pruning"]
    assert again["checkpoints"] == first["checkpoints"]
    for name, path in again["checkpoints"].items():
        state = torch.load(path, weights_only=True)["state_dict"]
        assert state.keys() == weights[name].keys()
        assert all(torch.equal(state[k], weights[name][k]) for k in state), name
        assert again["models"][name]["priced_ms"] == first["models"][name]["priced_ms"]
