"""The results table: one Parquet row per completed trial (``stopped_early`` marks those an
early-stopping scheduler ended), the Pareto front, the plot.

DESIGN: results are rows in Parquet and plots are made from that table, never from
in-memory state.  ``append_result`` is idempotent by ``trial_id`` and atomic (the whole
table is rewritten to a temporary file and renamed), so a killed search never leaves a
half-written table and a resumed one never records a trial twice.
"""
from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Mapping

import numpy as np
import pandas as pd
import pyarrow as pa

from search.choices import LEGACY_TIEBREAK, TIEBREAKS
from search.feasibility import figure, grow_pruned
from synth.config import short_repr
from synth.errors import ConfigError, UserError
from synth.files import atomic_path, printable, quoted, unique_keys

# The columns of results.parquet, in order (units in the names or comments).
COLUMNS = {
    "trial_id": "string", "spec": "string",            # canonical JSON of the model spec
    "accuracy": "float64", "test_accuracy": "float64",  # validation / test, fractions
    "parameters": "int64", "nonzero_parameters": "int64",
    "flops": "int64",             # MACs per sample, every weight (synth.models.count_flops)
    "nonzero_flops": "int64",     # MACs per sample that touch a nonzero weight
    "latency_ms": "float64", "energy_mj": "float64",    # hwsim accelerator, batch 1
    "epochs": "int64", "wall_seconds": "float64", "stopped_early": "bool",
    "checkpoint": "string", "finished_at": "float64",   # unix seconds
    "device": "string",                                 # where the trial trained
    # what "accuracy" was measured on: "real_val", or "synthetic_val" in the data-free mode,
    # where "val_kd_loss" (KL to the teacher at the KD temperature on the synthesized
    # validation slice, nats) breaks ties and "real_val_accuracy" is for the report only
    "selected_on": "string", "val_kd_loss": "float64", "real_val_accuracy": "float64",
    # the epoch (from 1) whose weights became NaN or infinite, measured as they were; else empty
    "diverged_epoch": "float64",
    # canonical JSON of the spec of the model the trial saved (its checkpoint, and what
    # parameters, FLOPs, latency and energy measure): with grow_prune, the compacted spec
    # grow-and-prune left ("spec" is the searched one it started from); else "spec" again.
    # Empty in a table written before the column (read as "spec")
    "model_spec": "string",
    # how many classes the saved model predicts over the real test split (1: a constant
    # model, its accuracy that class's share) and then the line that says so
    # (synth.grow_prune.one_class_warning); for the report only; empty in a table written
    # before the columns
    "predicted_classes": "int64", "warning": "string",
    # how many classes it predicts over the selection inputs, those "accuracy" is measured on
    # (the real validation split, or the synthesized one: "selected_on"); what rank_trials
    # breaks ties on; empty in a table written before the column
    "selection_predicted_classes": "int64",
    # the trial grew and pruned its model: its constraints were checked on nonzero_parameters
    # and nonzero_flops (search.feasibility.measured_figures); empty in an older table
    "grow_pruned": "bool",
    # hwsim.dense_note where the saved model has zero weights and was priced: latency_ms and
    # energy_mj are then its dense architecture's (the accelerator multiplies the zeros);
    # empty otherwise and in an older table
    "accel_note": "string",
    # the epochs asked (--epochs) and the step floor (--min-steps): "epochs" is those trained,
    # raised where the asked ones made fewer steps on a small set; empty in an older table
    "epochs_requested": "int64", "min_steps": "int64",
    # mean cross-entropy of the saved model on the selection inputs (those "accuracy" is
    # measured on), nats: what the "val_loss" tie-break (rank_trials) decides validation
    # ties on; empty where it is not finite (a diverged model) and in an older table
    "val_loss": "float64",
    # its standard error over those inputs (std / sqrt(n)): the "one_se" tie-break's margin
    "val_loss_se": "float64",
}


