"""``nnsynth grow-prune`` of a language model said "compaction supports ... not 'lm'"; with
--no-compact, that its own text set is "for a language model".  It now says in one line that
the model is a language model and which command prunes one."""
import pytest

from synth.errors import UserError
from synth.grow_prune import GrowPruneSchedule
from synth.workflows import grow_prune_checkpoint
from tests._symbiotic import tiny_text


@pytest.mark.parametrize("compact", [True, False])
def test_a_language_model_is_named_as_one(tmp_path, compact):
    with pytest.raises(UserError, match=r"^the model is a language model \(family 'lm'\): "
                                        r"nnsynth grow-prune grows and prunes classifiers; "
                                        r"nnsynth symbiotic prunes"):
        grow_prune_checkpoint(tiny_text(tmp_path), '{"family": "lm"}', tmp_path / "gp.pt",
                              GrowPruneSchedule.recipe(), compact=compact, progress=False)
    assert not (tmp_path / "gp.pt").exists()
