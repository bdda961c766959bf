"""Word-level language-modelling text: tokenization, vocabulary, contiguous splits, BPTT batches.

A text set is a stream of token ids with its vocabulary in the metadata (DESIGN contract
"Sequences").  Two sources, both offline:

``enwiki``: the Wikipedia excerpt that gensim ships as test data
(``gensim/test/test_data/enwiki-latest-pages-articles1.xml-p000000010p000030302-shortened.bz2``,
gensim 4.4.0 wheel).  The file is located with ``importlib.util.find_spec`` and read directly,
so gensim itself is never imported.  ``text:<path>``: any UTF-8 plain-text file of the user's.

Preprocessing, in this order (``clean_wikitext`` then ``tokenize``; ``python -m synth.text``
prints the resulting counts):

1. Pages: main namespace (``<ns>0</ns>``) only, redirects (``#REDIRECT``) skipped; 106 pages.
2. Wiki markup removed: everything from the first "See also / References / External links /
   Further reading / Notes / Bibliography / Sources / Footnotes / Citations" heading to the end
   of the page; HTML comments; ``<ref>`` citations; ``{{templates}}`` and ``{| tables |}``
   (nested); File/Image/Category and interlanguage links; ``[[target|label]]`` -> label,
   ``[[target]]`` -> target, ``[url label]`` -> label; bare URLs; remaining tags; bold/italic
   quotes; heading ``=`` signs and list bullets; HTML entities decoded.
3. Sentences: the text is NFKC-normalized (full-width letters and digits, ligatures and
   decomposed accents become their usual forms); each non-empty line is a paragraph, split
   after ``.``, ``!`` or ``?`` that follows two lower-case letters or digits and precedes
   white space and a capital, digit or quote (so "i.e." and "U.S." do not end sentences), in
   any script: a letter of a script without case (CJK, Arabic, Hebrew, Thai...) counts as
   both; after ``。``, ``।``, ``؟`` and the other full stops of ``_TERMINALS``, and after
   ``!`` or ``?`` that follow such a letter, with or without a space.  Each sentence ends
   with ``<eos>``.
4. Words: case-folded (``str.casefold``); a token is a run of Unicode letters, digits and
   combining marks (any script: "café", "москва", "हिन्दी"), except that every CJK ideograph
   is a word of its own (Chinese is written without spaces: BERT's basic tokenizer does the
   same; kana, hangul and Thai runs stay whole), apostrophes (``'`` or ``’``, kept as ``'``) joining runs ("don't"), or a number
   ``\\d+([.,]\\d+)*``; a token of digits alone is a number; numbers become ``N`` and all
   punctuation is dropped (the Penn Treebank LM convention of Mikolov).  A literal ``<unk>``
   (Mikolov's PTB files hold them) is the ``<unk>`` token, not a word "unk".  Until 2026-12 only
   ``a-z`` made words: "café" was "caf", and Cyrillic, Greek or CJK text was dropped whole.
5. Splits: contiguous, at the first ``<eos>`` at or after 80 % and 90 % of the tokens:
   train / validation / test.  A text with too few sentence ends for that (text8, one line
   of 17 M words without punctuation, was refused) is cut between the words at 80 % and 90 %.
6. Vocabulary from the training split only: words seen at least ``min_count`` times, most
   frequent first (ties alphabetical), plus ``<unk>`` (id 0) and ``<eos>``; every other word is
   ``<unk>``.  The default cutoff is 10 (a small vocabulary that a 2-core machine can train).

``batchify(ids, batch)`` lays a stream out as ``(steps, batch)`` columns (Zaremba et al. 2014,
truncated BPTT); ``bptt_batches`` yields ``(input, target)`` windows of ``bptt`` steps from it.
"""
from __future__ import annotations

import bz2
import codecs
import dataclasses
import functools
import html
import importlib.util
import itertools
import re
import unicodedata
from pathlib import Path
from typing import Iterable, Iterator

import numpy as np
import torch