# What a results table may decode to (strings, numbers): a row of a search is ~400 bytes (its
# spec, model_spec and checkpoint path the most), and --trials is at most 100,000 (40 MB);
# a 35 kB results.parquet whose 'warning' held 600 MB of zstd-compressed text took 3.8 GB
# and 23 s to summarize on --resume (h278)
MAX_RESULTS_BYTES = 256 << 20
# the arrow types each of COLUMNS' kinds may be stored as (a column of None only is 'null';
# an integer column where a row had none is read back as floats)
_KINDS = {"string": ("text", lambda t: pa.types.is_string(t) or pa.types.is_large_string(t)),
          "float64": ("numbers", lambda t: pa.types.is_integer(t) or pa.types.is_floating(t)),
          "int64": ("numbers", lambda t: pa.types.is_integer(t) or pa.types.is_floating(t)),
          "bool": ("true/false", pa.types.is_boolean)}
# columns whose values are fractions, counts, or other non-negative figures
_FRACTIONS = ("accuracy", "test_accuracy", "real_val_accuracy")
_COUNTS = ("parameters", "nonzero_parameters", "flops", "nonzero_flops", "epochs",
           "predicted_classes", "selection_predicted_classes", "epochs_requested",
           "min_steps")
_FINITE = ("finished_at", "wall_seconds", "diverged_epoch", "val_kd_loss")   # of any sign


def read_results(path: str | os.PathLike) -> pd.DataFrame:
    """The table (empty with the right columns when the file does not exist yet).  Only
    COLUMNS are read, each checked for its type from the footer and bounded in what it
    decodes to before a page is read (``MAX_RESULTS_BYTES``); then each row's values (a
    trial id once, a spec of JSON, figures in their ranges).  Anything else is a one-line
    UserError naming the file: a table edited or damaged by hand was a traceback in the
    summary of a --resume (KeyError 'spec', "could not convert string to float")."""
    path = Path(path)
    if not path.exists():
        return pd.DataFrame({k: pd.Series(dtype=v) for k, v in COLUMNS.items()})
    import pyarrow.parquet as pq

    from synth.data_parquet_pages import check_pages, open_parquet, read_parquet_checked
    where = f"results table {printable(path)}"
    try:   # of one file, while a search replaces it (its trials read it as they start)
        with open_parquet(path) as source:
            names, text = _footer_columns(where, pq.ParquetFile(source))
            check_pages(path, names, source)   # pages that decompress beyond the footer
            # text as a dictionary (each distinct value once) until its size is known
            table = read_parquet_checked(source, columns=names, read_dictionary=text)
    except UserError:
        raise
    except (pa.ArrowInvalid, OSError) as e:
        raise UserError(f"results table {path} is unreadable: {e}") from None
    frame = _decoded(where, table, text).to_pandas()
    _check_rows(where, frame)
    return frame


def _footer_columns(where: str, pf) -> tuple[list[str], list[str]]:
    """(the COLUMNS the table holds, those of them stored as text) from the footer of the
    open ParquetFile ``pf``: trial_id and spec present, every column of its kind, and what
    they decode to at most ``MAX_RESULTS_BYTES`` (as the footer says: ``check_pages`` holds
    the pages to it)."""
    schema, md = pf.schema_arrow, pf.metadata
    names = [n for n in COLUMNS if n in schema.names]
    missing = next((n for n in ("trial_id", "spec") if n not in names), None)
    if missing:
        raise UserError(f"{where} has no column {missing}: it is not the table of trials a "
                        f"search writes (move it away, or start a new search with another "
                        f"--out)")
    if len(set(schema.names)) != len(schema.names):
        raise UserError(f"{where} names a column twice; a search writes each once")
    for n in names:
        kind = schema.field(n).type
        want, ok = _KINDS[COLUMNS[n]]
        if not (pa.types.is_null(kind) or ok(kind)):
            raise UserError(f"{where}: column {n} must hold {want}, has "
                            f"{short_repr(str(kind))} values")
    declared = 0
    for g in range(md.num_row_groups):
        group = md.row_group(g)
        for j in range(group.num_columns):
            chunk = group.column(j)
            if chunk.path_in_schema in names:   # numbers take 8 bytes a value decoded
                declared += chunk.total_uncompressed_size + 8 * max(chunk.num_values, 0)
    if declared > MAX_RESULTS_BYTES:
        raise UserError(f"{where} declares {declared:,} bytes of trials, more than a search "
                        f"of 100,000 trials writes ({MAX_RESULTS_BYTES:,}); refused unread "
                        f"(a damaged or forged file)")
    text = [n for n in names if pa.types.is_string(schema.field(n).type)
            or pa.types.is_large_string(schema.field(n).type)]
    return names, text


