"""Helper 248: a checkpoint's pickle is bounded at MAX_PICKLE_OPS opcodes, counted
(``synth.files.pickle_problem``, ~1 us each) before torch.load's Python unpickler reads them
(~2 us each).  The bound was 4,000,000, said to be far above the 'some 600,000' of the
largest checkpoint nnsynth writes; measured, that checkpoint (hlstm of MAX_LAYERS layers with
masks, 100,000 class names, 16,384 features) has 1,332,201, and a crafted checkpoint of
3.9 million small integers took 24 s and 550 MB before eval refused it.  The checkpoint bound
is now 2,700,000 (about twice the largest); training states, which hold the model twice,
Adam's moments and a row an epoch (4,007,382 measured: over the old bound), have their own,
MAX_STATE_PICKLE_OPS.  The first test failed before (the crafted file was read whole by
torch.load and refused later, for its missing spec keys, after 16 s)."""
import io
import pickletools
import zipfile

import torch
from click.testing import CliRunner

LIMIT = 2_700_000   # synth.checkpoint.MAX_PICKLE_OPS: about twice the largest checkpoint's 1,332,201


def _pickle(payload) -> bytes:
    buf = io.BytesIO()
    torch.save(payload, buf)
    with zipfile.ZipFile(io.BytesIO(buf.getvalue())) as z:
        return next(z.read(i) for i in z.infolist() if i.filename.endswith("data.pkl"))


def _ops(blob: bytes) -> int:
    return sum(1 for _ in pickletools.genops(blob))


def _payload(values: list) -> dict:
    return {"spec": {"family": "mlp"}, "state_dict": {}, "metrics": {"x": values}}


def _list_ops(n: int) -> int:
    """Opcodes ``n`` small ints add to a list in torch.save's pickle (the C pickler appends
    in batches of 1,000: MARK, the items, APPENDS; a list of one item, APPEND)."""
    if n == 1:
        return 2
    full, rest = divmod(n, 1000)
    return full * 1002 + (rest + 2 if rest else 0)


def _values_of(ops: int) -> list:
    """A list whose payload's pickle has exactly ``ops`` opcodes: small ints, and up to two
    distinct strings (two opcodes each, BINUNICODE and BINPUT) where ints cannot reach it."""
    base = _ops(_pickle(_payload([])))
    assert all(_ops(_pickle(_payload([0] * n))) == base + _list_ops(n)
               for n in (1, 2, 999, 1000, 1001, 2345))
    n = (ops - base) * 1000 // 1002 + 5
    while base + _list_ops(n) > ops:
        n -= 1
    extra = ops - base - _list_ops(n)
    assert 0 <= extra <= 2, extra
    values = [0] * n
    values[n - extra:] = ["s", "t"][:extra]
    tail = values[-2500:]
    assert _ops(_pickle(_payload(tail))) == base + _list_ops(2500) + extra
    return values


def test_a_checkpoint_one_opcode_over_the_bound_is_refused_before_torch_reads_it(tmp_path,
                                                                                monkeypatch):
    from deploy.cli.main import cli
    path = tmp_path / "crafted.pt"   # accepted by the former bound of 4,000,000
    torch.save(_payload(_values_of(LIMIT + 1)), path)
    monkeypatch.setattr(torch, "load", lambda *a, **k: (_ for _ in ()).throw(
        AssertionError("torch.load was reached")))
    r = CliRunner().invoke(cli, ["eval", "--model", str(path), "--dataset", "digits"])
    assert r.exit_code == 2, (r.exit_code, r.output, r.exception)
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and str(path) in lines[0], r.stderr
    assert f"more than {LIMIT:,} values" in lines[0], r.stderr


def _checkpoint_ops(tmp_path, layers: int):
    """Opcodes of the checkpoint of an hlstm of ``layers`` layers of width 1 with its masks
    (the family with the most tensors a layer) and a set of MAX_CLASSES class names and
    MAX_CSV_COLUMNS channels; and its path."""
    from synth.checkpoint import save_checkpoint
    from synth.masked import attach_masks
    from synth.models import build
    from synth.models.registry import MAX_CLASSES
    from synth.data_tables import MAX_CSV_COLUMNS as F
    model = attach_masks(build({"family": "hlstm", "hidden": [1] * layers, "gate_hidden": 1},
                               (F, 1), MAX_CLASSES))
    meta = {"name": "wide", "input_shape": [F, 1], "num_classes": MAX_CLASSES,
            "class_names": [f"class name number {i:06d}" for i in range(MAX_CLASSES)],
            "mean": [0.123456789 + i for i in range(F)], "std": [1.5 + i for i in range(F)],
            "split_seed": 0,   # (feature_names only for a table, which hlstm does not take)
            "value_range": [[-1.0 - i for i in range(F)], [1.0 + i for i in range(F)]]}
    path = save_checkpoint(tmp_path / f"big{layers}.pt", model, dataset=meta)
    with zipfile.ZipFile(path) as z:
        blob = next(z.read(i) for i in z.infolist() if i.filename.endswith("data.pkl"))
    return _ops(blob), path


def test_the_largest_checkpoint_nnsynth_writes_is_within_half_the_bound(tmp_path):
    # The opcodes grow by about the same count a layer (each layer's tensors and masks), so
    # two depths give the count at MAX_LAYERS to a few percent (measured whole: 1,332,201,
    # ~20 s to build and save 1,024 layers here; the line from 16 and 32 layers gives 2.5%
    # less: memo indices take longer opcodes as they grow); the deeper of the two loads.
    from synth.checkpoint import MAX_PICKLE_OPS, MAX_STATE_PICKLE_OPS, read_checkpoint
    from synth.models.registry import MAX_CLASSES, MAX_LAYERS
    (a, _), (b, path) = _checkpoint_ops(tmp_path, 16), _checkpoint_ops(tmp_path, 32)
    per_layer = (b - a) / 16
    largest = b + per_layer * (MAX_LAYERS - 32)
    assert per_layer > 0 and abs(largest - 1_332_201) < 0.05 * 1_332_201, (a, b, largest)
    assert MAX_PICKLE_OPS == LIMIT and 1_000_000 < 1.05 * largest <= LIMIT // 2 + 50_000, largest
    payload = read_checkpoint(path)
    assert len(payload["dataset"]["class_names"]) == MAX_CLASSES
    assert MAX_STATE_PICKLE_OPS >= 2 * 4_007_382 - 20_000   # its training state, measured
