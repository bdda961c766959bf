"""nnsynth invert --flip on a teacher of feature vectors or sequences is refused in one line.

``nnsynth invert --teacher bn.pt --flip ...`` (a BN MLP of a 5-column CSV) ran with
'"flip": false' in its settings and no word: settings_for turns flips off for anything but
images (a sequence is rolled along time), so the option the user gave was ignored."""
from tests._cli import json_result, one_error_line, run


def _teacher(tmp_path, dataset, model):
    out = tmp_path / "t.pt"
    json_result(run(["-q", "train", "--dataset", dataset, "--model", model, "--epochs", "1",
                     "--min-steps", "0",
                     "--out", str(out), "--json"]))
    return out


def test_flip_of_feature_vectors_is_refused(tmp_path):
    teacher = _teacher(tmp_path, "iris", "lenet300_100_bn")
    line = one_error_line(run(["invert", "--teacher", str(teacher), "--num-images", "6",
                               "--flip", "--out", str(tmp_path / "inv")]))
    assert line == ("error: --flip mirrors images; the teacher takes feature vectors of shape "
                    "(4,): drop --flip"), line
    assert not (tmp_path / "inv").exists()


def test_flip_of_sequences_is_refused(tmp_path):
    teacher = _teacher(tmp_path, "gunpoint", "convnet1d_small")
    line = one_error_line(run(["invert", "--teacher", str(teacher), "--num-images", "6",
                               "--flip", "--out", str(tmp_path / "inv")]))
    assert "the teacher takes sequences of shape (1, 150) (a sequence is rolled along time, " \
           "never flipped): drop --flip" in line, line
