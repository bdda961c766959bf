"""More hostile and malformed input files (after tests/test_hostile_inputs.py): each must be
refused with a one-line UserError naming the thing and what was expected, quickly and
without allocating from what a small file declares.  The library functions that read the
files are called directly (no CLI process, no Ray), so each test takes well under a second
or two."""
from __future__ import annotations

import pytest
import torch

from synth.errors import UserError


def _checkpoint(path, **changes):
    """A real checkpoint of a small MLP on iris-like data, with payload entries replaced:
    a callable value is called with the payload to edit it in place."""
    from synth.checkpoint import save_checkpoint
    from synth.models import build
    model = build({"family": "mlp", "hidden": [8]}, (4,), 3)
    meta = {"name": "iris", "input_shape": [4], "num_classes": 3, "class_names": ["a", "b", "c"],
            "mean": [0.0] * 4, "std": [1.0] * 4, "split_seed": 0}
    save_checkpoint(path, model, dataset=meta)
    payload = torch.load(path, weights_only=True)
    for key, value in changes.items():
        if callable(value):
            value(payload)
        else:
            payload[key] = value
    torch.save(payload, path)
    return path


# ----------------------------------------------------------------- specs: layer-count bombs
def test_resnet_depth_bomb_is_refused_before_building():
    """depths [10**9] at width 1: few parameters per block, so the parameter count (checked
    after the meta build) never stopped it; the build ran for ever."""
    from synth.models import resolve_spec
    with pytest.raises(UserError, match="1,000,000,000 layers; the limit is"):
        resolve_spec({"family": "resnet", "depths": [10 ** 9], "width": 1})
    with pytest.raises(UserError, match="the limit is"):   # spread over stages
        resolve_spec({"family": "resnet", "depths": [600, 600], "width": 1})
    resolve_spec({"family": "resnet", "depths": [200, 200, 200], "width": 16})  # ResNet-1202


def test_long_layer_list_is_refused_before_building():
    from synth.models import resolve_spec
    with pytest.raises(UserError, match="'hidden' lists 100,000 values"):
        resolve_spec({"family": "mlp", "hidden": [1] * 100_000})
    with pytest.raises(UserError, match="spec key '(widths|kernels|strides)' lists 2,000 values"):
        resolve_spec({"family": "convnet", "widths": [1] * 2000, "kernels": [1] * 2000,
                      "strides": [1] * 2000})


def test_checkpoint_with_layer_bomb_spec(tmp_path):
    """A 300 kB checkpoint whose spec lists 100,000 hidden layers: eval built them on the
    meta device for minutes before any check."""
    from synth.checkpoint import check_weights, read_checkpoint
    path = _checkpoint(tmp_path / "c.pt", spec={"family": "mlp", "hidden": [1] * 100_000})
    with pytest.raises(UserError, match="the limit is 1,024"):
        check_weights(read_checkpoint(path))
    path = _checkpoint(tmp_path / "r.pt", spec={"family": "resnet", "depths": [10 ** 9],
                                                "width": 1})
    with pytest.raises(UserError, match="layers; the limit is"):
        check_weights(read_checkpoint(path))


# ----------------------------------------------------------------- checkpoints: tensor kinds
def _set_weight(tensor):
    def edit(payload):
        payload["state_dict"]["net.1.weight"] = tensor
    return edit


@pytest.mark.parametrize("tensor, phrase", [
    (torch.empty(8, 4, device="meta"), "on the meta device"),          # was a traceback
    (torch.zeros(8, 4).to_sparse(), "sparse_coo tensor"),               # was a traceback
    (torch.zeros(8, 4, dtype=torch.complex64), "complex64"),       # imaginary part dropped
    (torch.full((8, 4), 1e300, dtype=torch.float64), "float64"),   # inf once float32
    (torch.zeros(8, 4, dtype=torch.int8), "int8"),
], ids=["meta", "sparse", "complex", "float64-overflow", "int8"])
def test_checkpoint_weight_of_another_kind(tmp_path, tensor, phrase):
    from synth.checkpoint import load_model
    path = _checkpoint(tmp_path / "c.pt", state=_set_weight(tensor))
    with pytest.raises(UserError, match=f"weight net.1.weight must be a dense float32 "
                                        f"tensor, got .*{phrase}"):
        load_model(path)


