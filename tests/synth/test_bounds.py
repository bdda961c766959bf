"""Bounds before allocation (issue 13, items 12, 13, 15): error messages print a bounded
repr, YAML is bounded while loading, a spec's parameter count is checked on the meta
device, a checkpoint's weights against its spec, a device name up front."""
import time

import pytest
import torch

from synth.config import check_choice, check_range, short_repr
from synth.errors import ConfigError, UserError
from synth.files import load_yaml_text


def _bomb(levels=9):
    node = ["x"] * 9
    for _ in range(levels):
        node = [node] * 9           # 9^10 leaves, a few hundred objects
    return node


def test_error_messages_print_a_bounded_value():
    """Item 12: `{value!r}` of an alias bomb took gigabytes; every check shows a short repr."""
    start = time.perf_counter()
    for check in (lambda: check_range("epochs", _bomb(), 1, 10, integer=True),
                  lambda: check_choice("device", _bomb(), ("cpu",)),
                  lambda: check_choice("device", {"a": _bomb()}, ("cpu",))):
        with pytest.raises(ConfigError) as e:
            check()
        assert len(str(e.value)) < 300
    assert time.perf_counter() - start < 1
    assert len(short_repr("y" * 10 ** 6)) <= 120


def test_yaml_aliases_are_bounded_while_loading():
    text = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{c}: &{c} [{', '.join(['*' + p] * 9)}]\n" for p, c in zip("abcdefgh", "bcdefghi"))
    assert len(text) < 400
    with pytest.raises(ConfigError, match="expands to more than"):
        load_yaml_text(text, "bomb.yaml")
    assert load_yaml_text("a: &a [1, 2]\nb: *a\n", "ok.yaml") == {"a": [1, 2], "b": [1, 2]}


def test_huge_spec_is_refused_before_allocation(monkeypatch):
    """Item 13: `--model '{"family":"mlp","hidden":[10000000]}'` trained until memory ran out."""
    from synth.models import build, max_parameters
    start = time.perf_counter()
    with pytest.raises(UserError, match="parameters; the limit is .*NNSYNTH_MAX_PARAMETERS"):
        build({"family": "mlp", "hidden": [10_000_000, 10_000_000]}, (4,), 3)
    assert time.perf_counter() - start < 2
    monkeypatch.setenv("NNSYNTH_MAX_PARAMETERS", "100")
    assert max_parameters() == 100
    with pytest.raises(UserError, match="the limit is 100 "):
        build({"family": "mlp", "hidden": [64]}, (4,), 3)
    monkeypatch.setenv("NNSYNTH_MAX_PARAMETERS", "lots")
    with pytest.raises(UserError, match="NNSYNTH_MAX_PARAMETERS must be an integer"):
        build({"family": "mlp", "hidden": [64]}, (4,), 3)


def test_checkpoint_weights_checked_against_spec_before_building(tmp_path):
    """Item 13: a valid 260 KB checkpoint whose spec asks for a huge model was allocated
    before its state dict's shapes were compared."""
    from synth.checkpoint import load_model, save_checkpoint
    from synth.models import build
    path = tmp_path / "c.pt"
    save_checkpoint(path, build({"family": "mlp", "hidden": [8]}, (4,), 3))
    payload = torch.load(path, weights_only=True)
    payload["spec"] = {"family": "mlp", "hidden": [20_000, 4_000]}   # 80 M parameters
    torch.save(payload, path)
    start = time.perf_counter()
    with pytest.raises(UserError, match="weights do not match its spec"):
        load_model(path)
    assert time.perf_counter() - start < 2
    payload["spec"], payload["input_shape"] = {"family": "mlp", "hidden": [8]}, [-4]
    torch.save(payload, path)
    with pytest.raises(UserError, match="input_shape"):
        load_model(path)


@pytest.mark.parametrize("value, ok", [("auto", True), ("cpu", True), ("cuda:0", True),
                                       ("mps", True), ("tpu", False), ("cuda:x", False),
                                       ("", False), (3, False)])
