import json

import pytest

from click.testing import CliRunner

from deploy.cli.main import cli


def _last_json(output):
    return json.loads(output.strip().splitlines()[-1])


def test_list_commands():
    r = CliRunner().invoke(cli, ["datasets", "--json"])
    assert r.exit_code == 0 and "mnist5k" in _last_json(r.output)["datasets"]
    r = CliRunner().invoke(cli, ["models", "--json"])
    assert r.exit_code == 0 and "lenet5_bn" in _last_json(r.output)["variants"]


def test_train_then_eval(tmp_path):
    out = tmp_path / "m.pt"
    r = CliRunner().invoke(cli, ["train", "--dataset", "digits", "--model", "convnet_small",
                                 "--epochs", "2", "--min-steps", "0", "--out", str(out), "--json"])
    assert r.exit_code == 0, r.output
    trained = _last_json(r.output)
    r = CliRunner().invoke(cli, ["eval", "--model", str(out), "--json"])
    assert r.exit_code == 0, r.output
    assert _last_json(r.output)["accuracy"] == trained["test_accuracy"]


def test_train_in_fixed_point_saves_weights_on_the_grid(tmp_path):
    from synth.checkpoint import load_model, read_checkpoint
    out = tmp_path / "q.pt"
    r = CliRunner().invoke(cli, ["train", "--dataset", "digits", "--model", "mlp_small",
                                 "--epochs", "3", "--lr", "0.05", "--fixed-point", "4.8", "--rounding", "nearest",
                                 "--out", str(out), "--json"])
    assert r.exit_code == 0, r.output
    result = _last_json(r.output)
    assert result["fixed_point"] == {"format": "4.8", "bits": 12, "rounding": "nearest",
                                     "scaling": "fixed"}
    assert result["test_accuracy"] > 0.85              # fp32: 0.958
    assert read_checkpoint(out)["extra"]["quant_config"]["frac_bits"] == 8
    for p in load_model(out).parameters():           # the stored weights sit on the 2^-8 grid
        assert (p * 256 == (p * 256).round()).all() and p.abs().max() <= 8
    r = CliRunner().invoke(cli, ["eval", "--model", str(out), "--json"])
    assert r.exit_code == 0, r.output
    evaluated = _last_json(r.output)                  # evaluated in the fixed point it was trained in
    assert evaluated["fixed_point"] == "4.8 nearest"
    assert evaluated["accuracy"] == result["test_accuracy"]
    assert evaluated["loss"] == pytest.approx(result["test_loss"], rel=1e-6)
    r = CliRunner().invoke(cli, ["export", "--model", str(out), "--out", str(tmp_path / "q.onnx"),
                                 "--json"])
    assert r.exit_code == 0, r.output
    exported = _last_json(r.output)                   # the ONNX graph rounds like the training
    assert exported["fixed_point"] == "4.8 nearest" and exported["prediction_mismatches"] == 0
    assert exported["onnx_accuracy"] == evaluated["accuracy"]
    import onnx
    ops = {n.op_type for n in onnx.load(str(tmp_path / "q.onnx")).graph.node}
    assert {"Floor", "Clip"} <= ops                    # the rounding is in the graph


def test_bad_input_one_line_no_traceback(tmp_path):
    cases = [["train", "--dataset", "nope", "--model", "lenet5", "--out", str(tmp_path / "a.pt")],
             ["train", "--dataset", "iris", "--model", "lenet5", "--out", str(tmp_path / "a.pt")],
             ["train", "--dataset", "digits", "--model", "{oops", "--out", str(tmp_path / "a.pt")],
             ["eval", "--model", str(tmp_path / "missing.pt")],
             ["train", "--dataset", "digits", "--model", "mlp_small", "--fixed-point", "4x16",
              "--out", str(tmp_path / "a.pt")],
             ["train", "--dataset", "digits", "--model", "mlp_small", "--fixed-point", "0.16",
              "--out", str(tmp_path / "a.pt")],
             ["train", "--dataset", "digits", "--model", "mlp_small", "--fixed-point", "4.16",
              "--optimizer", "adam", "--out", str(tmp_path / "a.pt")]]
    for args in cases:
        r = CliRunner().invoke(cli, args)
        assert r.exit_code == 2, (args, r.output)
        assert "Traceback" not in r.output
        assert r.output.strip().startswith("error:") and len(r.output.strip().splitlines()) == 1
    assert not (tmp_path / "a.pt").exists()


