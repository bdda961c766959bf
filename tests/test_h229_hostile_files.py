"""Hostile files given to nnsynth's loaders (helper h229): each is a one-line UserError that
names the file and what was expected, in bounded time and memory -- never a traceback later,
in a command that trusted what the loader let through.  Each file is made small in tmp_path,
and each case runs in well under a second."""
from __future__ import annotations

import sys
import zipfile
from pathlib import Path

import pytest
import torch

from synth.errors import UserError


def _one_line(e) -> str:
    text = str(e.value)
    assert "\n" not in text and "Traceback" not in text, text
    return text


# --------------------------------------------------------------------------- checkpoints
def _checkpoint(path: Path, **changes) -> Path:
    """A real checkpoint of a small MLP, with payload entries replaced by ``changes``."""
    from synth.checkpoint import save_checkpoint
    from synth.models import build
    model = build({"family": "mlp", "hidden": [8]}, (4,), 3)
    meta = {"name": "iris", "input_shape": [4], "num_classes": 3,
            "class_names": ["a", "b", "c"], "mean": [0.0] * 4, "std": [1.0] * 4}
    save_checkpoint(path, model, dataset=meta)
    payload = torch.load(path, weights_only=True)
    payload.update(changes)
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, 10_000))   # pickling the deep cases below
    try:
        torch.save(payload, path)
    finally:
        sys.setrecursionlimit(limit)
    return path


def _deep(n: int) -> list:
    x: list = []
    for _ in range(n):
        x = [x]
    return x


def _duplicate_entry(path: Path) -> Path:
    """A good checkpoint with a second data.pkl after it: torch.load reads the first, Python's
    zipfile (the checksum and kind checks) the second."""
    import pickle
    import warnings
    source = _checkpoint(path.with_name("source.pt"))
    with zipfile.ZipFile(source) as src, zipfile.ZipFile(path, "w") as z, \
            warnings.catch_warnings():
        warnings.simplefilter("ignore")   # zipfile's "Duplicate name"
        for info in src.infolist():
            z.writestr(info.filename, src.read(info.filename))
        pkl = next(i.filename for i in src.infolist() if i.filename.endswith("data.pkl"))
        z.writestr(pkl, pickle.dumps({"spec": {}, "state_dict": {}}, protocol=2))
    return path


CHECKPOINT_CASES = {
    # a value nested 1,500 deep under a key no check reads: loaded, then export's JSON
    # metadata (and any checkpoint saved from it: prune, distill) was a RecursionError traceback
    "dataset-nested-1500": (lambda p: _checkpoint(p, dataset={
        "name": "iris", "input_shape": [4], "num_classes": 3, "layout": _deep(1500)}),
        "dataset must hold plain values"),
    "metrics-nested-1500": (lambda p: _checkpoint(p, metrics={"history": _deep(1500)}),
                            "nested more than"),
    # save_checkpoint writes JSON values: a tensor here (10^10 values, 4 bytes in the file)
    # was kept as it was and handed on
    "metrics-tensor": (lambda p: _checkpoint(p, metrics={
        "acc": torch.zeros(1).expand(10 ** 5, 10 ** 5)}), "found a Tensor value"),
    "extra-tensor": (lambda p: _checkpoint(p, extra={"x": torch.zeros(3)}), "extra must hold"),
    "dataset-int-key": (lambda p: _checkpoint(p, dataset={"name": "iris", 5: "x"}),
                        "keys are strings"),
    # a mask of another shape than its layer's (one of 10^12 values in a byte) was refused
    # without naming the file
    "mask-giant": (lambda p: _checkpoint(p, masks={
        "net.1": torch.ones(1, dtype=torch.bool).expand(10 ** 6, 10 ** 6)}),
        "mask for layer 'net.1' has shape (1000000, 1000000)"),
    # a spec the model registry refuses: the refusal did not name the file
    "spec-family-number": (lambda p: _checkpoint(p, spec={"family": 5}),
                           "spec: unknown model family 5"),
    "spec-list": (lambda p: _checkpoint(p, spec=[1, 2]), "spec: model spec must be a dict"),
    # two entries of one name: each zip reader of nnsynth saw another file
    "zip-duplicate-entry": (_duplicate_entry, "twice"),
}


