"""A user's own table as a tabular set, whatever file it came from (csv:, a plain Parquet).

Which column holds the labels, which the split and which the features (``_table_roles``),
the labels as classes (``_table_labels``: integers in numeric order, names in sorted order,
an ordered category in its order), every feature column checked to hold numbers, and the
set (``table_dataset``).  Reading the files is ``synth.data_csv``'s and
``synth.data_parquet``'s.
"""
from __future__ import annotations

import re

import numpy as np

from synth.config import short_repr
from synth.data_registry import (MAX_CLASS_NAME, check_class_names, column_shown, content_shown,
                                  shown)
from synth.data_splits import (_tabular_dataset, log, repeated_rows, split_column,
                               stratified_splits, too_few_to_split)
from synth.dataset import Dataset
from synth.errors import TooFewClasses, UserError

# pyarrow's time and memory grow with the columns of a table, not its bytes: a 2 MB header
# row of 10**6 columns took 45 s and 9 GB to parse.  The header is counted first.
MAX_CSV_COLUMNS = 16_384
LABEL_COLUMNS = ("label", "class", "target", "y")   # the first present names the labels
# 2**53: beyond it a double holds every other integer, then every fourth...: a float label
# there is no exact class (an int64 code 2**62 + 1 written as a float reads 2**62)
MAX_EXACT_FLOAT = 2 ** 53
LABEL_TYPES = "integers, text, true/false or whole numbers (floats, decimals)"


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _label_classes(keys: list, codes: np.ndarray, empty, where: str):
    """(class indices, class names) from the label values ``keys`` (sortable: ints or
    strings; a value may be there twice, its rows one class) and each row's index ``codes``
    into them; ``empty``: the indices of the empty (blank) text labels."""
    if len(empty):   # a text column reads an empty cell as "", which became a class
        raise UserError(f"{where}: its label column has "
                        f"{int(np.isin(codes, list(empty)).sum()):,} empty cells")
    classes = sorted(set(keys))
    index = {k: i for i, k in enumerate(classes)}
    y = np.asarray([index[k] for k in keys], dtype=np.int64)[codes]
    if len(classes) < 2:
        raise TooFewClasses(f"{where}: its labels hold {len(classes)} class; at "
                            f"least 2 are needed", found=len(classes))
    return y, [str(c) for c in classes]


_EXPONENT = re.compile(r"[eE][-+]?0*([0-9]+)\s*$")


def exact_number(text: str):
    """``text`` as an exact ``Fraction``, or None where it is no finite number, or one whose
    decimal exponent has more than three digits: Fraction('1e999999999') computes
    10**999999999, and a CSV label cell of it hung the load (a float of it is inf or 0)."""
    from fractions import Fraction
    exponent = _EXPONENT.search(text)
    if exponent is not None and len(exponent.group(1)) > 3:
        return None
    try:
        return Fraction(text)
    except (ValueError, ZeroDivisionError, OverflowError):   # nan, inf, a name
        return None


def _whole_numbers(text: list[str], where: str, codes: np.ndarray,
                   column: str = "its label column") -> list[int]:
    """The label values ``text`` (a column read as floating point) as exact integers: codes
    beyond int64 (parsed as doubles) fell together into one class, and 1e30 into class
    -2**63.  ``codes``: each row's index into ``text``; ``column``: the column as named in
    an error.  A whole number longer than a class name may be (1e300) is refused as such: it
    was "class names must be strings of at most 200 characters", naming 1000...0."""
    numbers = []
    for i, t in enumerate(text):
        numbers.append(exact_number(t))
        if numbers[-1] is None and _is_number(t) and not np.isfinite(float(t)):
            # 'inf' was called a fractional value
            raise UserError(f"{where}: its label column holds NaN or infinite values"
                            f"{shown(t, lead=' such as ')}; labels must be class names or "
                            f"integers")
        if numbers[-1] is None or numbers[-1].denominator != 1:
            row = _first_row(codes, i)   # which row (h312)
            raise UserError(f"{where}: labels must be class names or integers, got fractional "
                            f"values{shown(t, lead=' such as ')} (data row {row:,}; the labels "
                            f"are the column named {'/'.join(LABEL_COLUMNS)}, else the last)")
        digits = len(str(abs(numbers[-1].numerator)))
        if digits > MAX_CLASS_NAME:
            row = _first_row(codes, i)
            raise UserError(f"{where}: {column} holds{shown(t, lead=' ')} (data row {row:,}), "
                            f"a whole number of {digits:,} digits, too long for a class name "
                            f"(at most {MAX_CLASS_NAME} characters); labels must be "
                            f"{LABEL_TYPES}")
    return [int(f) for f in numbers]


