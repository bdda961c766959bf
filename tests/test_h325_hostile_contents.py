"""Hostile contents in the files the newest readers take (helper h325): each is one line
``error: ...`` naming the file and what was expected, exit 2, in seconds -- never a traceback,
a hang, or the file taken as it is.

The readers swept (search --schedule, symbiotic/hwsim --accel, hwsim table --table, secret
--class-names, resume states, results.parquet, ledger.json, job.json) were already bounded;
what was not:

- the teacher cache (``teacher.cache``): a damaged, crafted or foreign file there was copied
  over the run's teacher.pt and refused as that file (the cache file unnamed, so every rerun
  copied it again); a checkpoint of another set's teacher was a RuntimeError traceback
  ('shapes cannot be multiplied') as the test split was scored;
- a synthesis shard's metadata read back on resume (``synthesis.fallback``): a record of
  another shape went into the summary as it was, and ``cluster.invert.fallback_note`` was a
  KeyError traceback on it ({"first": "x"}, a record without "kept")."""
from __future__ import annotations

import json
import math
import pickle
from pathlib import Path

import pytest
import torch

from synth.errors import UserError
from tests._cli import run
from tests.deploy.teachers import teacher_only


# --------------------------------------------------------------------------- teacher cache
class _Touch:
    """A pickle that, if unpickled, makes the file ``marker``: a cache file must never be."""
    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


def _other_teacher(path: Path) -> None:
    from synth.checkpoint import save_checkpoint
    from synth.models import build
    save_checkpoint(path, build({"family": "mlp", "hidden": [8]}, (7,), 2),
                    dataset={"name": "other", "input_shape": [7], "num_classes": 2})


TEACHER_CACHE = {
    "empty": (lambda p: p.write_bytes(b""), "expected an nnsynth checkpoint"),
    "truncated": (lambda p: (_other_teacher(p), p.write_bytes(p.read_bytes()[:300])),
                  "checkpoint"),
    "json": (lambda p: p.write_text('{"spec": {"family": "mlp"}, "state_dict": {}}'),
             "expected an nnsynth checkpoint"),
    "pickle": (lambda p: p.write_bytes(pickle.dumps(_Touch(p.with_name("unpickled")))),
               "expected an nnsynth checkpoint"),
    "torch-not-checkpoint": (lambda p: torch.save({"a": torch.zeros(2)}, p),
                             "not an nnsynth checkpoint"),
    "nul-bytes": (lambda p: p.write_bytes(b"\0" * 4096), "checkpoint"),
    "other-sets-teacher": (_other_teacher, "is a teacher of inputs (7,) and 2 classes; iris "
                                           "has (4,) and 3"),
}


@pytest.mark.parametrize("kind", TEACHER_CACHE)
def test_a_hostile_teacher_cache_file_is_named_in_one_line(kind, tmp_path):
    from deploy.run_config import load_run_config
    from deploy.stages import teacher_cache_key
    from synth.data import load_dataset
    make, expected = TEACHER_CACHE[kind]
    values = {**teacher_only("t", "iris", "mlp_small"),
              "teacher": {"dataset": "iris", "model": "mlp_small", "epochs": 1,
                          "cache": str(tmp_path / "teachers")}}
    (tmp_path / "c.json").write_text(json.dumps(values))
    cfg = load_run_config(str(tmp_path / "c.json"))
    cached = tmp_path / "teachers" / teacher_cache_key(cfg, load_dataset("iris",
                                                                         seed=cfg.data_seed))
    cached.parent.mkdir()
    make(cached)
    before = cached.read_bytes()
    r = run(["run", str(tmp_path / "c.json"), "--run-dir", str(tmp_path / "r")])
    lines = [line for line in r.output.splitlines() if line.startswith("error:")]
    assert r.exit_code == 2 and "Traceback" not in r.output and len(lines) == 1, r.output
    # the cache file is named (it was the run's own copy, teacher.pt), and kept as it was
    assert "teacher.cache: " in lines[0] and str(cached) in lines[0], lines[0]
    assert expected in lines[0] and "delete it to train the teacher again" in lines[0]
    assert cached.read_bytes() == before
    assert not (tmp_path / "teachers" / "unpickled").exists()