@pytest.mark.parametrize("case", sorted(CHECKPOINT_CASES))
def test_hostile_checkpoint_is_one_line(tmp_path, case):
    from synth.checkpoint import load_model
    make, phrase = CHECKPOINT_CASES[case]
    path = make(tmp_path / "c.pt")
    with pytest.raises(UserError) as e:
        load_model(path)
    text = _one_line(e)
    assert phrase in text and str(path) in text, text


def test_a_pickle_of_millions_of_values_is_refused_before_torch_reads_it(tmp_path,
                                                                          monkeypatch):
    # torch.load's pure-Python unpickler takes ~2 s and up to 80 MB a million values: a
    # 20 MB checkpoint whose metrics held 10 million zeros took 34-51 s and 800 MB to load.
    # The pickle's opcodes are counted first (MAX_PICKLE_OPS, 4 million); here the limit is
    # lowered so that the file stays small, and torch.load must not be reached.
    import synth.checkpoint as checkpoint
    path = _checkpoint(tmp_path / "c.pt", metrics={"x": [0] * 300_000})
    monkeypatch.setattr(checkpoint, "MAX_PICKLE_OPS", 200_000)
    monkeypatch.setattr(torch, "load", lambda *a, **k: pytest.fail("torch.load was reached"))
    with pytest.raises(UserError) as e:
        checkpoint.load_model(path)
    assert "more than 200,000 values" in _one_line(e) and str(path) in str(e.value)


@pytest.mark.parametrize("lie", [False, True], ids=["declared", "end-record-says-fewer"])
def test_a_zip_of_far_more_entries_than_tensors_is_refused(tmp_path, monkeypatch, lie):
    # 200,000 empty entries beside a real checkpoint (an 18 MB file) took 10 s and 130 MB to
    # refuse (zipfile's index, the checksums, torch); here the limit is lowered to 100 and
    # 300 entries are added.  'end-record-says-fewer': the end record declares 5 entries.
    import synth.checkpoint as checkpoint
    source = _checkpoint(tmp_path / "source.pt")
    path = tmp_path / "c.pt"
    with zipfile.ZipFile(source) as src, zipfile.ZipFile(path, "w") as z:
        for info in src.infolist():
            z.writestr(info.filename, src.read(info.filename))
        for i in range(300):
            z.writestr(f"source/extra/{i}", b"")
    if lie:
        raw = bytearray(path.read_bytes())
        at = raw.rfind(b"PK\x05\x06")
        raw[at + 8:at + 12] = (5).to_bytes(2, "little") * 2
        path.write_bytes(bytes(raw))
    monkeypatch.setattr(checkpoint, "MAX_ZIP_ENTRIES", 100)
    with pytest.raises(UserError) as e:
        checkpoint.load_model(path)
    assert "entries" in _one_line(e) and "at most 100" in str(e.value)


def test_a_plain_checkpoint_still_loads(tmp_path):
    from synth.checkpoint import load_model
    path = _checkpoint(tmp_path / "c.pt", metrics={"test_acc": 0.5, "history": [[1, 2.5]]},
                       extra={"note": None, "flag": True})
    assert load_model(path).num_classes == 3


# --------------------------------------------------------------------------- names given twice
# A name given twice was found by ``n in names[:i]`` for each i: quadratic.  A Parquet set's
# 100,000 class names (a 1 MB file) with the last a repeat took 275 s to refuse, a plain
# table of 20,000 columns 10 s and one of 100,000 columns minutes.  Each case takes well
# under a second now; TIME_BOUND leaves a wide margin for a loaded machine.
TIME_BOUND = 3.0


def _class_names_repeated(tmp_path: Path) -> str:
    import json

    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq
    k = 20_000
    meta = {"input_shape": [4], "num_classes": k, "mean": [0.0] * 4, "std": [1.0] * 4,
            "class_names": [f"c{i}" for i in range(k - 1)] + ["c0"]}
    x = pa.FixedSizeListArray.from_arrays(pa.array(np.zeros(40, np.float32)), 4)
    table = pa.table({"x": x, "label": pa.array(np.arange(10) % 3)})
    pq.write_table(table.replace_schema_metadata({b"nnsynth": json.dumps(meta).encode()}),
                   tmp_path / "part.parquet")
    return f"parquet:{tmp_path}"


