"""SCANN's result names the synthesized MLP's widths (h230): ``hidden`` is the compressed
start of step 2 (the base widths times k / d), and it was the only widths the result and the
checkpoint's metrics gave, beside a synthesized model whose pruning left fewer live units
(wine: hidden [34, 17] in the metrics of a checkpoint whose spec is [21, 7])."""
from synth.data import load_dataset
from synth.scann import ScannConfig, run_scann, saved_model


def test_the_result_gives_the_synthesized_widths():
    data = load_dataset("iris")
    config = ScannConfig(scheme="C", epochs=5, prune_steps=3, retrain_epochs=1,
                         hidden=(16, 8), device="cpu", max_accuracy_drop=1.0,
                         prune_fraction=0.6)
    r = run_scann(data, config)
    assert r["hidden"] == [8, 4]   # the compressed start, as before
    saved = saved_model(r["model"], r["feature_map"], data.input_shape)
    assert r["synthesized_hidden"] == saved.spec["hidden"]
    assert sum(r["synthesized_hidden"]) < sum(r["hidden"])
