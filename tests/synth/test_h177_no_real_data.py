"""``nnsynth distill --synth`` and ``nnsynth prune --synth`` of a teacher whose data set no
longer loads (helper 177; found by h176 with a wine teacher trained on ``csv:wine.csv``, the
file moved away after training).

distill reported ``test_accuracy: 0.8571`` -- the student's agreement with the teacher on the
7 synthesized inputs held out from its training -- and ``teacher_test_accuracy: 1.0000`` (the
teacher agreeing with itself); prune printed ``finetuned_test_accuracy: none``.  Neither said
the real data was not there.  Now the real-data keys are none, one warning line names the set
that did not load, and distill's agreement figure is ``synthetic_agreement``.

No Ray: the workflows with ``synth.train.fit``; a tiny wine MLP and a 'synthesized' set of its
own training rows in the teacher's Parquet layout (as tests/synth/test_distill_resume.py).
"""
import logging

import pytest

from synth.dfprune import PruneConfig
from synth.distill import DistillConfig
from synth.workflows import distill_checkpoint, prune_checkpoint
from tests.synth._tiny import teacher_of_a_moved_csv

@pytest.fixture(scope="module")
def moved(tmp_path_factory):
    """(teacher.pt, its synthesized set, the csv name it records): the csv moved away."""
    folder = tmp_path_factory.mktemp("h177_no_real_data")
    return teacher_of_a_moved_csv(folder)


def test_distill_reports_no_test_accuracy_without_the_real_data(moved, tmp_path, caplog):
    teacher, synth_dir, name = moved
    config = DistillConfig(epochs=2, min_steps=0, batch_size=32, seed=0, device="cpu",
                           progress=False)
    with caplog.at_level(logging.WARNING):
        m = distill_checkpoint(teacher, {"family": "mlp", "hidden": [8]}, tmp_path / "s.pt",
                               config, synth_dir=synth_dir)
    for key in ("test_accuracy", "teacher_test_accuracy", "val_accuracy", "test_loss",
                "evaluated_on"):
        assert m[key] is None, (key, m[key])
    assert 0 <= m["synthetic_agreement"] <= 1
    lines = [r.getMessage() for r in caplog.records if "does not load here" in r.getMessage()]
    assert len(lines) == 1 and "\n" not in lines[0]
    assert f"--teacher {teacher}'s data set {name} does not load here (CSV file not found" \
        in lines[0]
    assert "no accuracy on real data is reported" in lines[0]
    assert "synthetic_agreement is the student's agreement with the teacher on the" in lines[0]


def test_data_free_distill_reports_the_real_data_keys_as_none(moved, tmp_path, caplog):
    """--data-free left the keys out (no line either): now none, as with --synth."""
    teacher, _, name = moved
    config = DistillConfig(rounds=1, images_per_round=12, kd_steps_per_round=2, min_steps=0,
                           seed=0, device="cpu", progress=False)
    with caplog.at_level(logging.WARNING):
        m = distill_checkpoint(teacher, {"family": "mlp", "hidden": [8]}, tmp_path / "s.pt",
                               config, data_free=True, iterations=3)
    for key in ("test_accuracy", "teacher_test_accuracy", "val_accuracy", "evaluated_on"):
        assert key in m and m[key] is None, key
    assert any(r.getMessage().startswith(f"--teacher {teacher}'s data set {name} does not "
                                         f"load here") for r in caplog.records)


def test_prune_reports_no_test_accuracy_without_the_real_data(moved, tmp_path, caplog):
    teacher, synth_dir, name = moved
    with caplog.at_level(logging.WARNING):
        m = prune_checkpoint(teacher, tmp_path / "p.pt", PruneConfig(ratio=0.25, seed=0,
                             device="cpu", progress=False), synth_dir=synth_dir, kd_steps=5)
    for key in ("teacher_test_accuracy", "pruned_test_accuracy", "finetuned_test_accuracy"):
        assert key in m and m[key] is None, key
    lines = [r.getMessage() for r in caplog.records if "does not load here" in r.getMessage()]
    assert lines == [f"--model {teacher}'s data set {name} does not load here (CSV file not "
                     f"found: {name[4:]}): no accuracy on real data is reported "
                     f"(teacher_test_accuracy, pruned_test_accuracy and finetuned_test_accuracy "
                     f"are none)"]


def test_prune_inverting_here_fine_tunes_without_the_real_data(moved, tmp_path):
    """Without --synth the default KD fine-tuning (a count of steps, reported on nothing) was
    refused after the images were inverted: 'KD fine-tuning needs --synth DIR or a model
    whose data set loads here for reporting'.  It runs; --kd-epochs, whose training reports
    on a data set each epoch, is refused before any image is inverted."""
    from synth.errors import UserError
    teacher, _, name = moved
    config = PruneConfig(ratio=0.25, seed=0, device="cpu", progress=False)
    m = prune_checkpoint(teacher, tmp_path / "p.pt", config, kd_steps=5, num_images=12,
                         iterations=3)
    assert m["synthesized_images"] == 12 and m["finetuned_test_accuracy"] is None
    with pytest.raises(UserError, match=r"^--kd-epochs needs --synth DIR or a model whose data "
                       r"set loads here \(its training reports on it\): --model .*'s data set "
                       r".* does not load here"):
        prune_checkpoint(teacher, tmp_path / "q.pt", config, kd_epochs=1, num_images=12,
                         iterations=3)
    assert not (tmp_path / "q.pt.resume").exists()     # refused before any image was made
