"""The test split chooses nothing (helper 271): ``distill_checkpoint`` of a teacher whose data
set no longer loads reports the student's agreement with the teacher on the synthesized
validation slice (``synthetic_agreement``, helper 177) and trained with that slice as its
validation split too.  With ``keep_best`` the epoch kept was chosen on the very inputs the
agreement was then measured on.  The slice is now dealt in two where the epoch is chosen on
it (``synth.workflows.agreement_set``): one share selects, the other is reported.

No Ray: ``synth.train.fit`` is the trainer (given through ``fit_fn``, as the CLI gives
``cluster.train.ray_fit``); a tiny wine MLP and a 'synthesized' set of its own training
rows in the teacher's Parquet layout (tests/synth/test_h177_no_real_data.py's ``moved``)."""
import logging

import pytest
import torch

from synth.checkpoint import load_model, synthesized_for
from synth.distill import DistillConfig
from synth.train import fit
from synth.workflows import agreement_set, distill_checkpoint
from tests.synth._tiny import teacher_of_a_moved_csv



@pytest.fixture(scope="module")
def moved(tmp_path_factory):
    """(teacher.pt, its synthesized set, its data set's name): the csv it was trained on
    moved away."""
    return teacher_of_a_moved_csv(tmp_path_factory.mktemp("h271_agreement"))


def _rows(x: torch.Tensor) -> set:
    return {tuple(r.tolist()) for r in x}


@pytest.mark.parametrize("keep_best", [True, False])
def test_the_epoch_is_not_chosen_on_the_inputs_the_agreement_is_reported_on(
        moved, tmp_path, caplog, keep_best):
    teacher, synth_dir, _ = moved
    seen = []

    def recording_fit(model, data, config, **kwargs):   # the trainer, given its data set
        seen.append((data, config.keep_best))
        return fit(model, data, config, **kwargs)
    config = DistillConfig(epochs=2, min_steps=0, batch_size=32, seed=0, device="cpu",
                           progress=False, keep_best=keep_best)
    with caplog.at_level(logging.WARNING):
        m = distill_checkpoint(teacher, {"family": "mlp", "hidden": [8]}, tmp_path / "s.pt",
                               config, synth_dir=synth_dir, fit_fn=recording_fit)
    held = synthesized_for(load_model(teacher), synth_dir, seed=0).x_val
    [(data, chose)] = seen
    assert chose is keep_best and len(held) >= 2
    reported = len(data.x_test)
    if keep_best:   # selected on one share, reported on the other: together the slice
        assert not _rows(data.x_val) & _rows(data.x_test)
        assert _rows(data.x_val) | _rows(data.x_test) == _rows(held)
        assert reported == len(held) // 2
    else:           # nothing chosen on it: the whole slice is reported, as before
        assert torch.equal(data.x_test, held) and torch.equal(data.x_val, held)
    assert 0 <= m["synthetic_agreement"] <= 1
    assert any(f"on the {reported} synthesized inputs held out from its training"
               in r.getMessage() for r in caplog.records)


def test_the_agreement_labels_are_the_teachers_on_the_reported_inputs(moved):
    teacher, synth_dir, _ = moved
    model = load_model(teacher)
    found = synthesized_for(model, synth_dir, seed=0)
    split = agreement_set(found, model, selects=True)
    with torch.no_grad():
        assert torch.equal(split.y_test, model(split.x_test).argmax(1))
    assert torch.equal(split.y_val, found.y_val[0::2])   # the set's own labels, as before