def _first_row(codes, i: int) -> int:
    """The data row (1-based) of the first label whose code is ``i``."""
    return int(np.flatnonzero(np.asarray(codes) == i)[0]) + 1


def _check_finite_labels(values: np.ndarray, where: str) -> None:
    """Floating-point labels hold no NaN or infinity (written as values, not nulls: pyarrow's
    and polars' NaN), named with the first row that holds one."""
    bad = ~np.isfinite(values)
    if bad.any():
        raise UserError(f"{where}: its label column holds NaN or infinite values "
                        f"({int(bad.sum()):,}; the first in data row "
                        f"{int(np.flatnonzero(bad)[0]) + 1:,}); fill or drop those rows")


def _spelled_twice(text, count: int, where: str) -> bool:
    """Whether the label column ``text`` (a CSV's, read as text) spells one of its ``count``
    integer (or true/false) values two ways -- '01' and '1', '+1' and '1', 'true' and '1' --
    which pyarrow's type inference read as one class, silently: classes 1 and 01 of a file
    became one class named '1'.  Then a warning names two such spellings, and the caller reads
    the labels as the text they are.  A column that spells each value one way ('01'..'12',
    '+1'/'-1', True/False in any case) is read as numbers still: its classes, names and
    order, and so the digests and resume keys of its runs, are as before."""
    import pyarrow.compute as pc
    spelled = pc.unique(pc.utf8_trim_whitespace(text.combine_chunks())).to_pylist()
    if len(spelled) <= count:   # as many spellings as values: one each
        return False
    seen: dict = {}
    for t in spelled:
        t = t.lower() if t.lower() in ("true", "false") else t   # True/TRUE/true: one
        key = {"true": 1, "false": 0}.get(t, t)
        try:
            key = int(key)
        except ValueError:
            pass
        if key in seen and seen[key] != t:
            log.warning("%s: its labels spell one value two ways (%s and %s); they are read "
                        "as text, each spelling its own class (write each class one way where "
                        "they are one)", where, short_repr(seen[key]), short_repr(t))
            return True
        seen[key] = t
    return False


def number_spelled_twice(labels) -> tuple[str, str] | None:
    """Two of the distinct text ``labels`` that spell one number ('1' and '1.0', '2' and
    '2e0'), else None.  Read as text, each spelling is its own class: a text label column
    of '1' and '1.0' (a Parquet string column, a CSV column with a word in it, a .ts file's
    labels) split one class in two without a word, where a CSV column of numbers reads
    them as one class.  The caller warns, as a CSV column of '01' and '1' is warned of
    (``_spelled_twice``)."""
    seen: dict = {}
    for t in labels:
        value = exact_number(t.strip())
        if value is None:   # a name, nan, inf
            continue
        if value in seen and seen[value] != t.strip():
            return seen[value], t.strip()
        seen.setdefault(value, t.strip())
    return None


def warn_spelled_twice(labels, where: str) -> None:
    """Log that the text ``labels`` spell one number two ways (``number_spelled_twice``)."""
    twice = number_spelled_twice(labels)
    if twice is not None:
        log.warning("%s: its labels spell one number two ways (%s and %s); they are read as "
                    "text, each spelling its own class (write each class one way where they "
                    "are one)", where, short_repr(twice[0]), short_repr(twice[1]))


