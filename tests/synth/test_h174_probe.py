"""h174's probe of symbiotic / SCANN / incremental learning / compaction."""
import pytest
import torch

from synth.incremental import IncrementalConfig, Meter, steps_of, train_until
from synth.models import build


def _bn_mlp():
    torch.manual_seed(0)
    return build({"family": "mlp", "hidden": [8], "bn": True}, (5,), 3)


def test_incremental_training_takes_a_batch_of_one_sample_with_batchnorm():
    """nnsynth incremental --model (a BN MLP of wine) --old wine --new wine --target 1.0
    --max-epochs 0.5118 --min-steps 0 ended in PyTorch's 'Expected more than 1 value per
    channel when training' traceback: the budget of 65 samples ended one sample into the
    second batch (a replay set of 65 samples at batch 64 did the same).  That step now
    normalizes by the running statistics; every step and sample is counted."""
    x, y = torch.randn(65, 5), torch.randint(3, (65,))
    cfg = IncrementalConfig(check_every=10 ** 6)
    for samples, budget in ((65, 65), (100, 65), (65, 130)):   # pass end, budget end, both
        model, meter = _bn_mlp(), Meter((x[:10], y[:10]), (5,))
        assert not train_until(model, x[:samples], y[:samples], 2.0, budget, cfg, meter, 0)
        assert meter.samples == budget
        assert meter.steps == steps_of(budget, samples, cfg.batch_size)
        assert all(m.training for m in model.modules())   # BatchNorm back in training mode


def test_a_lone_sample_step_leaves_the_running_statistics():
    x, y = torch.randn(65, 5), torch.randint(3, (65,))
    model, meter = _bn_mlp(), Meter((x[:10], y[:10]), (5,))
    cfg = IncrementalConfig(check_every=10 ** 6)
    train_until(model, x, y, 2.0, 64, cfg, meter, 0)      # the first batch alone
    norm = model.net[2]
    after_one = norm.running_mean.clone(), norm.num_batches_tracked.clone()
    model2, meter2 = _bn_mlp(), Meter((x[:10], y[:10]), (5,))
    train_until(model2, x, y, 2.0, 65, cfg, meter2, 0)    # ... and the lone sample
    assert torch.equal(model2.net[2].running_mean, after_one[0])
    assert torch.equal(model2.net[2].num_batches_tracked, after_one[1])


def _tiny_text(tmp_path):
    words = "the cat sat on the mat and the dog ran far away then slept".split()
    text = "\n".join(" ".join(words[(i * 5 + j) % len(words)] for j in range(8)).capitalize()
                     + "." for i in range(150))
    (tmp_path / "t.txt").write_text(text)
    return f"text:{tmp_path / 't.txt'}"


def test_symbiotic_trainings_run_at_threads(tmp_path, monkeypatch):
    """nnsynth symbiotic --threads 1 --no-ray ("torch threads for timing and each training
    task") trained the candidates and the pruning's retraining at torch's default thread
    count (every core): --threads reached the timing alone (Ray tasks: always one).  Each
    training (synth.lm.fit_lm, called through) now runs at --threads."""
    import deploy.symbiotic as dsym
    import synth.symbiotic as ssym
    from synth.symbiotic import SymbioticConfig
    seen = []
    real = ssym.fit_lm

    def recording(*args, **kwargs):      # the real training, its thread count recorded
        seen.append(torch.get_num_threads())
        return real(*args, **kwargs)
    monkeypatch.setattr(ssym, "fit_lm", recording)
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        dsym.run_symbiotic(_tiny_text(tmp_path), "accel", tmp_path / "out",
                           config=SymbioticConfig(cells=("lstm",), widths=(4,), epochs=1,
                                                  max_batches=1, sparsities=(0.5,)),
                           min_count=1, baseline_width=4, baseline_layers=1, rounds=1,
                           threads=1, use_ray=False, progress=False)
        assert torch.get_num_threads() == 2          # the caller's count given back
    finally:
        torch.set_num_threads(before)
    assert len(seen) >= 2 and set(seen) == {1}, seen   # the candidate and a pruning step


def _csv(tmp_path, rows, name):
    import numpy as np
    lines = [",".join(f"f{i}" for i in range(rows.shape[1])) + ",label"]
    lines += [",".join(f"{float(v)!r}" for v in row) + f",{r % 2}" for r, row in
              enumerate(rows)]
    (tmp_path / name).write_text("\n".join(lines) + "\n")
    from synth.data import load_dataset
    return load_dataset(f"csv:{tmp_path / name}", seed=0), np


