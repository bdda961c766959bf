"""An interrupted grow-and-prune resumes (``grow_and_prune(state_path=...)``, ``nnsynth
grow-prune``): after Ctrl-C it started over from the dense training."""
import pytest
import torch

import synth.grow_prune
from synth import masked
from synth.distill import live_kd_fn
from synth.errors import UserError
from synth.grow_prune import GrowPruneSchedule, grow_and_prune
from synth.models import build

# growth (connections and NeST neurons from a sparse seed), then pruning with regrowth and
# dead-weight removal: every move the loop makes
SCHEDULE = GrowPruneSchedule(seed_density=0.5, seed_units=0.75, growth_rounds=2,
                             neuron_growth=2, prune_steps=3, prune_fraction=0.3,
                             regrow_fraction=0.1, remove_dead=True, retrain_epochs=1,
                             growth_batches=4, device="cpu")


def _model(digits):
    torch.manual_seed(0)
    return build({"family": "mlp", "hidden": [24, 16]}, digits.input_shape, digits.num_classes)


def _kd(digits):   # KD on shifted images: a loss with a generator of its own
    return live_kd_fn(_model(digits), temperature=2.0, alpha=0.5, shift=1, seed=0)


class Stop(Exception):
    pass


def _stop_after(step):
    def hook(model, row):
        if row["step"] == step:
            raise Stop
    return hook


def _assert_same(a, b):
    sa, sb = a.state_dict(), b.state_dict()
    assert list(sa) == list(sb)
    for k in sa:
        assert torch.equal(sa[k], sb[k]), k


@pytest.mark.parametrize("stop", [1, 3])        # in the growth phase; in the pruning phase
def test_an_interrupted_grow_prune_resumes_to_the_uninterrupted_model(digits, tmp_path, stop,
                                                                      caplog):
    whole, expected = grow_and_prune(_model(digits), digits, SCHEDULE, loss_fn=_kd(digits))
    state = tmp_path / "g.pt.resume"
    with pytest.raises(Stop):
        grow_and_prune(_model(digits), digits, SCHEDULE, loss_fn=_kd(digits), state_path=state,
                       on_step=_stop_after(stop))
    assert torch.load(state, weights_only=True)["step"] == stop
    ran = []
    model, history = grow_and_prune(_model(digits), digits, SCHEDULE, loss_fn=_kd(digits),
                                    state_path=state, on_step=lambda m, r: ran.append(r["step"]))
    assert ran == list(range(stop + 1, 6))
    assert f"resuming grow-prune after step {stop} of 5" in caplog.text
    _assert_same(whole, model)
    assert masked.masks_of(whole).keys() == masked.masks_of(model).keys()
    assert history == expected


def test_a_reverted_step_is_not_run_again(digits, tmp_path, monkeypatch):
    schedule = GrowPruneSchedule(prune_steps=3, prune_fraction=0.9, retrain_epochs=0,
                                 accuracy_floor=0.99, device="cpu")
    whole, expected = grow_and_prune(_model(digits), digits, schedule)
    assert [r["phase"] for r in expected] == ["start", "reverted"]
    state = tmp_path / "g.pt.resume"
    mark_final = synth.grow_prune.mark_final

    def interrupted(history):
        raise Stop
    monkeypatch.setattr(synth.grow_prune, "mark_final", interrupted)
    with pytest.raises(Stop):                          # after the step was undone
        grow_and_prune(_model(digits), digits, schedule, state_path=state)
    monkeypatch.setattr(synth.grow_prune, "mark_final", mark_final)
    steps = []
    monkeypatch.setattr(synth.grow_prune, "prune_step",
                        lambda *a, **k: steps.append(a[3]) or {})
    model, history = grow_and_prune(_model(digits), digits, schedule, state_path=state)
    assert steps == [] and history == expected
    _assert_same(whole, model)


def test_a_grow_prune_state_of_other_settings_is_not_continued(digits, tmp_path):
    state = tmp_path / "g.pt.resume"
    with pytest.raises(Stop):
        grow_and_prune(_model(digits), digits, SCHEDULE, state_path=state,
                       on_step=_stop_after(3))
    ran = []
    grow_and_prune(_model(digits), digits, SCHEDULE.replace(prune_fraction=0.2),
                   state_path=state, on_step=lambda m, r: ran.append(r["step"]))
    assert ran == [0, 1, 2, 3, 4, 5]                               # started over
    ran.clear()                                                    # the caller's key too
    grow_and_prune(_model(digits), digits, SCHEDULE, state_path=state, state_key="other",
                   on_step=lambda m, r: ran.append(r["step"]))
    assert ran == [0, 1, 2, 3, 4, 5]


@pytest.mark.parametrize("foreign", ["the user's file", "a training state"])
def test_a_file_that_is_not_a_grow_prune_state_is_refused_and_kept(digits, tmp_path, foreign):
    from synth.train import TrainConfig, fit
    state = tmp_path / "g.pt.resume"
    if foreign == "a training state":                             # another loop's: not ours
        fit(_model(digits), digits, TrainConfig(epochs=1, progress=False), state_path=state)
    else:
        state.write_bytes(b"the user's own file")
    before = state.read_bytes()
    with pytest.raises(UserError, match="move it away"):
        grow_and_prune(_model(digits), digits, SCHEDULE, state_path=state)
    synth.grow_prune.remove_state(state)                          # not deleted either
    assert state.read_bytes() == before