def _table_labels(column, where: str, as_text=None, label: str | None = None,
                  names=()) -> tuple[np.ndarray, list[str]]:
    """(class indices, class names) of a label column: integers (classes in numeric order)
    or names (in sorted order), one per row.  ``as_text()``: the column read again as text
    (a CSV's, whose floating-point cells are taken exactly); without it floating-point
    labels are taken as the numbers they are (a Parquet column), whole ones up to
    MAX_EXACT_FLOAT.  Dates, times and durations are refused (a Parquet timestamp column
    trained on classes named '1970-01-01 00:00:00.000').  ``label``: the column's name in
    the table's columns ``names``, for errors."""
    import pyarrow as pa
    shown_as = f"label column {column_shown(label, names)}" if label else "its label column"
    if column.null_count:
        raise UserError(f"{where}: its label column has {column.null_count:,} "
                        f"empty cells")
    kind, respelled = column.type, False
    if pa.types.is_dictionary(kind):   # a pandas category: its values, dictionary-encoded
        column = column.cast(kind.value_type)
        kind = kind.value_type
    if pa.types.is_integer(kind) or pa.types.is_boolean(kind):
        values = np.asarray(column.to_numpy(zero_copy_only=False))
        if values.dtype == bool:   # classes 0 and 1, as a CSV's false/true
            values = values.astype(np.int64)
        # in their own type: uint64 codes beyond 2**63 cast to int64 named classes -2**63...
        classes, codes = np.unique(values, return_inverse=True)
        text = as_text() if as_text is not None else None
        if text is None or not _spelled_twice(text, len(classes), where):
            return _label_classes(classes.tolist(), codes.reshape(-1), (), where)
        column, kind, respelled = text, text.type, True   # each spelling its own class,
        # as text (warned of by _spelled_twice)
    if pa.types.is_floating(kind) and as_text is None:
        values = np.asarray(column.to_numpy(zero_copy_only=False), dtype=np.float64)
        _check_finite_labels(values, where)
        big = np.flatnonzero(np.abs(values) > MAX_EXACT_FLOAT)
        if len(big):   # 1e300 was a class name of 301 digits, 2.0**62 one of 4611686018427388000
            raise UserError(f"{where}: {shown_as} holds {len(big):,} floating-point values "
                            f"beyond ±2**53 (the first{shown(float(values[big[0]]), lead=' ')} "
                            f"in data row {int(big[0]) + 1:,}), where a float is no exact "
                            f"integer class; write the labels as integers or text")
        classes, codes = np.unique(values, return_inverse=True)
        return _label_classes(_whole_numbers([repr(float(c)) for c in classes], where,
                                             codes.reshape(-1), shown_as),
                              codes.reshape(-1), (), where)
    numbers = pa.types.is_floating(kind) or pa.types.is_decimal(kind)   # whole numbers
    if pa.types.is_floating(kind):
        column = as_text()
    elif pa.types.is_decimal(kind):   # its text ('9.00', '10.00') was sorted as text
        column = column.cast(pa.string())
    elif (pa.types.is_binary(kind) or pa.types.is_large_binary(kind)
          or pa.types.is_fixed_size_binary(kind) or pa.types.is_binary_view(kind)):
        raise UserError(f"{where}: its label column holds bytes, not text; write it as text "
                        f"or integers")
    elif pa.types.is_string_view(kind):
        column = column.cast(pa.string())
    elif not (pa.types.is_string(kind) or pa.types.is_large_string(kind)):
        # a timestamp column trained on classes named '1970-01-01 00:00:00.000': dates and
        # times are no classes (the wrong column taken as the labels), as no feature is
        what = (": dates, times and durations are no classes" if pa.types.is_temporal(kind)
                else "")
        hint = (_label_hint(list(names)) if label and label.strip().lower() not in LABEL_COLUMNS
                else "")   # the last column, taken as the labels by the rule
        raise UserError(f"{where}: {shown_as} holds {short_repr(str(kind))} values{what}{hint}; "
                        f"labels must be {LABEL_TYPES}")
    encoded = column.combine_chunks().dictionary_encode()   # Arrow's memory, not a str a row
    # spaces around a name are not part of it: 'cat' and 'cat ' (or ' cat' after ', ') were
    # two classes of one animal, or a class named ' cat'
    text = [t.strip() for t in encoded.dictionary.to_pylist()]
    codes = np.asarray(encoded.indices.to_numpy(zero_copy_only=False), dtype=np.int64)
    empty = [i for i, t in enumerate(text) if not t]
    if not numbers:
        if not respelled:
            warn_spelled_twice(text, where)
        return _label_classes(text, codes, empty, where)
    return _label_classes(_whole_numbers(text, where, codes, shown_as), codes, empty, where)