from synth.data import register_dataset
from synth.config import check_range, value_error
from synth.errors import UserError
from synth.files import decode_user_text
from synth.logs import set_logger

log = set_logger(__name__)   # quiet while a set is read to compare (synth.logs)

UNK, EOS = "<unk>", "<eos>"
TRAIN_FRACTION, VAL_FRACTION = 0.8, 0.1        # of all tokens; the test split is the rest
DEFAULT_MIN_COUNT = 10
# text:<path>, memory (h217): the file is read READ_CHUNK bytes at a time and tokenized a piece
# of whole lines at a time; each token is kept as an int32 id into a table of the distinct
# words, the splits as int64 ids (torch's index type): 12 bytes a token at the peak, ~2 bytes a
# byte of prose (a token every ~6 bytes).  Peak RSS beyond the imports, measured on
# Zipf-distributed words: 4.8 bytes a byte for 4 MiB (tests/synth/test_h217_text_memory.py),
# 4.2 for 15.4 MiB, 3.5 for 61 and for 254 MiB (1.10 GB peak RSS, 56 M tokens); when every
# token was a Python string in lists, 20 bytes a byte (~5 GB at the limit).  A file of one
# line (text8) holds that line whole, in about three copies (4.3 bytes a byte for 15 MiB).
# The table of distinct words is bounded apart: at most MAX_TEXT_WORDS (~140 bytes each, ~600
# MB); a text of more is no prose (random strings, hashes) and is refused.  A file not in
# UTF-8 (UTF-16, Windows-1252) is decoded whole first: 1-2 bytes a byte more (4.2 for 15.4 MiB
# of cp1252).
MAX_TEXT_BYTES = 256 << 20
MAX_TEXT_WORDS = 1 << 22         # distinct words of one text (enwiki's 3 MB: ~40k)
READ_CHUNK = 1 << 20             # bytes read and decoded at a time
PIECE_CHARS = 1 << 18            # characters of a sentence tokenized at a time (a longer one
                                 # is cut at white space beyond it: no word holds white space)
TOKEN_BATCH = 1 << 16            # tokens held as strings at a time (~4 MB)
EOS_ID = 1                       # <eos>'s id in a token stream and in every vocabulary
ENWIKI_FILE = "test/test_data/enwiki-latest-pages-articles1.xml-p000000010p000030302-shortened.bz2"

_END_SECTIONS = re.compile(
    r"^==+\s*(See also|References|External links|Further reading|Notes|Bibliography|Sources|"
    r"Footnotes|Citations)\s*==+\s*$", re.M | re.I)
_INNER_TEMPLATE = re.compile(r"\{\{[^{}]*\}\}")
_INNER_TABLE = re.compile(r"\{\|(?:(?!\{\|)[\s\S])*?\|\}")
_SPECIAL_LINK = re.compile(r"\[\[(?:File|Image|Category|[a-z]{2,3}(?:-[a-z]+)?):[^\[\]]*"
                           r"(?:\[\[[^\]]*\]\][^\[\]]*)*\]\]", re.I)
# step 3: a candidate sentence end; _is_sentence_end decides (str methods know every script)
_TERMINALS = "。।॥؟۔։።"   # always end a sentence: CJK, Devanagari, Arabic, Urdu, Armenian, Ethiopic
_SENTENCE_CANDIDATE = re.compile(rf"[.!?]\s+(?=\S)|[{_TERMINALS}]\s*|(?<=[^\x00-\u024f])[!?]\s*")
_OPENERS = "\"'(“‘«„¿¡"
_ASCII_SENTENCE_END = re.compile(r"(?<=[a-z0-9][a-z0-9][.!?])\s+(?=[A-Z0-9\"'(])")
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
_APOSTROPHES = "'’"
# CJK ideographs, one token each (BERT's _is_chinese_char ranges)
_CJK = re.compile("[\u4e00-\u9fff\u3400-\u4dbf\U00020000-\U0002a6df\U0002a700-\U0002b73f"
                  "\U0002b740-\U0002b81f\U0002b820-\U0002ceaf\uf900-\ufaff"
                  "\U0002f800-\U0002fa1f]")