@pytest.mark.parametrize("mask, phrase", [
    (torch.ones(8, 4, dtype=torch.bool).to_sparse(), "sparse_coo bool"),   # was a traceback
    (torch.full((8, 4), 0.5), "strided float32"),   # scaled the weights by 0.5 silently
    (torch.empty(8, 4, dtype=torch.bool, device="meta"), "on the meta device"),
], ids=["sparse", "float", "meta"])
def test_checkpoint_mask_of_another_kind(tmp_path, mask, phrase):
    from synth.checkpoint import read_checkpoint

    def edit(payload):
        payload["masks"] = {"net.1": mask}
    path = _checkpoint(tmp_path / "c.pt", masks=edit)
    with pytest.raises(UserError, match=f"mask net.1 must be a dense bool tensor, got a .*{phrase}"):
        read_checkpoint(path)


def test_checkpoint_of_a_masked_model_still_loads(tmp_path):
    """The kinds save_checkpoint writes: float32 weights, int64 BatchNorm counters, bool
    masks (grow-and-prune's parametrized layers)."""
    from synth.checkpoint import load_model, save_checkpoint
    from synth.masked import attach_masks
    from synth.models import build
    model = build({"family": "mlp", "hidden": [8], "bn": True}, (4,), 3)
    mask = torch.ones(8, 4, dtype=torch.bool)
    mask[0] = False
    attach_masks(model, {"net.1": mask})
    save_checkpoint(tmp_path / "m.pt", model, masks={"net.1": mask})
    loaded = load_model(tmp_path / "m.pt")
    assert int((loaded.net[1].weight == 0).sum()) >= 4


# ----------------------------------------------------------------- .ts: padding bomb
def _ts(path, series_lines):
    path.write_text("@problemName p\n@timeStamps false\n@univariate true\n"
                    "@classLabel true a b c\n@data\n" + "".join(series_lines))
    return path


def test_ts_padding_bomb_is_refused(tmp_path):
    """One long series among many short ones: every series is left-padded to the longest, so
    a 2 MB file asked for 10**9 float32 values (6 GB, 78 s); here 400 kB asks for 20 M."""
    from synth.data import load_dataset
    lines = [",".join(["0"] * 200_000) + ":a\n"] + [f"1:{'abc'[i % 3]}\n" for i in range(99)]
    path = _ts(tmp_path / "pad.ts", lines)
    with pytest.raises(UserError, match="makes 20,000,000 values of 200,099 read, more than 16 "
                                        "times"):
        load_dataset(f"ts:{path}")


def test_ts_of_uneven_lengths_still_loads(tmp_path):
    from synth.data import load_dataset
    # values that vary (a set of one constant value is refused: nothing to learn from)
    lines = [",".join(str(k % 3) for k in range(5 + i % 20)) + f":{'abc'[i % 3]}\n"
             for i in range(60)]
    data = load_dataset(f"ts:{_ts(tmp_path / 'ok.ts', lines)}")
    assert tuple(data.input_shape) == (1, 24)


# ----------------------------------------------------------------- checkpoint extra: classes
def _cli(args):
    from click.testing import CliRunner
    from deploy.cli.main import cli
    return CliRunner().invoke(cli, [str(a) for a in args])


def _one_line_error(result, phrase):
    lines = [l for l in result.stderr.splitlines() if l.strip()]
    assert result.exit_code == 2 and len(lines) == 1 and lines[0].startswith("error:"), (
        result.exit_code, result.stderr, result.exception)
    assert phrase in lines[0], lines[0]


@pytest.mark.parametrize("classes, shown", [("abc", "'abc'"), ([0.5, 1.7, 0], "0.5"),
                                            ([0, None, 1], "None"), ([True, 0, 1], "True")],
                         ids=["string", "floats", "none", "bool"])
def test_continual_recorded_classes_must_be_class_numbers(tmp_path, classes, shown):
    """A checkpoint's extra.classes names the data-set classes of its outputs: 'abc' was a
    ValueError traceback (int('a')), floats were cut to other classes without a word."""
    def edit(payload):
        payload["extra"] = {"classes": classes}
    path = _checkpoint(tmp_path / "c.pt", extra=edit)
    r = _cli(["continual", "--model", path, "--new-dataset", "iris", "--new-classes", "2",
              "--method", "finetune", "--out", tmp_path / "out.pt"])
    _one_line_error(r, f"must be a list of class numbers, got {shown}")
    assert not (tmp_path / "out.pt").exists()