def test_grow_prune_with_distillation_and_its_errors(tmp_path):
    out = tmp_path / "gp.pt"
    r = CliRunner().invoke(cli, ["grow-prune", "--dataset", "digits", "--model", "mlp_small",
                                 "--epochs", "2", "--min-steps", "0", "--prune-steps", "2",
                                 "--retrain-epochs", "1",
                                 "--retrain-min-steps", "0",
                                 "--criterion", "magnitude", "--distill", "--shift", "1",
                                 "--remove-dead", "--out", str(out), "--json"])
    assert r.exit_code == 0, r.output
    result = _last_json(r.output)
    assert result["reduction"] > 1.4 and out.is_file()   # two steps of 20% plus dead weights
    r = CliRunner().invoke(cli, ["eval", "--model", str(out), "--json"])
    assert r.exit_code == 0 and _last_json(r.output)["accuracy"] == result["test_accuracy"]
    cases = [(["--dataset", "digits", "--no-distill", "--shift", "1"], "--shift needs --distill"),
             (["--dataset", "iris", "--distill", "--shift", "1"], "needs image data"),
             (["--dataset", "digits", "--prune-fraction", "1.5"], "--prune-fraction must be")]
    for extra, message in cases:
        r = CliRunner().invoke(cli, ["grow-prune", "--model", "mlp_small", "--epochs", "1",
                                     "--out", str(tmp_path / "bad.pt")] + extra)
        assert r.exit_code == 2 and message in r.output, (extra, r.output)
        assert len(r.output.strip().splitlines()) == 1
    assert not (tmp_path / "bad.pt").exists()


def test_eval_and_prune_reload_the_recorded_split_seed(tmp_path, caplog):
    """`train --seed 3` splits with seed 3; eval and prune must measure on that test split
    (seed 0's "test" split holds some of seed 3's training images)."""
    from synth.checkpoint import read_checkpoint, save_checkpoint, load_model
    out = tmp_path / "m.pt"
    r = CliRunner().invoke(cli, ["train", "--dataset", "digits", "--model", "convnet_small",
                                 "--epochs", "2", "--min-steps", "0",
                                 "--seed", "3", "--out", str(out), "--json"])
    assert r.exit_code == 0, r.output
    trained = _last_json(r.output)
    assert read_checkpoint(out)["dataset"]["split_seed"] == 3
    r = CliRunner().invoke(cli, ["eval", "--model", str(out), "--json"])
    assert r.exit_code == 0, r.output
    evaluated = _last_json(r.output)
    assert evaluated["split_seed"] == 3 and evaluated["accuracy"] == trained["test_accuracy"]
    r = CliRunner().invoke(cli, ["prune", "--model", str(out), "--ratio", "0.25", "--importance",
                                 "magnitude", "--kd-epochs", "0", "--out",
                                 str(tmp_path / "p.pt"), "--json"])
    assert r.exit_code == 0, r.output
    assert _last_json(r.output)["teacher_test_accuracy"] == trained["test_accuracy"]
    assert read_checkpoint(tmp_path / "p.pt")["dataset"]["split_seed"] == 3
    # a checkpoint from before the split seed was recorded: seed 0, said out loud
    old = tmp_path / "old.pt"
    model = load_model(out)
    meta = dict(model.checkpoint_info["dataset"])
    meta.pop("split_seed")
    save_checkpoint(old, model, dataset=meta)
    with caplog.at_level("WARNING"):
        r = CliRunner().invoke(cli, ["eval", "--model", str(old), "--json"])
    assert r.exit_code == 0, r.output
    assert _last_json(r.output)["split_seed"] == 0
    assert "records no data split seed" in caplog.text