def _wide_parquet(tmp_path: Path) -> str:
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq
    zeros = pa.array(np.zeros(1))
    names = [f"c{i}" for i in range(20_000)] + ["label"]
    pq.write_table(pa.Table.from_arrays([zeros] * len(names), names=names),
                   tmp_path / "part.parquet")
    return f"parquet:{tmp_path}"


@pytest.mark.parametrize("make, phrase", [(_class_names_repeated, "given twice"),
                                          (_wide_parquet, "columns; the limit is")],
                         ids=["parquet-20k-class-names", "parquet-20k-columns"])
def test_many_names_are_checked_in_linear_time(tmp_path, make, phrase):
    import time

    from synth.data import load_dataset
    name = make(tmp_path)
    start = time.perf_counter()
    with pytest.raises(UserError) as e:
        load_dataset(name)
    seconds = time.perf_counter() - start
    assert phrase in _one_line(e)
    assert seconds < TIME_BOUND, seconds


def test_first_repeated():
    from synth.data_registry import first_repeated
    assert first_repeated(["a", "b", "c"]) is None
    assert first_repeated(["a", "b", "a", "b"]) == 2
    assert first_repeated([]) is None


# --------------------------------------------------------------------------- run ledger
def _ledger(stage_entry: dict | None = None, started=None) -> dict:
    entry = {"fingerprint": "f", "outputs": {"checkpoint": "teacher.pt"}, "seconds": 1.0,
             "made_from": {"config": {}, "inputs": {}}}
    return {"version": 1, "stages": {"teacher": {**entry, **(stage_entry or {})}},
            "started": started if started is not None else {"teacher": {"config": {}}}}


LEDGER_CASES = {
    # nnsynth run read it as a mapping: AttributeError: 'list' object has no attribute 'get'
    "made-from-list": (_ledger({"made_from": [1]}), "made_from must be a mapping"),
    "made-from-inputs-list": (_ledger({"made_from": {"inputs": ["teacher"]}}),
                              "inputs must be a mapping"),
    "started-entry-string": (_ledger(started={"search": "x"}), "started.search"),
    # a skipped stage's files are read from here: a number was a TypeError, and an absolute
    # path or one with .. read a file outside the run directory
    "checkpoint-number": (_ledger({"outputs": {"checkpoint": 5}}), "outputs.checkpoint"),
    "checkpoint-absolute": (_ledger({"outputs": {"checkpoint": "/etc/passwd"}}),
                            "outputs.checkpoint"),
    "checkpoint-dotdot": (_ledger({"outputs": {"checkpoint": "../other/teacher.pt"}}),
                          "outputs.checkpoint"),
    "pareto-number": (_ledger({"outputs": {"checkpoint": "t.pt", "pareto": 7}}),
                      "outputs.pareto"),
    "summary-list": (_ledger({"outputs": {"checkpoint": "t.pt", "summary": [1]}}),
                     "outputs.summary must be a mapping"),
}


@pytest.mark.parametrize("case", sorted(LEDGER_CASES))
def test_a_malformed_ledger_is_one_line(tmp_path, case):
    import json

    from deploy.ledger import Ledger
    data, phrase = LEDGER_CASES[case]
    (tmp_path / "ledger.json").write_text(json.dumps(data))
    with pytest.raises(UserError) as e:
        Ledger(tmp_path)
    text = _one_line(e)
    assert phrase in text and "ledger.json is corrupt" in text, text