def test_device_names(value, ok):
    """Item 15: one check of a device name, shared by the CLI and the configs."""
    from synth.device import check_device
    if ok:
        assert check_device(value, available=False) == value
    else:
        with pytest.raises(ConfigError, match="must be one of auto, cpu, cuda, cuda:N, mps"):
            check_device(value, available=False)


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_cuda_without_cuda_is_one_line_before_ray_starts():
    from click.testing import CliRunner
    from deploy.cli.main import cli
    import ray
    for args in (["search", "--dataset", "iris", "--space", "mlp", "--out", "/nonexistent/x",
                  "--device", "cuda"],
                 ["train", "--dataset", "iris", "--model", "mlp_small", "--out", "/nonexistent/x",
                  "--device", "cuda:1"]):
        r = CliRunner().invoke(cli, args)
        assert r.exit_code == 2 and "CUDA device" in r.output and len(
            r.output.strip().splitlines()) == 1, r.output
    assert not ray.is_initialized()


def test_a_400_digit_integer_is_a_one_line_error_not_an_overflow():
    """YAML and JSON hand a 400-digit integer over as a Python int; math.isnan / isfinite
    on it raise OverflowError (a traceback) where a range check was meant."""
    from search.space import load_space
    from synth.models.registry import resolve_spec
    huge = 10 ** 400
    with pytest.raises(ConfigError, match="lr must be in"):
        check_range("lr", huge, 0, 10)
    with pytest.raises(ConfigError, match="x.int must be"):
        load_space({"x": {"int": [0, huge]}})
    with pytest.raises(UserError, match="'dropout' must be a finite number"):
        resolve_spec({"family": "mlp", "dropout": float("inf")})
    assert resolve_spec({"family": "mlp", "dropout": 0})["dropout"] == 0


@pytest.mark.parametrize("value", [float("inf"), float("-inf")])
def test_an_unbounded_side_of_a_range_still_refuses_infinity(value):
    """check_range(name, v, 0, None) let inf through: --replay-ratio inf was an OverflowError
    deep in the work; a bounded side still names its range."""
    with pytest.raises(ConfigError, match=r"ratio must be a finite number in \(-inf, inf\)"):
        check_range("ratio", value)
    with pytest.raises(ConfigError, match=r"lr must be in \[0, 10\], got inf"):
        check_range("lr", float("inf"), 0, 10)
    check_range("ratio", 1e300, 0, None)
    check_range("ratio", 10 ** 400, 0, None)    # an exact int compares without overflow


def test_yaml_duplicate_keys_are_an_error_not_the_last_one_wins():
    """PyYAML keeps the last of two equal keys: ``teacher: {epochs: 2}`` followed by another
    ``teacher:`` section dropped the epochs without a word, and ``run --check`` said valid."""
    text = "name: a\nteacher:\n  epochs: 2\nteacher:\n  dataset: iris\n"
    with pytest.raises(ConfigError, match=r"dup\.yaml gives the key 'teacher' twice \(line 4\)"):
        load_yaml_text(text, "dup.yaml")
    with pytest.raises(ConfigError, match=r"'seed' twice"):
        load_yaml_text("runs:\n  - {seed: 1, seed: 2}\n", "dup.yaml")
    with pytest.raises(ConfigError, match=r"key 1 twice"):
        load_yaml_text("1: a\n0x1: b\n", "dup.yaml")      # equal once read, as Python sees it
    # merge keys (<<) still override what they bring in, as YAML defines them
    merged = load_yaml_text("base: &b {x: 1, y: 2}\nrun:\n  <<: *b\n  y: 3\n", "ok.yaml")
    assert merged["run"] == {"x": 1, "y": 3}
    # the alias bound still holds for keys
    assert load_yaml_text("a: &a [1, 2]\nb: *a\n", "ok.yaml") == {"a": [1, 2], "b": [1, 2]}


