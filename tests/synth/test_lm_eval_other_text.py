"""``nnsynth eval --model LM --dataset TEXT``: a language model scored on a text it was not
trained on (a held-out file), read in the model's own vocabulary.  It was refused ("it is
scored on that set only"), so a model trained on one file could not be scored on another."""
import pytest
import torch

from synth.checkpoint import save_checkpoint
from synth.lm import LanguageModel, perplexity, savable, text_record
from synth.text import load_text, tokenize
from tests._cli import json_result, one_error_line, run
from tests._symbiotic import tiny_text


@pytest.fixture
def trained(tmp_path):
    tiny_text(tmp_path, end=".")
    data = load_text(f"text:{tmp_path / 't.txt'}", 1)
    torch.manual_seed(0)
    model = savable(LanguageModel({"family": "lm", "embed": 4, "hidden": [4]}, data.vocab_size))
    save_checkpoint(tmp_path / "m.pt", model, dataset=text_record(data),
                    extra={"lm": {"bptt": 35, "tokens": data.test[:35].tolist()}})
    return tmp_path, data, model


def test_another_text_is_scored_in_the_models_vocabulary(trained):
    folder, data, model = trained
    text = "the cat sat on a red mat. a bird flew over the dog. the dog ran far away.\n" * 5
    (folder / "other.txt").write_text(text)
    out = json_result(run(["eval", "--model", str(folder / "m.pt"), "--dataset",
                           f"text:{folder / 'other.txt'}", "--split", "all", "--json"]))
    index = {w: i for i, w in enumerate(data.vocab)}
    ids = torch.tensor([index.get(w, 0) for w in tokenize(text)])   # red, bird, flew...: <unk>
    assert out["split"] == "all" and out["tokens"] == len(ids)
    unk = float((ids == 0).float().mean())
    assert unk > 0 and out["unk_rate"] == pytest.approx(unk)
    assert out["perplexity"] == pytest.approx(perplexity(model.eval(), ids, bptt=35))
    assert out["vocabulary_of"] == data.name


def test_its_own_text_spelled_another_way_scores_as_its_own(trained, monkeypatch):
    folder, data, _ = trained
    own = json_result(run(["eval", "--model", str(folder / "m.pt"), "--json"]))
    monkeypatch.chdir(folder)
    other = json_result(run(["eval", "--model", str(folder / "m.pt"), "--dataset",
                             "text:./t.txt", "--json"]))   # read as another text: same ids
    assert (other["split"], other["tokens"]) == ("test", own["tokens"])
    assert other["perplexity"] == pytest.approx(own["perplexity"])


def test_a_set_that_is_not_a_text_is_one_line(trained):
    folder, _, _ = trained
    line = one_error_line(run(["eval", "--model", str(folder / "m.pt"), "--dataset", "iris"]))
    assert line.startswith("error: --dataset iris: unknown text set"), line
