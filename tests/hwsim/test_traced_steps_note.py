"""SPRING's price of a recurrent model on more steps than hwsim traces (STEPS_TRACED, h306)
estimates the untraced steps' activation sparsity from the traced ones; the report said
nothing of it.  ``price_report`` now says so (``spring_steps_note``), and only then."""
from hwsim import price_report
from hwsim.recurrent import STEPS_TRACED
from synth.models import build


def _report(steps: int, spring: bool = True) -> dict:
    model = build("lstm32", (3, steps), 2).eval()
    return price_report(model, (3, steps), spring=spring)


def test_a_sequence_longer_than_the_traced_steps_says_its_sparsity_is_estimated():
    note = _report(STEPS_TRACED + 44)["spring_steps_note"]
    assert f"runs {STEPS_TRACED + 44:,} steps" in note and f"first {STEPS_TRACED}" in note
    assert "other 44 is the traced steps' mean" in note


def test_no_note_where_every_step_was_traced_or_spring_is_not_asked():
    assert "spring_steps_note" not in _report(STEPS_TRACED)
    assert "spring_steps_note" not in _report(STEPS_TRACED + 44, spring=False)
