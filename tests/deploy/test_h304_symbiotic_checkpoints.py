"""h304: ``nnsynth symbiotic`` writes the networks it sized as nnsynth checkpoints (it wrote
none: the models it reported could not be evaluated, priced, exported or used again), and
the language-model family is in the model registry, so ``nnsynth eval --model``,
``nnsynth hwsim eval --model`` and ``nnsynth models`` take them; commands that need a
classifier refuse them in one line naming the family."""
import json

import pytest
import torch

from tests._cli import json_result, one_error_line, run
from tests._symbiotic import ODD_ACCEL, symbiotic_args, tiny_text

NAMES = ("baseline", "plain", "plain_pruned", "symbiotic")


@pytest.fixture(scope="module")
def sized(tmp_path_factory):
    """One tiny run on an 8x64 os array at 50 MHz (--accel FILE): (folder, report)."""
    folder = tmp_path_factory.mktemp("h304")
    (folder / "odd.yaml").write_text(ODD_ACCEL)
    r = run(symbiotic_args(folder, "--platform", "accel", "--accel", str(folder / "odd.yaml"),
                           end="."))
    assert r.exit_code == 0, r.output
    return folder, json.loads((folder / "out" / "report.json").read_text())


def test_each_model_is_a_checkpoint_named_in_the_report(sized):
    folder, report = sized
    paths = report["checkpoints"]
    assert sorted(paths) == sorted(NAMES)
    md = (folder / "out" / "report.md").read_text()
    for name in NAMES:
        assert paths[name] == str(folder / "out" / "models" / f"{name}.pt") and paths[name] in md
        payload = torch.load(paths[name], weights_only=True)   # nothing in it executes code
        row = report["models"][name]
        assert payload["spec"] == row["spec"] and payload["spec"]["family"] == "lm"
        assert payload["num_classes"] == report["vocab_size"]
        assert payload["input_shape"] == [report["config"]["bptt"]]
        meta = payload["dataset"]
        assert meta["name"] == report["dataset"] and meta["vocab_size"] == report["vocab_size"]
        assert len(meta["vocab"]) == report["vocab_size"] and len(meta["digest"]) == 64
        for key in ("val_perplexity", "test_perplexity", "parameters", "nonzero_parameters",
                    "table_ms", "priced_ms"):
            assert payload["metrics"][key] == row[key], (name, key)
        lm = payload["extra"]["lm"]
        assert lm["bptt"] == report["config"]["bptt"] and len(lm["tokens"]) == lm["bptt"]
    # the pruned plain model's zeros are recorded as masks (every prunable layer, as
    # grow-prune's), its dense ones carry none
    pruned = torch.load(paths["plain_pruned"], weights_only=True)
    assert report["models"]["plain_pruned"]["sparse_layers"] == [0]
    assert pruned["masks"] and not all(bool(m.all()) for m in pruned["masks"].values())
    assert not torch.load(paths["baseline"], weights_only=True)["masks"]


def test_the_registry_rebuilds_it(sized):
    from synth.checkpoint import load_model
    from synth.lm import LanguageModel
    from synth.models import build, list_families
    _, report = sized
    assert "lm" in list_families()
    model = load_model(report["checkpoints"]["symbiotic"])
    assert isinstance(model, LanguageModel)
    again = build(report["models"]["symbiotic"]["spec"], model.input_shape, model.num_classes)
    assert isinstance(again, LanguageModel) and again.spec == model.spec
    assert "lm " in run(["models"]).output


def test_eval_gives_its_perplexity_on_the_recorded_text(sized):
    _, report = sized
    for name in ("symbiotic", "plain_pruned"):
        out = json_result(run(["eval", "--model", report["checkpoints"][name], "--json"]))
        assert out["split"] == "test" and out["dataset"] == report["dataset"]
        assert out["perplexity"] == pytest.approx(report["models"][name]["test_perplexity"],
                                                  rel=1e-6)
        assert out["nonzero_parameters"] == report["models"][name]["nonzero_parameters"]
        val = json_result(run(["eval", "--model", report["checkpoints"][name], "--split", "val",
                               "--json"]))
        assert val["perplexity"] == pytest.approx(report["models"][name]["val_perplexity"],
                                                  rel=1e-6)


