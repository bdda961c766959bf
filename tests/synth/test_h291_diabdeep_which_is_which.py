"""nnsynth diabdeep's table says which DiabNN is which (h291): the server DiabNN is the
sparsely connected feed-forward network, the edge DiabNN the H-LSTM.  The table named them
server_diabnn and edge_diabnn only, beside baselines of the same families (mlp, hlstm_dense),
and the architectures the grow-and-prune ended at were in the JSON's specs alone."""
from synth.diabdeep import table


def _result():
    base = {"test_accuracy": 0.9, "recurrent_weights": 0, "nonzero_flops": 10, "latency_ms": 0.1}
    return {"frame": 2, "steps": 15, "rows": [
        {**base, "model": "server_diabnn", "parameters": 11807, "nonzero_parameters": 2274,
         "spec": {"family": "mlp", "hidden": [32, 15], "bn": False, "dropout": 0.0}},
        {**base, "model": "edge_diabnn", "parameters": 1567, "nonzero_parameters": 404,
         "recurrent_weights": 280, "spec": {"family": "hlstm", "hidden": [16],
                                            "gate_hidden": [[8, 8, 7, 7]], "frame": 2}},
        {**base, "model": "mlp", "parameters": 11849, "nonzero_parameters": 11849,
         "spec": {"family": "mlp", "hidden": [32, 16]}}]}


def test_the_table_says_which_diabnn_is_which():
    text = table(_result())
    lines = text.splitlines()
    server = next(line for line in lines if line.startswith("server_diabnn = "))
    assert "the server DiabNN: sparsely connected feed-forward layers (mlp, hidden 32-15;" \
        in server and "2,274 of 11,807 parameters nonzero" in server, text
    edge = next(line for line in lines if line.startswith("edge_diabnn = "))
    assert "the edge DiabNN: one H-LSTM layer of 16 cells" in edge, text
    assert "gate hidden layers 8, 8, 7, 7 (i, f, g, o)" in edge, text
    assert "15 steps of 2 samples" in edge and "404 of 1,567 parameters nonzero" in edge, text
    assert not any(line.startswith("mlp = ") for line in lines)


def test_rows_of_an_older_report_without_those_fields_still_print():
    rows = [{"model": "server_diabnn", "spec": {"family": "mlp"}, "test_accuracy": 0.9,
             "nonzero_parameters": 100, "recurrent_weights": 0, "nonzero_flops": 4321,
             "latency_ms": 0.1}]
    text = table({"rows": rows})
    assert "server_diabnn = the server DiabNN: sparsely connected feed-forward layers" in text