def _uncased_letter(c: str) -> bool:
    return c.isalpha() and not c.isupper() and not c.islower()


def _is_sentence_end(line: str, end: re.Match) -> bool:
    """Step 3 for one candidate: the punctuation at ``end.start()``."""
    i, after = end.start(), end.end()
    if after >= len(line):
        return False
    if line[i] in _TERMINALS:
        return True
    if after == i + 1:   # no space: !/? after a letter of a script without case
        return _uncased_letter(line[i - 1]) if i else False
    if i < 2:
        return False
    before = line[i - 2:i]
    if not all(c.isdigit() or c.islower() or _uncased_letter(c) for c in before):
        return False
    nxt = line[after]
    return nxt.isupper() or nxt.isdigit() or nxt in _OPENERS or _uncased_letter(nxt)


def _sentences(line: str) -> Iterator[str]:
    start = 0
    for end in _SENTENCE_CANDIDATE.finditer(line):
        if _is_sentence_end(line, end):
            yield line[start:end.start() + 1]
            start = end.end()
    yield line[start:]


@functools.lru_cache(maxsize=1)
def _word_pattern() -> re.Pattern:
    """Step 4: runs of letters, digits and combining marks (the stdlib's ``\\w`` has no
    marks: "हिन्दी" came out as three tokens) joined by apostrophes, or a number."""
    marks, ranges = [c for c in itertools.chain(range(0x20000), range(0xE0100, 0xE01F0))
                     if unicodedata.category(chr(c))[0] == "M"], []
    for c in marks:
        if ranges and ranges[-1][1] == c - 1:
            ranges[-1][1] = c
        else:
            ranges.append([c, c])
    mark = "".join(f"\\U{a:08x}-\\U{b:08x}" for a, b in ranges)
    # every mark is >= U+0300: the cheap lookahead spares ASCII text the long class (3x faster)
    run = rf"[^\W_]+(?:(?=[^\x00-\u02ff])[{mark}][^\W_]*)*"
    return re.compile(rf"{UNK}|\d+(?:[.,]\d+)+(?![^\W_])|{run}(?:[{_APOSTROPHES}]{run})*")


def _remove_nested(text: str, inner: re.Pattern) -> str:
    """Delete innermost matches until none is left (templates and tables nest)."""
    while True:
        text, n = inner.subn("", text)
        if not n:
            return text


def clean_wikitext(text: str) -> str:
    """Plain prose from one page of MediaWiki markup (steps 2 of the module docstring)."""
    end = _END_SECTIONS.search(text)
    if end:
        text = text[:end.start()]
    text = re.sub(r"<!--.*?-->", "", text, flags=re.S)
    text = re.sub(r"<ref[^>]*/>", "", text)
    text = re.sub(r"<ref[^>]*>.*?</ref>", "", text, flags=re.S)
    text = _remove_nested(text, _INNER_TEMPLATE)
    text = _remove_nested(text, _INNER_TABLE)
    text = _SPECIAL_LINK.sub("", text)
    text = re.sub(r"\[\[[^\[\]|]*\|([^\[\]]*)\]\]", r"\1", text)
    text = re.sub(r"\[\[([^\[\]]*)\]\]", r"\1", text)
    text = re.sub(r"\[https?://\S+\s*([^\]]*)\]", r"\1", text)
    text = re.sub(r"https?://\S+", "", text)
    text = re.sub(r"<[^>]+>", "", text)
    text = re.sub(r"'{2,}", "", text)
    text = re.sub(r"^=+\s*(.*?)\s*=+\s*$", r"\1", text, flags=re.M)
    text = re.sub(r"^[*#:;]+\s*", "", text, flags=re.M)
    return html.unescape(text)


def tokenize(text: str) -> list[str]:
    """Words with ``<eos>`` after every sentence (steps 3-4 of the module docstring)."""
    return [t for batch in _token_batches(text) for t in batch]