def test_eval_on_a_set_without_a_test_split_says_so(tmp_path):
    """A synthesized Parquet set has train and val only: eval defaults to val and says so;
    asking for the missing split is a one-line error naming the splits that exist."""
    import torch
    from synth.checkpoint import save_checkpoint
    from synth.data import load_dataset, write_parquet
    from synth.models import build
    iris = load_dataset("iris")
    write_parquet(tmp_path / "set" / "shard-00000.parquet", iris.x_train, iris.y_train,
                  iris.metadata())
    torch.manual_seed(0)
    model = build({"family": "mlp", "hidden": [4]}, (4,), 3)
    save_checkpoint(tmp_path / "m.pt", model, dataset=iris.metadata())
    base = ["eval", "--model", str(tmp_path / "m.pt"), "--dataset", f"parquet:{tmp_path / 'set'}"]
    r = CliRunner().invoke(cli, base + ["--json"])
    assert r.exit_code == 0, r.output
    result = _last_json(r.output)
    assert result["split"] == "val" and result["samples"] > 0
    assert result["accuracy"] is not None and 0 <= result["accuracy"] <= 1
    assert "no test split" in r.output
    r = CliRunner().invoke(cli, base + ["--split", "test"])
    assert r.exit_code == 2 and len(r.output.strip().splitlines()) == 1, r.output
    assert "has no test split" in r.output and "train, val" in r.output


def test_grow_prune_defaults_are_the_measured_recipe_on_any_data(tmp_path):
    """The default schedule is synth.grow_prune.RECIPE with KD retraining; its input shift
    applies to images only, so the defaults also run on feature vectors (iris) instead of
    failing with "--shift needs image data"; with a sparse seed the reduction is counted
    against the dense model, not the seed."""
    from synth.checkpoint import read_checkpoint
    from synth.grow_prune import RECIPE
    out = tmp_path / "gp.pt"
    r = CliRunner().invoke(cli, ["grow-prune", "--dataset", "iris", "--model", "mlp_small",
                                 "--epochs", "1", "--min-steps", "0", "--prune-steps", "1",
                                 "--retrain-epochs", "1", "--retrain-min-steps", "0",
                                 "--growth-rounds", "1", "--seed-density", "0.5",
                                 "--out", str(out), "--json"])
    assert r.exit_code == 0, r.output
    result = _last_json(r.output)
    schedule = read_checkpoint(out)["extra"]["schedule"]
    given = ("prune_steps", "retrain_epochs", "retrain_min_steps", "growth_rounds")
    assert {k: schedule[k] for k in RECIPE if k not in given} == {
        k: v for k, v in RECIPE.items() if k not in given}
    assert result["dense_connections"] > result["start_connections"]   # the seed is sparser
    assert result["reduction"] == pytest.approx(result["dense_connections"]
                                                / result["connections"])
    assert 0 <= result["dense_test_accuracy"] <= 1


# --------------------------------------------------------------------------- hostile inputs
def _error_line(args) -> str:
    """The one ``error:`` line of a command that must fail with exit status 2."""
    import warnings
    with warnings.catch_warnings(record=True) as caught:   # a warning would print a line too
        warnings.simplefilter("always")
        r = CliRunner().invoke(cli, args)
    lines = [l for l in r.output.splitlines() if l.strip()]
    assert r.exit_code == 2 and r.exception.__class__ is SystemExit, (args, r.output, r.exception)
    assert len(lines) == 1 and lines[0].startswith("error:"), (args, r.output)
    assert not [str(w.message) for w in caught], (args, [str(w.message) for w in caught])
    return lines[0]


