"""export gives eval's notes of the split it checks on: one function makes both (h253).

``nnsynth export`` of a model whose set has no test split, whose val split lacks a class and
on which the model predicts one class reported onnx_accuracy 0.5000 on val without a word,
where ``nnsynth eval`` said all three (export made its notes of three of eval's checks,
by a copy of its code).  ``synth.workflows.scored_notes`` now serves both; export's note of
the missing test split leaves out eval's '--split' (export has none)."""
import pytest

from tests._cli import run


def _table(path):
    """48 rows, no 'test' rows; the val ones alike (one output for all) and of a, b only."""
    rows = ["f0,f1,label,split"] + [
        f"{i % 3 + 0.1 * (i % 7)},{i % 5},{'abc'[i % 3]},train" if i < 40 else
        f"1.5,2,{'ab'[i % 2]},val" for i in range(48)]
    path.write_text("\n".join(rows) + "\n")
    return f"csv:{path}"


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("h253")
    out = tmp / "m.pt"
    r = run(["-q", "train", "--dataset", _table(tmp / "t.csv"), "--model", "mlp_small",
             "--epochs", "1", "--min-steps", "0", "--out", str(out)])
    assert r.exit_code == 0, r.output
    return out


def _notes(r) -> list[str]:
    assert r.exit_code == 0, r.output
    return [line for line in r.stderr.splitlines()
            if line.startswith("warning: ") or "evaluating on" in line]


def test_export_says_what_eval_says_of_the_split(model, tmp_path):
    said = _notes(run(["eval", "--model", str(model)]))
    assert len(said) == 3, said
    assert "has no 'test' rows: evaluating on val" in said[0]
    assert "holds no sample of class ['c']" in said[1]
    assert "for every val sample" in said[2]
    exported = _notes(run(["export", "--model", str(model), "--out", str(tmp_path / "m.onnx")]))
    assert exported == [said[0].replace(", or pass --split", ""), *said[1:]], exported