def test_yaml_reads_exponent_floats_as_yaml_1_2_does():
    """YAML 1.1 reads 1e-3 (no dot, or an unsigned exponent) as a string: 'lr: 1e-3' was
    refused as "must be a number".  Other scalars read as before, and the loader's bounds
    and duplicate-key check still hold."""
    import yaml
    text = ("a: 1e-3\nb: 1E5\nc: -2e+4\nd: 2.5e3\ne: .5e1\nf: [1.5E-3]\n"
            "g: 1_000\nh: 1.2.3\ni: e5\nj: 1e\nk: '1e-3'\nl: 1.0\nm: 0x10\nn: 1e-3x\n")
    assert load_yaml_text(text, "f.yaml") == {
        "a": 0.001, "b": 1e5, "c": -2e4, "d": 2500.0, "e": 5.0, "f": [0.0015],
        "g": 1000, "h": "1.2.3", "i": "e5", "j": "1e", "k": "1e-3", "l": 1.0, "m": 16,
        "n": "1e-3x"}
    assert yaml.safe_load("a: 1e-3") == {"a": "1e-3"}     # PyYAML's own loader unchanged
    with pytest.raises(ConfigError, match="'lr' twice"):
        load_yaml_text("lr: 1e-3\nlr: 2e-3\n", "dup.yaml")
    with pytest.raises(ConfigError, match="expands to more than"):
        load_yaml_text("a: &a [1e-3, 1e-3, 1e-3, 1e-3, 1e-3, 1e-3, 1e-3, 1e-3, 1e-3, 1e-3]\n"
                       + "".join(f"{c}: &{c} [{', '.join(['*' + chr(ord(c) - 1)] * 10)}]\n"
                                 for c in "bcdefgh"), "bomb.yaml")


def test_json_spec_with_a_key_given_twice_is_refused():
    """json.loads keeps the last of two equal keys: --model '{"family": "mlp", "hidden": [8],
    "hidden": [16]}' trained [16] without a word."""
    from synth.models import resolve_spec
    with pytest.raises(UserError, match=r"model spec gives the key 'hidden' twice"):
        resolve_spec('{"family": "mlp", "hidden": [8], "hidden": [16]}')
    with pytest.raises(UserError, match=r"key 'a' twice"):
        resolve_spec('{"family": "mlp", "hidden": [{"a": 1, "a": 2}]}')
    assert resolve_spec('{"family": "mlp", "hidden": [8]}')["hidden"] == [8]


@pytest.mark.parametrize("make", [
    "synth.train:TrainConfig:batch_size", "synth.train:TrainConfig:eval_batch_size",
    "synth.distill:DistillConfig:batch_size", "synth.grow_prune:GrowPruneSchedule:batch_size",
    "synth.continual:ContinualConfig:batch_size",
    "synth.incremental:IncrementalConfig:batch_size", "synth.dfprune:PruneConfig:batch_size",
    "synth.diabdeep:DiabDeepConfig:batch_size", "synth.lm:LMTrainConfig:batch_size",
    "synth.lm:LMTrainConfig:eval_batch", "search.run:SearchConfig:train_batch_size",
    "search.predictors:GPConfig:predict_batch", "search.predictors:FastGPConfig:predict_batch"])
def test_every_batch_size_setting_is_bounded(make):
    """A batch size is at most MAX_BATCH_SIZE in every component config: DistillConfig's had
    no bound, and the ADI student's KD step drew ``batch_size`` random indices (10^9: 8 GB
    before the first input was gathered); the others trained full-batch without a word."""
    import importlib

    from synth.config import MAX_BATCH_SIZE
    module, cls, field = make.split(":")
    config = getattr(importlib.import_module(module), cls)
    assert getattr(config(**{field: MAX_BATCH_SIZE}), field) == MAX_BATCH_SIZE
    start = time.perf_counter()
    with pytest.raises(ConfigError, match=f"{field} must be .*{MAX_BATCH_SIZE}"):
        config(**{field: 10 ** 9})
    assert time.perf_counter() - start < 1