def test_checkpoint_that_is_not_a_zip_is_refused_unread(tmp_path):
    """A pickle is refused without torch's warning about its protocol, and a huge file of
    anything but a torch.save zip is refused before it is read into memory."""
    import pickle
    (tmp_path / "p.pt").write_bytes(pickle.dumps({"spec": "mlp_small", "state_dict": {}},
                                                 protocol=4))
    assert "expected an nnsynth checkpoint" in _error_line(["eval", "--model",
                                                            str(tmp_path / "p.pt")])
    with open(tmp_path / "huge.pt", "wb") as f:
        f.truncate(64 << 30)           # 64 GiB, sparse: reading it all would not fit
    assert "expected an nnsynth checkpoint" in _error_line(["eval", "--model",
                                                            str(tmp_path / "huge.pt")])


def test_checkpoint_out_replaces_only_nnsynth_checkpoints(tmp_path):
    """--out of a command that writes a checkpoint: a file nnsynth did not write (notes, a
    Parquet shard of the synthesized set) is refused before any work and left as it was; a
    path under a file is refused before training, not after it; a checkpoint is replaced."""
    from synth.checkpoint import save_checkpoint
    from synth.errors import UserError
    from synth.models import build
    notes = tmp_path / "notes.txt"
    notes.write_text("mine")
    for args in (["train", "--dataset", "iris", "--model", "mlp_small", "--epochs", "1"],
                 ["scann", "--dataset", "iris"],
                 ["distill", "--teacher", str(notes), "--student", "mlp_small", "--data-free"]):
        assert "is not an nnsynth checkpoint" in _error_line(args + ["--out", str(notes)])
        assert "is a file, not a directory" in _error_line(args + ["--out",
                                                                   str(notes / "m.pt")])
    assert notes.read_text() == "mine"
    model = build("mlp_small", (4,), 3)
    with pytest.raises(UserError, match="not an nnsynth checkpoint"):
        save_checkpoint(notes, model)
    assert notes.read_text() == "mine"
    save_checkpoint(tmp_path / "m.pt", model)
    save_checkpoint(tmp_path / "m.pt", model)            # its own checkpoint: replaced


def _iris_teacher(path):
    """A tiny untrained BN MLP checkpoint with iris's metadata (the commands' input)."""
    from synth.checkpoint import save_checkpoint
    from synth.models import build
    return save_checkpoint(path, build({"family": "mlp", "hidden": [8], "bn": True}, (4,), 3),
                           dataset={"name": "iris", "input_shape": [4], "num_classes": 3,
                                    "mean": [0.0] * 4, "std": [1.0] * 4})


def test_checkpoint_out_is_never_the_commands_own_input(tmp_path):
    """`distill --teacher t.pt --out t.pt` (or prune, continual, incremental with --model)
    would overwrite the checkpoint it reads with its result: refused before any work, the
    input left as it was."""
    t = _iris_teacher(tmp_path / "t.pt")
    before = t.read_bytes()
    for args, option in (
            (["distill", "--teacher", str(t), "--student", "mlp_small", "--data-free"],
             "--teacher"),
            (["prune", "--model", str(t), "--ratio", "0.5"], "--model"),
            (["continual", "--model", str(t), "--new-dataset", "iris", "--new-classes", "2"],
             "--model")):
        line = _error_line(args + ["--out", str(t)])
        assert f"is the file given as {option}" in line, line
    assert t.read_bytes() == before
    # and --iterations, which only the --data-free inversion uses, is not ignored with --synth
    line = _error_line(["distill", "--teacher", str(t), "--student", "mlp_small", "--synth",
                        str(tmp_path), "--iterations", "5", "--out", str(tmp_path / "s.pt")])
    assert "--iterations bounds the inversion of --data-free" in line, line