def _table_roles(names: list[str], where: str) -> tuple[str, str | None, list[str]]:
    """(label column, split column or None, feature columns) of a user's table by the rules
    README gives for csv: (a column named label, class, target or y, the first of them
    present, else the last; a column named split; every other a feature)."""
    lowered = [n.strip().lower() for n in names]
    for key in (next((c for c in LABEL_COLUMNS if c in lowered), None), "split"):
        same = [n for n, low in zip(names, lowered) if low == key]
        if len(same) > 1:   # 'Label' and 'label': the first was the labels, the other a feature
            raise UserError(f"{where}: its header names the {key} column twice "
                            f"({', '.join(column_shown(n, names) for n in same)}); rename one")
    split = names[lowered.index("split")] if "split" in lowered else None
    last = next((n for n in reversed(names) if n != split), names[-1])   # a split column last
    label = next((names[lowered.index(c)] for c in LABEL_COLUMNS if c in lowered), last)
    return label, split, [n for n in names if n not in (label, split)]


def _label_hint(names: list[str]) -> str:
    """Which column was taken as the labels, for an error about a text feature column (the
    labels in another column than the rule picks, such as the first)."""
    label, _, _ = _table_roles(names, "")
    return (f" (the labels are the column named {'/'.join(LABEL_COLUMNS)}, else the last: "
            f"here {column_shown(label, names)})")


def _feature_type_error(column, name: str, where: str, names=()) -> str | None:
    """Why the feature column ``name`` cannot be read as numbers (its first missing value
    or text, with its row), or None; ``names``: the table's columns, for a hint."""
    import pyarrow as pa
    import pyarrow.compute as pc
    kind = column.type
    numeric = (pa.types.is_integer(kind) or pa.types.is_floating(kind)
               or pa.types.is_boolean(kind) or pa.types.is_decimal(kind))
    if numeric and not column.null_count:
        return None
    head = f"{where}: feature column {column_shown(name, names)}"
    if column.null_count and (numeric or pa.types.is_null(kind)):
        row = int(np.flatnonzero(pc.is_null(column).to_numpy(zero_copy_only=False))[0])
        return (f"{head} has {column.null_count:,} empty cells (missing values: empty, NA, "
                f"NaN...; the first in data row {row + 1:,}); fill or drop those rows")
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        values = column.combine_chunks().dictionary_encode()
        text = values.dictionary.to_pylist()
        # a number as pyarrow reads one: Python's float() also takes '1_000', a no-break
        # space around the digits and non-ASCII digits ('１'), which left such a column
        # "has string values", naming neither row nor value
        odd = next((i for i, t in enumerate(text) if t is None or not _is_number(t)
                    or not t.isascii() or "_" in t), None)
        if odd is not None:
            row = int(np.flatnonzero(values.indices.to_numpy(zero_copy_only=False) == odd)[0])
            numbers = any(t is not None and _is_number(t) for t in text[:10_000])
            hint = ("; write numbers in ASCII digits, without digit separators or spaces "
                    "other than plain ones" if text[odd] is not None and _is_number(text[odd])
                    else "; fill or drop those rows" if numbers   # a missing-value mark: ?
                    else _label_hint(list(names)) if names else "")
            return (f"{head} must hold numbers in every row, has text"
                    f"{shown(text[odd], lead=' such as ')} (data row {row + 1:,})"
                    f"{hint}")
    if column.null_count:
        return f"{head} must hold numbers in every row, has {column.null_count:,} empty cells"
    hint = (" (a column of lists is nnsynth's own Parquet layout, with its metadata: "
            "synth.data.write_parquet)" if pa.types.is_nested(kind) else "")
    return f"{head} must hold numbers in every row, has {kind} values{hint}"


