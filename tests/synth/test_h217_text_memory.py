"""text:<path> loads in memory a small multiple of the file's size (h217).  Every token was a
Python string in lists (the text's tokens, its three splits, the ids before they became a
tensor): ~20 bytes of memory a byte of text, 82 MB beyond the imports for 4 MB (256 MiB, the
limit, took ~5 GB).  Now the tokens are int32 ids into a table of the distinct words, built a
piece of the file at a time: measured ~5-7 bytes a byte of RSS for files of 4-16 MB, of which
12 bytes a token (the int64 splits and the int32 stream they are made from) is the result."""
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]

# A child process: the imports, and a first small load that pays the fixed costs (the word
# pattern, first use of numpy and torch); then Linux's peak RSS (VmHWM) is reset
# (/proc/self/clear_refs, "5") and the peak the file's load adds to the RSS is printed.
_CHILD = textwrap.dedent("""
    import gc, json, sys
    import synth.text as T

    def status(key):
        with open("/proc/self/status") as f:
            return next(int(line.split()[1]) for line in f if line.startswith(key))

    T.load_text("text:" + sys.argv[1])
    for path in sys.argv[2:]:
        gc.collect()
        try:
            with open("/proc/self/clear_refs", "w") as f:
                f.write("5")
        except OSError:
            print(json.dumps({"skip": "cannot reset the peak RSS (/proc/self/clear_refs)"}))
            sys.exit()
        before = status("VmRSS:")
        data = T.load_text("text:" + path)
        print(json.dumps({"kib": status("VmHWM:") - before, "tokens": sum(
            len(data.split(s)) for s in ("train", "val", "test"))}))
        del data
""")


def _prose(size: int, seed: int = 0) -> str:
    """About ``size`` characters of lower-case pseudo-words, Zipf-distributed (a few very
    common words, many rare ones, as in prose), 12 to a sentence, a sentence a line, an
    accented letter in one word of 20."""
    rng = np.random.default_rng(seed)
    letters = np.array(list("abcdefghijklmnopqrstuvwxyz"))
    vocab = ["".join(rng.choice(letters, n)) for n in rng.integers(2, 9, 20000)]
    vocab[::20] = [w + "é" for w in vocab[::20]]
    ids = np.minimum(rng.zipf(1.2, size // 5), len(vocab)) - 1
    words = [vocab[i] for i in ids]
    words[11::12] = [w + ".\n" for w in words[11::12]]
    return " ".join(words).replace("\n ", "\n")[:size]


@pytest.mark.timeout(300)
def test_loading_a_text_takes_a_small_multiple_of_its_size(tmp_path):
    # UTF-8, read a piece at a time; Windows-1252 (Latin-1), decoded whole, and its check
    # for another code page (synth.files.check_latin_reading) listed every word of the text
    size = 4 << 20
    text = _prose(size)
    (tmp_path / "warm.txt").write_text(_prose(100_000, seed=1), encoding="utf-8")
    (tmp_path / "utf8.txt").write_text(text, encoding="utf-8")
    (tmp_path / "latin.txt").write_text(text, encoding="cp1252")
    out = subprocess.run(["nice", "-n", "10", sys.executable, "-c", _CHILD,
                          *(str(tmp_path / n) for n in ("warm.txt", "utf8.txt", "latin.txt"))],
                         capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    got = [json.loads(line) for line in out.stdout.strip().splitlines()]
    if "skip" in got[0]:
        pytest.skip(got[0]["skip"])
    for encoding, each in zip(("utf-8", "cp1252"), got):
        assert each["tokens"] > size // 8   # the text is words, not one long string
        # 10 bytes a byte: ~5 measured after, 16 (UTF-8) and 19 (Windows-1252) before
        assert each["kib"] * 1024 < 10 * size, (encoding, each)


def test_a_text_of_too_many_distinct_words_is_one_line(tmp_path, monkeypatch):
    # the table of distinct words is the one part of the memory not bounded by the ids'
    import synth.text
    from synth.errors import UserError
    monkeypatch.setattr(synth.text, "MAX_TEXT_WORDS", 50)
    (tmp_path / "t.txt").write_text(" ".join(f"w{i:x}q" for i in range(200)) + ".\n")
    with pytest.raises(UserError, match="more than 50 distinct words") as e:
        synth.text.load_text(f"text:{tmp_path / 't.txt'}")
    assert "\n" not in str(e.value) and "t.txt" in str(e.value)
