"""A data set named by a checkpoint (not by the user) is loaded without its errors quoting
the file: a crafted checkpoint recording csv:/etc/passwd made `nnsynth eval --model` print
one of that file's lines ("Expected 1 columns, got 4: postgres:x:101:...").  The user's own
file (--dataset) is still quoted by a short cell at most; a parse error names the line and
its field counts, never the row."""
import pytest

from synth.checkpoint import save_checkpoint
from synth.data import load_dataset
from synth.errors import UserError
from synth.models import build
from tests._cli import one_error_line, run

SECRET = "SECRET_TOKEN_h172"

FILES = {   # name -> text: each fails to load as a 4-feature, 3-class table
    "passwd.txt": f"root:x:0:0:root:/root:/bin/bash\n{SECRET}:x:1:1:a,b,c:/:/bin/sh\n",
    "cell.csv": f"a,b,c,d,label\n1,2,3,4,0\n{SECRET},2,3,4,1\n5,6,7,8,2\n",
    "fields.csv": f"a,b,c,d,label\n1,2,3,4,0\n1,2,3,4,5,{SECRET}\n5,6,7,8,2\n",
    "header.txt": f"{SECRET}=1\nsecond line\nthird line\n",
    "label.csv": f"a,b,c,d,label\n1,2,3,4,0.5{SECRET}\n" + "1,2,3,4,0.5\n" * 6,
    "series.ts": f"{SECRET} not a header\n@data\n",
    "labels.ts": f"@classLabel true a b\n@data\n1,2,3:a\n1,2,3:{SECRET}\n",
}


def _checkpoint(path, dataset: str):
    """A tiny 4-input, 3-class MLP whose metadata records ``dataset`` (a crafted file)."""
    save_checkpoint(path, build({"family": "mlp", "hidden": [4]}, (4,), 3),
                    dataset={"name": dataset, "input_shape": [4], "num_classes": 3,
                             "mean": [0.0] * 4, "std": [1.0] * 4, "split_seed": 0})


@pytest.mark.parametrize("file", sorted(FILES))
def test_a_checkpoints_recorded_set_is_named_never_quoted(tmp_path, file):
    f = tmp_path / file
    f.write_text(FILES[file])
    name = f"{'ts' if file.endswith('.ts') else 'csv'}:{f}"
    _checkpoint(tmp_path / "crafted.pt", name)
    line = one_error_line(run(["eval", "--model", str(tmp_path / "crafted.pt")]))
    assert str(f) in line and "does not load here" in line, line
    assert SECRET not in line and "root:x" not in line, line


def test_the_users_own_file_is_quoted_by_a_short_cell_only(tmp_path):
    f = tmp_path / "cell.csv"
    f.write_text(FILES["cell.csv"])
    with pytest.raises(UserError, match=f"column 'a' must hold numbers.*'{SECRET}'"):
        load_dataset(f"csv:{f}")                    # the user's file: its cell, quoted
    with pytest.raises(UserError, match="column #1 must hold numbers.*has text \\(data row 2"):
        load_dataset(f"csv:{f}", recorded=True)     # a checkpoint's: its number only
    f.write_text(FILES["fields.csv"])
    for recorded in (False, True):   # a row is no cell: named by its line, in either case
        with pytest.raises(UserError) as e:
            load_dataset(f"csv:{f}", recorded=recorded)
        assert str(e.value).endswith("line 3 has 6 fields, expected 5 (as many as its first "
                                     "row)"), e.value
    f.write_text("a,b,label\n" + "".join(f"{i},{i % 3},{'pq'[i % 2]}\n" for i in range(30)))
    assert load_dataset(f"csv:{f}", recorded=True).class_names == ["p", "q"]   # it loads
