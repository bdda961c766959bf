"""Silent wrong answers found by using prune / continual / incremental / eval / fixed point /
masked models as a user would (probe 3): each test failed before its fix."""

import pytest
import torch

from tests._cli import json_result as _json, one_error_line as _one_error_line, run as _run

WINE_MLP = {"family": "mlp", "hidden": [16, 8], "bn": True, "dropout": 0.0}


@pytest.fixture(scope="module")
def wine():
    from synth.data import load_dataset
    return load_dataset("wine", seed=0)


def _masked_mlp(data, spec=WINE_MLP, density=0.5, seed=0):
    """A masked model (what `grow-prune --no-compact` saves), random BN statistics."""
    from synth.masked import attach_masks
    from synth.models import build, prunable_layers
    torch.manual_seed(seed)
    model = build(spec, data.input_shape, data.num_classes)
    gen = torch.Generator().manual_seed(seed)
    attach_masks(model, {n: torch.rand(l.weight.shape, generator=gen) < density
                         for n, l in prunable_layers(model)})
    return model.eval()


def _masked_checkpoint(data, path, **kw):
    from synth.checkpoint import save_checkpoint
    from synth.masked import masks_of
    model = _masked_mlp(data, **kw)
    save_checkpoint(path, model, dataset=data.metadata(), masks=masks_of(model))
    return path


# --------------------------------------------------------------------------- masked models
def test_a_masked_model_without_masks_given_saves_a_loadable_checkpoint(tmp_path, wine):
    """save_checkpoint(masks=None) of a masked model wrote its parametrization keys and no
    masks: the file could not be loaded ('weights do not match its spec')."""
    from synth.checkpoint import load_model, save_checkpoint
    from synth.masked import connections, masks_of
    model = _masked_mlp(wine)
    save_checkpoint(tmp_path / "m.pt", model, dataset=wine.metadata())
    back = load_model(tmp_path / "m.pt")
    assert connections(back) == connections(model)
    assert all(torch.equal(a, b) for a, b in zip(masks_of(back).values(),
                                                 masks_of(model).values()))


def test_prune_of_a_masked_checkpoint_keeps_its_masks(tmp_path, wine):
    """`nnsynth prune --model <grow-prune --no-compact checkpoint>` died with KeyError
    'net.4.weight'.  Now the kept channels keep their masks, and eval agrees."""
    from synth.checkpoint import load_model
    from synth.masked import masks_of
    src = _masked_checkpoint(wine, tmp_path / "m.pt")
    out = _json(_run(["prune", "--model", str(src), "--ratio", "0.5", "--importance",
                      "magnitude", "--kd-steps", "0", "--out", str(tmp_path / "p.pt"),
                      "--json"]))
    before, after = load_model(src), load_model(tmp_path / "p.pt")
    keep = {g: torch.as_tensor(v) for g, v in out["widths"].items()}
    assert list(keep.values()) == [8, 4]
    masks = masks_of(after)
    assert set(masks) == set(masks_of(before))           # still masked, every layer
    for name, layer in [(n, l) for n, l in after.named_modules() if n in masks]:
        assert torch.equal(layer.weight != 0, masks[name] & (layer.weight != 0))
        assert not (layer.weight[~masks[name]] != 0).any()
    # the pruned network computes the masked one's function on the kept channels:
    # eval reports the accuracy prune reported, and fewer nonzero MACs than dense ones
    ev = _json(_run(["eval", "--model", str(tmp_path / "p.pt"), "--json"]))
    assert ev["accuracy"] == pytest.approx(out["pruned_test_accuracy"])
    assert ev["nonzero_flops"] < ev["flops"] == out["flops_after"]


def test_taylor_importance_of_a_masked_layer_is_not_zero(wine):
    """Taylor importance read the gradient of ``layer.weight``, which for a masked layer is
    recomputed on every access and has none: every channel of a masked MLP without
    BatchNorm scored 0 and the kept channels were arbitrary (the first ones)."""
    from synth.dfprune import PruneConfig, prune
    model = _masked_mlp(wine, spec={"family": "mlp", "hidden": [16, 8], "bn": False},
                        density=0.7)
    result = prune(model, wine.x_train, wine.y_train,
                   PruneConfig(ratio=0.5, importance="taylor", device="cpu", progress=False))
    for name, score in result.importance.items():
        assert float(score.sum()) > 0, name
        assert torch.equal(result.keep[name], torch.topk(score, len(result.keep[name]))
                           .indices.sort().values)