# --------------------------------------------------------------------------- shard metadata
GOOD = {"first": "generator", "generator_fidelity": 0.5, "generator_iteration_cap": None,
        "per_pixel_fidelity": 0.75, "kept": "per_pixel"}
FALLBACKS = {
    "first-unknown": ({**GOOD, "first": "x"}, "first is 'x'"),
    "no-kept": ({k: v for k, v in GOOD.items() if k != "kept"}, "no kept"),
    "list": ([1, 2], "a list, not a mapping"),
    "string": ("per_pixel", "a str, not a mapping"),
    "fidelity-string": ({**GOOD, "generator_fidelity": "0.5"}, "generator_fidelity is '0.5'"),
    "fidelity-nan": ({**GOOD, "per_pixel_fidelity": math.nan}, "per_pixel_fidelity is nan"),
    "fidelity-huge": ({**GOOD, "per_pixel_fidelity": 10 ** 30}, "per_pixel_fidelity is 1"),
    "fidelity-bool": ({**GOOD, "per_pixel_fidelity": True}, "per_pixel_fidelity is True"),
    "fidelity-negative": ({**GOOD, "generator_fidelity": -1}, "generator_fidelity is -1"),
    "unknown-key": ({**GOOD, "index": "x"}, "an unknown key 'index'"),
    "cap-nested": ({**GOOD, "generator_iteration_cap": {"a": json.loads("[" * 100 + "]" * 100)}},
                   "generator_iteration_cap is"),
}


@pytest.fixture(scope="module")
def iris_shard_parts():
    from synth.data import load_dataset
    from synth.models import build
    data = load_dataset("iris")
    torch.manual_seed(0)
    return data, build({"family": "mlp", "hidden": [8]}, data.input_shape, data.num_classes)


def _shard(path: Path, data, fallback) -> Path:
    from synth.data_parquet import write_parquet
    meta = {**data.metadata(), "synthesis": {"inputs_restarted": 0, "fallback": fallback}}
    return write_parquet(path, data.x_train[:6], data.y_train[:6], meta)


@pytest.mark.parametrize("kind", FALLBACKS)
def test_a_kept_shards_hostile_fallback_record_is_one_line(kind, tmp_path, iris_shard_parts):
    """What a resumed job reads of the shards it keeps (``cluster.pairs._kept_on_disk``) and
    says of them (``cluster.invert.fallback_note``)."""
    from cluster.invert import fallback_note
    from cluster.pairs import _kept_on_disk
    data, teacher = iris_shard_parts
    record, expected = FALLBACKS[kind]
    path = _shard(tmp_path / "shard-00000.parquet", data, record)
    with pytest.raises(UserError) as e:
        fallbacks = _kept_on_disk(teacher, [(0, path)])[3]
        fallback_note(fallbacks, 0.9, 1)
    text = str(e.value)
    assert "\n" not in text and str(path) in text and "synthesis.fallback" in text, text
    assert expected in text, text


@pytest.mark.parametrize("record", [
    GOOD, None, {k: v for k, v in GOOD.items() if k not in ("first", "generator_iteration_cap")},
    {**GOOD, "generator_seconds": 1.5, "per_pixel_seconds": None,
     "generator_iteration_cap": {"iterations": 200, "bounds": {"warmup": 10}}}])
def test_the_records_nnsynth_writes_are_read(record, tmp_path, iris_shard_parts):
    """A record as method_fallback writes it (and as older shards hold it: no first, no cap;
    with seconds) is read as it was."""
    from cluster.invert import fallback_note
    from cluster.pairs import _kept_on_disk
    data, teacher = iris_shard_parts
    path = _shard(tmp_path / "shard-00000.parquet", data, record)
    fallbacks = _kept_on_disk(teacher, [(0, path)])[3]
    assert fallbacks == ([] if record is None else [{"index": 0, **record}])
    if fallbacks:
        assert "made again" in fallback_note(fallbacks, 0.9, 1)


