"""Which trial a grow-and-prune search calls best when its validation split is tiny: the
pick of each tie-break rule over the same trials, its test accuracy and nonzero parameters.

A search whose trials grow and prune with nnsynth grow-prune's recipe (17 LAMP steps, at
most 0.5 pt of validation accuracy given up) on a small table keeps validation accuracy at
1.0 on most trials (wine: 15 validation rows, a step of 6.7 pt), so the floor never undoes
a step and the old ranking (highest validation accuracy, then the fewest parameters) picked
the trial pruned furthest: wine seed 1 chose a [16] mlp pruned to 2 hidden units, 0.861
test, where the other trials scored 0.944-0.972 (h292).

Every (set, seed) runs one search once (``search.run.run_search``: the built-in mlp space,
the random searcher, ``--trials`` trials, grow_prune {} = the recipe, no hardware pricing,
CPU); a search folder already finished under ``--work`` is reused.  Then each rule picks
from that search's finished trials (``search.results.rank_trials(table, tiebreak=RULE)``;
the rule reads the validation split only, never the test split), and the table gives the
pick's test accuracy and nonzero parameters, mean ± sd over the seeds.  The trials'
``val_loss`` (cross-entropy on the validation split, nats) and ``val_loss_se`` (its standard
error over the rows) are measured on each trial's checkpoint on the same split (and checked
against results.parquet's where the table holds them).

Rules (the first three are ``search.results.rank_trials``' own, ``SearchConfig.tiebreak``;
the last two are candidates measured here only):
- ``parameters``: the highest validation accuracy (ties: the same number of correct
  validation rows), then the fewest parameters (the rule before h299).
- ``val_loss``: the same ties, decided by the lowest validation loss, then the fewest
  parameters.
- ``one_se``: the same ties; among them the fewest parameters of the trials whose loss is
  within one standard error (over the validation rows) of the lowest (ESL 7.10's rule).
- ``within_one``: an accuracy within one validation row of the best is a tie (a difference
  the split cannot resolve), decided by the lowest validation loss, then parameters.
- ``loss_only``: the lowest validation loss, accuracy ignored (a reference).

    python benchmarks/search_tiebreak.py --sets iris wine breast_cancer digits --seeds 0 1 2
"""
from __future__ import annotations

import argparse
import json
import math
import statistics
from pathlib import Path

from common import command_line, machine_note, mean_sd, run_main, write_result
from common import table as md_table

SETS = ("iris", "wine", "breast_cancer", "digits")
WORK = Path("/tmp/nnsynth_search_tiebreak")


def search_config(dataset: str, seed: int, trials: int):
    from search.run import SearchConfig
    return SearchConfig(dataset=dataset, space="mlp", searcher="random", trials=trials,
                        concurrency=2, grow_prune={}, hardware=False, seed=seed, device="cpu")


def run_one(dataset: str, seed: int, trials: int, work: Path) -> Path:
    """The search folder of (``dataset``, ``seed``), run (or resumed) to its end."""
    from search.run import run_search
    out = work / f"{dataset}_s{seed}"
    if (out / "best.pt").is_file():
        return out
    resume = (out / "search_config.json").is_file()
    run_search(None if resume else search_config(dataset, seed, trials), out, resume=resume,
               progress=True)
    return out


RULES = ("parameters", "val_loss", "one_se", "within_one", "loss_only")


