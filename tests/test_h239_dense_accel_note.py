"""``nnsynth hwsim eval`` says that the accelerator model multiplies zeros.

The analytical accelerator (``hwsim.accel``) is a dense array: a 75%-pruned mlp_small cost
668 cycles, as the dense one, and nothing in the output or the docs said why (SPRING
prices the sparsity).  A model with zero weights now gets a note (and ``zero_weights`` in
--json); a dense one's output is as it was."""
import torch

from synth.checkpoint import save_checkpoint
from synth.masked import attach_masks, masks_of, random_masks
from synth.models import build
from tests._cli import json_result, run


def _checkpoints(tmp_path):
    torch.manual_seed(0)
    model = build("mlp_small", (1, 8, 8), 10)
    save_checkpoint(tmp_path / "dense.pt", model)
    attach_masks(model, random_masks(model, 0.25, seed=0))
    save_checkpoint(tmp_path / "pruned.pt", model, masks=masks_of(model))
    return tmp_path / "dense.pt", tmp_path / "pruned.pt"


def test_a_pruned_model_is_priced_dense_and_the_output_says_so(tmp_path):
    dense, pruned = _checkpoints(tmp_path)
    d = json_result(run(["-q", "hwsim", "eval", "--model", str(dense), "--json"]))
    p = json_result(run(["-q", "hwsim", "eval", "--model", str(pruned), "--json"]))
    assert p["cycles"] == d["cycles"]           # the figure itself is unchanged: dense
    assert "note" not in d and "zero_weights" not in d
    assert p["zero_weights"] > 0.7 * 6464 and "dense array" in p["note"]
    human = run(["-q", "hwsim", "eval", "--model", str(pruned)]).output
    assert human.splitlines()[1].startswith("note: the accelerator model is a dense array")
    assert "note:" not in run(["-q", "hwsim", "eval", "--model", str(dense)]).output


def test_the_docs_say_the_accelerator_is_dense():
    import pathlib
    root = pathlib.Path(__file__).parents[1]
    for page in ("README.md", "docs/cli.md"):
        text = " ".join((root / page).read_text().split())
        assert "multiplies zero weights" in text, page