def _decoded(where: str, table, text: list[str]):
    """``table`` with its ``text`` columns (read as dictionaries) decoded, once what they
    decode to is known to be within ``MAX_RESULTS_BYTES``: a dictionary of one long value
    referred to by every row decodes to that value as many times."""
    import pyarrow.compute as pc
    total = 0
    for name in text:
        for chunk in table.column(name).chunks:
            lengths = pc.binary_length(chunk.dictionary).to_numpy(zero_copy_only=False)
            indices = chunk.indices.drop_null().to_numpy(zero_copy_only=False)
            total += int(lengths[indices].sum()) if len(indices) else 0
    if total > MAX_RESULTS_BYTES:
        raise UserError(f"{where} decodes to {total:,} bytes of text, more than a search of "
                        f"100,000 trials writes ({MAX_RESULTS_BYTES:,}); refused (a damaged "
                        f"or forged file)")
    for name in text:
        column = table.column(name)
        kind = column.type.value_type
        decoded = pa.chunked_array([c.dictionary_decode() for c in column.chunks], type=kind)
        table = table.set_column(table.schema.get_field_index(name),
                                 table.schema.field(name).with_type(kind), decoded)
    return table


def _check_rows(where: str, table: pd.DataFrame) -> None:
    """Each row of the results ``table`` as a search writes it: a trial id given once, a
    spec (and model_spec, where given) a JSON object, fractions in [0, 1],
    counts and costs finite and not negative (or empty: not measured)."""
    ids = table["trial_id"]
    if ids.isna().any() or ids.duplicated().any():
        i = int(np.flatnonzero(ids.isna().to_numpy() | ids.duplicated().to_numpy())[0])
        what = "has no trial id" if pd.isna(ids.iloc[i]) else \
            f"is trial {quoted(str(ids.iloc[i]))} again"
        raise UserError(f"{where}: row {i} {what}; a search writes each trial once")
    for column in ("spec", "model_spec"):
        if column not in table.columns:
            continue
        for i, spec in enumerate(table[column]):
            if column == "model_spec" and (spec is None or spec == "" or (
                    isinstance(spec, float) and math.isnan(spec))):
                # a row written before the column: its spec; or a trial ASHA stopped, which
                # saved no model (empty: NaN where the table was written with a model's row)
                continue
            try:   # json's C parser: the table is read as each trial starts and ends (a
                # key given twice is refused: json kept the last; the hook costs nothing
                # measurable, 34 ms against 37 for 10,000 specs)
                value = (json.loads(spec, object_pairs_hook=unique_keys)
                         if isinstance(spec, str) else None)
            except ConfigError as e:
                raise UserError(f"{where}: row {i}'s {column} {e}") from None
            except (ValueError, RecursionError):   # not JSON, an integer of 5,000 digits,
                value = None                         # nested 100,000 deep
            if not isinstance(value, dict):
                raise UserError(f"{where}: row {i}'s {column} {quoted(str(spec))} is "
                                f"not a model spec (a JSON object)")
    for column in COLUMNS:
        if column not in table.columns or COLUMNS[column] not in ("float64", "int64"):
            continue
        values = pd.to_numeric(table[column], errors="coerce").to_numpy(dtype=float)
        given = ~np.isnan(values)
        low, high = (0.0, 1.0) if column in _FRACTIONS else (0.0, np.inf)
        bad = given & ~((values >= low) & (values <= high) & np.isfinite(values))
        if column in _COUNTS:
            bad |= given & np.isfinite(values) & (values != np.round(values))
        if column in _FINITE:
            bad = given & ~np.isfinite(values)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            rule = ("a fraction in [0, 1]" if column in _FRACTIONS else "a count (a whole "
                    "number, not negative)" if column in _COUNTS else "finite" if column in _FINITE
                    else "finite and not negative")
            raise UserError(f"{where}: row {i}'s {column} is {values[i]:g}; it must be {rule} "
                            f"(or empty)")