def test_hwsim_eval_prices_it_as_the_report_did_to_the_bit(sized):
    from deploy.symbiotic import served_price
    from synth.checkpoint import load_model
    from synth.lm import priced_tokens
    folder, report = sized
    for name in NAMES:
        path = report["checkpoints"][name]
        out = json_result(run(["hwsim", "eval", "--model", path, "--accel",
                               str(folder / "odd.yaml"), "--spring", "--json"]))
        assert out["latency_ms"] == report["models"][name]["priced_ms"], name
        # SPRING (zeros skipped: the tokens matter) as a --platform spring run prices it
        model = load_model(path)
        want = served_price(model, "spring", priced_tokens(model, path))
        assert out["spring_inference"]["latency_ms"] == want, name
        assert "test split" in out["spring_sparsity_inputs"]


@pytest.mark.parametrize("args, words", [
    (["eval", "--split", "all"], "--split is train, val or test (perplexity over one split"),
    (["eval", "--dataset", "iris"], "--dataset iris: unknown text set"),
    (["eval", "--rounding", "nearest"], "leave --rounding out"),
    (["hwsim", "eval", "--spring", "--dataset", "iris"], "family 'lm'"),
    (["export", "--out", "x.onnx"], "family 'lm'"),
])
def test_what_does_not_apply_to_a_language_model_is_one_line(sized, args, words, tmp_path,
                                                              monkeypatch):
    _, report = sized
    monkeypatch.chdir(tmp_path)
    cmd = args[:2] if args[0] == "hwsim" else args[:1]
    line = one_error_line(run(cmd + ["--model", report["checkpoints"]["symbiotic"]]
                              + args[len(cmd):]))
    assert words in line, line


def test_a_classification_set_given_to_the_family_is_one_line_naming_it(tmp_path):
    from synth.errors import UserError
    from synth.models import build
    model = build({"family": "lm", "embed": 4, "hidden": [4]}, (4,), 3)   # iris's shape
    with pytest.raises(UserError, match="model family 'lm' is a language model"):
        model(torch.zeros(2, 4))


def test_eval_refuses_a_text_that_is_not_the_one_it_was_trained_on(sized, tmp_path):
    import shutil
    folder, report = sized
    path = tmp_path / "m.pt"
    shutil.copy(report["checkpoints"]["plain"], path)
    text = report["dataset"][len("text:"):]
    original = open(text).read()
    try:
        with open(text, "a") as f:
            f.write("\nthe cat ran away.")
        line = one_error_line(run(["eval", "--model", str(path)]))
    finally:
        open(text, "w").write(original)
    assert "is not the text the model was trained on" in line


def test_eval_finds_its_text_from_another_folder_and_says_when_it_is_gone(tmp_path,
                                                                          monkeypatch):
    """A text given by a relative path (text:t.txt) is found from another folder while the
    file is where it was (the checkpoint's resolved path, as other sets); moved, the line
    names the checkpoint and the set."""
    import shutil
    from synth.checkpoint import save_checkpoint
    from synth.lm import LanguageModel, savable, text_record
    from synth.text import load_text
    train_dir, other = tmp_path / "a", tmp_path / "b"
    train_dir.mkdir(), other.mkdir()
    monkeypatch.chdir(train_dir)
    tiny_text(train_dir, end=".")
    data = load_text("text:t.txt", 1)
    model = savable(LanguageModel({"family": "lm", "embed": 4, "hidden": [4]}, data.vocab_size))
    tokens = data.test[:35].tolist()
    save_checkpoint(train_dir / "m.pt", model, dataset=text_record(data),
                    extra={"lm": {"bptt": 35, "tokens": tokens}})
    monkeypatch.chdir(other)
    out = json_result(run(["eval", "--model", str(train_dir / "m.pt"), "--json"]))
    assert out["dataset"] == "text:t.txt" and out["perplexity"] > 1
    shutil.move(train_dir / "t.txt", tmp_path / "moved.txt")
    line = one_error_line(run(["eval", "--model", str(train_dir / "m.pt")]))
    assert "records the text set 'text:t.txt', which does not load here" in line, line


def test_inverting_a_language_model_names_its_family(sized, tmp_path, monkeypatch):
    """invert said 'teacher has no BatchNorm layers' and advised training a BatchNorm family
    with bn=true (found by h304); a language model is named as one, with what applies to it."""
    _, report = sized
    monkeypatch.chdir(tmp_path)
    line = one_error_line(run(["invert", "--teacher", report["checkpoints"]["symbiotic"],
                               "--num-images", "4", "--out", "syn"]))
    assert "family lm (language model) has no BatchNorm" in line, line
    assert "nnsynth eval" in line and "bn=true" not in line, line
    assert not (tmp_path / "syn").exists()