def test_scann_pca_components_without_training_variance_are_zero(tmp_path, caplog):
    """nnsynth scann --dataset basicmotions (600 features, 57 training samples: the default
    0.5 is capped at 57 PCA components, but 57 centered samples span 56 directions) and
    --components 64 of digits (constant pixels: 60 directions) standardized a component of
    float-noise std (1e-15) to unit variance: on test it was 7.7e14 (basicmotions) and
    3.9e10 (digits), and the folded checkpoint's first layer held such factors.  Those
    components were then made zero for every input (h239), and are now dropped (h240), with a
    warning naming the count kept."""
    import torch
    from synth.models import build
    from synth.scann import fit_reduction, model_on_inputs
    rng = __import__("numpy").random.default_rng(0)
    wide, np = _csv(tmp_path, rng.normal(size=(24, 40)), "wide.csv")   # n < d
    x = rng.normal(size=(60, 4))
    tall, _ = _csv(tmp_path, np.concatenate([x, x[:, :2].sum(1, keepdims=True)], 1),
                   "tall.csv")                           # 5 features of rank 4
    for data, method, components in ((wide, "pca", 0.5), (wide, "kernel_pca", 0.5),
                                     (tall, "pca", 5)):
        caplog.clear()
        reduced, feature_map = fit_reduction(data, method, components, seed=0)
        test = reduced.x_test.numpy()
        assert np.isfinite(test).all() and abs(test).max() < 100, (method, abs(test).max())
        asked = min(len(data.x_train), round(components * 40)) if components < 1 else 5
        assert reduced.input_shape[0] == len(feature_map.keep) == asked - 1   # one dropped
        # each kept component varies (at one common scale since h268, a dropped one's std
        # was 1e-15)
        assert np.isfinite(feature_map.std).all() and (reduced.x_train.std(0) > 0.1).all()
        assert "hold no variance" in caplog.text and "--components" in caplog.text
        if method == "pca":                              # the fold is exact and bounded
            torch.manual_seed(0)
            model = build({"family": "mlp", "hidden": [8]}, reduced.input_shape,
                          data.num_classes).eval()
            folded = model_on_inputs(model, feature_map, data.input_shape)
            first = folded.net[1].weight.detach()
            assert first.abs().max() < 1e3
            assert torch.allclose(folded(data.x_test), model(reduced.x_test), atol=1e-4)
    reduced, feature_map = fit_reduction(tall, "pca", 4, seed=0)   # within the rank: as was
    assert np.isfinite(feature_map.std).all()


def test_a_repeated_sparsity_is_one_pruning_step_and_one_table_row(tmp_path):
    """--sparsities 0.5,0.5 pruned 0 more connections at the second 0.5 and retrained for
    it, and the host table measured the 0.5 rows twice."""
    from hwsim.latency import grid
    from synth.lm import LanguageModel
    from synth.symbiotic import SymbioticConfig, prune_for_latency
    from synth.text import load_text
    data = load_text(_tiny_text(tmp_path), 1)
    cfg = SymbioticConfig(cells=("lstm",), widths=(4,), epochs=1, max_batches=1,
                          sparsities=(0.5, 0.5))
    torch.manual_seed(0)
    model = LanguageModel(cfg.spec("lstm", 4), data.vocab_size)
    _, info = prune_for_latency(model, data, None, cfg, float("inf"), guided=False)
    assert [s["sparsity"] for s in info["steps"]] == [0.5] and info["reached"] == 0.5
    assert cfg.sparsity_steps == (0.5,)
    assert SymbioticConfig(sparsities=(0.9, 0.5, 0.9)).sparsity_steps == (0.5, 0.9)
    assert len(grid(("lstm",), [4], [1], cfg.sparsity_steps)) == 2   # dense + one sparse


@pytest.mark.timeout(60)   # before the bound, the timing ran until killed
def test_symbiotic_rounds_are_bounded(tmp_path):
    """nnsynth symbiotic --rounds 100000000 was taken (each round times every table row
    once) and timed until killed; it is now a one-line range error before any work."""
    from click.testing import CliRunner
    from deploy.cli.main import cli
    r = CliRunner().invoke(cli, ["symbiotic", "--dataset", _tiny_text(tmp_path), "--platform",
                                 "accel", "--out", str(tmp_path / "out"), "--rounds",
                                 "100000000", "--no-ray"])
    assert r.exit_code == 2, r.output
    assert r.output.strip() == "error: --rounds must be in [1, 10000], got 100000000"
    assert not (tmp_path / "out").exists()


def test_a_text_too_short_to_train_on_is_refused_before_the_tables(tmp_path):
    """nnsynth symbiotic --dataset text:<6 sentences> measured the latency table, then
    failed in the first training with 'N tokens are too few for 32 columns of >= 2 steps'
    (no set, split or remedy named).  Now refused first, naming them; nothing written."""
    from click.testing import CliRunner
    from deploy.cli.main import cli
    (tmp_path / "short.txt").write_text(" ".join(
        f"The cat number {i} sat on the mat." for i in range(6)))
    r = CliRunner().invoke(cli, ["symbiotic", "--dataset", f"text:{tmp_path / 'short.txt'}",
                                 "--platform", "accel", "--out", str(tmp_path / "out"),
                                 "--cells", "lstm", "--widths", "4", "--baseline-width", "4",
                                 "--min-count", "1", "--rounds", "1", "--no-ray"])
    assert r.exit_code == 2, r.output
    line = r.output.strip()
    assert "\n" not in line and "is too short: its train split" in line, line
    assert "give a longer text" in line
    assert not (tmp_path / "out").exists()