# --------------------------------------------------------------------------- searcher state
@pytest.fixture(scope="module")
def searcher_state(tmp_path_factory) -> dict:
    """The state a RandomSearcher of a small space saves after four trials."""
    from search.searchers import RandomSearcher
    searcher = RandomSearcher(SPACE, seed=0)
    for i in range(4):
        searcher.suggest(f"t{i}")
        searcher.on_trial_complete(f"t{i}", {"accuracy": 0.1 * i})
    path = tmp_path_factory.mktemp("state") / "searcher.json"
    searcher.save(str(path))
    return json.loads(path.read_text())


SPACE = {"a": {"int": [0, 30]}, "b": {"choice": [1, 2, 3]}}
COUNTS = {"infinity": "Infinity", "1e309": "1e309", "negative": "-5", "fraction": "2.5",
          "true": "true", "string": '"3"'}


@pytest.mark.parametrize("field", ["suggested", "refits", "fit_size", "fit_budget"])
@pytest.mark.parametrize("kind", COUNTS)
def test_a_searcher_states_counts_are_counts(field, kind, searcher_state, tmp_path):
    """The searcher state a search keeps in its out dir for --resume: a count of Infinity (or
    1e309) was an OverflowError traceback out of restore, -5 or 2.5 were taken in."""
    from search.searchers import RandomSearcher
    text = json.dumps({**searcher_state, field: "@"}).replace('"@"', COUNTS[kind])
    path = tmp_path / "searcher.json"
    path.write_text(text)
    with pytest.raises(UserError) as e:
        RandomSearcher(SPACE, seed=0).restore(str(path))
    text = str(e.value)
    assert "\n" not in text and str(path) in text and f"{field} is" in text, text


def test_a_searcher_state_nnsynth_wrote_is_restored(searcher_state, tmp_path):
    from search.searchers import RandomSearcher
    path = tmp_path / "searcher.json"
    path.write_text(json.dumps(searcher_state))
    searcher = RandomSearcher(SPACE, seed=0)
    searcher.restore(str(path))
    assert (searcher.suggested, searcher.refits) == (searcher_state["suggested"],
                                                     searcher_state["refits"])


# --------------------------------------------------------------------------- ledger.json
@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    """A teacher-only run (teacher, from a seeded teacher.cache, and export) finished in a
    run directory, and its config file."""
    from deploy.run_config import load_run_config
    from deploy.stages import teacher_cache_key
    from synth.checkpoint import save_checkpoint
    from synth.data import load_dataset
    from synth.models import build
    folder = tmp_path_factory.mktemp("ledger")
    values = teacher_only("t", "iris", "mlp_small")
    values["teacher"]["cache"] = str(folder / "teachers")
    (folder / "c.json").write_text(json.dumps(values))
    (folder / "teachers").mkdir()
    cfg = load_run_config(str(folder / "c.json"))
    data = load_dataset("iris", seed=cfg.data_seed)
    torch.manual_seed(0)   # an untrained teacher: the run copies it and reads its figures
    save_checkpoint(folder / "teachers" / teacher_cache_key(cfg, data),
                    build(cfg.teacher.model, data.input_shape, data.num_classes),
                    dataset=data.metadata())
    r = run(["run", str(folder / "c.json"), "--run-dir", str(folder / "base")])
    assert r.exit_code == 0, r.output
    return folder / "c.json", folder / "base"


@pytest.mark.parametrize("stage", ["teacher", "export"])
@pytest.mark.parametrize("value", ["null", "absent"])
def test_a_ledger_whose_stage_names_no_checkpoint_is_one_line(stage, value, finished_run,
                                                              tmp_path):
    """A rerun skips the finished stages as ledger.json records them: an export recording no
    checkpoint (null, or none) was a TypeError (KeyError) traceback as the result named
    final.pt; nothing in the run directory is touched."""
    import shutil
    config, base = finished_run
    run_dir = tmp_path / "r"
    shutil.copytree(base, run_dir)
    ledger = json.loads((run_dir / "ledger.json").read_text())
    outputs = ledger["stages"][stage]["outputs"]
    if value == "absent":
        del outputs["checkpoint"]
    else:
        outputs["checkpoint"] = None
    (run_dir / "ledger.json").write_text(json.dumps(ledger))
    before = {p.name: p.read_bytes() for p in run_dir.iterdir() if p.is_file()}
    r = run(["run", str(config), "--run-dir", str(run_dir)])
    lines = [line for line in r.output.splitlines() if line.startswith("error:")]
    assert r.exit_code == 2 and "Traceback" not in r.output and len(lines) == 1, r.output
    assert str(run_dir / "ledger.json") in lines[0], lines[0]
    expected = "none" if value == "absent" else "null"
    assert (f"stages.{stage}.outputs.checkpoint must name a file in the run directory, got "
            f"{expected}") in lines[0], lines[0]
    assert {p.name: p.read_bytes() for p in run_dir.iterdir() if p.is_file()} == before