def append_result(path: str | os.PathLike, row: dict) -> bool:
    """Append one trial's row unless its ``trial_id`` is already there; True if written."""
    path = Path(path)
    table = read_results(path)
    if str(row["trial_id"]) in set(table["trial_id"].astype(str)):
        return False
    clean = {k: row.get(k) for k in COLUMNS}
    new = pd.DataFrame([clean]).astype({k: v for k, v in COLUMNS.items()
                                        if clean[k] is not None and v != "string"})
    table = new if table.empty else pd.concat([table, new], ignore_index=True)
    from synth.data_parquet import write_parquet_table   # atomic, with page checksums
    write_parquet_table(pa.Table.from_pandas(table, preserve_index=False), path)
    return True


def stopped_early(table: pd.DataFrame) -> pd.Series:
    """Which rows are trials an early-stopping scheduler (ASHA) stopped: their accuracy is an
    earlier epoch's, and they have no model, costs or test figure (a table without the
    column, or a row without a value: none)."""
    if "stopped_early" not in table.columns:
        return pd.Series(False, index=table.index)
    return table["stopped_early"].map(lambda v: v in (True,)).astype(bool)


def spec_text(spec) -> str:
    """A model spec in a few words for a progress line: its family, then every other setting
    as key=value (``mlp bn=true dropout=0.0 hidden=[256]``); ``spec`` is a dict or its JSON."""
    if isinstance(spec, str):
        try:
            spec = json.loads(spec)
        except ValueError:
            return spec
    if not isinstance(spec, Mapping):
        return str(spec)
    settings = [f"{k}={json.dumps(v, separators=(',', ':'))}" for k, v in sorted(spec.items())
                if k != "family"]
    return " ".join([str(spec.get("family", "?")), *settings])


# what a trial's line says of a latency and energy priced with zero weights (``accel_note``)
DENSE_BRIEF = "the dense array's: zero weights multiplied"


def accel_note(row) -> str | None:
    """A results row's ``accel_note`` (``hwsim.dense_note`` of its model: the accelerator
    multiplies its zero weights, so latency_ms and energy_mj are the dense architecture's);
    None where the model has no zero weights, was not priced, or the table predates it."""
    value = row.get("accel_note") if hasattr(row, "get") else None
    return value if isinstance(value, str) and value and not pd.isna(row.get(
        "latency_ms")) else None


def trial_line(row: Mapping, index: int, total: int, best: float | None, *,
               new_best: bool = False, outside=(), array: str | None = None) -> str:
    """One finished trial (a results row) as the search's progress shows it, e.g.
    ``trial 3/40  acc 0.917 (best 0.933)  2,563 params  0.41 ms  0.012 mJ  2.1 s  mlp
    hidden=[256]``: latency and energy where hwsim priced it (of a model with zero weights,
    ``accel_note``, said to be the dense array's); one ASHA stopped says so and holds the
    epoch it reached.  ``best``: the best accuracy of the trials eligible so far
    (None: none yet); ``new_best``: this trial raised it (a tie does not: the summary breaks
    ties on validation loss or size, ``rank_trials``); ``outside``: the constraints its model
    fails; ``array``: the accelerator its latency and energy were priced on, said after them
    ('0.00318 ms  3.37e-05 mJ on 8x64 os'; ``array_text``).  A grown-and-pruned trial's
    parameters are followed by its nonzero ones ('1,187 params (301 nonzero)')."""
    head, spec = f"trial {index}/{total}", spec_text(row.get("spec"))
    acc = figure(row.get("accuracy"))
    acc_text = "acc none" if acc is None else f"acc {acc:.3f}"
    if row.get("stopped_early"):
        epoch = figure(row.get("epochs")) or figure(row.get("epoch"))
        at = "" if epoch is None else f" at epoch {int(epoch)}"
        return f"{head}  {acc_text}{at}  stopped early by ASHA  {spec}"
    ranked = (" (best so far)" if new_best else "" if best is None else f" (best {best:.3f})")
    parts = [head, acc_text + ranked]
    params = figure(row.get("parameters"))
    if params is not None:
        parts.append(f"{int(params):,} params")
        nonzero = figure(row.get("nonzero_parameters"))
        if grow_pruned(row) and nonzero is not None:   # the connections it kept: what its
            parts[-1] += f" ({int(nonzero):,} nonzero)"  # constraints were checked on
    for key, unit in (("latency_ms", "ms"), ("energy_mj", "mJ")):
        value = figure(row.get(key))
        if value is not None:   # 3 significant digits, no exponent from 1,000 on
            parts.append(f"{value:,.0f} {unit}" if abs(value) >= 1000 else f"{value:.3g} {unit}")
    priced = any(figure(row.get(k)) is not None for k in ("latency_ms", "energy_mj"))
    if array and priced:   # a search of the user's array, or of latency/energy bounds
        parts[-1] += f" on {array}"
    if accel_note(row):   # a grown-and-pruned model's: the summary's best_accel_note in brief
        parts[-1] += f" ({DENSE_BRIEF})"
    seconds = figure(row.get("wall_seconds"))
    if seconds is not None:
        parts.append(f"{seconds:.1f} s" if seconds >= 1 else f"{seconds:.2f} s")
    diverged = figure(row.get("diverged_epoch"))
    if diverged is not None:
        parts.append(f"diverged at epoch {int(diverged)}")
    if figure(row.get("predicted_classes")) == 1:
        parts.append("predicts one class")
    if outside:
        parts.append(f"outside {', '.join(map(str, outside))}")
    model = row.get("model_spec")
    if isinstance(model, str) and model and model != row.get("spec"):
        spec += f" -> {spec_text(model)}"   # grow-and-prune's model, the one measured
    return "  ".join([*parts, spec])


