"""A finished run is reported on its rerun only where the rerun's inputs are the ones its
checkpoint records, and a checkpoint the run replaces is named whoever wrote it (h285).

A table's feature names are not in ``Dataset.digest`` (they are not trained on), but the
checkpoint records them and ``nnsynth eval`` matches columns by them: a CSV whose column was
renamed was reported as the finished result of the rerun, a model of the old names that
could not score the file it claimed to be trained on."""
import json

from click.testing import CliRunner

from deploy.cli.main import cli

MLP = '{"family": "mlp", "hidden": [4]}'
SAID = "is the finished result of this same command"


def _run(*args):
    done = CliRunner().invoke(cli, [*args, "--json"])
    assert done.exit_code == 0, done.output
    return json.loads(done.stdout.strip().splitlines()[-1])


def _table(path, first_column: str) -> None:
    rows = [f"{first_column},b,label"] + [f"{i % 3 + (i % 7) / 10},{(i * 5) % 11 / 10},{i % 3}"
                                          for i in range(45)]
    path.write_text("\n".join(rows) + "\n")


def _train(csv, out, *more):
    return _run("train", "--dataset", f"csv:{csv}", "--model", MLP, "--epochs", "1",
                "--min-steps", "0", "--out", str(out), *more)


def test_a_renamed_column_trains_again(tmp_path):
    csv, out = tmp_path / "t.csv", tmp_path / "m.pt"
    _table(csv, "a")
    _train(csv, out)
    _table(csv, "alpha")                       # the same values, a column renamed
    again = _train(csv, out)
    assert SAID not in (again.get("warning") or "")
    assert f"{out} holds the result of another training" in again["warning"]
    scored = _run("eval", "--model", str(out), "--dataset", f"csv:{csv}")
    assert scored["split"] == "test" and 0 <= scored["accuracy"] <= 1   # was: 'missing 'a'; unexpected 'alpha''


def test_another_commands_checkpoint_is_named_as_it_is_replaced(tmp_path):
    csv, trained, out = tmp_path / "t.csv", tmp_path / "m.pt", tmp_path / "p.pt"
    _table(csv, "a")
    _train(csv, trained)
    _train(csv, out, "--seed", "1")            # a trained model, then given as prune's --out
    pruned = _run("prune", "--model", str(trained), "--ratio", "0.5", "--importance",
                  "magnitude", "--kd-steps", "0", "--out", str(out))
    assert f"{out} holds the result of nnsynth train, not of a pruning" in pruned["warning"]


def test_a_checkpoint_recording_no_run_is_named_as_it_is_replaced(tmp_path):
    import torch
    csv, out = tmp_path / "t.csv", tmp_path / "m.pt"
    _table(csv, "a")
    _train(csv, out)
    payload = torch.load(out, weights_only=True)
    del payload["extra"]["run_key"]            # as an nnsynth before run keys wrote it
    torch.save(payload, out)
    again = _train(csv, out)
    assert f"{out} holds a result that records no run" in again["warning"]
    assert SAID not in again["warning"]
