"""SECRET's result per class, in class order, and a method that predicts one class for every
test sample said (h291).  On a .ts set of 200 'rising', 25 'falling' and 12 'steady' series,
nnsynth secret --base rf reported 'SECRET: accuracy 0.8542' with weight 1.0: it predicted
'rising' for every test series (macro-F1 0.3071 = one class's F1 / 3), and nothing said which
class the accuracy came from."""
import numpy as np
import pytest

from tests._cli import json_result, run


def _ts(tmp_path, counts, declared):
    rng = np.random.default_rng(1)
    lines = ["@problemName Hard", "@timeStamps false", "@univariate true", "@equalLength true",
             "@seriesLength 30", f"@classLabel true {' '.join(declared)}", "@data"]
    slope = {"rising": 0.4, "falling": -0.4, "steady": 0.0}
    for name, n in counts.items():   # written in another order than declared
        for _ in range(n):
            s = slope[name] * np.arange(30) / 30 + rng.standard_normal(30)
            lines.append(",".join(f"{v:.4f}" for v in s) + f":{name}")
    path = tmp_path / "hard.ts"
    path.write_text("\n".join(lines) + "\n")
    return f"ts:{path}"


@pytest.fixture
def imbalanced(tmp_path):
    return _ts(tmp_path, {"steady": 12, "rising": 200, "falling": 25},
               ["rising", "falling", "steady"])


def test_per_class_scores_follow_the_class_order(imbalanced):
    from synth.data import load_dataset
    from synth.secret_eval import run_secret
    data = load_dataset(imbalanced, seed=0)
    r = run_secret(imbalanced, "rf")
    support = np.bincount(data.y_test.numpy(), minlength=3)
    for key in ("base_scores", "semantic_scores", "secret_scores"):
        per = r[key]["per_class"]
        assert [p["class"] for p in per] == ["rising", "falling", "steady"]
        assert [p["support"] for p in per] == support.tolist()
        assert support[0] > support[1] > support[2]   # the declared order, not the file's
        f1 = [p["f1"] for p in per if p["support"]]
        assert np.mean(f1) == pytest.approx(r[key]["macro_f1"])


def test_one_class_for_every_test_sample_is_said(imbalanced):
    from synth.secret_eval import run_secret
    r = r_rf = run_secret(imbalanced, "rf")
    per = r["secret_scores"]["per_class"]
    assert per[0]["f1"] > 0.9 and per[1]["f1"] == per[2]["f1"] == 0   # 'rising' throughout
    assert "SECRET predicts class 'rising' for every test sample" in r["warning"]
    # lr's base tells classes apart: only the semantic space alone is said
    r = run_secret(imbalanced, "lr")
    assert "the semantic space alone predicts class 'rising'" in r["warning"]
    assert "SECRET predicts" not in r["warning"] and "the base predicts" not in r["warning"]
    out = run(["secret", "--dataset", imbalanced, "--base", "rf"])
    assert out.exit_code == 0, out.output
    table = out.output.split("SECRET:")[-1].splitlines()[1:]   # the per-class lines
    assert [line.split()[0] for line in table] == ["F1", "rising", "falling", "steady"]
    assert json_result(run(["secret", "--dataset", imbalanced, "--base", "rf", "--json"]))[
        "warning"] == r_rf["warning"]


def test_scores_per_class_mark_a_class_absent_from_the_test_split():
    from synth.secret_eval import scores
    s = scores(np.array([0, 0, 1]), np.array([0, 2, 1]), names=["a", "b", "c"])
    assert [p["class"] for p in s["per_class"]] == ["a", "b", "c"]
    assert s["per_class"][2] == {"class": "c", "support": 0, "f1": None}
    assert s["per_class"][0]["f1"] == pytest.approx(2 / 3)
    assert "per_class" not in scores(np.array([0, 1]), np.array([0, 1]))



def test_a_network_predicting_one_class_is_said_once(imbalanced, tmp_path):
    """--model: the network's one class was said twice, by fuse_network ('the model predicts
    ...') and as the base ('the base predicts ...'); per-class rows and the line name the
    classes as the set does, the words given for their vectors aside."""
    import torch
    from synth.checkpoint import save_checkpoint
    from synth.data import load_dataset
    from synth.models import build
    from synth.secret_eval import fuse_network
    data = load_dataset(imbalanced)
    torch.manual_seed(0)
    model = build("lstm32", data.input_shape, data.num_classes)
    with torch.no_grad():
        model.head.weight.zero_()
        model.head.bias.copy_(torch.tensor([5.0, 0.0, 0.0]))
    save_checkpoint(tmp_path / "one.pt", model, dataset=data.metadata(), metrics={})
    out = fuse_network(str(tmp_path / "one.pt"), class_names=["up", "down", "flat"])
    assert out["warning"].count("predicts class 'rising' for every test sample") >= 1
    assert "the model predicts" not in out["warning"], out["warning"]
    assert out["warning"].count("the base predicts") == 1
    assert [c["class"] for c in out["base_scores"]["per_class"]] == ["rising", "falling",
                                                                     "steady"]