def test_grow_prune_checkpoint_resumes_and_leaves_no_state(digits, tmp_path, monkeypatch):
    from synth.checkpoint import read_checkpoint
    from synth.workflows import grow_prune_checkpoint
    schedule = GrowPruneSchedule(prune_steps=3, prune_fraction=0.3, retrain_epochs=1,
                                 device="cpu")
    kw = dict(epochs=2, compact=False, progress=False)   # KD on images shifted by <= 2 px
    whole = grow_prune_checkpoint("digits", "mlp_small", tmp_path / "a.pt", schedule, **kw)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.pt"]
    out = tmp_path / "b.pt"
    prune_step = synth.grow_prune.prune_step

    def interrupted(model, data, schedule, step, **k):
        if step == 2:
            raise Stop
        return prune_step(model, data, schedule, step, **k)
    monkeypatch.setattr(synth.grow_prune, "prune_step", interrupted)
    with pytest.raises(Stop):
        grow_prune_checkpoint("digits", "mlp_small", out, schedule, **kw)
    assert (tmp_path / "b.pt.resume").is_file() and (tmp_path / "b.pt.dense.resume").is_file()
    monkeypatch.setattr(synth.grow_prune, "prune_step", prune_step)
    resumed = grow_prune_checkpoint("digits", "mlp_small", out, schedule, **kw)
    assert resumed["history"] == whole["history"]
    a, b = read_checkpoint(tmp_path / "a.pt"), read_checkpoint(out)
    for k in a["state_dict"]:
        assert torch.equal(a["state_dict"][k], b["state_dict"][k]), k
    for k in a["masks"]:
        assert torch.equal(a["masks"][k], b["masks"][k]), k
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.pt", "b.pt"]


# --------------------------------------------------------------------------- symbiotic
# A rerun of ``nnsynth symbiotic`` trained every candidate again: each candidate's result is
# now kept in the output folder as it finishes (synth.symbiotic.train_candidate, keep_dir).
def _text(tmp_path):
    from synth.text import load_text
    words = "a small cat sat on the warm mat while the old dog slept".split()
    lines = [" ".join(words[(i * 5 + j) % len(words)] for j in range(8)) + "."
             for i in range(100)]
    (tmp_path / "t.txt").write_text("\n".join(lines))
    return load_text(f"text:{tmp_path / 't.txt'}", min_count=1)


def _table(widths):
    return [{"platform": "host", "cell": "lstm", "width": w, "batch": 1, "sparsity": 0.0,
             "exec": "dense", "best_ms": float(w), "median_ms": float(w), "q1_ms": float(w),
             "q3_ms": w + 0.1} for w in widths]


LM = dict(cells=("lstm",), widths=(4, 6, 8), sparsities=(0.5,), prune_epochs=0, epochs=1,
          max_batches=2, dropout=0.0, device="cpu")


def _counting_fit(monkeypatch, fail_at=None):
    import synth.symbiotic
    calls, fit_lm = [], synth.symbiotic.fit_lm

    def fit(model, *a, **k):
        calls.append(model.spec["hidden"][0])
        if len(calls) == fail_at:
            raise Stop
        return fit_lm(model, *a, **k)
    monkeypatch.setattr(synth.symbiotic, "fit_lm", fit)
    return calls


def test_a_rerun_of_symbiotic_skips_the_candidates_it_trained(tmp_path, monkeypatch):
    from synth.symbiotic import SymbioticConfig, symbiotic_train
    data, table, cfg = _text(tmp_path), _table((4, 6, 8)), SymbioticConfig(**LM)
    whole = symbiotic_train(data, table, cfg)
    kept = tmp_path / "out" / "cache" / "candidates"
    calls = _counting_fit(monkeypatch, fail_at=3)             # widest first: 8, 6, then 4
    with pytest.raises(Stop):
        symbiotic_train(data, table, cfg, keep_dir=kept)
    assert calls == [8, 6, 4] and len(list(kept.iterdir())) == 2
    calls = _counting_fit(monkeypatch)
    resumed = symbiotic_train(data, table, cfg, keep_dir=kept)
    assert calls == [4]                                       # only the one not finished
    for key, result in whole["trained"].items():
        again = resumed["trained"][key]
        assert {k: v for k, v in result.items() if k not in ("state", "train_seconds")} == {
            k: v for k, v in again.items() if k not in ("state", "train_seconds")}
        for name, tensor in result["state"].items():
            assert torch.equal(tensor, again["state"][name]), (key, name)
    assert resumed["choice"] == whole["choice"]
    calls = _counting_fit(monkeypatch)                        # other settings: trained anew
    symbiotic_train(data, table, cfg.replace(lr=1e-3), keep_dir=kept)
    # 3 candidates of each settings (each run's prunings are kept beside them, h304)
    candidates = [p for p in kept.iterdir() if not p.name.startswith("pruning-")]
    assert calls == [8, 6, 4] and len(candidates) == 6


def test_a_file_that_is_not_a_kept_candidate_is_refused_and_kept(tmp_path):
    from synth.symbiotic import SymbioticConfig, kept_candidates, train_candidate
    data, cfg = _text(tmp_path), SymbioticConfig(**LM)
    train_cfg, spec = cfg.train_config(), cfg.spec("lstm", 4)
    path, key = kept_candidates(tmp_path / "kept", data, train_cfg)(spec)
    (tmp_path / "kept").mkdir()
    with open(path, "wb") as f:
        f.write(b"the user's own file")
    with pytest.raises(UserError, match="not nnsynth's: move it away"):
        train_candidate(spec, data, train_cfg, (path, key))
    with open(path, "rb") as f:
        assert f.read() == b"the user's own file"
