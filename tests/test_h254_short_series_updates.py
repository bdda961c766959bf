"""grow-prune, continual and incremental of a left-padded sequence model on a file of shorter
series (helper 254): nnsynth eval left-pads such a file to the model's steps (3fefddb), but
'nnsynth continual --model m.pt --new-dataset ts:short.ts' said '--new-dataset ts:short.ts has
input shape (2, 15); the model expects (2, 20)', incremental 'model expects input (2, 20),
data has (2, 15)' and grow-prune --model m.pt refused it alike.  They now pad it as eval
does (``synth.checkpoint.in_model_length``) and say so in the result's 'note'."""
import numpy as np

from tests._cli import json_result, run


def _write(path, lengths, labels, seed):
    """A 2-channel .ts file of series of ``lengths`` steps ('?' ends the shorter ones), each
    class a level of its own."""
    rng = np.random.default_rng(seed)
    top = max(lengths)
    lines = []
    for i, steps in enumerate(lengths):
        label = labels[i % len(labels)]
        a = rng.normal(size=(2, steps)) + 3.0 * labels.index(label)
        lines.append(":".join(",".join([f"{v:.6f}" for v in c] + ["?"] * (top - steps))
                              for c in a) + ":" + label)
    path.write_text("@problemName Toy\n@timeStamps false\n@univariate false\n@dimensions 2\n"
                    f"@equalLength false\n@classLabel true {' '.join(labels)}\n@data\n"
                    + "\n".join(lines) + "\n")
    return f"ts:{path}"


def _json(args):   # the JSON of a quiet command that succeeded
    return json_result(run(["-q", *args, "--json"]))


def test_updates_of_a_left_padded_model_pad_a_file_of_shorter_series(tmp_path):
    own = _write(tmp_path / "Own.ts", [4 + i % 3 for i in range(40)], ["up", "down"], 0)
    short = _write(tmp_path / "Short.ts", [3 + i % 2 for i in range(40)], ["up", "down"], 1)
    more = _write(tmp_path / "More.ts", [3 + i % 2 for i in range(60)],
                  ["up", "down", "side"], 2)
    model = str(tmp_path / "m.pt")
    _json(["train", "--dataset", own, "--model", "mlp_small", "--epochs", "1", "--min-steps", "0",
           "--out", model])
    padded = "(at most 4 steps) were left-padded with the padding value to the model's 6 steps"
    grown = _json(["grow-prune", "--model", model, "--dataset", short, "--prune-steps", "1",
                   "--retrain-epochs", "0", "--out", str(tmp_path / "g.pt")])
    assert padded in grown["note"], grown
    extended = _json(["continual", "--model", model, "--new-dataset", more, "--new-classes",
                      "side", "--method", "lwf", "--epochs", "1", "--min-steps", "1",
                      "--out", str(tmp_path / "c.pt")])
    assert padded in extended["note"] and extended["new_class_names"] == ["side"], extended
    updated = _json(["incremental", "--model", model, "--old", own, "--new", short,
                     "--max-epochs", "1", "--min-steps", "0"])
    assert padded in updated["note"] and short in updated["note"], updated
    # the checkpoints written take the shorter file as eval does
    again = _json(["eval", "--model", str(tmp_path / "c.pt")])
    assert "left-padded" in again["note"]