def test_prune_checks_its_fine_tuning_settings_before_any_images(tmp_path):
    """prune --lr nan was refused only after the images were synthesized and ranked; now
    before: a missing --synth directory is not even looked at."""
    t = _iris_teacher(tmp_path / "t.pt")
    line = _error_line(["prune", "--model", str(t), "--ratio", "0.5", "--lr", "nan", "--synth",
                        str(tmp_path / "missing"), "--out", str(tmp_path / "p.pt")])
    assert line.startswith("error: --lr") and "missing" not in line, line


def test_invert_out_of_someone_elses_files_is_refused(tmp_path):
    """invert wrote its shards, job.json and grid.png into a directory of the user's files
    (and read the user's own .parquet files back as part of the set); a bad --preset left an
    empty --out behind."""
    teacher = _iris_teacher(tmp_path / "t.pt")
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "grid.png").write_text("my picture")
    line = _error_line(["invert", "--teacher", str(teacher), "--num-images", "3",
                        "--out", str(mine)])
    assert "holds files nnsynth did not write" in line
    assert [p.name for p in mine.iterdir()] == ["grid.png"]
    assert (mine / "grid.png").read_text() == "my picture"
    assert "preset" in _error_line(["invert", "--teacher", str(teacher), "--num-images", "3",
                                    "--preset", "nope", "--out", str(tmp_path / "new")])
    assert not (tmp_path / "new").exists()


