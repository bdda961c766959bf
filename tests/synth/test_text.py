"""Text sets: markup removal, tokenization, vocabulary, contiguous splits, BPTT batching."""
import pytest
import torch

from synth.errors import UserError
from synth.text import (EOS, UNK, batchify, bptt_batches, build_vocab, clean_wikitext,
                        contiguous_splits, load_text, tokenize)


def test_tokenize_sentences_numbers_and_punctuation():
    text = "The cat sat, i.e. it rested. In 1999 it ate 3.5 fish!\n\nDogs bark."
    assert tokenize(text) == ["the", "cat", "sat", "i", "e", "it", "rested", EOS,
                              "in", "N", "it", "ate", "N", "fish", EOS, "dogs", "bark", EOS]


def test_clean_wikitext_removes_markup():
    page = ("{{Infobox|a={{nested|x}}}}'''Anarchism''' is a [[political philosophy]] of "
            "[[self-governance|self-governed]] groups.<ref>Cite</ref> [[File:A.png|thumb|x]]\n"
            "== History ==\n* Item one &amp; two\n{| class=t\n| cell\n|}\n"
            "== References ==\nlost text")
    out = clean_wikitext(page)
    assert tokenize(out) == ["anarchism", "is", "a", "political", "philosophy", "of",
                             "self", "governed", "groups", EOS, "history", EOS,
                             "item", "one", "two", EOS]


def test_vocab_cutoff_and_splits_are_contiguous():
    tokens = (["a", "b", "a", "c", EOS] * 20)
    train, val, test = contiguous_splits(tokens)
    assert train + val + test == tokens
    assert len(train) == 80 and len(val) == 10 and len(test) == 10   # 80 % / 90 % at <eos>
    assert build_vocab(["x", "y", "x", "z", "y", "x", EOS], 2) == [UNK, EOS, "x", "y"]


def test_text_file_set_and_bptt_batches(tmp_path):
    words = " ".join(f"w{i % 7}" for i in range(200))
    (tmp_path / "t.txt").write_text(words.replace("w6", "w6.\nRare"))
    data = load_text(f"text:{tmp_path / 't.txt'}", min_count=2)
    assert data.vocab[:2] == [UNK, EOS] and "rare" in data.vocab   # 28 of them in train
    assert data.metadata()["tokens"]["train"] == len(data.train)
    ids = torch.arange(23)
    cols = batchify(ids, 4)                          # 5 steps x 4 columns, 3 tokens dropped
    assert cols.shape == (5, 4) and cols[:, 1].tolist() == [5, 6, 7, 8, 9]
    windows = list(bptt_batches(cols, 3))
    assert [w[0].shape[0] for w in windows] == [3, 1]
    assert torch.equal(windows[0][1], cols[1:4]) and torch.equal(windows[1][1], cols[4:5])
    with pytest.raises(UserError, match="too few"):
        batchify(torch.arange(5), 4)
    with pytest.raises(UserError, match="text file not found"):
        load_text("text:/nonexistent/file.txt")
    with pytest.raises(UserError, match="is a folder"):
        load_text(f"text:{tmp_path}")
    # many tokens but no sentence end (text8): cut between the words at 80 % and 90 %
    (tmp_path / "one.txt").write_text("word " * 5000)
    one = load_text(f"text:{tmp_path / 'one.txt'}")
    assert [len(one.split(s)) for s in ("train", "val", "test")] == [4000, 500, 501]
    with pytest.raises(UserError, match="text set"):
        data.input_shape


def test_a_text_file_too_large_to_tokenize_is_refused_unread(tmp_path, monkeypatch):
    """Tokens take ~20 bytes of memory per byte of text: a file of gigabytes is refused by
    its size, before it is read (no limit let it take all memory)."""
    import synth.text
    monkeypatch.setattr(synth.text, "MAX_TEXT_BYTES", 1000)
    (tmp_path / "big.txt").write_text("Some words here. " * 100)
    with pytest.raises(UserError, match="is 1,700 bytes; the limit is 1,000"):
        load_text(f"text:{tmp_path / 'big.txt'}")


@pytest.mark.parametrize("command", [["scann"], ["secret"]])
def test_a_text_set_where_a_classification_set_is_needed_is_one_line(tmp_path, command):
    """scann and secret read x_train first, not input_shape: a text set was an
    AttributeError traceback ('TextDataset' object has no attribute 'x_train')."""
    from click.testing import CliRunner
    from deploy.cli.main import cli
    path = tmp_path / "t.txt"
    path.write_text(" ".join(f"w{i % 7}" for i in range(200)).replace("w6", "w6.\n"))
    r = CliRunner().invoke(cli, command + ["--dataset", f"text:{path}"])
    lines = r.output.strip().splitlines()
    assert r.exit_code == 2 and len(lines) == 1, r.output
    assert "is a text set (token ids, vocabulary" in lines[0]
    data = load_text(f"text:{path}")
    for name in ("x_train", "y_test", "num_classes", "class_names"):
        with pytest.raises(UserError, match="text set"):
            getattr(data, name)
    assert not hasattr(data, "no_such_field")      # other names: a plain AttributeError
    import pickle
    assert pickle.loads(pickle.dumps(data)).vocab == data.vocab