def _token_batches(text: str) -> Iterator[list[str]]:
    """``tokenize(text)`` in lists of about TOKEN_BATCH tokens, in order.  ``text`` may be
    any run of whole lines of a longer text (``_line_pieces``): every step works within a
    line, NFKC joins no characters across a line break, and a piece without CJK ideographs
    has none to set apart."""
    word = _word_pattern()
    if not text.isascii():   # NFKC leaves ASCII as it is
        text = unicodedata.normalize("NFKC", text)
    text = text.replace("’", "'")
    cjk = _CJK.search(text) is not None
    batch: list[str] = []
    for line in text.splitlines():
        line = line.strip()
        # an ASCII line (str.isascii is O(1)) by the same rule in one regex: 3x faster
        for sentence in _ASCII_SENTENCE_END.split(line) if line.isascii() else _sentences(line):
            sentence = sentence.casefold()
            if cjk:
                sentence = _CJK.sub(r" \g<0> ", sentence)
            found = False
            for part in _parts(sentence):
                words = ["N" if w[0].isdigit() and _NUMBER.fullmatch(w) else w
                         for w in word.findall(part)]
                found = found or bool(words)
                batch.extend(words)
                if len(batch) >= TOKEN_BATCH:
                    yield batch
                    batch = []
            if found:
                batch.append(EOS)
    if batch:
        yield batch


_SPACE = re.compile(r"\s")


def _parts(sentence: str) -> Iterator[str]:
    """``sentence`` cut at white space every PIECE_CHARS characters or so (text8 is one
    sentence of 17 M words: one findall made a list of them all)."""
    start = 0
    while len(sentence) - start > PIECE_CHARS:
        space = _SPACE.search(sentence, start + PIECE_CHARS)
        if space is None:
            break
        yield sentence[start:space.start()]
        start = space.end()
    yield sentence[start:] if start else sentence


def wiki_pages(path: str | Path) -> Iterator[tuple[str, str]]:
    """(title, wikitext) of every main-namespace, non-redirect page of a bz2 XML dump."""
    import xml.etree.ElementTree as ET
    with bz2.open(path, "rb") as f:
        for _, el in ET.iterparse(f):
            if el.tag.rsplit("}", 1)[-1] != "page":
                continue
            fields = {c.tag.rsplit("}", 1)[-1]: c.text or "" for c in el.iter()}
            text = fields.get("text", "")
            if fields.get("ns") == "0" and not text.lstrip().upper().startswith("#REDIRECT"):
                yield fields.get("title", ""), text
            el.clear()


def _cut_points(eos: np.ndarray) -> tuple[int, int]:
    """Where train/val and val/test meet in a stream whose sentence ends ``eos`` marks: the
    first ``<eos>`` at or after 80 % and 90 %, or the words there when the sentence ends are
    too few for three splits (step 5)."""
    n = len(eos)

    def cut(fraction: float, at_sentence: bool = True) -> int:
        i = int(n * fraction)
        if not at_sentence or i >= n or eos[i - 1]:   # eos[-1] for i = 0, as lists index
            return i
        later = np.flatnonzero(eos[i:n - 1])
        return i + 1 + int(later[0]) if later.size else n
    a, b = cut(TRAIN_FRACTION), cut(TRAIN_FRACTION + VAL_FRACTION)
    if not 0 < a < b < n:
        a, b = cut(TRAIN_FRACTION, False), cut(TRAIN_FRACTION + VAL_FRACTION, False)
    return a, b


def contiguous_splits(tokens: list[str]) -> tuple[list[str], list[str], list[str]]:
    """Train/val/test cut at the first ``<eos>`` at or after 80 % and 90 %, or between the
    words there when the sentence ends are too few for three splits (step 5)."""
    a, b = _cut_points(np.fromiter((t == EOS for t in tokens), dtype=bool, count=len(tokens)))
    return tokens[:a], tokens[a:b], tokens[b:]


