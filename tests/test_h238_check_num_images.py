"""`nnsynth run --check` refuses synthesis.num_images below the data set's classes (h238).

Before: a config with synthesis.num_images 5 on digits (10 classes) was 'valid' under
--check; the run then started Ray and failed in the synthesis stage with 'error:
num_images must be >= the number of classes (10), got 5', naming no config key.
"""
import pytest

from deploy.pipeline import check_run
from deploy.run_config import RunConfig
from synth.errors import UserError

TEACHER = {"dataset": "digits", "model": '{"family": "mlp", "hidden": [16], "bn": true}'}


def _config(num_images):
    return RunConfig.from_dict({"name": "few", "teacher": TEACHER,
                                "synthesis": {"num_images": num_images, "student": ""},
                                "search": {"enabled": False}, "refine": {"enabled": False}})


def test_check_refuses_fewer_images_than_classes():
    with pytest.raises(UserError, match=r"synthesis\.num_images must be >= the number of "
                                        r"classes of digits \(10.*got 5"):
        check_run(_config(5))


def test_check_takes_one_image_a_class():
    assert "synthesis" in check_run(_config(10))
