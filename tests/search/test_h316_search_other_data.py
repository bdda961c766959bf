"""h316: nnsynth search run as a user would on other data and constraints (a shuffled CSV of
breast_cancer and wine with string labels, digits under a latency bound few members meet and
one none meets, wine under an energy bound on an 8x16 os accelerator, each searcher once),
every trial's latency/energy checked against nnsynth hwsim eval of its checkpoint, the
Pareto front recomputed, best.pt and the test/validation labels checked.  What was wrong is
tested here, without Ray: the plot is made from results.parquet."""
import re

import matplotlib
import pytest

from search.results import append_result, log_cost_axis, plot_pareto

matplotlib.use("Agg")


def _row(i, latency, accuracy):
    return {"trial_id": f"t{i}", "spec": "{}", "accuracy": accuracy, "test_accuracy": 0.2,
            "parameters": 100 * (i + 1), "nonzero_parameters": 100 * (i + 1),
            "flops": 1000 * (i + 1), "nonzero_flops": 1000 * (i + 1), "latency_ms": latency,
            "energy_mj": 0.001, "epochs": 1, "wall_seconds": 1.0, "stopped_early": False,
            "checkpoint": f"m{i}.pt", "finished_at": 0.0, "device": "cpu",
            "selected_on": "real_val"}


def _x_tick_labels(tmp_path, monkeypatch, points):
    """The labelled x ticks of pareto.png for trials at ``points`` (latency, accuracy): their
    extents in pixels, left to right, and the axis's."""
    from matplotlib.figure import Figure
    seen = []
    savefig = Figure.savefig

    def recording(self, *args, **kwargs):   # matplotlib's own, after reading the ticks
        self.canvas.draw()
        ax = self.axes[0]
        box = ax.get_window_extent()
        low, high = sorted(ax.get_xlim())
        labels = [t.label1.get_window_extent() for t in
                  ax.xaxis.get_major_ticks() + ax.xaxis.get_minor_ticks()
                  if t.label1.get_visible() and t.label1.get_text() and low <= t.get_loc() <= high]
        seen.append((sorted(labels, key=lambda b: b.x0), box))
        return savefig(self, *args, **kwargs)
    monkeypatch.setattr(Figure, "savefig", recording)
    table = tmp_path / "results.parquet"
    for i, (latency, accuracy) in enumerate(points):
        append_result(table, _row(i, latency, accuracy))
    plot_pareto(table, tmp_path / "pareto.png")
    return seen[-1]


@pytest.mark.parametrize("points", [
    # digits under latency_ms<=0.0005: four trials of 0.00043-0.00049 ms (4.3x10^-4 ...
    # 4.9x10^-4 ran into one another)
    [(0.00042625, 0.30), (0.0004465, 0.32), (0.0004465, 0.17), (0.000487, 0.31)],
    # wine on an 8x16 os array: 0.0008-0.0016 ms, labelled only to 10^-3
    [(0.00137, 0.53), (0.00116, 0.93), (0.000825, 0.40), (0.001565, 0.40)],
])
def test_a_pareto_plot_over_less_than_a_decade_labels_its_cost_axis_readably(
        tmp_path, monkeypatch, points):
    labels, box = _x_tick_labels(tmp_path, monkeypatch, points)
    assert len(labels) >= 3
    for left, right in zip(labels, labels[1:]):
        assert left.x1 <= right.x0, "tick labels overlap"
    # the labelled ticks reach across the axis, not a corner of it
    assert labels[-1].x1 - labels[0].x0 >= 0.5 * box.width


def test_a_cost_axis_is_logarithmic_only_over_a_decade_or_more_of_positive_costs():
    assert log_cost_axis([0.0004, 0.008])              # the spread of digits' convnets
    assert not log_cost_axis([0.00043, 0.00049])
    assert not log_cost_axis([0.0, 0.001, 0.1])        # a log axis would drop the 0
    assert not log_cost_axis([])
    assert not log_cost_axis([float("nan")])
    assert log_cost_axis([1000, 37120, float("nan")])  # MACs; an empty cost is not drawn


def test_bounds_met_alone_but_not_together_are_not_called_missed():
    """digits, --constraint 'latency_ms<=0.0006' --constraint 'flops>=20000': each bound is
    met by some member, none meets both.  The refusal said 'none of 64 random members of the
    space meets latency_ms<=0.0006 (best seen 0.00042625), flops>=20000 (best seen
    2.06118e+06)': a bound missed whose best member met it.  Now how many meet each alone."""
    from search.run import SearchConfig, no_trial_reason
    from search.space import load_space
    config = SearchConfig(space="convnet", dataset="digits", trials=1, concurrency=1,
                          n_initial=2, epochs=1,
                          constraints=("latency_ms<=0.0006", "flops>=20000"))
    space = load_space("convnet")
    line = no_trial_reason(space, config, (1, 8, 8), 10)
    assert line.startswith("of 64 random members of the space, ")
    assert re.search(r"space, [1-9]\d* meets? latency_ms<=0\.0006 \(best seen 0\.000426", line)
    assert line.endswith(", none both")
    assert "none of" not in line
    # a bound none meets is still said so
    alone = SearchConfig(space="convnet", dataset="digits", trials=1, concurrency=1,
                         n_initial=2, epochs=1, constraints=("parameters<=5",))
    assert no_trial_reason(space, alone, (1, 8, 8), 10, samples=4).startswith(
        "none of 4 random members of the space meets parameters<=5 (best seen ")


def test_a_search_bounded_on_energy_reports_the_best_models_energy(tmp_path):
    """nnsynth search --constraint 'energy_mj<=0.0005' (wine, 8x16 os array) ended '(1,219
    parameters, latency 0.00116 ms on the accelerator 8x16 os ...)' and its --json held
    best_latency_ms alone: the figure the user bounded was nowhere.  Now best_energy_mj, and
    the line gives it where an energy bound was set."""
    import json
    from deploy.cli.commands.search import summary_text
    from search.run import SearchConfig, summarize
    ckpt = tmp_path / "a.pt"
    ckpt.write_bytes(b"model a")
    append_result(tmp_path / "results.parquet", {
        **_row(0, 0.00116, 0.7333), "checkpoint": str(ckpt), "energy_mj": 0.0004815,
        "spec": json.dumps({"family": "mlp", "hidden": [64]})})
    bounded = summarize(tmp_path, SearchConfig(dataset="wine", trials=1, n_initial=2,
                                               constraints=("energy_mj<=0.0005",)))
    assert bounded["best_energy_mj"] == pytest.approx(0.0004815)
    assert "latency 0.00116 ms, energy 0.0004815 mJ" in summary_text(bounded)
    free = summarize(tmp_path, SearchConfig(dataset="wine", trials=1, n_initial=2))
    assert free["best_energy_mj"] == pytest.approx(0.0004815)
    assert "energy" not in summary_text(free)      # the line as it was where none is bounded