def _encode(batches: Iterable[list[str]], name: str = "") -> tuple[np.ndarray, list[str]]:
    """(int32 ids, words by id) of a token stream given in lists: every token an id into the
    table of its distinct words, ``<unk>`` 0 and ``<eos>`` 1, the others by first sight.  At
    most MAX_TEXT_WORDS distinct words (the table's memory is not bounded by the ids')."""
    index = {UNK: 0, EOS: EOS_ID}
    arrays = []
    for batch in batches:
        arrays.append(np.fromiter((index.setdefault(t, len(index)) for t in batch),
                                  dtype=np.int32, count=len(batch)))
        if len(index) > MAX_TEXT_WORDS:
            raise UserError(f"text set {name!r} holds more than {MAX_TEXT_WORDS:,} distinct "
                            f"words: not prose (random strings, hashes, numbers in words?); "
                            f"the limit bounds the memory its vocabulary takes")
    ids = np.concatenate(arrays) if arrays else np.zeros(0, np.int32)
    return ids, list(index)


def _vocab(train: np.ndarray, words: list[str], min_count: int) -> tuple[list[str], np.ndarray]:
    """(vocabulary, int64 map from a stream id to its vocabulary id) of the training ids
    ``train`` into ``words`` (step 6)."""
    counts = np.bincount(train, minlength=len(words))
    counts[:2] = 0   # <unk> and <eos> lead the vocabulary, not by their counts
    kept = sorted(np.flatnonzero(counts >= min_count).tolist(),
                  key=lambda i: (-counts[i], words[i]))
    remap = np.zeros(len(words), dtype=np.int64)   # every other word is <unk>
    remap[EOS_ID] = EOS_ID
    remap[kept] = np.arange(2, 2 + len(kept))
    return [UNK, EOS] + [words[i] for i in kept], remap


def build_vocab(tokens: list[str], min_count: int) -> list[str]:
    """``<unk>``, ``<eos>``, then words with count >= min_count, most frequent first (step 6)."""
    ids, words = _encode([tokens])
    return _vocab(ids, words, min_count)[0]


# what a classification set (synth.data.Dataset) has and a text set has not
_CLASSIFICATION_FIELDS = frozenset({"x_train", "y_train", "x_val", "y_val", "x_test", "y_test",
                                    "num_classes", "class_names", "mean", "std", "value_range",
                                    "is_image", "is_sequence", "require"})


@dataclasses.dataclass
class TextDataset:
    """Token-id streams of the three splits and the vocabulary (id = position)."""
    name: str
    train: torch.Tensor            # int64, (tokens,)
    val: torch.Tensor
    test: torch.Tensor
    vocab: list[str]
    min_count: int
    source: str

    kind = "text"

    @property
    def vocab_size(self) -> int:
        return len(self.vocab)

    @property
    def input_shape(self):
        raise self._not_a_classification_set()

    def __getattr__(self, name: str):
        # only for names this class lacks: the fields of a classification set
        # (synth.data.Dataset) are the same one-line error as input_shape, whichever a
        # command reads first (scann and secret read x_train: an AttributeError traceback)
        if name in _CLASSIFICATION_FIELDS:
            raise self._not_a_classification_set()
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def _not_a_classification_set(self) -> UserError:
        return UserError(f"data set {self.name!r} is a text set (token ids, vocabulary "
                         f"{self.vocab_size}); use it with a language model (`nnsynth "
                         f"symbiotic`)")

    def split(self, which: str) -> torch.Tensor:
        if which not in ("train", "val", "test"):
            raise value_error("split", which, "must be train, val or test")
        return getattr(self, which)

    def unk_rate(self, which: str) -> float:
        ids = self.split(which)
        return float((ids == 0).float().mean()) if len(ids) else 0.0

    def metadata(self) -> dict:
        return {"name": self.name, "kind": self.kind, "vocab": list(self.vocab),
                "vocab_size": self.vocab_size, "min_count": self.min_count,
                "tokens": {s: int(len(self.split(s))) for s in ("train", "val", "test")},
                "source": self.source}

    def summary(self) -> str:
        n = {s: len(self.split(s)) for s in ("train", "val", "test")}
        return (f"{self.name}: text, vocabulary {self.vocab_size} (min count {self.min_count}), "
                f"train/val/test {n['train']:,}/{n['val']:,}/{n['test']:,} tokens, "
                f"<unk> {100 * self.unk_rate('train'):.1f}% of train")