def test_a_ledger_nnsynth_wrote_still_loads(tmp_path):
    from deploy.ledger import Ledger
    ledger = Ledger(tmp_path)
    made_from = {"config": {"seed": 0}, "inputs": {"teacher": "abc"}}
    ledger.begin("teacher", made_from)
    ledger.record("teacher", "f", {"checkpoint": "teacher.pt", "parameters": 5}, 1.0,
                  made_from=made_from)
    ledger.begin("synthesis", made_from)
    ledger.record("synthesis", "g", {"dataset": "synthetic", "summary": {"images": 10},
                                     "image_grid": "images.png"}, 2.0, made_from=made_from)
    ledger.fail("search", RuntimeError("stopped"))
    again = Ledger(tmp_path)
    assert again.stages["teacher"]["outputs"]["checkpoint"] == "teacher.pt"
    assert again.failed["stage"] == "search"


# --------------------------------------------------------------------------- resume states
@pytest.fixture(scope="module")
def training_state(tmp_path_factory):
    """(a training state fit saved after epoch 1 of 3 on iris, the TrainConfig, the path)."""
    import synth.train as train
    from synth.data import load_dataset
    path = tmp_path_factory.mktemp("state") / "o.pt.resume"
    config = train.TrainConfig(epochs=3, progress=False)
    data = load_dataset("iris")

    class Stop(Exception):
        pass

    def stop(model, epoch):
        if epoch == 1:
            raise Stop

    saved = train.STATE_SECONDS
    train.STATE_SECONDS = 0.0   # a state after every epoch
    try:
        with pytest.raises(Stop):
            train.fit(_iris_mlp(data), data, config, state_path=path, on_epoch_end=stop)
    finally:
        train.STATE_SECONDS = saved
    return torch.load(path, weights_only=True), config, data, path


def _iris_mlp(data):
    from synth.models import build
    torch.manual_seed(0)
    return build({"family": "mlp", "hidden": [8]}, data.input_shape, data.num_classes)


def _first(d: dict) -> str:
    return next(iter(d))


STATE_CASES = {   # a state with the format and key of this training, and other values
    "epoch-text": (lambda s: s.update(epoch="x"), "epoch is 'x'"),         # TypeError
    "epoch-negative": (lambda s: s.update(epoch=-5), "epoch is -5"),         # ran 7 epochs
    "epoch-huge": (lambda s: s.update(epoch=10 ** 9), "integer in [0, 2]"),  # 'had finished'
    "seconds-text": (lambda s: s.update(seconds="x"), "seconds"),            # TypeError
    "model-list": (lambda s: s.update(model=[1]), "model is [1]"),           # TypeError
    "model-missing": (lambda s: s.pop("model"), "model is None"),            # KeyError
    "weight-shape": (lambda s: s["model"].update({_first(s["model"]): torch.zeros(3)}),
                     "cannot restore"),                                      # RuntimeError
    "generator-floats": (lambda s: s.update(generator=torch.zeros(3)), "cannot restore"),
    "optimizer-junk": (lambda s: s.update(optimizer={"state": 5, "param_groups": 7}),
                       "cannot restore"),                                    # TypeError
    "history-number": (lambda s: s.update(history=5), "history is 5"),       # AttributeError
    "best-list": (lambda s: s.update(best=[1]), "best is [1]"),              # TypeError
    "best-weights-shape": (lambda s: s["best"].update(state={"w": torch.zeros(2)}),
                           "best epoch's weights"),   # RuntimeError once the epochs ran
}


@pytest.mark.parametrize("case", sorted(STATE_CASES))
def test_a_training_state_of_other_values_is_one_line(training_state, tmp_path, case):
    import copy

    from synth.train import fit
    state, config, data, _ = training_state
    change, phrase = STATE_CASES[case]
    state = copy.deepcopy(state)
    change(state)
    path = tmp_path / "o.pt.resume"
    torch.save(state, path)
    with pytest.raises(UserError) as e:
        fit(_iris_mlp(data), data, config, state_path=path)
    text = _one_line(e)
    assert phrase in text and str(path) in text and "move it away" in text, text
    assert path.is_file()   # kept: nnsynth deletes nothing it did not write


def test_a_training_state_nnsynth_wrote_still_resumes(training_state, tmp_path, caplog):
    import logging

    from synth.train import fit
    state, config, data, _ = training_state
    path = tmp_path / "o.pt.resume"
    torch.save(state, path)
    with caplog.at_level(logging.WARNING):
        fit(_iris_mlp(data), data, config, state_path=path)
    assert "resuming the training from epoch 2 of 3" in caplog.text


