"""h290: a grow-and-prune search's Pareto front is drawn against the MACs its trials kept.

Unpriced (no latency), the front and pareto.png used ``flops``: the dense MACs of each
trial's compacted model, its cut connections multiplied as zeros, while the search's
constraints read the nonzero MACs (``constraints_counted: nonzero``).  A trial of 300
nonzero MACs at 0.9 accuracy then shared the front with one of 900 at 0.8, which it
dominates.  No Ray: the front and the plot are made from results.parquet.
"""
import matplotlib

from search.results import append_result, pareto_axis, pareto_front, plot_pareto, read_results

matplotlib.use("Agg")


def _row(trial, accuracy, flops, nonzero, pruned=True):
    return {"trial_id": trial, "spec": "{}", "accuracy": accuracy, "test_accuracy": accuracy,
            "parameters": flops, "nonzero_parameters": nonzero, "flops": flops,
            "nonzero_flops": nonzero, "epochs": 1, "wall_seconds": 1.0,
            "stopped_early": False, "checkpoint": f"{trial}.pt", "finished_at": 0.0,
            "device": "cpu", "grow_pruned": pruned}


def _table(tmp_path, pruned):
    path = tmp_path / f"{pruned}" / "results.parquet"
    path.parent.mkdir()
    append_result(path, _row("a", 0.8, 1000, 900, pruned))
    append_result(path, _row("b", 0.9, 2000, 300, pruned))
    return path


def test_a_pruned_search_front_reads_the_nonzero_macs(tmp_path, monkeypatch):
    path = _table(tmp_path, True)
    table = read_results(path)
    assert pareto_axis(table) == "nonzero_flops"
    assert pareto_front(table, x=pareto_axis(table))["trial_id"].tolist() == ["b"]
    from matplotlib.figure import Figure
    labels, savefig = [], Figure.savefig

    def recording(self, *args, **kwargs):
        labels.append(self.axes[0].get_xlabel())
        return savefig(self, *args, **kwargs)
    monkeypatch.setattr(Figure, "savefig", recording)
    plot_pareto(path, path.parent / "pareto.png")
    assert labels == ["MACs on nonzero weights"]


def test_a_dense_search_front_reads_every_mac(tmp_path):
    table = read_results(_table(tmp_path, False))
    assert pareto_axis(table) == "flops"
    assert pareto_front(table, x="flops")["trial_id"].tolist() == ["a", "b"]
