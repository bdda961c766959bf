"""``nnsynth symbiotic``: size an LSTM / H-LSTM language model by the latency of the platform
that will serve it (``synth.symbiotic``), against a stacked-LSTM baseline, and write a report.

One call, ``run_symbiotic``: the latency tables (host CPU measured in a Ray task on this node
and cached; the accelerator models computed), the baseline training (whose validation
perplexity becomes the target), the candidate trainings as Ray tasks, the table-guided width
and sparsity choices, then every final model timed on the host at batch 1 with interleaved
passes.  Writes ``report.json``, ``report.md`` and ``latency.png`` (latency vs width, the
chosen widths marked) under ``out``; each training's result (baseline and candidates) is kept in
``out/cache/candidates/`` as it finishes, so a rerun after an interruption skips those.
"""
from __future__ import annotations

import copy
import functools
import math
import os
import time
from pathlib import Path

import torch

from synth.config import check_range
from synth.errors import UserError
from synth.files import (atomic_path, check_out_dir, jsonable, read_json, write_json_atomic,
                         write_text_atomic)
from synth.lm import LanguageModel, count_lm_parameters, perplexity, savable, text_record
from synth.sparse_exec import sparse_copy
from synth.symbiotic import (LatencyTable, SymbioticConfig, check_latency_target,
                             hysteresis_points, kept_candidates, sparse_wins, symbiotic_train,
                             train_candidate, load_candidate)
from synth.text import load_text
from hwsim import accel_config, dense_note, extract, price
from hwsim.tables import config_text
from hwsim.latency import PLATFORMS, grid, model_rows, time_interleaved, torch_threads
from cluster.latency import host_table, ray_starmap


BASELINE_CELL = "lstm"   # the stacked-LSTM baseline whose validation perplexity is the target
MAX_ROUNDS = 10_000      # --rounds: interleaved timing passes per table row


def deployable(model: LanguageModel, pruning: dict | None) -> torch.nn.Module:
    """The model as served: layers the pruning kept sparse run as CSR products."""
    model = copy.deepcopy(model).cpu().eval()
    for d in (pruning or {}).get("layers", []):
        if d["sparse"]:
            model.rnn[d["layer"]] = sparse_copy(model.rnn[d["layer"]])
    return model


def measure_models(models: dict, *, steps: int, rounds: int, threads: int, seed: int) -> dict:
    """Host latency of each model on one sequence of ``steps`` tokens at batch 1, interleaved,
    at ``threads`` torch threads (the caller's count is given back after)."""
    x = torch.randint(2, (1, steps), generator=torch.Generator().manual_seed(seed))
    fns = {name: (lambda m=m: m(x)) for name, m in models.items()}
    with torch_threads(threads):
        return time_interleaved(fns, rounds=rounds, warmup=3, seed=seed)


def accel_notes(models: dict, steps: int) -> dict:
    """Model name -> ``hwsim.dense_note`` of each model (a LanguageModel) with zero weights:
    the accelerator model is a dense array, so on --platform accel such a model's table ms
    are its dense architecture's (plain_pruned's 59%-pruned LSTM cost what the unpruned one
    did, without a word)."""
    x = torch.zeros((1, steps), dtype=torch.long)   # tokens: extract needs one input
    notes = {}
    for name, model in models.items():
        note = dense_note(extract(model, (steps,), inputs=x), "SPRING (--platform spring)")
        if note:
            notes[name] = note
    return notes


def served_price(model: torch.nn.Module, platform: str, tokens: torch.Tensor,
                 accel=None) -> float | None:
    """The latency (ms) hwsim prices ``model`` at, as the user gets it (its weights, the
    zeros its pruning left), on one sequence of ``tokens`` (1 x steps) at batch 1:
    ``accel`` the accelerator model on ``accel`` (an AcceleratorConfig; None: the default
    array), ``spring`` SPRING (zeros of weights and of the activations on these tokens
    skipped).  None on ``host``, which is measured, not priced.  The table sums one
    probe's rows per layer (random zeros; SPRING's dense rows skip none), so a pruned
    model's figure may differ from its table ms: the target is judged on this one."""
    if platform == "host":
        return None
    steps = tokens.shape[-1]
    cost = price(model.cpu().eval(), (steps,), accel, platform == "spring", inputs=tokens)
    return float(cost["spring_latency_ms" if platform == "spring" else "latency_ms"])