def text_dataset(name: str, tokens: list[str], min_count: int = DEFAULT_MIN_COUNT,
                 source: str = "") -> TextDataset:
    """Split ``tokens``, build the vocabulary on train, map every split to ids."""
    check_range("min_count", min_count, 1, None, integer=True)
    return _ids_dataset(name, *_encode([tokens], name), min_count, source)


def _ids_dataset(name: str, ids: np.ndarray, words: list[str], min_count: int,
                 source: str) -> TextDataset:
    """``text_dataset`` of the stream ``ids`` into ``words`` (``_encode``)."""
    check_range("min_count", min_count, 1, None, integer=True)
    a, b = _cut_points(ids == EOS_ID)
    if not 0 < a < b < len(ids):
        words_held = int(len(ids) - np.count_nonzero(ids == EOS_ID))
        raise UserError(f"text set {name!r} has {words_held} words: too few for train, "
                        f"validation and test splits (80/10/10 of the words; expected a "
                        f"text of many sentences)" if words_held else
                        f"text set {name!r} holds no words (letters or digits)")
    vocab, remap = _vocab(ids[:a], words, min_count)
    if len(vocab) == 2:   # every word <unk>: a model of <unk> and <eos> had a perplexity near 1
        train_words = int(a - np.count_nonzero(ids[:a] == EOS_ID))
        raise UserError(f"text set {name!r}: no word of its {train_words:,} training words "
                        f"occurs {min_count} times or more (min count {min_count}), so every "
                        f"word would be <unk>; give a longer text or a lower --min-count")
    train, val, test = (torch.from_numpy(remap[part]) for part in (ids[:a], ids[a:b], ids[b:]))
    return TextDataset(name, train, val, test, vocab, int(min_count), source)


def batchify(ids: torch.Tensor, batch: int) -> torch.Tensor:
    """(steps, batch): the stream cut into ``batch`` contiguous columns, remainder dropped."""
    if batch < 1:
        check_range("batch", batch, 1, None, integer=True)
    steps = len(ids) // batch
    if steps < 2:
        raise UserError(f"{len(ids)} tokens are too few for {batch} columns of >= 2 steps")
    return ids[:steps * batch].view(batch, steps).t().contiguous()


def bptt_batches(columns: torch.Tensor, bptt: int) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """(input, target) windows of up to ``bptt`` steps: target is the input shifted by one."""
    if bptt < 1:
        check_range("bptt", bptt, 1, None, integer=True)
    for i in range(0, len(columns) - 1, bptt):
        n = min(bptt, len(columns) - 1 - i)
        yield columns[i:i + n], columns[i + 1:i + 1 + n]


def enwiki_path() -> Path:
    spec = importlib.util.find_spec("gensim")
    if spec is None or not spec.submodule_search_locations:
        raise UserError("data set 'enwiki' needs the gensim package (its test data holds the "
                        "text): pip install gensim")
    path = Path(list(spec.submodule_search_locations)[0]) / ENWIKI_FILE
    if not path.is_file():
        raise UserError(f"gensim is installed but lacks its test data file {path}")
    return path


def enwiki_tokens() -> list[str]:
    tokens: list[str] = []
    for _, text in wiki_pages(enwiki_path()):
        tokens.extend(tokenize(clean_wikitext(text)))
    return tokens


_CACHE: dict = {}