def table_dataset(table, where: str, name: str, seed: int, as_text=None) -> Dataset:
    """A tabular set from ``table`` (pyarrow) of a user's own file (csv:, a plain Parquet
    table): the column named label, class, target or y (the first of them present; else the
    last) holds the classes, a column named split may say train/val/test per row (else
    stratified splits with ``seed``), every other column is a numeric feature, standardized
    with the training split's mean and std (as iris, wine).  ``where`` begins each error
    ("CSV data set f.csv"); ``as_text(column)``: that column read again as text."""
    names = table.schema.names
    if not names:
        raise UserError(f"{where} has no columns")
    label, split, features = _table_roles(names, where)
    if not features or table.num_rows == 0:
        columns = (f"columns {short_repr(names)}" if content_shown()
                   else f"{len(names)} column{'s' if len(names) != 1 else ''}")
        raise UserError(f"{where} needs rows and at least one feature column "
                        f"beside the labels; has {table.num_rows} rows and {columns}")
    from synth.models import check_shape
    check_shape([len(features)], 2, where)
    import pyarrow as pa
    columns = []
    for n in features:
        c = table.column(n)
        error = _feature_type_error(c, n, where, names)
        if error:
            raise UserError(error)
        if pa.types.is_decimal(c.type):
            c = c.cast(pa.float64())
        columns.append(np.asarray(c.to_numpy(zero_copy_only=False), dtype=np.float64))
    x = np.column_stack(columns)
    for n, c in zip(features, columns):   # named: the file had said neither column nor row
        bad = ~np.isfinite(c)
        if bad.any():
            raise UserError(f"{where}: feature column {column_shown(n, names)} holds NaN or "
                            f"infinite values ({int(bad.sum()):,}; the first in data row "
                            f"{int(np.flatnonzero(bad)[0]) + 1:,}; a number beyond 1.8e308 "
                            f"reads as infinite); fill or drop those rows")
    y, class_names = _table_labels(table.column(label), where,
                                   as_text and (lambda: as_text(label)), label, names)
    check_class_names(class_names, where, loaded=True)
    if split is not None:
        splits = split_column(table.column(split).to_pylist(), y, seed, where, split)
    else:
        try:
            splits = stratified_splits(x, y, seed)
        except ValueError:   # scikit-learn's stratified split: too few rows
            raise UserError(f"{where}: {too_few_to_split(y, class_names, 'rows')}; give more "
                            f"rows or a split column") from None
    repeated = repeated_rows(x, splits, where)
    if repeated:
        log.warning("%s", repeated)
    _warn_recoded_labels(x, y, features, label, names, where)
    # the splits are drawn on the sorted classes, then an ordered label column's classes
    # take its order: one file splits as it did before the order was kept
    y, class_names = _declared_order(table.column(label), y, class_names)
    return _tabular_dataset(name, x, y, class_names, seed, splits, features)


def _warn_recoded_labels(x: np.ndarray, y: np.ndarray, features: list[str], label: str,
                         names: list[str], where: str) -> None:
    """Warn of a feature column named as labels are (label, class, target, y: a table that
    holds its labels twice, as a name and as a code) whose values are the classes one to
    one: it is read as a feature by the rules (the first such name is the labels), and the
    model learnt the answer from it, 100% on every split, silently."""
    k = int(y.max()) + 1
    for i, n in enumerate(features):
        if n.strip().lower() not in LABEL_COLUMNS:
            continue
        values, codes = np.unique(x[:, i], return_inverse=True)
        if len(values) == k and len(np.unique(codes.reshape(-1) * k + y)) == k:
            log.warning("%s: feature column %s holds the labels of column %s again (one value "
                        "a class); read as a feature, it gives the answer away: drop it",
                        where, column_shown(n, names), column_shown(label, names))


def _declared_order(column, y: np.ndarray, names: list[str]) -> tuple[np.ndarray, list[str]]:
    """(y, names) with the classes in the order an *ordered* dictionary label column declares
    (a pandas ``Categorical(..., ordered=True)`` of 'low' < 'medium' < 'high' became classes
    high, low, medium: the sorted order); its categories without rows are left out.  Any
    other column: (y, names) as they are."""
    import pyarrow as pa
    kind = column.type
    if not (pa.types.is_dictionary(kind) and kind.ordered and column.num_chunks):
        return y, names
    declared = column.unify_dictionaries().chunk(0).dictionary.to_pylist()
    spelled = [str(v).strip() if not isinstance(v, bool) else str(int(v)) for v in declared]
    order = [n for n in dict.fromkeys(spelled) if n in names]
    if sorted(order) != sorted(names) or order == names:   # not the same classes: as they are
        return y, names
    lut = np.asarray([order.index(n) for n in names], dtype=np.int64)
    return lut[y], order
