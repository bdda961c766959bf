"""A search whose trials grow and prune (``SearchConfig.grow_prune``) priced each trial's
compacted model on the accelerator model, a dense array that multiplies the cut connections
the compaction keeps as zeros, and said nothing of it (helper 254): 'latency 0.000378 ms' of
a model of 99 weights, 44 nonzero, where ``nnsynth hwsim eval --model best.pt`` says
'note: the accelerator model is a dense array: ...'.  The trial's row now carries that line
(``accel_note``, ``hwsim.dense_note``), the summary has it as ``best_accel_note`` and its
human line prints it; ``nnsynth run``'s summary.md notes it for a priced model with zeros."""
import json

import torch

import hwsim
from search.results import append_result, read_results
from search.run import SearchConfig, save_space, summarize
from search.searchers import DONE_KEY
from search.space import load_space
SPRING_REMEDY = "SPRING (nnsynth hwsim eval --spring)"   # search.trial.SPRING_REMEDY

SPEC = {"bn": False, "dropout": 0.0, "family": "mlp", "hidden": [32]}
GROW_PRUNE = {"prune_steps": 2, "prune_fraction": 0.5, "retrain_epochs": 1}


def _search(tmp_path, monkeypatch, grow_prune):
    from tests.search._trial import run_trial_here
    config = SearchConfig(dataset="iris", space="mlp", epochs=1, min_steps=0, trials=1,
                          searcher="random", hardware=True, pool_shards=0,
                          grow_prune=grow_prune)
    settings = {**config.to_dict(), "out_dir": str(tmp_path), "data_seed": 0}
    final = run_trial_here(monkeypatch, "p1", {"spec": json.dumps(SPEC, sort_keys=True)},
                           settings)[-1]
    assert final[DONE_KEY] is True
    save_space(tmp_path, load_space("mlp"))
    append_result(tmp_path / "results.parquet", final)
    return final, summarize(tmp_path, config)


def test_a_grown_and_pruned_best_says_its_latency_is_the_dense_arrays(tmp_path, monkeypatch):
    from deploy.cli.commands.search import summary_text
    from synth.checkpoint import load_model
    final, summary = _search(tmp_path, monkeypatch, GROW_PRUNE)
    assert final["nonzero_parameters"] < final["parameters"]
    saved = load_model(final["checkpoint"])
    # hwsim eval's own line for the saved model, word for word
    expected = hwsim.dense_note(hwsim.extract(saved, tuple(saved.input_shape)), SPRING_REMEDY)
    assert expected and expected.startswith("the accelerator model is a dense array")
    assert final["accel_note"] == expected
    assert read_results(tmp_path / "results.parquet")["accel_note"].iloc[0] == expected
    assert summary["best_accel_note"] == expected
    assert summary_text(summary).splitlines()[-1] == f"note: best.pt's latency: {expected}"


def test_a_dense_best_has_no_note(tmp_path, monkeypatch):
    from deploy.cli.commands.search import summary_text
    final, summary = _search(tmp_path, monkeypatch, None)
    assert final["accel_note"] is None and summary["best_accel_note"] is None
    assert "note:" not in summary_text(summary) and "\n" not in summary_text(summary)


def test_the_run_report_notes_a_priced_model_with_zero_weights(tmp_path):
    from deploy.ledger import RunContext
    from deploy.run_config import RunConfig
    from deploy.stages import run_export
    from synth.checkpoint import save_checkpoint
    from synth.data import load_dataset
    from synth.models import build
    data = load_dataset("iris", seed=0)
    torch.manual_seed(0)
    spec = {"family": "mlp", "hidden": [16]}
    for name, zeros in (("teacher.pt", 0), ("best.pt", 40)):
        model = build(spec, data.input_shape, data.num_classes)
        with torch.no_grad():   # connections cut: zeros of a weight matrix
            model.net[1].weight.view(-1)[:zeros] = 0
        save_checkpoint(tmp_path / name, model, dataset=data.metadata(), metrics={})
    config = RunConfig.from_dict({
        "name": "h254", "teacher": {"dataset": "iris", "model": json.dumps(spec), "cache": ""},
        "refine": {"enabled": False}, "export": {"onnx": False, "spring": False}})
    ctx = RunContext(config, tmp_path, address=None, progress=False, log=lambda m: None)
    ctx.outputs = {"teacher": {"checkpoint": "teacher.pt"},
                   "search": {"checkpoint": "best.pt", "summary": {}}}
    result = run_export(ctx)["summary"]
    text = (tmp_path / "summary.md").read_text()
    note = result["final_accel_note"]
    assert "40 zero weights" in note and "SPRING (export.spring: true)" in note
    assert f"- final model's accelerator latency and energy: {note}" in text
    assert "teacher_accel_note" not in result and "teacher model's accelerator" not in text
