"""Follow-ups on hwsim.tables and the symbiotic plot: each test failed before its fix.

3. The symbiotic plot's axis names the sequence length actually used.
"""


# --------------------------------------------------------------------------- 3: the plot
def test_symbiotic_plot_names_the_sequence_length_used(tmp_path, monkeypatch):
    """The host axis said 'ms per 35-token sequence' whatever bptt was."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from deploy import symbiotic
    figs = []
    real_close = plt.close
    monkeypatch.setattr(plt, "close", lambda fig=None: (figs.append(fig), real_close(fig)))
    rows = [{"cell": "lstm", "width": w, "exec": "dense", "best_ms": 1.0 + w, "q1_ms": 1.0,
             "q3_ms": 2.0 + w, "lo_ms": 1.0, "hi_ms": 2.0 + w} for w in (8, 16)]
    symbiotic._plot(tmp_path / "latency.png", {"host": rows, "accel": rows},
                    {"plain": ("lstm", 8)}, steps=12)
    labels = [ax.get_ylabel() for ax in figs[0].axes]
    assert any("12-token" in label for label in labels)
    assert not any("35" in label for label in labels)