def failed_trial_line(spec, index: int, total: int, error_file: str = "",
                      reason: str = "") -> str:
    """A trial that failed (Tune's ERROR state), as the search's progress shows it:
    ``reason``, the error's last line (its traceback is in ``error_file``)."""
    where = f"  (its error: {error_file})" if error_file else ""
    why = f"  {printable(reason)}" if reason else ""
    return f"trial {index}/{total}  failed  {spec_text(spec)}{why}{where}"


def retried_trial_line(spec, reason: str = "") -> str:
    """A trial that failed and is tried again (``max_failures``), as the search's progress
    shows it; its number comes with the line of its end."""
    why = f"  {printable(reason)}" if reason else ""
    return f"trial failed, trying again  {spec_text(spec)}{why}"


# accuracies this close are one count of correct validation samples: accuracy is correct / n
# with one n for every trial of a search, so two counts differ by 1/n, over 1e-7 for any n
# under ten million, while the same count computed another way (a float32 mean: 2.8e-8 off
# at 7/13) differs by less
TIE = 1e-7


def rank_trials(table: pd.DataFrame, tiebreak: str = LEGACY_TIEBREAK) -> pd.DataFrame:
    """``table``'s rows best first, as a search picks its best (``search.run.summarize``):
    the highest selection ``accuracy``; among trials tied on it (the same number of correct
    validation samples: within ``TIE``), a model that predicts several classes before one
    that predicts one class for every selection input (``selection_predicted_classes`` 1:
    its accuracy is that class's share, nothing learned; the tiny preset's two trials both
    scored 2 of 13 synthesized samples and the constant one went on to the next stage), then
    by ``tiebreak`` (``search.choices.TIEBREAKS``):

    - "parameters": the lowest ``val_kd_loss`` (the data-free mode's KL to the teacher,
      nats; empty counts 0), then the fewest ``parameters``;
    - "val_loss": the lowest validation loss (``val_kd_loss`` where the trial has one, else
      ``val_loss``, the cross-entropy on the selection inputs; empty: last), then the fewest
      ``parameters``;
    - "one_se": the fewest ``parameters`` among the tied trials whose validation loss is
      within one standard error (``val_loss_se``; 0 where empty, and for a KD loss) of the
      lowest of them, then the lower loss; the rest after, as "val_loss" orders them (the
      one-standard-error rule, Hastie, Tibshirani & Friedman, ESL 2nd ed., sec. 7.10).

    The order of the table last.  Nothing measured on the test split is read: the test split
    chooses nothing.  A row without ``selection_predicted_classes`` (a table written before
    the column) is not known to be constant and is not demoted; its test-side
    ``predicted_classes`` is not read instead."""
    if tiebreak not in TIEBREAKS:
        raise ValueError(f"tiebreak must be one of {', '.join(TIEBREAKS)}, got {tiebreak!r}")
    # ties: accuracies sorted best first, a new group where one falls more than TIE below
    # the one before it (a missing accuracy: a group of its own, last)
    accuracy = table["accuracy"].astype("float64").sort_values(ascending=False, kind="stable")
    tied_on = (accuracy.diff().lt(-TIE) | accuracy.isna()).cumsum().reindex(table.index)
    kd = _column(table, "val_kd_loss")
    keys = pd.DataFrame({"tie": tied_on,
                         "constant": _column(table, "selection_predicted_classes").eq(1),
                         "loss": (kd.fillna(0.0) if tiebreak == "parameters" else
                                  kd.fillna(_column(table, "val_loss")).fillna(np.inf)),
                         "parameters": table["parameters"]}, index=table.index)
    order = ["tie", "constant", "loss", "parameters"]
    if tiebreak == "one_se":   # outside one standard error of its group's lowest loss: after
        se = _column(table, "val_loss_se").where(kd.isna(), 0.0).fillna(0.0)
        group = keys.groupby(["tie", "constant"])["loss"]
        lowest = group.transform("idxmin")
        margin = keys["loss"].reindex(lowest).to_numpy() + se.reindex(lowest).to_numpy()
        keys["outside"] = keys["loss"].to_numpy() > margin
        keys["size"] = keys["parameters"].where(~keys["outside"], 0)
        order = ["tie", "constant", "outside", "size", "loss", "parameters"]
    return table.loc[keys.sort_values(order, kind="stable").index]