def trials(out: Path, dataset: str, seed: int):
    """The finished trials of the search in ``out`` with their ``val_loss`` (the table's, or
    measured on the checkpoint where the table predates the column), and the size of the
    validation split."""
    import torch
    from search.results import read_results, stopped_early
    from synth.checkpoint import load_model
    from synth.data import load_dataset
    from synth.train import evaluate
    table = read_results(out / "results.parquet")
    table = table[table["checkpoint"].notna() & ~stopped_early(table)].copy()
    split_seed = json.loads((out / "search_config.json").read_text()).get("data_seed")
    data = load_dataset(dataset, seed=seed if split_seed is None else split_seed)
    losses, errors = [], []
    for _, row in table.iterrows():
        model = load_model(row["checkpoint"]).eval()
        with torch.no_grad():   # per validation row, nats
            each = torch.nn.functional.cross_entropy(model(data.x_val), data.y_val,
                                                     reduction="none").double()
        loss = float(each.mean())
        assert abs(loss - evaluate(model, data.x_val, data.y_val)["loss"]) < 1e-5
        error = float(each.std() / math.sqrt(len(each)))   # standard error of the mean
        for name, value in (("val_loss", loss), ("val_loss_se", error)):   # the trial's own
            recorded = row.get(name)
            if recorded is not None and not math.isnan(recorded):
                assert abs(recorded - value) < 1e-5, (out, row["trial_id"], name, recorded)
        losses.append(loss)
        errors.append(error)
    table["val_loss"], table["val_loss_se"] = losses, errors
    return table, len(data.y_val)


def pick(table, rule: str, n_val: int):
    """The row ``rule`` calls best (search.results.rank_trials for the library's rules)."""
    from search.choices import TIEBREAKS
    from search.results import TIE, rank_trials
    if rule in TIEBREAKS:
        return rank_trials(table, rule).iloc[0]
    pool = table
    if rule == "within_one":   # within one validation row of the best accuracy: a tie
        pool = table[table["accuracy"] >= table["accuracy"].max() - 1.0 / n_val - TIE]
    return pool.sort_values(["val_loss", "parameters"], kind="stable").iloc[0]


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--sets", nargs="+", default=list(SETS))
    p.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    p.add_argument("--trials", type=int, default=6)
    p.add_argument("--work", type=Path, default=WORK, help="where the searches are kept")
    p.add_argument("--run-only", action="store_true", help="run the searches, print nothing")
    p.add_argument("--out", default="search_tiebreak.md", help="results file (under "
                   "benchmarks/results/ unless a path)")
    args = p.parse_args(argv)
    searches = {(d, s): run_one(d, s, args.trials, args.work)
                for d in args.sets for s in args.seeds}
    if args.run_only:
        return
    from search.results import TIE
    rows, detail = [], []
    for dataset in args.sets:
        picks = {rule: [] for rule in RULES}
        for seed in args.seeds:
            table, n_val = trials(searches[dataset, seed], dataset, seed)
            best = table["accuracy"].max()
            tied = int((table["accuracy"] >= best - TIE).sum())
            cells = [dataset, seed, n_val, f"{tied}/{len(table)}", f"{best:.3f}"]
            for rule in RULES:
                row = pick(table, rule, n_val)
                picks[rule].append(row)
                cells.append(f"{row['test_accuracy']:.3f} @ {int(row['nonzero_parameters']):,}")
            test = table["test_accuracy"]
            cells.append(f"{test.mean():.3f} / {test.max():.3f}")
            detail.append(cells)
        for rule in RULES:
            test = [float(r["test_accuracy"]) for r in picks[rule]]
            nonzero = [float(r["nonzero_parameters"]) for r in picks[rule]]
            old = [float(r["test_accuracy"]) for r in picks["parameters"]]
            better = sum(t > o + TIE for t, o in zip(test, old))
            worse = sum(t < o - TIE for t, o in zip(test, old))
            rows.append([dataset, rule, mean_sd(test, "{:.3f}"), mean_sd(nonzero, "{:,.0f}"),
                         f"{statistics.median(nonzero):,.0f}",
                         "" if rule == "parameters" else f"{better} / {worse}"])
    body = md_table(["set", "rule", "test accuracy of the pick", "nonzero parameters of the pick",
                     "median nonzero", "searches better / worse on test than parameters'"],
                    rows)
    body += ["", "Per search (test accuracy @ nonzero parameters of each rule's pick; "
             "'tied': trials at the best validation accuracy, of those finished; last: the "
             "mean and the best test accuracy over the search's trials, for reference only):",
             ""]
    body += md_table(["set", "seed", "val rows", "tied", "best val acc", *RULES,
                    "trials' mean / max test"], detail)
    body += ["", machine_note(), command_line()]
    write_result(args.out, body, "# Search tie-break: which trial is best on a tiny "
                 "validation split")



if __name__ == "__main__":
    run_main(main)
