"""A resumed amortized (or ADI) synthesis (``nnsynth invert --method amortized`` rerun into its --out)
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


# --------------------------------------------------------------------------- ADI students
def _student(tmp_path, hidden, **metrics):
    from cluster.pairs import STUDENTS
    from synth.checkpoint import save_checkpoint
    model = build({"family": "mlp", "hidden": [hidden]}, (4,), 3)
    (tmp_path / STUDENTS).mkdir(exist_ok=True)
    save_checkpoint(tmp_path / STUDENTS / "pair-0.pt", model, metrics=metrics)
    return build({"family": "mlp", "hidden": [8]}, (4,), 3).state_dict()


@pytest.mark.parametrize("hidden, metrics, phrase", [
    # a RayTaskError traceback in the pair ('Error(s) in loading state_dict for MLP')
    (12, {"kd_steps": 2}, "its net.1.weight is a float32 tensor of shape (12, 4), where a "
                          "float32 tensor of shape (8, 4) is due"),
    # "invalid literal for int() with base 10: 'abc'"
    (8, {"kd_steps": "abc"}, "its metrics' kd_steps is 'abc', not a count"),
    (8, {"kd_steps": -3}, "kd_steps is -3"),
])
def test_a_saved_adi_student_of_another_kind_is_one_line(tmp_path, hidden, metrics, phrase):
    from cluster.pairs import _saved_student
    expected = _student(tmp_path, hidden, **metrics)
    with pytest.raises(UserError) as e:
        _saved_student(tmp_path, 0, expected)
    text = str(e.value)
    assert "\n" not in text and "pair-0.pt" in text and phrase in text, text


def test_the_jobs_own_student_is_resumed(tmp_path):
    from cluster.pairs import _saved_student
    expected = _student(tmp_path, 8, kd_steps=4)
    state, steps = _saved_student(tmp_path, 0, expected)
    assert steps == 4 and set(state) == set(expected)


def _kd_state(tmp_path, change=None):
    """A pair's KD state as PairActor saves it (an SGD of momentum over an mlp [8] student),
    its optimizer state changed by ``change``; the student's parameter shapes."""
    from cluster.pairs import STUDENTS
    student = build({"family": "mlp", "hidden": [8]}, (4,), 3)
    opt = torch.optim.SGD(student.parameters(), lr=0.1, momentum=0.9)
    student(torch.randn(5, 4)).sum().backward()
    opt.step()
    state = opt.state_dict()
    if change is not None and not change.__name__.startswith("_kd_"):
        change(state)
    (tmp_path / STUDENTS).mkdir(exist_ok=True)
    saved = {"kd_steps": 2, "optimizer": state, "sampler": torch.Generator().get_state(),
             "rng": torch.get_rng_state(), "augment": None, "shards": [0]}
    if change is not None and change.__name__.startswith("_kd_"):
        change(saved)
    torch.save(saved, tmp_path / STUDENTS / "pair-0.kd.pt")
    return [p.shape for p in student.parameters()]


def _fewer_params(state):
    state["param_groups"][0]["params"] = state["param_groups"][0]["params"][:1]


def _other_momentum(state):
    state["state"][0]["momentum_buffer"] = torch.zeros(7, 7)


def _kd_short_sampler(saved):
    saved["sampler"] = torch.zeros(4, dtype=torch.uint8)


def _kd_zero_rng(saved):
    saved["rng"] = torch.zeros(5056, dtype=torch.uint8)


@pytest.mark.parametrize("change, phrase", [
    # ValueError traceback from the pair's creation: 'a parameter group that doesn't match'
    (_fewer_params, "its parameter groups list 1 parameters, the student has 4"),
    # RuntimeError traceback at its first KD step: 'The size of tensor a (7) must match'
    (_other_momentum, "its momentum_buffer of parameter 0 is of shape (7, 7)"),
    # RuntimeError tracebacks from the pair: 'Expected a CPUGeneratorImplState of size
    # 5056', 'Invalid mt19937 state'
    (_kd_short_sampler, "its sampler is no random generator's state"),
    (_kd_zero_rng, "its rng is no random generator's state"),
])
def test_a_saved_kd_state_of_another_student_is_one_line(tmp_path, change, phrase):
    from cluster.pairs import _saved_kd_state
    params = _kd_state(tmp_path, change)
    with pytest.raises(UserError) as e:
        _saved_kd_state(tmp_path, 0, 2, params)
    text = str(e.value)
    assert "\n" not in text and "pair-0.kd.pt" in text and phrase in text, text


def test_the_jobs_own_kd_state_is_resumed(tmp_path):
    from cluster.pairs import _saved_kd_state
    params = _kd_state(tmp_path)
    assert _saved_kd_state(tmp_path, 0, 2, params)["shards"] == [0]