def test_parquet_set_with_nan_or_odd_splits_is_refused(tmp_path):
    """Each of these trained without a word and saved a checkpoint whose accuracies were
    NaN: NaN inputs, a split column of other values (its rows were dropped), and a set whose
    rows are all 'val' (no training sample)."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq
    meta = json.dumps({"input_shape": [4], "num_classes": 3, "mean": [0.0] * 4,
                       "std": [1.0] * 4}).encode()
    cases = [(np.full(40, np.nan), None, "NaN or infinite"),
             (np.ones(40), ["junk"] * 10, "column split must hold"),
             (np.ones(40), list(range(10)), "column split must hold"),
             (np.ones(40), ["val"] * 10, "no row has split 'train'")]
    for i, (x, split, phrase) in enumerate(cases):
        cols = {"x": pa.FixedSizeListArray.from_arrays(pa.array(x.astype(np.float32)), 4),
                "label": pa.array(np.arange(10) % 3)}
        if split is not None:
            cols["split"] = pa.array(split)
        (tmp_path / f"set{i}").mkdir()
        pq.write_table(pa.table(cols).replace_schema_metadata({b"nnsynth": meta}),
                       tmp_path / f"set{i}" / "part.parquet")
        out = tmp_path / f"m{i}.pt"
        line = _error_line(["train", "--dataset", f"parquet:{tmp_path / f'set{i}'}", "--model",
                            "mlp_small", "--epochs", "1", "--min-steps", "0", "--out", str(out)])
        assert phrase in line, (i, line)
        assert not out.exists()


def test_invert_student_without_adi_is_refused(tmp_path):
    """--student and --kd-steps without --adi were ignored without a word (plain
    DeepInversion ran)."""
    for extra in (["--student", "mlp_small"], ["--kd-steps", "3"]):
        line = _error_line(["invert", "--teacher", str(tmp_path / "t.pt"), "--num-images", "10",
                            "--out", str(tmp_path / "o"), *extra])
        assert "is used only with --adi" in line and extra[0] in line
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("args,phrase", [
    (["distill", "--student", "mlp_small", "--data-free", "--images-per-round", "1000000000"],
     "--images-per-round must be in [1, 1000000]"),
    (["distill", "--student", "mlp_small", "--data-free", "--min-steps", "1000000000000"],
     "--min-steps must be in [0, 1000000]"),
    (["prune", "--ratio", "0.5", "--num-images", "1000000000"], "--num-images must be in"),
    (["prune", "--ratio", "0.5", "--kd-steps", "1000000000000"], "--kd-steps must be in"),
    (["continual", "--new-dataset", "iris", "--new-classes", "2", "--num-images",
      "1000000000"], "--num-images must be in"),
])
def test_absurd_counts_are_refused_before_any_work(tmp_path, args, phrase):
    """10^9 images inverted in one process (prune, continual, distill --data-free) or 10^12
    KD steps ran until killed; each is refused before the checkpoint is even read."""
    option = "--teacher" if args[0] == "distill" else "--model"
    line = _error_line(args + [option, str(tmp_path / "missing.pt"), "--out",
                               str(tmp_path / "o.pt")])
    assert phrase in line, line


def test_min_steps_beyond_the_epoch_bound_names_min_steps():
    from synth.distill import DistillConfig, distill_train_config
    from synth.errors import UserError
    with pytest.raises(UserError, match=r"min_steps 1,000,000 needs 1,000,000 passes over 10"):
        distill_train_config(DistillConfig(min_steps=1_000_000), 10)


def test_infinite_loss_weight_is_refused_before_any_work(tmp_path):
    """--adi-weight inf synthesized a set of NaN images and wrote it to --out."""
    teacher = _iris_teacher(tmp_path / "t.pt")
    for args in (["invert", "--num-images", "3", "--adi", "--student", "mlp_small",
                  "--out", str(tmp_path / "set")],
                 ["distill", "--student", "mlp_small", "--data-free",
                  "--out", str(tmp_path / "s.pt")]):
        line = _error_line(args + ["--teacher", str(teacher), "--adi-weight", "inf"])
        assert "--adi-weight must be in" in line, line
    assert not (tmp_path / "set").exists() and not (tmp_path / "s.pt").exists()


def test_grow_prune_shift_is_bounded(tmp_path):
    """--shift 1000000000 (pixels) trained and pruned without a word."""
    line = _error_line(["grow-prune", "--dataset", "digits", "--model", "mlp_small",
                        "--shift", "1000000000", "--out", str(tmp_path / "m.pt")])
    assert "--shift must be in [0, 64]" in line


def test_a_dataset_option_without_a_path_is_refused_by_name(tmp_path, monkeypatch):
    """`nnsynth eval --dataset parquet:` walked the current folder and loaded the .parquet
    files it found there."""
    monkeypatch.chdir(tmp_path)
    for args, option in ((["train", "--model", "mlp_small", "--out", "m.pt", "--dataset",
                           "parquet:"], "--dataset"),
                         (["eval", "--model", "m.pt", "--dataset", "ts:"], "--dataset"),
                         (["search", "--dataset", "cifar10: "], "--dataset"),
                         (["continual", "--model", "m.pt", "--new-classes", "1",
                           "--new-dataset", "text:"], "--new-dataset")):
        line = _error_line(args)
        assert line.startswith(f"error: {option}: data set") and "has no path: expected" in line, line
    line = _error_line(["search", "--dataset", "foo:"])     # an unknown prefix says so
    assert line == ("error: --dataset: data set 'foo:' has an unknown prefix 'foo:'; known "
                    "prefixes: parquet:<path>, ts:<path>, text:<path>, cifar10:<path>, "
                    "csv:<path>, images:<path>"), line



def test_a_json_option_refuses_a_key_given_twice(tmp_path):
    """--schedule '{"prune_steps": 3, "prune_steps": 4}' ran 4 steps without a word (json
    keeps the last value); diabdeep --options did the same, and JSON nested too deeply was a
    RecursionError traceback."""
    out = str(tmp_path / "m.pt")
    line = _error_line(["grow-prune", "--dataset", "iris", "--model", "mlp_small", "--out", out,
                        "--schedule", '{"prune_steps": 3, "prune_steps": 4}'])
    assert line == "error: --schedule gives the key 'prune_steps' twice; keep one", line
    line = _error_line(["diabdeep", "--dataset", "blink", "--baselines", "none",
                        "--options", '{"prune_steps": 2, "prune_steps": 8}'])
    assert line == "error: --options gives the key 'prune_steps' twice; keep one", line
    line = _error_line(["diabdeep", "--dataset", "blink", "--options", "[" * 100_000])
    assert line == ("error: --options is nested too deep: more than 64 levels of lists and "
                    "mappings (the limit)"), line


def test_a_json_option_may_not_override_an_option_given(tmp_path):
    """--prune-steps 3 --schedule '{"prune_steps": 8}' ran 8 steps without a word (the JSON
    was merged last), and diabdeep --seed 3 --options '{"seed": 1}' used seed 1."""
    out = str(tmp_path / "m.pt")
    line = _error_line(["grow-prune", "--dataset", "iris", "--model", "mlp_small", "--out", out,
                        "--prune-steps", "3", "--schedule", '{"prune_steps": 8}'])
    assert line == "error: --schedule sets prune_steps, which --prune-steps already gives; " \
                   "give it once", line
    line = _error_line(["grow-prune", "--dataset", "iris", "--model", "mlp_small", "--out", out,
                        "--target-accuracy", "0.9", "--schedule", '{"accuracy_floor": 0.5}'])
    assert "--schedule sets accuracy_floor, which --target-accuracy already gives" in line, line
    line = _error_line(["diabdeep", "--dataset", "blink", "--seed", "3", "--baselines", "none",
                        "--options", '{"seed": 1}'])
    assert line == "error: --options sets seed, which --seed already gives; give it once", line
    line = _error_line(["diabdeep", "--dataset", "blink", "--options", '{"dataset": "gunpoint"}'])
    assert "--options sets dataset, which --dataset already gives" in line, line


def test_export_and_grow_prune_defaults_come_from_their_one_source():
    """export --tolerance repeated DEFAULT_TOLERANCE as 1e-4, and grow-prune --growth-ratio
    0.5 and --seed-density 1.0 repeated GrowPruneSchedule's defaults; export --help did not
    say that a fixed-point checkpoint's tolerance is raised to 16 grid steps."""
    import dataclasses
    from deploy.onnx_export import (DEFAULT_TOLERANCE, FIXED_POINT_TOLERANCE_STEPS,
                                    fixed_point_tolerance)
    from synth.grow_prune import GrowPruneSchedule
    params = {p.name: p.default for p in cli.commands["export"].params}
    assert params["tolerance"] == DEFAULT_TOLERANCE
    out = " ".join(CliRunner().invoke(cli, ["export", "--help"]).output.split())
    assert f"raises it to {FIXED_POINT_TOLERANCE_STEPS} steps of its grid" in out, out
    assert fixed_point_tolerance(DEFAULT_TOLERANCE, 8) == FIXED_POINT_TOLERANCE_STEPS / 256
    assert fixed_point_tolerance(1.0, 8) == 1.0
    params = {p.name: p.default for p in cli.commands["grow-prune"].params}
    fields = {f.name: f.default for f in dataclasses.fields(GrowPruneSchedule)}
    for name in ("growth_ratio", "seed_density"):
        assert params[name] == fields[name], name
    recipe = GrowPruneSchedule.recipe()
    for name in ("prune_steps", "prune_fraction", "retrain_epochs", "criterion",
                 "growth_rounds", "remove_dead"):
        assert params[name] == getattr(recipe, name), name


def test_search_resume_refuses_options_it_would_ignore(tmp_path):
    """--resume runs the saved settings: `search --resume DIR --trials 50 --epochs 9` resumed
    the old 16-trial search without a word about the options given."""
    import ray
    saved = tmp_path / "s" / "search_config.json"
    saved.parent.mkdir()
    saved.write_text('{"trials": 2}')
    line = _error_line(["search", "--resume", str(saved.parent), "--trials", "50", "--epochs",
                        "9", "--data", str(tmp_path)])
    assert "drop --synth, --trials, --epochs" in line, line
    assert saved.read_text() == '{"trials": 2}' and not ray.is_initialized()
    line = _error_line(["search", "--resume", str(tmp_path / "none"), "--json"])
    assert "nothing to resume" in line, line
