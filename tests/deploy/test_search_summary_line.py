"""`nnsynth search`'s human line: the best trial's accuracy is named as validation accuracy
beside its test accuracy, and its latency has readable digits (h119 saw 'best accuracy
1.0000' taken for test accuracy, 0.75, and 'latency 0.00037799999999999997 ms')."""
from deploy.cli.commands.search import summary_text

SUMMARY = {"trials": 2, "out_dir": "/tmp/s", "best_accuracy": 1.0, "best_test_accuracy": 0.75,
           "best_parameters": 12345, "best_latency_ms": 0.00037799999999999997,
           "pareto_front": ["a", "b"], "pareto_png": "/tmp/s/pareto.png"}


def test_the_line_names_validation_and_test_accuracy_and_rounds_the_latency():
    line = summary_text(SUMMARY)
    assert line == ("2 trials in /tmp/s; best validation accuracy 1.0000, test 0.7500 "
                    "(12,345 parameters, latency 0.000378 ms); Pareto front of 2: "
                    "/tmp/s/pareto.png")


def test_a_search_without_pricing_says_so():
    assert "latency not priced)" in summary_text({**SUMMARY, "best_latency_ms": None})


def test_a_data_free_search_says_its_validation_inputs_were_synthesized():
    # nnsynth search --teacher t.pt --synth DIR chose its best on 7 synthesized rows and said
    # "best validation accuracy 0.4286" (h177; its real validation accuracy was 0.333)
    line = summary_text({**SUMMARY, "best_selected_on": "synthetic_val"})
    assert "best accuracy 1.0000 on the synthesized validation inputs, test 0.7500" in line
    assert "validation accuracy" not in line
    assert summary_text({**SUMMARY, "best_selected_on": "real_val"}) == summary_text(SUMMARY)


def test_the_summary_records_what_the_best_was_selected_on(tmp_path):
    from search.results import append_result
    from search.run import SearchConfig, summarize
    from tests.search.test_asha_stopped import _row
    ckpt = tmp_path / "a.pt"
    ckpt.write_bytes(b"model a")
    append_result(tmp_path / "results.parquet", _row("a", 0.5, str(ckpt),
                                                     selected_on="synthetic_val"))
    summary = summarize(tmp_path, SearchConfig(dataset="digits", hardware=False, trials=1))
    assert summary["best_selected_on"] == "synthetic_val"
    assert "on the synthesized validation inputs" in summary_text(summary)

