"""SECRET with two classes says that the label names' meaning cannot enter (h291): centred on
their mean, any two label vectors become opposite points (+u, -u), so the semantic space is
the same for 'malignant'/'benign', random vectors or shuffled ones.  nnsynth secret
--dataset breast_cancer gave identical weights and scores for glove, random and shuffled
while its header said 'label vectors glove (malignant, benign)'."""
import logging

import numpy as np


def test_two_classes_are_said_and_equal_to_the_control(caplog):
    from synth.secret_eval import run_secret
    with caplog.at_level(logging.WARNING):
        glove = run_secret("breast_cancer", "lr")
    control = run_secret("breast_cancer", "lr", label_vectors="random")
    for key in ("semantic_scores", "secret_scores"):
        assert glove[key]["accuracy"] == control[key]["accuracy"]
    assert "two classes" in glove["warning"] and "+u, -u" in glove["warning"]
    assert "--label-vectors random" in glove["warning"]
    assert any("two classes" in r.getMessage() for r in caplog.records)
    assert "two classes" not in control.get("warning", "")   # the control means nothing


def test_the_estimator_says_it_and_three_classes_are_not_warned_of(caplog):
    from synth.secret import SecretClassifier
    rng = np.random.default_rng(0)
    x = rng.normal(size=(60, 3))
    y = np.repeat([0, 1], 30)
    x[:, 0] += y
    with caplog.at_level(logging.WARNING, logger="synth.secret"):
        SecretClassifier(class_names=["cat", "dog"]).fit(x, y)
    assert any("two classes" in r.getMessage() for r in caplog.records)
    caplog.clear()
    y3 = np.repeat([0, 1, 2], 20)
    with caplog.at_level(logging.WARNING, logger="synth.secret"):
        SecretClassifier(class_names=["cat", "dog", "bird"]).fit(x, y3)
        SecretClassifier(class_names=["cat", "dog"], center=False).fit(x, y)
    assert not any("two classes" in r.getMessage() for r in caplog.records)