def test_a_finished_run_is_skipped_as_recorded(finished_run, tmp_path):
    import shutil
    config, base = finished_run
    shutil.copytree(base, tmp_path / "r")
    r = run(["run", str(config), "--run-dir", str(tmp_path / "r")])
    assert r.exit_code == 0 and "export: done earlier" in r.output, r.output


# --------------------------------------------------------------------------- <out>.resume
SUMMARIES = {
    "method-list": ({"method": ["x"]}, "method is ['x']"),
    "method-number": ({"method": 5}, "method is 5"),
    "fidelity-string": ({"fidelity": "high"}, "fidelity is 'high'"),
    "fidelity-huge": ({"fidelity": 1e30}, "fidelity is 1e+30"),
    "fidelity-nan": ({"fidelity": math.nan}, "fidelity is nan"),
    "fidelity-bool": ({"fidelity": True}, "fidelity is True"),
    "tensor": ({"seconds": torch.zeros(3)}, "a Tensor value"),
    "nested": ({"warning": json.loads("[" * 100 + "]" * 100)}, "nested more than"),
}


@pytest.fixture(scope="module")
def kept_teacher(tmp_path_factory):
    from synth.checkpoint import load_model, save_checkpoint
    from synth.models import build
    path = tmp_path_factory.mktemp("kept") / "t.pt"
    torch.manual_seed(0)
    save_checkpoint(path, build({"family": "mlp", "hidden": [8]}, (4,), 3),
                    dataset={"name": "iris", "input_shape": [4], "num_classes": 3})
    return load_model(path)


def _kept_state(path: Path, model, settings: dict, summary) -> None:
    from synth.resume import save_state, settings_key
    from synth.workflows import SYNTHESIS_STATE
    save_state(path, SYNTHESIS_STATE, settings_key(settings, model.checkpoint_info["checksum"]),
               {"tensors": [torch.zeros(5, 4), torch.zeros(5, dtype=torch.long)],
                "summary": summary})


@pytest.mark.parametrize("kind", SUMMARIES)
def test_a_kept_synthesis_with_a_hostile_summary_is_one_line(kind, kept_teacher, tmp_path):
    """prune's and continual's ``<out>.resume`` (the inputs synthesized before an
    interruption, with their summary): the summary was read back as it came, into the
    result and the checkpoint's metrics."""
    from synth.workflows import kept_synthesis
    summary, expected = SUMMARIES[kind]
    state, settings = tmp_path / "p.pt.resume", {"num_images": 5, "seed": 0}
    _kept_state(state, kept_teacher, settings, summary)
    with pytest.raises(UserError) as e:
        kept_synthesis(state, kept_teacher, settings, lambda: pytest.fail("synthesized again"))
    text = str(e.value)
    assert "\n" not in text and str(state) in text and expected in text, text
    assert state.is_file()   # kept


def test_a_kept_synthesis_as_nnsynth_writes_it_is_reused(kept_teacher, tmp_path):
    from synth.workflows import kept_synthesis
    summary = {"method": "deepinversion", "iterations": 200, "iteration_cap": None,
               "fidelity": 0.8, "mean_iterations": 120.0, "seconds": 1.5, "warning": None,
               "fallback": None, "class_fidelity": {"a": 1.0}}
    state, settings = tmp_path / "p.pt.resume", {"num_images": 5, "seed": 0}
    _kept_state(state, kept_teacher, settings, summary)
    (x, y), got = kept_synthesis(state, kept_teacher, settings,
                                 lambda: pytest.fail("synthesized again"))
    assert x.shape == (5, 4) and got == {**summary, "resumed": True}
