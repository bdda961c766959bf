"""pareto.png names what its accuracy was measured on.  A data-free search (nnsynth search
--teacher T --synth S) selects on the synthesized validation inputs, and its line says so
('best accuracy 0.4286 on the synthesized validation inputs', 4dda03f), but its pareto.png
labelled the same 42.86 % 'validation accuracy (%)' (real validation: 12.5 %).  The label now
follows the table's selected_on column.  No Ray: the plot is made from results.parquet."""
import matplotlib
import pytest

from search.results import append_result, plot_pareto

matplotlib.use("Agg")


def _row(i, selected_on):
    return {"trial_id": f"t{i}", "spec": "{}", "accuracy": 0.3 + 0.1 * i, "test_accuracy": 0.2,
            "parameters": 100 * (i + 1), "nonzero_parameters": 100 * (i + 1),
            "flops": 1000 * (i + 1), "nonzero_flops": 1000 * (i + 1), "latency_ms": 0.001 * (i + 1),
            "energy_mj": 0.001, "epochs": 1, "wall_seconds": 1.0, "stopped_early": False,
            "checkpoint": f"m{i}.pt", "finished_at": 0.0, "device": "cpu",
            "selected_on": selected_on}


def _ylabel_of_plot(tmp_path, monkeypatch, selected_on):
    from matplotlib.figure import Figure
    labels = []
    savefig = Figure.savefig

    def recording(self, *args, **kwargs):   # matplotlib's own, after noting the label
        labels.append(self.axes[0].get_ylabel())
        return savefig(self, *args, **kwargs)
    monkeypatch.setattr(Figure, "savefig", recording)
    table = tmp_path / selected_on / "results.parquet"
    table.parent.mkdir()
    for i in range(2):
        append_result(table, _row(i, selected_on))
    plot_pareto(table, table.parent / "pareto.png")
    assert (table.parent / "pareto.png").stat().st_size > 1000
    return labels[-1]


@pytest.mark.parametrize("selected_on, words", [
    ("synthetic_val", "synthesized validation"), ("real_val", "validation accuracy")])
def test_the_plots_accuracy_axis_says_what_it_was_measured_on(tmp_path, monkeypatch,
                                                               selected_on, words):
    label = _ylabel_of_plot(tmp_path, monkeypatch, selected_on)
    assert words in label
    if selected_on == "real_val":
        assert "synthesized" not in label