def test_continual_on_a_masked_checkpoint_keeps_its_sparsity(tmp_path):
    """`nnsynth continual --model <masked checkpoint>` died with KeyError
    '...parametrizations.weight.original'.  Now the enlarged model stays masked (training
    does not revive pruned connections), its new head rows are dense, and eval loads it."""
    from synth.checkpoint import load_model
    from synth.data import load_dataset
    from synth.masked import connections
    old = load_dataset("wine[0,1]", seed=0)
    src = _masked_checkpoint(old, tmp_path / "m.pt",
                             spec={"family": "mlp", "hidden": [16], "bn": False})
    out = _json(_run(["continual", "--model", str(src), "--new-dataset", "wine",
                      "--new-classes", "2", "--method", "lwf", "--epochs", "1",
                      "--out", str(tmp_path / "c.pt"), "--json", "--seed", "0"]))
    before, after = load_model(src), load_model(tmp_path / "c.pt")
    head_in = 16
    assert connections(after) <= connections(before) + head_in   # one new dense head row
    ev = _json(_run(["eval", "--model", str(tmp_path / "c.pt"), "--json"]))
    assert ev["accuracy"] == pytest.approx(out["test_accuracy"])


def test_gradient_batches_are_full_even_when_they_wrap(wine):
    """accumulate_gradients sliced its order from i * batch_size % n: with 57 samples and
    batches of 64 the 9th batch held one sample, and BatchNorm refused it in training mode
    (`nnsynth incremental --old wine --new wine` died with a ValueError traceback); the
    other batches were short while growth's cost counted full ones."""
    from synth.masked import accumulate_gradients
    model = _masked_mlp(wine)
    seen = []
    model.register_forward_pre_hook(lambda m, args: seen.append(len(args[0])))
    x, y = wine.x_train[:57], wine.y_train[:57]
    grads = accumulate_gradients(model, x, y, batches=10, batch_size=64, seed=0)
    assert seen == [57] * 10
    assert all(torch.isfinite(g).all() for g in grads.values())


# --------------------------------------------------------------------------- incremental
def test_incremental_of_one_set_writes_a_checkpoint_eval_reads(tmp_path, wine):
    """With --old and --new naming one set, the parts were named 'wine:old' / 'wine:new'
    and the saved checkpoint recorded 'wine:new': `nnsynth eval` said "unknown prefix
    'wine:'"."""
    from synth.incremental import split_dataset
    old, new = split_dataset(wine, 0.7, seed=0)
    assert old.name == new.name == "wine"
    src = _masked_checkpoint(wine, tmp_path / "m.pt")
    out = _json(_run(["incremental", "--model", str(src), "--old", "wine", "--new", "wine",
                      "--target", "0.3", "--max-epochs", "1", "--prune-steps", "0",
                      "--out", str(tmp_path / "i.pt"), "--json", "--device", "cpu"]))
    ev = _json(_run(["eval", "--model", str(tmp_path / "i.pt"), "--json"]))
    assert ev["dataset"] == "wine"
    assert ev["accuracy"] == pytest.approx(out["incremental"]["test_accuracy"])
    assert ev["nonzero_flops"] == out["incremental"]["connections"]   # an MLP: one MAC each


def test_incremental_step_counts_are_bounded():
    """--prune-steps 100000000000 was accepted: once the target holds, a step costs only a
    check, so the loop ran for days."""
    from synth.errors import UserError
    from synth.incremental import IncrementalConfig
    with pytest.raises(UserError, match="prune_steps"):
        IncrementalConfig(prune_steps=10 ** 11)
    with pytest.raises(UserError, match="growth_batches"):
        IncrementalConfig(growth_batches=10 ** 9)


