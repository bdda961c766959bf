"""A resumed amortized synthesis (``nnsynth invert --method amortized`` rerun into its --out)
reads the generator.pt it saved (helper h278).  One of other shapes (another teacher's, an
edited one) was handed to the pairs and its load failed there: a RayTaskError traceback
('size mismatch for lo') after the actors had started.  Its weights are now checked against
this job's generator in the driver: other names, shapes or kinds, or NaN, are one line naming
the file.  No Ray: the check is the driver's."""
import pytest
import torch

from cluster.pairs import GENERATOR, _saved_generator, expected_generator
from synth.amortized import AmortizedConfig
from synth.errors import UserError
from synth.inversion import InversionConfig
from synth.models import build

META = {"name": "iris", "input_shape": [4], "num_classes": 3, "mean": [0.0] * 4,
        "std": [1.0] * 4, "value_range": [[0.0] * 4, [1.0] * 4]}


@pytest.fixture(scope="module")
def expected():
    teacher = build({"family": "mlp", "hidden": [16], "bn": True}, (4,), 3)
    amortized = AmortizedConfig.from_inversion(InversionConfig(method="amortized"))
    return expected_generator(teacher, amortized, META)


def _saved(tmp_path, state):
    torch.save({"state_dict": state, "stats": {"steps": 3}}, tmp_path / GENERATOR)
    return tmp_path


def _changed(expected, name, value):
    return {**expected, name: value}


CASES = {
    "shape": (lambda e: _changed(e, "lo", torch.zeros(3, 3)),
              "its lo is a float32 tensor of shape (3, 3), where a float32 tensor of shape (4,)"),
    "dtype": (lambda e: _changed(e, "lo", e["lo"].double()), "its lo is a float64 tensor"),
    "missing": (lambda e: {k: v for k, v in e.items() if k != "lo"}, "it lacks the weight lo"),
    "extra": (lambda e: _changed(e, "evil", torch.zeros(1)), "it holds the weight evil"),
    "nan": (lambda e: _changed(e, "lo", torch.full_like(e["lo"], float("nan"))),
            "its lo holds NaN or infinite values"),
    "not-tensor": (lambda e: _changed(e, "lo", [1, 2]), "its lo is list"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_saved_generator_of_another_kind_is_one_line(tmp_path, expected, case):
    change, phrase = CASES[case]
    out = _saved(tmp_path, change(expected))
    with pytest.raises(UserError) as e:
        _saved_generator(out, expected)
    text = str(e.value)
    assert "\n" not in text and str(out / GENERATOR) in text and phrase in text, text


def test_the_jobs_own_generator_is_resumed(tmp_path, expected):
    state, stats = _saved_generator(_saved(tmp_path, expected), expected)
    assert set(state) == set(expected) and stats == {"steps": 3, "resumed": True}
