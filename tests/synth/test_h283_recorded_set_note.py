"""``nnsynth eval`` without --dataset reads the data set its checkpoint records; where that
is a file or folder (``csv:<path>``...), the checkpoint chose what is read -- a crafted one
can name any file the user can read -- and nothing said so before the result (helper h283,
from h278's probe).  The file read is now named on stderr (a note); a registry set (iris)
is not, and --dataset is the user's own choice."""
import numpy as np

from synth.checkpoint import save_checkpoint
from synth.data import load_dataset
from synth.models import build
from synth.workflows import evaluate_checkpoint


def _csv_checkpoint(tmp_path):
    rng = np.random.default_rng(0)
    rows = ["a,b,label"] + [f"{rng.normal():.4f},{rng.normal():.4f},{'xy'[i % 2]}"
                            for i in range(60)]
    path = tmp_path / "two.csv"
    path.write_text("\n".join(rows) + "\n")
    data = load_dataset(f"csv:{path}")
    model = build({"family": "mlp", "hidden": [4]}, data.input_shape, data.num_classes)
    ckpt = tmp_path / "m.pt"
    save_checkpoint(ckpt, model, dataset=data.metadata(), metrics={})
    return ckpt, path


def test_the_recorded_file_read_is_named(tmp_path):
    ckpt, path = _csv_checkpoint(tmp_path)
    result, notes = evaluate_checkpoint(ckpt)
    assert notes[0] == (f"note: reading {path}, the data set the checkpoint records "
                        f"(csv:{path}); --dataset scores another"), notes
    assert result["dataset"] == f"csv:{path}"
    _, given = evaluate_checkpoint(ckpt, f"csv:{path}")   # the user's own choice: no note
    assert not any("the data set the checkpoint records" in n for n in given), given


def test_a_registry_set_is_not_noted(tmp_path):
    data = load_dataset("iris")
    model = build({"family": "mlp", "hidden": [4]}, data.input_shape, data.num_classes)
    save_checkpoint(tmp_path / "m.pt", model, dataset=data.metadata(), metrics={})
    _, notes = evaluate_checkpoint(tmp_path / "m.pt")
    assert not any("the data set the checkpoint records" in n for n in notes), notes