def _save_like(path: Path, format_: str, key: str, state: dict) -> Path:
    from synth import resume
    resume.save_state(path, format_, key, state)
    return path


@pytest.fixture(scope="module")
def grow_prune_state(tmp_path_factory):
    """(a grow-prune state saved after step 1 of iris, a function making the run again)."""
    from synth.data import load_dataset
    from synth.grow_prune import GrowPruneSchedule, grow_and_prune
    data = load_dataset("iris")
    schedule = GrowPruneSchedule(prune_steps=3, retrain_epochs=1, device="cpu")
    path = tmp_path_factory.mktemp("gp") / "g.pt.resume"

    class Stop(Exception):
        pass

    def stop(model, row):
        if row["step"] == 1:
            raise Stop
    with pytest.raises(Stop):
        grow_and_prune(_iris_mlp(data), data, schedule, state_path=path, on_step=stop)

    def again(state_path):
        return grow_and_prune(_iris_mlp(data), data, schedule, state_path=state_path)
    return torch.load(path, weights_only=True), again


@pytest.mark.parametrize("change, phrase", [
    (lambda s: s.update(step=-10 ** 9), "step is"),          # ran ~10^9 steps
    (lambda s: s.update(stopped="no"), "stopped is 'no'"),   # 'no' is true: stopped early
    (lambda s: s.update(floor="x"), "floor is 'x'"),         # TypeError
    (lambda s: s.update(history=[1]), "history"),            # TypeError
    (lambda s: s.update(model={"w": torch.zeros(2)}), "cannot restore"),   # RuntimeError
], ids=["step", "stopped", "floor", "history", "model"])
def test_a_grow_prune_state_of_other_values_is_one_line(grow_prune_state, tmp_path, change,
                                                        phrase):
    import copy
    state, again = grow_prune_state
    state = copy.deepcopy(state)
    change(state)
    path = tmp_path / "g.pt.resume"
    torch.save(state, path)
    with pytest.raises(UserError) as e:
        again(path)
    assert phrase in _one_line(e) and path.is_file()


def test_a_grow_prune_state_nnsynth_wrote_still_resumes(grow_prune_state, tmp_path, caplog):
    import logging
    state, again = grow_prune_state
    path = tmp_path / "g.pt.resume"
    torch.save(state, path)
    with caplog.at_level(logging.WARNING):
        again(path)
    assert "resuming grow-prune after step 1" in caplog.text


@pytest.mark.parametrize("tensors, phrase", [
    ([torch.zeros(5, 9), torch.zeros(5, dtype=torch.long)], "inputs of shape (9,)"),
    ([torch.full((5, 4), float("nan")), torch.zeros(5, dtype=torch.long)], "not finite"),
    ([torch.zeros(5, 4), torch.zeros(3, dtype=torch.long)], "labels of another number"),
    ([], "no inputs"),
    ("abc", "tensors is 'abc'"),
], ids=["shape", "nan", "labels", "empty", "text"])
def test_a_kept_synthesis_of_other_inputs_is_one_line(tmp_path, tensors, phrase):
    # prune and continual fine-tuned on whatever the state held (a shape error traceback,
    # a NaN model), or unpacked its tensors into a ValueError traceback
    from synth.resume import settings_key
    from synth.workflows import SYNTHESIS_STATE, kept_synthesis
    from synth.data import load_dataset
    model = _iris_mlp(load_dataset("iris"))
    model.checkpoint_info = {"checksum": "abc"}
    path = tmp_path / "s.resume"
    _save_like(path, SYNTHESIS_STATE, settings_key({"a": 1}, "abc"),
               {"tensors": tensors, "summary": None})
    with pytest.raises(UserError) as e:
        kept_synthesis(path, model, {"a": 1}, lambda: pytest.fail("synthesized again"))
    assert phrase in _one_line(e) and path.is_file()


