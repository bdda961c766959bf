"""h139 probe of the application commands (diabdeep, secret, symbiotic, scann): figures whose
label said more than they meant."""
import json

import numpy as np
from click.testing import CliRunner


# --------------------------------------------------------------------------- SCANN steps
def test_scann_steps_count_kept_steps_not_undone_ones(monkeypatch):
    """SCANN's ``steps`` was ``len(history) - 1`` (the CLI's count), so a run whose every
    pruning step was undone by the accuracy floor (history: start, reverted, reverted)
    printed 'steps: 2' for a network no step changed; grow-prune counts the steps kept and
    the undone ones apart (synth.grow_prune.kept_steps / reverted_steps), and so does SCANN."""
    from synth.data import load_dataset
    from synth.grow_prune import kept_steps, reverted_steps
    import synth.scann
    from synth.scann import ScannConfig, run_scann
    monkeypatch.setattr(synth.scann, "PRUNE_BACKOFF", 0)   # every step undone: none retried
    result = run_scann(load_dataset("iris", seed=0), ScannConfig(
        components=0.01, epochs=20, retrain_epochs=2, prune_steps=4, prune_fraction=0.6,
        max_accuracy_drop=0.0))
    history = result["history"]
    assert result["steps"] == kept_steps(history)
    assert result["reverted_steps"] == reverted_steps(history)
    phases = [r["phase"] for r in history]
    assert phases == ["start", "reverted", "reverted"], phases   # the case this test is about
    assert result["steps"] == 0 and result["reverted_steps"] == 2
    assert result["connections"] == history[0]["connections"]   # the start network is kept


# --------------------------------------------------------------------------- SECRET weight
def _one_sample_class_csv(path):
    """Iris with words for names, whose class 'large' has one training sample (split column):
    no internal fold can hold it out, so nothing validates SECRET's fusion weight."""
    from sklearn.datasets import load_iris
    d = load_iris()
    names = ["small", "medium", "large"]
    rows, seen = ["f1,f2,f3,f4,label,split"], {0: 0, 1: 0, 2: 0}
    for x, y in zip(d.data, d.target):
        seen[y] += 1
        if seen[y] > 40:
            split = "test"
        elif y != 2 or seen[y] == 1:
            split = "train"
        else:
            continue
        rows.append(",".join(map(str, x)) + f",{names[y]},{split}")
    path.write_text("\n".join(rows) + "\n")
    return f"csv:{path}"


def test_secret_says_when_its_fusion_weight_was_not_chosen(tmp_path):
    """With a class of one train+validation sample SecretClassifier has no internal folds and
    keeps weight 0 (SECRET = the base), and `nnsynth secret` printed 'fusion weight 0.0
    (temperature 0.05), chosen on validation data' for a weight nothing chose.  Now the result
    says what chose it (weight_chosen_on; None and a warning when nothing did)."""
    from deploy.cli.main import cli
    from synth.secret_eval import run_secret
    dataset = _one_sample_class_csv(tmp_path / "tiny.csv")
    r = run_secret(dataset, "lr")
    assert r["weight"] == 0.0 and r["weight_chosen_on"] is None
    assert "'large'" in r["warning"] and "not chosen" in r["warning"]
    out = CliRunner().invoke(cli, ["secret", "--dataset", dataset])
    assert out.exit_code == 0, out.output
    assert "chosen on validation data" not in out.output
    assert "not chosen" in out.output
    last = CliRunner().invoke(cli, ["secret", "--dataset", dataset, "--json"])
    assert json.loads(last.output.strip().splitlines()[-1])["weight_chosen_on"] is None


def test_secret_names_the_validation_that_chose_its_weight():
    """Where the weight is chosen, the result names on what: the base's internal out-of-fold
    predictions (the folds used), or a network's validation split (fuse_network)."""
    from synth.secret import SecretClassifier
    from synth.secret_eval import run_secret
    r = run_secret("breast_cancer", "lr")
    assert r["weight_chosen_on"] == "out-of-fold predictions of train+validation (3 folds)"
    # two classes: only h291's line that their names cannot enter (centred: +u, -u)
    assert r.get("warning", "").startswith("with two classes the label names' meaning")
    x = np.random.default_rng(0).normal(size=(8, 3))
    y = np.array([0, 0, 1, 1, 0, 1, 0, 1])
    est = SecretClassifier(class_names=["small", "large"], cv=5).fit(x, y)
    assert est.n_folds_ == 4   # the rarest class has 4 samples
    one = SecretClassifier(class_names=["small", "large"]).fit(x, np.array([0] * 7 + [1]))
    assert one.n_folds_ == 0 and one.weight_ == 0.0 and one.validation_ == []


def test_secret_with_a_network_names_the_option_and_the_classes(tmp_path):
    """secret --model CKPT --class-names a,b (a 3-class checkpoint) said 'class_names has 2
    names for 3 classes': now the --class-names message that --dataset runs give."""
    import torch
    from deploy.cli.main import cli
    from synth.checkpoint import save_checkpoint
    from synth.data import load_dataset
    from synth.models import build
    data = load_dataset("iris", seed=0)
    torch.manual_seed(0)
    model = build("mlp_small", data.input_shape, data.num_classes)
    save_checkpoint(tmp_path / "m.pt", model, dataset=data.metadata())
    r = CliRunner().invoke(cli, ["secret", "--model", str(tmp_path / "m.pt"),
                                 "--class-names", "small,large"])
    assert r.exit_code == 2
    assert "--class-names gives 2 names; iris has 3 classes (setosa, versicolor, virginica)" \
        in r.output, r.output
