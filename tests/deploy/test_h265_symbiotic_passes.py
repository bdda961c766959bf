"""nnsynth symbiotic scores each model's val and test split once (h265).  A tiny enwiki run
(--widths 16 --epochs 1 --max-batches 2 --rounds 1 --no-ray) took 240 s at load 10: not the
200x2 baseline's training, which follows --epochs/--max-batches (and is kept in
<out>/cache/candidates for a rerun), but 21 passes of whole splits through the models (93%
of its profile), of which fit_lm's final val pass (the kept weights' val was measured in
their epoch) and the report's passes over the baseline, the plain choice and a pruning that
kept its candidate dense (measured by their training) repeated figures already known."""
import synth.lm
import deploy.symbiotic
from deploy.symbiotic import run_symbiotic
from synth.lm import perplexity
from synth.symbiotic import SymbioticConfig
from synth.text import load_text


def test_each_split_of_each_model_is_scored_once(tmp_path, monkeypatch):
    words = "the cat sat on the mat and the dog ran far away then slept".split()
    (tmp_path / "t.txt").write_text("\n".join(
        " ".join(words[(i * 5 + j) % len(words)] for j in range(8)).capitalize() + "."
        for i in range(150)))
    passes = []

    def counted(model, ids, **kw):   # the real perplexity, counted
        passes.append(len(ids))
        return perplexity(model, ids, **kw)
    monkeypatch.setattr(synth.lm, "perplexity", counted)
    monkeypatch.setattr(deploy.symbiotic, "perplexity", counted)
    config = SymbioticConfig(cells=("lstm",), widths=(4,), sparsities=(0.5,), epochs=1,
                             max_batches=2, tolerance=0.0)
    report = run_symbiotic(f"text:{tmp_path / 't.txt'}", "accel", tmp_path / "o",
                           config=config, min_count=1, baseline_width=8, rounds=1,
                           use_ray=False, progress=False)
    # baseline and lstm 4: a val pass (its one epoch) and a test pass each; the pruning
    # runs' retrainings and steps theirs; the report none of its dense models (17 before)
    assert len(passes) <= 8, passes
    data = load_text(f"text:{tmp_path / 't.txt'}", 1)
    base = deploy.symbiotic.load_candidate(report["trained"]["baseline"], data.vocab_size)
    for split in ("val", "test"):   # the figures reused are the model's own
        assert report["models"]["baseline"][f"{split}_perplexity"] == perplexity(
            base, getattr(data, split), bptt=config.bptt)