def read_text_file(path: Path) -> str:
    """The text of a user's file: UTF-8 (a byte-order mark dropped), UTF-16 with its byte
    order mark, else Windows-1252, which Latin-1 text is (it was refused: "not UTF-8"); a
    file that is none of them is a one-line error naming it, as is one that cannot be read
    (no read permission, an I/O error: it was an OSError traceback)."""
    try:
        from synth.files import reports_no_bytes   # /proc/kmsg: a read that never ends
        raw = b"" if reports_no_bytes(path) else path.read_bytes()
    except OSError as e:
        from synth.files import printable
        raise UserError(f"text file {printable(path)} cannot be read "
                        f"({e.strerror or type(e).__name__})") from None
    return decode_user_text(raw, "text file", path)


def _utf8_chunks(path: Path) -> Iterator[str]:
    """The text of the UTF-8 file ``path`` (a byte-order mark dropped) decoded READ_CHUNK
    bytes at a time; UnicodeDecodeError where it is not UTF-8."""
    decoder = codecs.getincrementaldecoder("utf-8-sig")()
    with open(path, "rb") as f:
        while True:
            raw = f.read(READ_CHUNK)
            yield decoder.decode(raw, final=not raw)
            if not raw:
                return


def _line_pieces(chunks: Iterable[str]) -> Iterator[str]:
    """The text of ``chunks`` (cut anywhere) in pieces of whole lines, each cut after a line
    break (a CR LF cut between its two makes an empty line, which holds no words)."""
    held: list[str] = []
    for chunk in chunks:
        cut = max(chunk.rfind("\n"), chunk.rfind("\r")) + 1
        if not cut:
            held.append(chunk)   # a line longer than a chunk: kept whole, joined once
            continue
        held.append(chunk[:cut])
        piece, held = "".join(held), [chunk[cut:]]   # the chunks let go before the piece is
        yield piece                                   # read: a one-line file is held once
    if any(held):
        piece, held = "".join(held), []
        yield piece


def _pieces(text: str) -> Iterator[str]:
    """A text already decoded whole, in pieces of whole lines (``_line_pieces``)."""
    return _line_pieces(text[i:i + READ_CHUNK] for i in range(0, len(text), READ_CHUNK))


def _check_no_nul(text: str, path: Path) -> None:
    """Refuse a text holding NUL characters: no plain text does.  UTF-16 written without its
    byte-order mark is valid UTF-8 with a NUL after every ASCII letter, and was read as
    single letters ('t', 'h', 'e', ...): a language model of an alphabet, trained silently;
    so was a binary file that happens to decode (a tar archive of text files)."""
    if "\x00" in text:
        from synth.files import printable
        raise UserError(f"text file {printable(path)} holds NUL characters: it is not plain "
                        f"text (UTF-16 without its byte-order mark, or a binary file); save "
                        f"it as UTF-8")


def _file_tokens(path: Path) -> Iterator[list[str]]:
    """The tokens of the user's text file ``path`` in lists (``_token_batches``), read a
    piece at a time when it is UTF-8 (checked in a first pass that keeps nothing); any other
    file is decoded whole by ``read_text_file`` (UTF-16, Windows-1252, or its error)."""
    from synth.files import printable, reports_no_bytes
    try:
        if reports_no_bytes(path):
            head = b""
        else:
            with open(path, "rb") as f:
                head = f.read(2)
        utf8 = bool(head) and head not in (b"\xff\xfe", b"\xfe\xff")   # else read whole
        if utf8:
            try:
                for chunk in _utf8_chunks(path):
                    _check_no_nul(chunk, path)
            except UnicodeDecodeError:
                utf8 = False
    except OSError as e:
        raise UserError(f"text file {printable(path)} cannot be read "
                        f"({e.strerror or type(e).__name__})") from None
    if utf8:
        pieces = _line_pieces(_utf8_chunks(path))
    else:
        text = read_text_file(path)
        _check_no_nul(text, path)
        pieces = _pieces(text)
    try:
        for piece in pieces:
            yield from _token_batches(piece)
    except (OSError, UnicodeDecodeError) as e:   # changed or failing since the first pass
        raise UserError(f"text file {printable(path)} cannot be read "
                        f"({getattr(e, 'strerror', None) or type(e).__name__})") from None