# --------------------------------------------------------------------------- eval
def test_eval_refuses_a_data_set_whose_labels_are_other_classes(tmp_path, wine):
    """A wine model evaluated on wine[0,2,1] (or a digits[0..4] model on digits[5..9]):
    same class count, so eval printed an accuracy of labels its outputs do not mean."""
    from synth.checkpoint import save_checkpoint
    from synth.data import load_dataset
    from synth.models import build
    model = build(WINE_MLP, wine.input_shape, 3)
    save_checkpoint(tmp_path / "w.pt", model, dataset=wine.metadata())
    line = _one_error_line(_run(["eval", "--model", str(tmp_path / "w.pt"),
                                 "--dataset", "wine[0,2,1]"]))
    assert "'wine'" in line
    assert _run(["eval", "--model", str(tmp_path / "w.pt"),
                 "--dataset", "wine[0,1,2]"]).exit_code == 0     # the same labels
    sub = load_dataset("wine[1,2]", seed=0)
    save_checkpoint(tmp_path / "s.pt", build(WINE_MLP, sub.input_shape, 2),
                    dataset=sub.metadata())
    _one_error_line(_run(["eval", "--model", str(tmp_path / "s.pt"), "--dataset",
                          "wine[0,1]"]))
    for ok in ("wine", "wine[1,2]"):
        assert _run(["eval", "--model", str(tmp_path / "s.pt"), "--dataset", ok]).exit_code == 0


# --------------------------------------------------------------------------- fixed point
def test_a_fixed_point_format_float32_cannot_hold_is_refused(tmp_path):
    """--fixed-point 8.24 was accepted and reported 32 bits, but x * 2^24 + u rounds to
    x * 2^24 in float32: no rounding was applied (plain float32 training)."""
    from synth.quant import QuantConfig, quantize
    x = torch.full((1000,), 100.3)
    assert torch.equal(quantize(x, 8, 24, "stochastic", torch.Generator().manual_seed(0)), x)
    from synth.errors import UserError
    with pytest.raises(UserError, match="24"):
        QuantConfig.from_format("8.24")
    QuantConfig.from_format("4.20")    # 24 bits: still fine
    _one_error_line(_run(["train", "--dataset", "iris", "--model", "mlp_small",
                          "--fixed-point", "4.30", "--out", str(tmp_path / "q.pt")]))
    assert not (tmp_path / "q.pt").exists()


def test_fixed_point_inference_rounds_outputs_only_where_training_did():
    """attach_inference rounded every layer output even for a QuantConfig with
    activations=False (weights-only fixed point): evaluation ran another arithmetic."""
    from synth.models import build
    from synth.quant import QuantConfig, attach_inference
    torch.manual_seed(0)
    model = build({"family": "mlp", "hidden": [8], "bn": False}, (4,), 3).eval()
    x = torch.randn(16, 4)
    hooks = attach_inference(model, QuantConfig(int_bits=4, frac_bits=2, activations=False,
                                                rounding="nearest"))
    with torch.no_grad():
        got = model(x)
    hooks.detach()
    with torch.no_grad():   # the same weights (rounded onto the grid) without output rounding
        plain = model(x)
    assert torch.equal(got, plain)
    assert not torch.equal(plain, torch.floor(plain * 4 + 0.5) / 4)   # not on the grid


# --------------------------------------------------------------------------- ignored options
@pytest.mark.parametrize("args", [
    ["--kd-steps", "0", "--lr", "0.1"],
    ["--synth", "SYNTH", "--iterations", "5"],
    ["--synth", "SYNTH", "--num-images", "5"],
    ["--importance", "magnitude", "--kd-steps", "0", "--num-images", "5"],
])
def test_prune_refuses_options_it_would_ignore(tmp_path, wine, args):
    src = _masked_checkpoint(wine, tmp_path / "m.pt")
    (tmp_path / "s").mkdir()
    args = [str(tmp_path / "s") if a == "SYNTH" else a for a in args]
    line = _one_error_line(_run(["prune", "--model", str(src), "--ratio", "0.5",
                                 "--out", str(tmp_path / "p.pt"), *args]))
    assert "drop" in line
    assert not (tmp_path / "p.pt").exists()


@pytest.mark.parametrize("args", [
    ["--method", "lwf", "--num-images", "5"],
    ["--method", "finetune", "--synth", "SYNTH"],
    ["--synth", "SYNTH", "--iterations", "5"],
])
def test_continual_refuses_inversion_options_it_would_ignore(tmp_path, wine, args):
    src = _masked_checkpoint(wine, tmp_path / "m.pt")
    (tmp_path / "s").mkdir()
    args = [str(tmp_path / "s") if a == "SYNTH" else a for a in args]
    line = _one_error_line(_run(["continual", "--model", str(src), "--new-dataset", "wine",
                                 "--new-classes", "2", "--out", str(tmp_path / "c.pt"), *args]))
    assert "drop" in line