# ----------------------------------------------------------------- Parquet sets
def _parquet(folder, meta=None, x=None, label=None, name="part.parquet", raw_meta=None, rows=30):
    import json

    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq
    folder.mkdir(parents=True, exist_ok=True)
    meta = {"input_shape": [4], "num_classes": 3, "mean": [0.0] * 4, "std": [1.0] * 4,
            **(meta or {})}
    x = x if x is not None else pa.FixedSizeListArray.from_arrays(
        pa.array(np.random.default_rng(0).random(rows * 4, dtype=np.float32)), 4)
    label = label if label is not None else pa.array(np.arange(rows) % 3)
    table = pa.table({"x": x, "label": label}).replace_schema_metadata(
        {b"nnsynth": raw_meta if raw_meta is not None else json.dumps(meta).encode()})
    pq.write_table(table, folder / name)
    return f"parquet:{folder}"


def test_parquet_metadata_key_given_twice(tmp_path):
    """json keeps the last of two keys: num_classes 3 then 1000 made a 1000-class set."""
    from synth.data import load_dataset
    raw = (b'{"input_shape": [4], "num_classes": 3, "num_classes": 1000, '
           b'"mean": [0, 0, 0, 0], "std": [1, 1, 1, 1]}')
    with pytest.raises(UserError, match="gives the key 'num_classes' twice"):
        load_dataset(_parquet(tmp_path / "p", raw_meta=raw))


@pytest.mark.parametrize("column, values, shown", [
    ("x", [["1", "2", "3", "4"]] * 30, "list<element: string>"),   # parsed as numbers
    ("x", [[True, False, True, False]] * 30, "list<element: bool>"),   # read as 1.0 / 0.0
], ids=["x-strings", "x-bools"])
def test_parquet_column_types(tmp_path, column, values, shown):
    import pyarrow as pa
    from synth.data import load_dataset
    ref = _parquet(tmp_path / "p", **{column: pa.array(values)})
    with pytest.raises(UserError, match=f"column {column} must hold .*got '{shown}'"):
        load_dataset(ref)


def test_parquet_files_of_one_set_share_metadata(tmp_path):
    """Only the first file's metadata was read: a second shard with 10 classes and another
    normalization was loaded as if it had the first one's."""
    import numpy as np
    import pyarrow as pa
    from synth.data import load_dataset
    _parquet(tmp_path / "p", name="a.parquet")
    ref = _parquet(tmp_path / "p", {"num_classes": 10, "mean": [5.0] * 4}, name="b.parquet",
                   label=pa.array(np.arange(30) % 3))
    with pytest.raises(UserError, match="file b.parquet has another num_classes than a.parquet"):
        load_dataset(ref)


def test_parquet_shards_with_the_same_metadata_load(tmp_path):
    from synth.data import load_dataset
    _parquet(tmp_path / "p", name="a.parquet")
    data = load_dataset(_parquet(tmp_path / "p", name="b.parquet"))
    assert len(data.y_train) + len(data.y_val) == 60


def test_parquet_float_overflow_is_one_line(tmp_path):
    """1e300 in a float64 x column: refused as infinite, with no RuntimeWarning lines
    printed before the error."""
    import warnings

    import pyarrow as pa
    from synth.data import load_dataset
    ref = _parquet(tmp_path / "p", x=pa.array([[1e300, 2.0, 3.0, 4.0]] * 30))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(UserError, match="NaN or infinite values"):
            load_dataset(ref)


# ----------------------------------------------------------------- run and sweep names
@pytest.mark.parametrize("name", ["a\nb", "run\x1b[2J", "evil\u202etxt.yaml", "tab\there"],
                         ids=["newline", "escape", "bidi-override", "tab"])
def test_run_name_with_control_characters(tmp_path, name):
    """A run's name becomes its directory's name and is shown in one-line messages: a newline
    split them, an escape sequence cleared the terminal, a bidi override reversed text."""
    import json
    path = tmp_path / "c.yaml"
    path.write_text(f"name: {json.dumps(name)}\n")   # JSON strings are YAML strings
    r = _cli(["run", path, "--check"])
    _one_line_error(r, "name must be a file name (1-128 printable characters")
    sweep = tmp_path / "s.yaml"
    sweep.write_text(f"base: tiny\nruns:\n  - {{name: {json.dumps(name)}}}\n")
    _one_line_error(_cli(["sweep", sweep, "--check"]), "printable characters")


def test_run_name_with_spaces_and_accents_is_valid():
    from synth.config import check_name
    check_name("name", "my run é 1")


@pytest.mark.parametrize("version", ["abc", 999, 0, True], ids=["string", "newer", "zero", "bool"])
def test_checkpoint_format_version(tmp_path, version):
    """A checkpoint of another format version was read as if it were this one's."""
    from synth.checkpoint import read_checkpoint
    path = _checkpoint(tmp_path / "c.pt", format_version=version)
    with pytest.raises(UserError, match="format_version must be an integer in \\[1, 1\\]"):
        read_checkpoint(path)
