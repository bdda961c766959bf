"""synth.synthesis: the method dispatch and the set-level selection (``candidates``)."""
import pytest
import torch

from synth.errors import ConfigError
from synth.inversion import InversionConfig, balanced_labels, settings_for
from synth.synthesis import cover_select, synthesize_inputs
from tests.synth._tiny import tiny_teacher


def test_cover_select_spreads_over_the_hits():
    """Greedy k-center: the first pick is the hit nearest the hits' mean, each next the hit
    farthest from those picked; misses only fill up when too few hit."""
    p = torch.tensor([[0.0, 0.0], [0.1, 0.0], [5.0, 5.0], [5.1, 5.0], [-5.0, 5.0], [0.0, 0.2]])
    assert cover_select(p, torch.ones(6, dtype=torch.bool), 3).tolist() == [5, 3, 4]
    # the two nearly equal corners are not both picked before the third one
    assert sorted(cover_select(p, torch.ones(6, dtype=torch.bool), 3).tolist()) != [2, 3, 5]
    hits = torch.tensor([True, False, True, False, False, False])
    assert cover_select(p, hits, 3).tolist() == [0, 2, 1]
    assert cover_select(p, hits, 2).tolist() == [0, 2]


def test_candidates_select_per_class(digits):
    """``candidates`` = 2: twice the inputs are synthesized, and the kept ones carry the
    requested labels in the requested order, are hits where enough candidates hit, and come
    from the candidates (same stats, fidelity recounted on the kept set)."""
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        teacher = tiny_teacher(digits)[0]
        pr = digits.pixel_range()
        config = settings_for(teacher, value_range=pr, device="cpu", iterations=30,
                              min_iterations=0, batch_size=40)
        labels = balanced_labels(20, 10)
        one = synthesize_inputs(teacher, labels, config, pixel_range=pr, seed=0)
        two = synthesize_inputs(teacher, labels, config.replace(candidates=2.0),
                                pixel_range=pr, seed=0)
    finally:
        torch.set_num_threads(old)
    assert "candidates" not in one.stats and two.stats["candidates"] == 40
    assert torch.equal(two.labels, labels) and two.images.shape == one.images.shape
    with torch.no_grad():
        pred = teacher(two.images).argmax(1)
    assert two.stats["fidelity"] == (pred == labels).float().mean().item()
    assert two.stats["missed"] == int((pred != labels).sum())
    assert two.fidelity >= one.fidelity
    with pytest.raises(ConfigError, match="candidates"):
        InversionConfig(candidates=0.5)
