"""A family's name where a model is asked for, and a language model's wrong-kind error.

``--model mlp`` said "unknown model 'mlp'" though ``nnsynth models`` lists the family mlp;
``hwsim eval --spec '{"family": "lm"}'`` on an image shape said the lm family "takes feature
vectors (features,)": its rank-1 sample is token ids."""
import pytest

from synth.errors import UserError
from synth.models.registry import check_input_rank, list_families, resolve_spec


@pytest.mark.parametrize("family", ["mlp", "lm", "lstm"])
def test_a_family_name_says_it_is_a_family_and_how_to_spell_its_spec(family):
    assert family in list_families()
    with pytest.raises(UserError) as e:
        resolve_spec(family)
    assert f"model '{family}' is a family" in str(e.value)
    assert f'{{"family": "{family}"}}' in str(e.value)
    assert resolve_spec(f'{{"family": "{family}"}}')["family"] == family


def test_a_language_model_takes_token_ids_not_features():
    import synth.models  # noqa: F401  (registers the families)
    with pytest.raises(UserError) as e:
        check_input_rank("lm", (1, 28, 28))
    assert "takes sequences of token ids (steps,)" in str(e.value)
    with pytest.raises(UserError, match=r"takes sequences \(channels, steps\)"):
        check_input_rank("lstm", (1, 28, 28))   # the other families keep INPUT_KINDS' words
