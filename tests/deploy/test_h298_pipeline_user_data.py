"""`nnsynth run` on a user's own data (h298): what its checks say before any work.

A teacher without BatchNorm is refused before the teacher trains (synthesis inverts its
BatchNorm statistics); the line told the user to choose 'e.g. mlp_bn variants' -- a name
nnsynth does not have (the MLP with BatchNorm is lenet300_100_bn), likewise 'convnet_bn' and
'convnet1d_bn'.  It now names the family's variants that have BatchNorm, or a spec with
"bn": true where none is registered."""
import json

import pytest

from deploy.run_config import RunConfig
from deploy.stages import check_data
from synth.data import load_dataset
from synth.errors import ConfigError
from synth.models.registry import list_variants


def _refusal(model, dataset):
    config = RunConfig.from_dict({
        "name": "h298", "teacher": {"dataset": dataset, "model": model, "cache": ""},
        "synthesis": {"num_images": 64, "pairs": 1, "student": ""},
        "search": {"enabled": False}, "refine": {"enabled": False},
        "export": {"onnx": False, "price": False}})
    with pytest.raises(ConfigError) as e:
        check_data(config, ["teacher", "synthesis", "export"], load_dataset(dataset, seed=0))
    return str(e.value)


@pytest.mark.parametrize("model, dataset", [
    ("mlp_small", "iris"),
    (json.dumps({"family": "convnet", "widths": [4], "kernels": [3], "strides": [1],
                 "bn": False, "pool": "avg", "hidden": []}), "digits"),
    (json.dumps({"family": "convnet1d", "widths": [4], "kernels": [3], "strides": [1],
                 "bn": False, "pool": "avg", "hidden": []}), "basicmotions"),
])
def test_a_teacher_without_batchnorm_is_told_a_variant_that_exists(model, dataset):
    message = _refusal(model, dataset)
    assert "has no BatchNorm layers" in message and "\n" not in message
    named = [w.strip("(),.:;'\"") for w in message.split("e.g. ", 1)[1].split()]
    variants = list_variants()
    suggested = [w for w in named if w.endswith(("_bn", "_small", "_digits"))
                 or w in variants]
    assert suggested, message
    for name in suggested:
        assert name in variants, f"{name} is not a variant: {message}"
        assert variants[name].get("bn") is True, message