# --------------------------------------------------------------------------- latency ratio
def test_latency_pruning_removes_the_requested_ratio_when_it_can():
    """Global (latency) ranking took the first ratio x channels of the order and skipped
    those that were the last of their group without taking the next: --ratio 0.5 removed
    0.487 of a LeNet-5 (55 of 56) though every layer could give more."""
    from synth.dfprune import Group, global_counts
    groups = [Group("a", 2, [], []), Group("b", 10, [], [])]
    scores = {"a": torch.tensor([0.0, 0.1]), "b": torch.arange(1.0, 11.0)}
    counts = global_counts(scores, groups, 0.5)
    assert counts == {"a": 1, "b": 5}              # 6 of 12 removed, one kept in a
    assert global_counts(scores, groups, 0.95) == {"a": 1, "b": 1}   # as many as it can


def test_incremental_refuses_a_dense_model_of_other_classes(tmp_path, wine):
    """--dense-model of a 2-class model beside a 3-class set was an IndexError traceback
    ('Target 2 is out of bounds') after the first method had run."""
    from synth.checkpoint import save_checkpoint
    from synth.data import load_dataset
    from synth.models import build
    src = _masked_checkpoint(wine, tmp_path / "m.pt")
    two = load_dataset("wine[0,1]", seed=0)
    save_checkpoint(tmp_path / "d.pt", build(WINE_MLP, two.input_shape, 2),
                    dataset=two.metadata())
    line = _one_error_line(_run(["incremental", "--model", str(src), "--old", "wine", "--new",
                                 "wine", "--dense-model", str(tmp_path / "d.pt"),
                                 "--max-epochs", "0.1"]))
    assert "dense model" in line and "predicts 2 classes" in line


# --------------------------------------------------------------------------- fixed-point sources
def _fixed_point_checkpoint(data, path):
    from synth.checkpoint import save_checkpoint
    from synth.models import build
    from synth.quant import QuantConfig, checkpoint_extra
    torch.manual_seed(0)
    model = build(WINE_MLP, data.input_shape, data.num_classes)
    save_checkpoint(path, model, dataset=data.metadata(),
                    extra=checkpoint_extra(QuantConfig.from_format("2.4")))
    return path


@pytest.mark.parametrize("command", [
    ["prune", "--ratio", "0.25", "--importance", "magnitude", "--kd-steps", "0"],
    ["continual", "--new-dataset", "wine", "--new-classes", "2", "--method", "lwf"],
    ["incremental", "--old", "wine", "--new", "wine", "--max-epochs", "0.1"],
])
def test_fixed_point_checkpoints_are_not_silently_run_in_float32(tmp_path, command):
    """prune of a `train --fixed-point 2.4` checkpoint reported teacher_test_accuracy 0.65
    (float32) for a model eval scores 0.84, and wrote a float32 model; continual and
    incremental trained it in float32 too."""
    from synth.data import load_dataset
    data = load_dataset("wine[0,1]" if command[0] == "continual" else "wine", seed=0)
    src = _fixed_point_checkpoint(data, tmp_path / "fx.pt")
    args = [command[0], "--model", str(src), *command[1:]]
    if command[0] != "incremental":
        args += ["--out", str(tmp_path / "o.pt")]
    line = _one_error_line(_run(args))
    assert "fixed point 2.4" in line
    assert not (tmp_path / "o.pt").exists()


def test_continual_old_classes_must_be_the_recorded_ones(tmp_path):
    """A wine[0,1] model with --old-classes 1,2 was trained and scored as if its outputs
    were wine's classes 1 and 2: old_model_accuracy_old and accuracy_old were measured on
    the wrong classes (a digits[0..4] model given 5..9: 0.14 for 0.94)."""
    from synth.checkpoint import save_checkpoint
    from synth.data import load_dataset
    from synth.models import build
    two = load_dataset("wine[0,1]", seed=0)
    torch.manual_seed(0)
    save_checkpoint(tmp_path / "m.pt", build(WINE_MLP, two.input_shape, 2),
                    dataset=two.metadata())
    base = ["continual", "--model", str(tmp_path / "m.pt"), "--new-dataset", "wine",
            "--method", "lwf", "--epochs", "1", "--out", str(tmp_path / "c.pt")]
    line = _one_error_line(_run(base + ["--old-classes", "1,2", "--new-classes", "0"]))
    assert "0,1" in line
    assert not (tmp_path / "c.pt").exists()
    out = _json(_run(base + ["--old-classes", "0,1", "--new-classes", "2", "--json"]))
    assert out["old_classes"] == [0, 1]