def test_a_kept_synthesis_nnsynth_wrote_is_reused(tmp_path):
    from synth.data import load_dataset
    from synth.workflows import kept_synthesis
    model = _iris_mlp(load_dataset("iris"))
    model.checkpoint_info = {"checksum": "abc"}
    made = (torch.zeros(5, 4), torch.zeros(5, dtype=torch.long))
    path = tmp_path / "s.resume"
    kept_synthesis(path, model, {"a": 1}, lambda: (made, {"method": "x"}))
    (x, y), summary = kept_synthesis(path, model, {"a": 1}, lambda: pytest.fail("again"))
    assert x.shape == (5, 4) and summary["resumed"]


@pytest.mark.parametrize("done, phrase", [
    (5, "done is 5"),                                         # TypeError in json.dumps
    ("[1, 2]", "cannot restore"),                             # TypeError: list indices
    ("{\"rows\": {\"a\": 1}, \"histories\": {}}", "cannot restore"),   # AttributeError
    ("[" * 100_000 + "]" * 100_000, "cannot restore"),        # RecursionError
], ids=["number", "list", "row-number", "deep"])
def test_a_diabdeep_state_of_other_values_is_one_line(tmp_path, done, phrase):
    from synth.diabdeep import STATE_FORMAT, DiabDeepConfig, _Done
    from synth.data import load_dataset
    data = load_dataset("iris")
    config = DiabDeepConfig()
    path = tmp_path / "d.resume"
    first = _Done(path, config, False, data)
    first.add("mlp", {"model": "mlp"}, None)        # a state with this run's key
    state = torch.load(path, weights_only=True)
    _save_like(path, STATE_FORMAT, state["key"], {"done": done})
    with pytest.raises(UserError) as e:
        _Done(path, config, False, data)
    assert phrase in _one_line(e) and path.is_file()


@pytest.mark.parametrize("result, phrase", [
    ("x", "result is 'x'"),                                     # returned as it was
    ({"spec": {}, "state": {}, "parameters": 1, "val_perplexity": "low",
      "test_perplexity": 1.0}, "val_perplexity is 'low'"),      # compared: TypeError
    ({"spec": "SPEC", "state": {"w": torch.zeros(2)}, "parameters": 1,
      "val_perplexity": 2.0, "test_perplexity": 2.0}, "cannot restore"),   # RuntimeError
    ({"spec": {"family": "lm", "cell": "lstm", "embed": 10 ** 6, "hidden": [10 ** 6],
               "tied": True, "dropout": 0.0}, "state": {}, "parameters": 1,
      "val_perplexity": 2.0, "test_perplexity": 2.0}, "another spec"),    # built: 8 GB
], ids=["text", "perplexity-text", "weights", "other-spec"])
def test_a_kept_candidate_of_other_values_is_one_line(tmp_path, result, phrase):
    from synth.lm import LMTrainConfig
    from synth.symbiotic import CANDIDATE_FORMAT, kept_candidates, train_candidate
    from synth.text import text_dataset
    data = text_dataset("t", [f"w{i % 7}" for i in range(400)], min_count=1)
    config = LMTrainConfig(epochs=1, progress=False)
    spec = {"family": "lm", "cell": "lstm", "embed": 4, "hidden": [4], "tied": True,
            "dropout": 0.0}
    path, key = kept_candidates(tmp_path, data, config)(spec)
    if isinstance(result, dict) and result["spec"] == "SPEC":
        result = {**result, "spec": spec}
    _save_like(Path(path), CANDIDATE_FORMAT, key, {"result": result})
    with pytest.raises(UserError) as e:
        train_candidate(spec, data, config, keep=(path, key))
    assert phrase in _one_line(e) and Path(path).is_file()


# --------------------------------------------------------------------------- pickles
def test_a_cifar_batch_with_a_far_memo_index_is_refused_before_it_is_unpickled(tmp_path):
    # EMPTY_DICT, LONG_BINPUT n: Python's C unpickler sizes its memo table by n (8 bytes an
    # entry, written): 9 bytes with n = 150,000,000 took 2.5 GB (here n = 10**7, 160 MB)
    blob = b"\x80\x02}r" + (10 ** 7).to_bytes(4, "little") + b"."
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        (tmp_path / name).write_bytes(blob)
    from synth.data import load_dataset
    with pytest.raises(UserError) as e:
        load_dataset(f"cifar10:{tmp_path}")
    assert "memo index of 10,000,000" in _one_line(e)