def _column(table: pd.DataFrame, name: str) -> pd.Series:
    """``table``'s column ``name`` as floats (all empty where an older table lacks it)."""
    return (table[name] if name in table else pd.Series(np.nan, index=table.index)).astype(
        "float64")


def pareto_front(table: pd.DataFrame, x: str = "latency_ms", y: str = "accuracy") -> pd.DataFrame:
    """Rows not dominated by any other: lower ``x`` and higher ``y`` are better.
    Sorted by ``x``; rows missing either value, and trials stopped early (``stopped_early``:
    a partly trained accuracy, not comparable with the others'), are ignored."""
    for col in (x, y):
        if col not in table.columns:
            raise UserError(f"results have no column {short_repr(col)}; columns: {', '.join(table.columns)}")
    t = table[~stopped_early(table)]
    t = t.dropna(subset=[x, y]).sort_values([x, y], ascending=[True, False])
    keep, best = [], -np.inf
    for idx, value in zip(t.index, t[y]):
        if value > best:  # strictly better than every row with smaller or equal x
            keep.append(idx)
            best = value
    return t.loc[keep]


def pareto_axis(table: pd.DataFrame) -> str:
    """The cost a search's Pareto front is drawn against: latency (``latency_ms``, the hwsim
    accelerator) where any trial was priced; else MACs per sample, of the nonzero weights
    (``nonzero_flops``) where the trials grew and pruned (``grow_pruned``: their zeros are
    the connections cut, which the constraints count too, ``search.feasibility``'s
    LIVE_FIGURES), otherwise of every weight (``flops``).  The front of a grow-and-prune
    search was drawn against its compacted models' dense MACs (the zeros multiplied), beside
    constraints checked on the nonzero ones (h290)."""
    if "latency_ms" in table.columns and table["latency_ms"].notna().any():
        return "latency_ms"
    if ("grow_pruned" in table.columns and "nonzero_flops" in table.columns
            and table["grow_pruned"].eq(True).any() and table["nonzero_flops"].notna().any()):
        return "nonzero_flops"
    return "flops"


def log_cost_axis(costs) -> bool:
    """Whether a Pareto plot draws ``costs`` (its trials' latencies, energies or MACs) on a
    log axis: where they are positive and span a decade or more.  A log axis over less than
    a decade has no labelled power of ten inside it, and matplotlib labels its minor ticks
    instead: digits trials of 0.00043-0.00049 ms drew 4.3x10^-4 ... 4.9x10^-4 run into one
    another, wine trials of 0.0008-0.0016 ms ticks only to 10^-3, the costlier half of the
    axis unlabelled.  There the axis is linear; so it is where a cost is 0 (a log axis
    drops the point) or there is none (every accuracy empty: no selection inputs; a log
    axis of no point raised)."""
    costs = pd.to_numeric(pd.Series(costs, dtype="float64"), errors="coerce").dropna()
    return bool(not costs.empty and (costs > 0).all() and np.isfinite(costs).all()
                and costs.max() >= 10 * costs.min())