def load_text(name: str, min_count: int = DEFAULT_MIN_COUNT) -> TextDataset:
    """``enwiki`` or ``text:<path>`` as a TextDataset (the tokens are parsed once per process)."""
    check_range("min_count", min_count, 1, None, integer=True)
    ids, words, source = _text_stream(name)
    return _ids_dataset(name, ids, words, min_count, source)


def _text_stream(name: str) -> tuple[np.ndarray, list[str], str]:
    """(ids, words by id, source) of ``enwiki`` or ``text:<path>`` (``_encode``): the file
    checked (kind, size) and read once; enwiki's tokens parsed once per process."""
    if name == "enwiki":
        if "enwiki" not in _CACHE:
            _CACHE["enwiki"] = enwiki_tokens()
        return (*_encode([_CACHE["enwiki"]], name), str(enwiki_path()))
    if name.startswith("text:"):
        path = Path(name[5:]).expanduser()
        if path.is_dir():
            raise UserError(f"text file {path} is a folder: expected a UTF-8 plain-text file")
        if not path.is_file():
            from synth.files import missing_input
            raise missing_input(path, "text file", "a UTF-8 plain-text file")
        size = path.stat().st_size
        if size > MAX_TEXT_BYTES:
            raise UserError(f"text file {path} is {size:,} bytes; the limit is "
                            f"{MAX_TEXT_BYTES:,} (loading takes ~4 bytes of memory per "
                            f"byte of text)")
        return (*_encode(_file_tokens(path), name), str(path))
    raise UserError(f"unknown text set {name!r}; known: enwiki, text:<path>")


def text_in_vocab(name: str, vocab: list[str], min_count: int = DEFAULT_MIN_COUNT) -> TextDataset:
    """The text set ``name`` (enwiki or text:<path>, read and cut as ``load_text`` reads and
    cuts it: contiguous 80/10/10 of its words) as ids into another set's vocabulary ``vocab``
    (a trained language model's, ``<unk>`` 0 and ``<eos>`` 1 first): each word outside it is
    ``<unk>``.  How a model trained on one text is scored on another (``nnsynth eval --model
    LM --dataset``): its ids are the model's, not a vocabulary of this text's own."""
    if not (isinstance(vocab, list) and len(vocab) > 2 and vocab[:2] == [UNK, EOS]
            and all(isinstance(w, str) for w in vocab)):
        raise UserError(f"a vocabulary must be a list of words beginning {UNK}, {EOS}")
    ids, words, source = _text_stream(name)   # read once, checked as load_text checks it
    index = {w: i for i, w in enumerate(vocab)}
    remap = np.fromiter((index.get(w, 0) for w in words), dtype=np.int64, count=len(words))
    a, b = _cut_points(ids == EOS_ID)
    train, val, test = (torch.from_numpy(remap[part]) for part in (ids[:a], ids[a:b], ids[b:]))
    return TextDataset(name, train, val, test, list(vocab), int(min_count), source)


@register_dataset("enwiki", "Wikipedia excerpt from gensim's test data: word-level language "
                  "modelling, ~465k tokens, vocabulary of words seen >= 10 times")
def _enwiki(seed: int) -> TextDataset:
    return load_text("enwiki")


@register_dataset("text", "a plain-text file (UTF-8, else Latin-1): word-level language "
                  "modelling", prefixed=True)
def _text(path: str, seed: int) -> TextDataset:
    return load_text(f"text:{path}")


if __name__ == "__main__":   # python -m synth.text: the token counts of the docstring
    import time
    t0 = time.perf_counter()
    data = load_text("enwiki")
    pages = sum(1 for _ in wiki_pages(enwiki_path()))
    print(f"{pages} pages; {data.summary()}; "
          f"<unk> val {100 * data.unk_rate('val'):.1f}% test {100 * data.unk_rate('test'):.1f}%; "
          f"{time.perf_counter() - t0:.1f} s")
