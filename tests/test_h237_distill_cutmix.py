"""nnsynth distill --cutmix with a teacher of feature vectors is refused in one line.

``nnsynth distill --teacher bn.pt --student mlp_small --synth inv1 --cutmix 0.8`` (a BN MLP
of a 5-column CSV) ran and wrote a student: synth.distill.kd_augment pastes a box of an image
or a segment of time of a sequence and skips a feature vector, so the option was ignored."""
from tests._cli import json_result, one_error_line, run


def test_cutmix_of_feature_vectors_is_refused(tmp_path):
    teacher = tmp_path / "t.pt"
    json_result(run(["-q", "train", "--dataset", "iris", "--model", "lenet300_100_bn",
                     "--epochs", "1", "--min-steps", "0", "--out", str(teacher), "--json"]))
    line = one_error_line(run(["distill", "--teacher", str(teacher), "--student", "mlp_small",
                               "--data-free", "--cutmix", "0.8", "--out",
                               str(tmp_path / "s.pt")]))
    assert line == ("error: --cutmix pastes a box of an image or a segment of time of a "
                    "sequence; the teacher takes feature vectors of shape (4,): drop --cutmix")
    assert not (tmp_path / "s.pt").exists()
    # --cutmix 0 (off) is what such a run does: accepted
    from synth.distill import DistillConfig
    from synth.workflows import distill_checkpoint
    result = distill_checkpoint(teacher, "mlp_small", tmp_path / "s.pt",
                                DistillConfig(cutmix=0.0, rounds=1, images_per_round=6,
                                              min_steps=0, device="cpu"),
                                data_free=True, iterations=2, given=("cutmix",))
    assert result["checkpoint"] == str(tmp_path / "s.pt")