@pytest.mark.parametrize("blob, problem", [
    (b"\x80\x02]q\x00.", ""),                                     # EMPTY_LIST, BINPUT 0
    (b"\x80\x02]q\x05.", "memo index of 5"),
    (b"\x80\x02]" + b"K\x01" * 10 + b".", "more than 5 values"),
    (b"garbage", ""),                                             # left to the unpickler
])
def test_pickle_problem(blob, problem):
    from synth.files import pickle_problem
    found = pickle_problem(blob, 5)
    assert (problem in found) if problem else found == ""


def test_a_ts_pair_of_other_channels_names_its_files(tmp_path):
    # the line named the problem alone ("X: TRAIN series have 1 channels, TEST series 2")
    head = "@problemName X\n@timeStamps false\n@univariate false\n@classLabel true a b\n@data\n"
    (tmp_path / "X_TRAIN.ts").write_text(head + "".join(
        f"1,2,3:{'ab'[i % 2]}\n" for i in range(20)))
    (tmp_path / "X_TEST.ts").write_text(head + "".join(
        f"1,2,3:1,2,3:{'ab'[i % 2]}\n" for i in range(20)))
    from synth.data import load_dataset
    with pytest.raises(UserError) as e:
        load_dataset(f"ts:{tmp_path}")
    assert str(tmp_path / "X_TRAIN.ts") in _one_line(e) and "TEST series 2" in str(e.value)


def test_a_constant_column_of_large_numbers_normalizes_to_zero(tmp_path):
    # a CSV column of 10^30 + i (one float64 value, 1e30): its mean by summing was
    # 9.999999999999997e29, the column normalized to 2.8e14, and nnsynth train said
    # "training diverged ... lower the learning rate"
    path = tmp_path / "t.csv"
    path.write_text("a,b,label\n" + "".join(f"{10 ** 30 + i},{i % 5},{i % 3}\n"
                                            for i in range(60)))
    from synth.data import load_dataset
    data = load_dataset(f"csv:{path}")
    assert float(data.x_train[:, 0].abs().max()) == 0.0
    assert float(data.x_train[:, 1].abs().max()) < 10


@pytest.mark.parametrize("value", ["1e300", "1e39"])
def test_a_value_that_normalizes_beyond_float32_is_one_line(tmp_path, value):
    # column a is 0 in every training row and `value` in one validation row: normalized by
    # the training split's std (a constant's: 1) it was inf in float32 (numpy's 'overflow
    # encountered in cast' on stderr), and the model's outputs on it NaN
    rows = ["a,b,label,split"] + [
        f"{value if i == 45 else 0},{i % 5},{i % 3},"
        f"{'train' if i < 40 else 'val' if i < 50 else 'test'}" for i in range(60)]
    path = tmp_path / "t.csv"
    path.write_text("\n".join(rows) + "\n")
    from synth.data import load_dataset
    with pytest.raises(UserError) as e:
        load_dataset(f"csv:{path}")
    assert "sample 45" in _one_line(e) and "beyond float32's range" in str(e.value)


def test_a_set_rescaled_beyond_float32_by_a_models_normalization_is_one_line(tmp_path):
    # a model trained on a column of std 0.0005, scored on a file whose column holds 1e37
    # and 2e37: rescaled by the model's normalization the inputs were inf, the outputs NaN
    from synth.checkpoint import in_model_scale
    from synth.data import load_dataset
    small, big = tmp_path / "small.csv", tmp_path / "big.csv"
    small.write_text("a,b,label\n" + "".join(f"{0.001 * (1 + i % 2)},{i % 5},{i % 3}\n"
                                             for i in range(60)))
    big.write_text("a,b,label\n" + "".join(f"{1e37 * (1 + i % 2)},{i % 5},{i % 3}\n"
                                           for i in range(60)))
    meta = load_dataset(f"csv:{small}").metadata()
    with pytest.raises(UserError) as e:
        in_model_scale(load_dataset(f"csv:{big}"), meta)
    assert "beyond float32's range" in _one_line(e) and str(big) in str(e.value)