def judge_target(report: dict, target: float, accel_text: str | None) -> str | None:
    """Set ``report["choice"]``'s ``meets_target`` on the figure of the symbiotic model the
    user gets (``served_price`` on accel/spring; on host its table ms, the measured time
    given beside it by ``target_line``) and ``target_figure`` saying which; a warning line
    where the model misses the target its table choice met, else None.  It was judged on
    the table's dense rows only, pruning not counted (h291)."""
    model = report["models"].get("symbiotic", {})
    platform = report["platform"]
    if platform == "host":
        ms, said = model.get("table_ms"), "its host table ms (layer and decoder rows summed)"
    else:
        on = f"the {platform} model" + (f" ({accel_text})" if accel_text else "")
        ms, said = model.get("priced_ms"), f"hwsim's price of the model as served on {on}"
    meets = ms is not None and ms <= target
    report["choice"].update(meets_target=meets, target_figure=said)
    if meets:
        return None
    return (f"the symbiotic model as served takes {_figure(ms, '.4g')} ms ({said}), above "
            f"--latency-target {target:g} ms, though its table rows met it (raise "
            f"--latency-target, or give narrower --widths)")


def _plot(path: Path, tables: dict, marks: dict, *, steps: int) -> None:
    """Latency vs width per table; ``steps``: the tokens per sequence the rows price (bptt)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, len(tables), figsize=(6 * len(tables), 4.2), squeeze=False)
    for ax, (name, rows) in zip(axes[0], tables.items()):
        for cell in sorted({r["cell"] for r in rows}):
            dense = sorted((r for r in rows if r["cell"] == cell and r["exec"] == "dense"),
                           key=lambda r: r["width"])
            w = [r["width"] for r in dense]
            ax.plot(w, [r["best_ms"] for r in dense], marker="o", ms=3, label=f"{cell} (best)")
            ax.fill_between(w, [r.get("lo_ms", r["q1_ms"]) for r in dense],
                            [r.get("hi_ms", r["q3_ms"]) for r in dense], alpha=0.25)
        for label, (cell, width) in marks.items():
            row = next((r for r in rows if r["cell"] == cell and r["width"] == width
                        and r["exec"] == "dense"), None)
            if row is not None:
                ax.scatter([width], [row["best_ms"]], s=120, marker="*" if label == "symbiotic"
                           else "X", zorder=5, label=f"{label}: {cell} {width}")
        ax.set_yscale("log")
        ax.set_xlabel("layer width (input = hidden)")
        ax.set_ylabel(f"ms per {steps}-token sequence, batch 1"
                      + ("" if name == "host" else " (model)"))
        ax.set_title(f"{name}: latency vs width (band: best of 4 blocks)")
        ax.legend(fontsize=7)
    fig.tight_layout()
    try:
        with atomic_path(path) as tmp:   # an unguessable temp name that follows no planted link
            fig.savefig(tmp, dpi=110, format="png")
    finally:
        plt.close(fig)


def _figure(value, fmt: str) -> str:
    """A measured number as ``fmt``; "none" where there is none (None, NaN or infinite)."""
    if not isinstance(value, (int, float)) or not math.isfinite(value):
        return "none"
    return format(value, fmt)


def target_line(report: dict) -> str | None:
    """report.md's line on ``--latency-target`` (None without one): the symbiotic model as
    served, priced on the platform's table again, and on ``host`` its batch-1 time measured
    at the end too, which a loaded machine can put above the target the table met."""
    target = report["choice"].get("latency_target")
    if not target:
        return None
    model = report["models"].get("symbiotic", {})
    priced = report["platform"] != "host" and model.get("priced_ms") is not None
    ms = model["priced_ms"] if priced else model.get("table_ms")
    # the figure judged (``judge_target``): the model as served, priced by hwsim on accel or
    # spring; on host its table ms (a report written before h300: the table's)
    said = (f"{report['platform']}; the symbiotic model's, judged on "
            f"{report['choice'].get('target_figure') or 'its price'}:" if priced else
            f"{report['platform']} table; the symbiotic model's:")
    line = (f"latency target: {target:g} ms per {report['config']['bptt']}-token sequence at "
            f"batch 1 on the {said} "
            f"{_figure(ms, '.4g')} ms" + ("" if ms is None else " (meets it)" if ms <= target
                                           else " (**misses it**)"))
    if priced and model.get("table_ms") is not None:
        line += f" (table ms {_figure(model['table_ms'], '.4g')})"
    measured = model.get("host_best_ms")
    if report["platform"] == "host" and isinstance(measured, (int, float)):
        line += (f"; measured at the end: best {measured:.4g} ms" + (
            "" if measured <= target else f", above the target (load average "
            f"{', '.join(f'{v:.1f}' for v in report['load_average'])}: time it again on an "
            f"idle machine)"))
    return line


def _markdown(report: dict) -> str:
    on = f" ({report['accel_text']})" if report.get("accel_text") else ""
    lines = [f"# Symbiotic training on {report['dataset']} for platform {report['platform']}{on}",
             "",
             f"load average at the end: {report['load_average']}; host {report['host']}", "",
             "| model | spec | params (nonzero) | val ppl | test ppl | host ms best | block-best "
             f"lo-hi | q1-q3 | {report['platform']} table ms |"
             # each model as served, priced by hwsim (``served_price``): the target's figure
             + (" hwsim ms |" if report["platform"] != "host" else ""),
             "|---" * (9 + (report["platform"] != "host")) + "|"]
    for name, m in report["models"].items():
        f = {k: _figure(v, ".4g" if k in ("table_ms", "priced_ms") else ".2f")
             for k, v in m.items()}
        lines.append(f"| {name} | {m['cell']} {m['hidden']} sparse {m['sparse_layers']} | "
                     f"{m['nonzero_parameters']:,} | {f['val_perplexity']} | "
                     f"{f['test_perplexity']} | {f['host_best_ms']} | "
                     f"{f['host_lo_ms']}-{f['host_hi_ms']} | "
                     f"{f['host_q1_ms']}-{f['host_q3_ms']} | {f['table_ms']} |"
                     + (f" {f.get('priced_ms', 'none')} |" if report["platform"] != "host"
                        else ""))
    line = target_line(report)
    if line:
        lines += ["", line]
    if report.get("warning"):
        lines += ["", f"**warning:** {report['warning']}"]
    lines += [f"\n**note:** {name}'s {report['platform']} table ms: {note}"
              for name, note in report.get("notes", {}).items()]
    if report.get("checkpoints"):   # nnsynth eval / hwsim eval --model take them
        lines += ["", "checkpoints (`nnsynth eval --model`, `nnsynth hwsim eval --model`): "
                  + ", ".join(f"{name} `{path}`" for name, path in report["checkpoints"].items())]
    lines += ["", "## Candidates (val perplexity)", ""]
    lines += [f"- {c['cell']} {c['width']}: {_figure(c['val_perplexity'], '.2f')} "
              f"({c['parameters']:,} params)"
              for c in report["candidates"]]
    for name, t in report["tables"].items():
        lines += ["", f"## {name} table: hysteresis points (w1 < w2, hi(w2) < lo(w1))", "",
                  str(t["hysteresis"] or "none beyond the measured spread"), "",
                  f"sparse execution faster than dense beyond the spread: "
                  f"{[(w['cell'], w['width'], w['sparsity']) for w in t['sparse_wins'] if w['wins']] or 'nowhere'}"
                  + (" (the accelerator model is a dense array: a sparse row costs what its "
                     "dense one does)" if name == "accel" else "")]
    return "\n".join(lines) + "\n"


def check_text_length(data, train) -> None:
    """Each split of ``data`` long enough for what reads it: training cuts the training split
    into ``train.batch_size`` columns, perplexity the validation and test splits into
    ``train.eval_batch``, each of two steps at least.  A short ``text:`` file passed the
    splits and failed in the first training, after the latency table was measured, with
    'N tokens are too few for 32 columns of >= 2 steps' (no set, split or remedy named)."""
    for split, columns in (("train", train.batch_size), ("val", train.eval_batch),
                           ("test", train.eval_batch)):
        tokens = len(data.split(split))
        reader = "training" if split == "train" else "perplexity"
        if tokens < 2 * columns:
            raise UserError(
                f"text set {data.name!r} is too short: its {split} split (80/10/10 of the "
                f"words) has {tokens:,} tokens, and {reader} reads it as {columns} columns "
                f"of 2 tokens or more ({2 * columns} tokens); give a longer text")


def save_models(folder: Path, saved: dict, report: dict, data, tokens: torch.Tensor,
                pruning: dict) -> dict:
    """Each final model (``saved``: name -> ``savable`` model) as an nnsynth checkpoint
    ``folder/<name>.pt`` (``synth.checkpoint.save_checkpoint``, atomic, weights_only
    loadable): its spec (family ``lm``), weights and masks, the text set (``text_record``:
    name, vocabulary, min count, digest), its report row as metrics (perplexities,
    parameters, table/priced/host ms, platform), and in ``extra["lm"]`` the bptt, the
    ``tokens`` its priced_ms is of and its pruning decisions.  ``nnsynth eval --model``
    scores it, ``nnsynth hwsim eval --model`` prices it.  Returns name -> path."""
    from synth.checkpoint import save_checkpoint
    folder.mkdir(parents=True, exist_ok=True)
    record = text_record(data)
    steps = int(tokens.shape[-1])
    paths = {}
    for name, model in saved.items():
        row = report["models"][name]
        metrics = {k: v for k, v in row.items() if k not in ("spec", "cell", "hidden")}
        metrics.update(platform=report["platform"], role=name,
                       **({"accel_text": report["accel_text"]} if "accel_text" in report else {}))
        extra = {"lm": {"bptt": steps, "tokens": [int(t) for t in tokens.reshape(-1)],
                        "tokens_from": f"the first {steps} tokens of {data.name}'s test split",
                        "trained_by": "nnsynth symbiotic", "role": name,
                        "pruning": pruning.get(name) or {}}}
        paths[name] = str(save_checkpoint(folder / f"{name}.pt", model, dataset=record,
                                          metrics=jsonable(metrics), extra=extra))
    return paths


REPORT_KEYS = {"dataset", "platform", "choice", "tables"}   # run_symbiotic's report.json


def earlier_run(out: Path) -> bool:
    """``out`` holds what a run of ``run_symbiotic`` wrote there: its report.json (a JSON
    object of ``REPORT_KEYS``, read only when small enough to be one), or a cache/ of
    latency tables (latency-*) and candidates/ only (an interrupted run's)."""
    report, cache = out / "report.json", out / "cache"
    try:
        if report.is_file() and not report.is_symlink() and report.stat().st_size <= 64 << 20:
            value = read_json(report)   # a key given twice: a ConfigError naming it
            return isinstance(value, dict) and REPORT_KEYS <= set(value)
        if cache.is_dir() and not cache.is_symlink() and not report.exists():
            names = [p.name for p in cache.iterdir()]
            # a temp file (.latency-*) of a killed write stays beside the tables
            return bool(names) and all(n == "candidates" or n.lstrip(".").startswith("latency-")
                                       for n in names)
    except (OSError, UnicodeDecodeError, ValueError, RecursionError):
        return False
    return False


def run_symbiotic(dataset: str, platform: str, out: str | Path, *,
                  config: SymbioticConfig | None = None, min_count: int = 10,
                  baseline_width: int = 200, baseline_layers: int = 2, rounds: int = 20,
                  threads: int = 1, cache_dir: str | Path | None = None,
                  use_ray: bool = True, progress: bool = True, table_widths=None,
                  trained: dict | None = None, accel=None) -> dict:
    """Everything of the module docstring; returns the report dict (also in ``out``).
    ``table_widths`` adds widths to the tables (the plot); ``trained`` is ``report["trained"]``
    of an earlier run on the same data and config (its baseline and candidates are reused).
    ``accel``: the accelerator (an AcceleratorConfig or its dict; ``--accel FILE``) the
    ``accel`` platform's table and each model's price are on (None: hwsim's default array;
    there was no way to give one)."""
    if platform not in PLATFORMS:
        raise UserError(f"--platform must be one of {', '.join(PLATFORMS)}, got {platform!r}")
    if accel is not None and platform != "accel":
        raise UserError(f"--accel is the accelerator --platform accel prices on; got "
                        f"--platform {platform}: leave --accel out")
    accel = accel_config(accel) if platform == "accel" else None
    if baseline_width < 1 or baseline_layers < 1:
        raise UserError(f"baseline width and layers must be >= 1, got {baseline_width} and "
                        f"{baseline_layers}")
    # each round times every table row once (and the final models 30 rounds at least):
    # --rounds 100000000 was taken, and timed for days
    check_range("rounds", rounds, 1, MAX_ROUNDS, integer=True)
    config = config or SymbioticConfig()
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise UserError(f"--out must be a directory, got the file {out}")
    # an earlier run's folder (its report or cache/) is resumed; any other folder of files is
    # refused: a folder of the user's own report.json or cache/ passed as "an earlier run's"
    # and had report.json, report.md and latency.png written over
    check_out_dir(out, "--out", ("report.json", "cache") if earlier_run(out) else ())
    data = load_text(dataset, min_count)
    check_text_length(data, config.train_config())
    steps, vocab = config.bptt, data.vocab_size
    cells = config.cell_types + ("decoder",)
    keys = grid(cells, sorted(set(config.widths)), [1], config.sparsity_steps)
    # dense rows only: the plot's widths and the baseline's (its table latency in the report)
    extra = sorted((set(table_widths or ()) | {baseline_width}) - set(config.widths))
    keys += grid(cells, extra, [1], ()) if extra else []
    if BASELINE_CELL not in cells:   # --cells hlstm: the baseline's table latency was NaN
        keys += grid((BASELINE_CELL,), [baseline_width], [1], ())
    # the tables belong to the platform, not to the training seed: measured with seed 0
    # cached under the key of the host's conditions (threads, torch, CPU): a table measured
    # under other ones is never reused (cluster.latency.cached_table)
    model_table = model_rows(keys, "accel" if platform == "host" else platform, steps=steps,
                             vocab=vocab, seed=0, accel_config=accel)
    if platform != "host":   # a target no candidate meets: refused before the host's timing
        check_latency_target(LatencyTable(model_table), config)
    host = host_table(keys, cache_dir=cache_dir or out / "cache", steps=steps, vocab=vocab,
                      rounds=rounds, threads=threads, seed=0, use_ray=use_ray)
    tables = {"host": host["rows"], "accel" if platform == "host" else platform: model_table}
    # ... and before any training (symbiotic_train checks it again, after the baseline's)
    check_latency_target(LatencyTable(tables[platform]), config)
    # --threads: every training's torch threads too (a Ray task's CPUs and threads; in this
    # process, the candidates without Ray and the pruning's retraining), not only the
    # timing's: they ran at torch's default, every core of the machine
    mapper = functools.partial(ray_starmap, num_cpus=threads) if use_ray else None
    base_spec = {"family": "lm", "cell": BASELINE_CELL, "embed": baseline_width,
                 "hidden": [baseline_width] * baseline_layers, "tied": True,
                 "dropout": config.dropout}
    train_cfg = config.train_config(progress=progress)
    t0 = time.perf_counter()
    trained = dict(trained or {})
    kept = out / "cache" / "candidates"   # each training's result: a rerun skips those done
    with torch_threads(threads):
        base = trained.pop("baseline", None) or (
            mapper or (lambda fn, jobs: [fn(*j) for j in jobs]))(
            train_candidate, [(base_spec, data, train_cfg,
                               kept_candidates(kept, data, train_cfg)(base_spec))])[0]
        cfg = config.replace(target_perplexity=base["val_perplexity"])
        result = symbiotic_train(data, tables[platform], cfg, map_fn=mapper,
                                 progress=progress, trained=trained, keep_dir=kept)
    models = {"baseline": (load_candidate(base, vocab), None),
              "plain": (result["models"]["plain"], None)}
    # (val, test) perplexity of a model whose weights a training measured (the baseline, the
    # plain choice, a pruning that kept its candidate dense): not scored again, as each pass
    # over a split was (8 of the 21 of a tiny enwiki run, whose time they were)
    trained_as = {"plain": "plain", "plain_pruned": "plain", "symbiotic": "symbiotic"}
    measured = {"baseline": base,
                "plain": result["trained"][tuple(result["choice"]["plain"])]}
    for name in ("plain_pruned", "symbiotic"):
        if name in result["models"]:
            models[name] = (result["models"][name], result[f"{name}_pruning"])
            if not any(d.get("sparse") for d in result[f"{name}_pruning"].get("layers", [])):
                measured[name] = result["trained"][tuple(result["choice"][trained_as[name]])]
    served = {name: deployable(m, p) for name, (m, p) in models.items()}
    timing = measure_models(served, steps=steps, rounds=max(rounds, 30), threads=threads,
                            seed=config.seed)
    table = LatencyTable(tables[platform])
    # the tokens each model is priced on (``served_price``): the first bptt of the test split
    test = data.test.reshape(-1).long()   # (a short split repeated to bptt tokens)
    tokens = test.repeat(-(-steps // max(1, len(test))))[:steps].reshape(1, -1)
    report_models = {}
    # each model as its checkpoint holds it (``savable``): priced as ``hwsim eval --model``
    # prices the file, to the bit
    saved = {name: savable(m, steps) for name, (m, _) in models.items()}
    for name, (m, p) in models.items():
        layers = [(d["table_sparsity"] if d.get("table_sparsity") else d["sparsity"],
                   "sparse") if d["sparse"] else (0.0, "dense") for d in (p or {}).get("layers", [])]
        cell, hidden = m.spec["cell"], m.spec["hidden"]
        try:
            t_ms = table.model(cell, hidden, layers or None)["best_ms"]
        except UserError:      # not in the table: no figure (null), never a NaN in report.json
            t_ms = None
        report_models[name] = {
            "cell": cell, "hidden": hidden, "spec": m.spec,
            "parameters": count_lm_parameters(m),
            "nonzero_parameters": count_lm_parameters(m, nonzero=True),
            "sparse_layers": [d["layer"] for d in (p or {}).get("layers", []) if d["sparse"]],
            **({"val_perplexity": measured[name]["val_perplexity"],
                "test_perplexity": measured[name]["test_perplexity"]} if name in measured else
               {"val_perplexity": perplexity(m, data.val, bptt=steps),
                "test_perplexity": perplexity(m, data.test, bptt=steps)}),
            "host_best_ms": timing[name]["best_ms"], "host_median_ms": timing[name]["median_ms"],
            "host_q1_ms": timing[name]["q1_ms"], "host_q3_ms": timing[name]["q3_ms"],
            "host_lo_ms": timing[name]["lo_ms"], "host_hi_ms": timing[name]["hi_ms"],
            "table_ms": t_ms, "priced_ms": served_price(saved[name], platform, tokens, accel)}
    choice = result["choice"]
    report = {
        "dataset": data.name, "platform": platform, "vocab_size": vocab,
        **({"accel": accel.to_dict(), "accel_text": config_text("accel", accel)}
           if accel is not None else {}),
        "tokens": data.metadata()["tokens"], "host": host["identity"],
        "table_cached": host["cached"], "load_average": os.getloadavg(),
        "seconds": round(time.perf_counter() - t0, 1), "config": cfg.to_dict(),
        "baseline_spec": base_spec, "models": report_models,
        "candidates": result["candidates"],
        "choice": {"limit": choice["limit"], "plain": list(choice["plain"]),
                   "symbiotic": list(choice["symbiotic"]),
                   "keep": [list(k) for k in choice["keep"]],
                   "within_tolerance": choice["within_tolerance"],
                   "latency_target": choice["latency_target"],
                   "meets_target": choice["meets_target"],
                   "table_ms": {f"{c} {w}": v for (c, w), v in choice["latency"].items()}},
        "pruning": {k: result[f"{k}_pruning"] for k in ("symbiotic", "plain_pruned")
                    if f"{k}_pruning" in result},
        "tables": {name: {"rows": rows, "hysteresis": hysteresis_points(rows),
                          "sparse_wins": sparse_wins(rows)} for name, rows in tables.items()}}
    if platform == "accel":   # a dense array: a pruned model's table ms are dense ones
        notes = accel_notes({name: m for name, (m, _) in models.items()}, steps)
        if notes:
            report["notes"] = notes
    if choice["target_forced"]:   # what it gave up for the target, said
        cell, width = choice["symbiotic"]
        ppl = next(c["val_perplexity"] for c in result["candidates"]
                   if (c["cell"], c["width"]) == (cell, width))
        report["warning"] = (
            f"no candidate that keeps perplexity (val perplexity <= {choice['limit']:.4g}) "
            f"meets --latency-target {cfg.latency_target:g} ms on the {platform} table: the "
            f"symbiotic choice, {cell} {width} (val perplexity {ppl:.4g}, "
            f"{choice['latency'][(cell, width)]['best_ms']:.4g} table ms), is the one of "
            f"lowest perplexity that meets it (raise --latency-target or --tolerance)")
    elif not choice["within_tolerance"]:
        # the best candidate was kept and reported as the choice without a word, though its
        # perplexity misses the limit the report prints
        best = choice["keep"][0]
        ppl = next(c["val_perplexity"] for c in result["candidates"]
                   if (c["cell"], c["width"]) == tuple(best))
        report["warning"] = (
            f"no candidate keeps perplexity: the best, {best[0]} {best[1]} (val perplexity "
            f"{ppl:.4g}), is above the limit {choice['limit']:.4g} (--tolerance "
            f"{cfg.tolerance:g}); it is reported as the choice (try wider --widths, more "
            f"--epochs or a larger --tolerance)")
    if cfg.latency_target:   # judged on the model the user gets, said which figure
        missed = judge_target(report, cfg.latency_target, report.get("accel_text"))
        if missed:
            report["warning"] = "; ".join(w for w in (report.get("warning"), missed) if w)
    out.mkdir(parents=True, exist_ok=True)
    report["checkpoints"] = save_models(out / "models", saved, report, data, tokens,
                                        {name: p for name, (_, p) in models.items()})
    _plot(out / "latency.png", tables, {"plain": choice["plain"],
                                        "symbiotic": choice["symbiotic"]}, steps=steps)
    write_json_atomic(out / "report.json", jsonable(report))   # a NaN figure is null
    write_text_atomic(out / "report.md", _markdown(report))
    report["files"] = ([str(out / n) for n in ("report.json", "report.md", "latency.png")]
                       + list(report["checkpoints"].values()))
    report["trained"] = {"baseline": base, **result["trained"]}    # not in report.json
    return report
