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