def array_text(accel) -> str:
    """A search's accelerator (``SearchConfig.accel``) in brief, its array and dataflow:
    '8x64 os', '32x32 ws' (hwsim's default); ``accel_text`` says the rest."""
    from hwsim import accel_config
    full = accel_config(dict(accel or {})).to_dict()
    return f"{full['rows']}x{full['cols']} {full['dataflow']}"


def accel_text(accel) -> str:
    """A search's accelerator (``SearchConfig.accel``: its fields that differ from hwsim's
    defaults) in words for its summary and plot: '32x32 ws (default)', or '8x64 os, clock_mhz
    50, ifmap_kb 0.5' (the array, then every other field it sets, by name)."""
    array = array_text(accel)
    rest = [f"{k} {v:g}" if isinstance(v, float) else f"{k} {v}"
            for k, v in sorted((accel or {}).items()) if k not in ("rows", "cols", "dataflow")]
    return ", ".join([array, *rest]) if accel else f"{array} (default)"


def plot_pareto(parquet_path: str | os.PathLike, png_path: str | os.PathLike,
                x: str = "latency_ms", y: str = "accuracy", outside=(),
                accel=None) -> Path:
    """Scatter of the trials trained to the end with the Pareto front drawn, from the
    Parquet table; trials stopped early (no costs, an earlier epoch's accuracy) are counted
    in the legend, not drawn.  Trials whose ids are in ``outside`` (their saved model fails
    the search's constraints, e.g. pruned below a lower bound) are drawn apart and are not on
    the front.  A latency or energy axis names the accelerator ``accel`` (the search's
    ``SearchConfig.accel``) where it is not hwsim's default."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    table = read_results(parquet_path)
    if table.empty:
        raise UserError(f"no finished trials in {parquet_path} to plot")
    stopped = stopped_early(table)
    if x not in table.columns or table[x].isna().all():  # no hardware costs: MACs
        x = pareto_axis(table)
    excluded = table["trial_id"].astype(str).isin({str(t) for t in outside})
    front = pareto_front(table[~excluded], x, y)
    drawn = table[~stopped & ~excluded]
    label = f"trials ({len(drawn)}" + (f"; {int(stopped.sum())} stopped early, not shown)"
                                       if stopped.any() else ")")
    fig, ax = plt.subplots(figsize=(6, 4), dpi=120)
    ax.scatter(drawn[x], drawn[y] * 100, s=14, alpha=0.5, label=label)
    apart = table[~stopped & excluded]
    if len(apart):
        ax.scatter(apart[x], apart[y] * 100, s=14, marker="x", color="0.5",
                   label=f"outside the constraints ({len(apart)})")
    ax.step(front[x], front[y] * 100, where="post", color="C3", label=f"Pareto front ({len(front)})")
    ax.scatter(front[x], front[y] * 100, s=24, color="C3")
    shown = pd.concat([drawn, apart, front])
    if log_cost_axis(shown.loc[shown[y].notna(), x]):
        ax.set_xscale("log")
    array = f"hwsim accelerator {accel_text(accel)}" if accel else "hwsim accelerator"
    ax.set_xlabel({"latency_ms": f"latency (ms, {array})", "energy_mj":
                   f"energy (mJ, {array})", "flops": "MACs",
                   "nonzero_flops": "MACs on nonzero weights"}.get(x, x))
    # a data-free search selects on synthesized inputs (search.trial): its line says so, and
    # the plot labelled the same figures "validation accuracy" (real validation far lower)
    synthetic = "selected_on" in table.columns and (table["selected_on"] == "synthetic_val").any()
    ax.set_ylabel("accuracy on the synthesized validation inputs (%)" if synthetic
                  else "validation accuracy (%)")
    # accuracy is a percentage: matplotlib's margins drew an axis to 104% around trials
    # that all scored 100 (and below 0 around 0); half a point of room keeps the markers
    low, high = ax.get_ylim()
    ax.set_ylim(max(low, -0.5), min(high, 100.5))
    ax.grid(alpha=0.3)
    ax.legend(loc="best")
    fig.tight_layout()
    png_path = Path(png_path)
    with atomic_path(png_path) as tmp:
        fig.savefig(tmp, format="png")
    plt.close(fig)
    return png_path
