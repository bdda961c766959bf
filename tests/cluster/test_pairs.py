"""Pair actors: sharded synthesis survives a killed pair, resumes, round-trips Parquet; CLI errors."""
import glob
import json
import os
import tempfile
import time

import pyarrow.parquet as pq
import pytest
import torch
from click.testing import CliRunner

from deploy.cli.main import cli
from cluster.collective import PREFIX
from cluster.pairs import PairActor, plan_shards, run_synthesis, teacher_checksum
from synth.checkpoint import read_checkpoint
from synth.distill import DistillConfig
from synth.checkpoint import save_checkpoint
from synth.data import load_dataset
from synth.errors import UserError
from synth.inversion import InversionConfig
from synth.models import build
from tests.synth._tiny import one_thread_teacher_checkpoint

CONFIG = InversionConfig.preset("mnist28", iterations=15, batch_size=25, jitter=1,
                                early_stop=False, device="cpu")


@pytest.fixture(scope="module")
def teacher_path(digits, tmp_path_factory):
    return one_thread_teacher_checkpoint(digits, tmp_path_factory.mktemp("t"))


def test_plan_is_balanced_with_disjoint_seeds():
    shards = plan_shards(45, 10, 20, seed=3)
    assert [len(s["labels"]) for s in shards] == [20, 20, 5]
    assert len({s["seed"] for s in shards}) == 3
    labels = sum((s["labels"] for s in shards), [])
    counts = torch.bincount(torch.tensor(labels), minlength=10)
    assert counts.max() - counts.min() <= 1
    assert all(len(set(s["labels"])) == min(10, len(s["labels"])) for s in shards)


def test_killed_pair_loses_and_duplicates_nothing(ray_local, teacher_path, tmp_path):
    out = tmp_path / "set"
    killed = []

    def kill_a_pair(info, pool):  # a pair dies mid-job: kill the other actor once
        if not killed:
            killed.append(info["index"])
            ray_local.kill(pool.actors[1], no_restart=True)

    summary = run_synthesis(teacher_path, out, 100, pairs=2, config=CONFIG, shard_size=25,
                            seed=5, on_shard=kill_a_pair)
    assert summary["restarts"] >= 1 and summary["written"] == 4 and summary["skipped"] == 0
    files = sorted(p.name for p in out.glob("*.parquet"))
    assert files == [f"shard-{i:05d}.parquet" for i in range(4)]
    tables = [pq.read_table(out / f) for f in files]
    assert [t.num_rows for t in tables] == [25] * 4
    seeds = [set(t.column("seed").to_pylist()) for t in tables]
    assert all(len(s) == 1 for s in seeds) and len(set.union(*seeds)) == 4
    assert set(tables[0].column_names) >= {"x", "label", "teacher_confidence", "loss", "seed",
                                           "teacher_checksum"}
    assert tables[0].column("teacher_checksum")[0].as_py() == teacher_checksum(teacher_path)
    # the Parquet round trip through the data registry
    data = load_dataset(f"parquet:{out}")
    assert data.input_shape == (1, 8, 8) and data.num_classes == 10
    assert len(data.y_train) + len(data.y_val) == 100
    assert torch.bincount(torch.cat([data.y_train, data.y_val])).tolist() == [10] * 10
    x0 = torch.tensor(tables[0].column("x").to_pylist()).view(-1, 1, 8, 8)
    assert torch.isfinite(x0).all() and x0.std() > 0

    # rerun resumes: nothing redone; a lost shard is redone alone with the same seed
    again = run_synthesis(teacher_path, out, 100, pairs=2, config=CONFIG, shard_size=25, seed=5)
    assert again["skipped"] == 4 and again["written"] == 0
    (out / files[2]).unlink()
    redo = run_synthesis(teacher_path, out, 100, pairs=1, config=CONFIG, shard_size=25, seed=5)
    assert redo["written"] == 1 and redo["skipped"] == 3
    assert pq.read_table(out / files[2]).column("x").to_pylist() == tables[2].column("x").to_pylist()
    with pytest.raises(UserError, match="different synthesis job"):
        run_synthesis(teacher_path, out, 100, pairs=1, config=CONFIG, shard_size=25, seed=6)


def _err(args):
    r = CliRunner().invoke(cli, args)
    assert r.exit_code == 2, r.output
    assert "Traceback" not in r.output and len(r.output.strip().splitlines()) == 1
    return r.output


def test_cli_invert_then_distill(ray_local, teacher_path, tmp_path):
    out = tmp_path / "inv"
    r = CliRunner().invoke(cli, ["invert", "--teacher", str(teacher_path), "--num-images", "100",
                                 "--pairs", "2", "--iterations", "10", "--shard-size", "50",
                                 "--batch-size", "50", "--out", str(out), "--json"])
    assert r.exit_code == 0, r.output
    summary = json.loads(r.stdout.strip().splitlines()[-1])
    assert summary["written"] == 2 and (out / "grid.png").stat().st_size > 0
    # the settings it derived for the 8x8 teacher (no jitter: a 1 px roll is 12.5% of the
    # side, settings_for), and one line about the low fidelity that
    # 10 iterations reach (issue 18)
    assert summary["preset"] == "mnist28" and summary["settings"]["jitter"] == 0  # none at 8x8
    assert summary["settings"]["flip"] is False and summary["settings"]["iterations"] == 10
    assert summary["settings"]["method"] == "deepinversion"   # per pixel at 8x8 (settings_for)
    if summary["fidelity"] < 0.95:
        assert summary["warning"].startswith(f"inversion reached fidelity {summary['fidelity']:.3f}")
        assert "warning: inversion reached fidelity" in r.output
    # the data-free layout check on the whole set on disk, warned about above the threshold
    from synth.checkpoint import load_model
    from synth.inversion import LAYOUT_KEPT_WARN, layout_kept
    synth_set = load_dataset(f"parquet:{out}")
    x = torch.cat([synth_set.x_train, synth_set.x_val])
    assert summary["layout_kept"] == round(layout_kept(load_model(teacher_path), x), 4)
    warned = summary["layout_kept"] > LAYOUT_KEPT_WARN
    assert ("layout_warning" in summary) == warned == ("halves swapped" in r.output)
    # asked for a minimum: exit 2 with one line, the set is kept (a job of its own: the
    # minimum sets the stopping rule, tests/cluster/test_invert_reports.py)
    strict = tmp_path / "strict"
    r = CliRunner().invoke(cli, ["invert", "--teacher", str(teacher_path), "--num-images", "100",
                                 "--iterations", "10", "--shard-size", "50", "--batch-size", "50",
                                 "--min-fidelity", "1.0", "--out", str(strict), "--json"])
    assert r.exit_code == 2 and "error: --min-fidelity 1 not reached" in r.output, r.output
    assert len(list(strict.glob("shard-*.parquet"))) == 2
    student = tmp_path / "s.pt"
    r = CliRunner().invoke(cli, ["distill", "--teacher", str(teacher_path), "--student",
                                 json.dumps({"family": "mlp", "hidden": [16]}), "--data",
                                 str(out), "--epochs", "1", "--min-steps", "10",   # fast
                                 "--out", str(student), "--json"])
    assert r.exit_code == 0, r.output
    assert 0 <= json.loads(r.output.strip().splitlines()[-1])["test_accuracy"] <= 1
    assert student.is_file()


def test_cli_invert_follows_the_method_settings_for_picks(ray_local, tmp_path):
    """Without --method, `nnsynth invert` uses the method settings_for picks for the teacher:
    a generator for a BN MLP on 28x28 images (issue 18); --method still overrides it."""
    mnist = load_dataset("mnist5k")
    torch.manual_seed(0)
    mlp = build({"family": "mlp", "hidden": [32], "bn": True}, mnist.input_shape, 10)
    path = save_checkpoint(tmp_path / "mlp.pt", mlp.eval(), dataset=mnist.metadata())
    for method, expected in ((None, "amortized"), ("deepinversion", "deepinversion")):
        out = tmp_path / f"inv-{expected}"
        r = CliRunner().invoke(cli, ["invert", "--teacher", str(path), "--num-images", "20",
                                     "--iterations", "5", "--out", str(out), "--json"]
                               + (["--method", method] if method else []))
        assert r.exit_code == 0, r.output
        summary = json.loads(r.stdout.strip().splitlines()[-1])
        assert summary["settings"]["method"] == expected and summary["rows"] == 20
        # the generator's settings are reported too, defaults included (momentum 0.9 here)
        assert (summary["settings"].get("generator", {}).get("bn_momentum")
                == (0.9 if expected == "amortized" else None))


def test_cli_invert_tabular_teacher(ray_local, tmp_path):
    """A BatchNorm1d MLP on wine inverts like an image model (issue 18)."""
    from synth.train import TrainConfig, fit
    wine = load_dataset("wine")
    torch.manual_seed(0)
    mlp = build({"family": "mlp", "hidden": [32], "bn": True}, wine.input_shape, 3)
    fit(mlp, wine, TrainConfig(epochs=5, lr=0.05, device="cpu", progress=False))
    path = save_checkpoint(tmp_path / "wine.pt", mlp.eval(), dataset=wine.metadata())
    out = tmp_path / "inv"
    r = CliRunner().invoke(cli, ["invert", "--teacher", str(path), "--num-images", "30",
                                 "--iterations", "200", "--out", str(out), "--json"])
    assert r.exit_code == 0, r.output
    summary = json.loads(r.stdout.strip().splitlines()[-1])   # stderr has the bar
    assert summary["preset"] == "tabular" and summary["rows"] == 30
    assert (out / "grid.png").is_file()
    assert load_dataset(f"parquet:{out}").input_shape == (13,)
    # progress on stderr with --json, none under -q (it was the reverse: keyed on --json)
    assert "shards: 100%" in r.stderr, r.stderr[-300:]
    try:
        quiet = CliRunner().invoke(cli, ["-q", "invert", "--teacher", str(path), "--num-images",
                                         "10", "--iterations", "50", "--out", str(tmp_path / "q")])
        assert quiet.exit_code == 0, quiet.output
        assert "shards" not in quiet.stderr and "it/s" not in quiet.stderr, quiet.stderr[-300:]
    finally:
        os.environ.pop("TQDM_DISABLE", None)        # set by -q for this process's bars


def test_cli_errors(teacher_path, digits, tmp_path):
    no_bn = tmp_path / "nobn.pt"
    save_checkpoint(no_bn, build({"family": "mlp", "hidden": [8]}, (1, 8, 8), 10),
                    dataset=digits.metadata())
    base = ["invert", "--num-images", "20", "--out", str(tmp_path / "o")]
    assert "BatchNorm" in _err(base + ["--teacher", str(no_bn)])
    assert "fit" in _err(base + ["--teacher", str(teacher_path), "--adi", "--student",
                                 json.dumps({"family": "lenet5", "channels": [6, 16]})])
    assert "number of classes" in _err(["invert", "--teacher", str(teacher_path), "--num-images",
                                        "5", "--out", str(tmp_path / "o")])
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert "is a file, not a directory" in _err(["invert", "--teacher", str(teacher_path),
                                                 "--num-images", "20", "--out",
                                                 str(blocker / "sub")])
    assert "exactly one" in _err(["distill", "--teacher", str(teacher_path), "--student", "mlp",
                                  "--out", str(tmp_path / "s.pt")])


STUDENT = {"family": "mlp", "hidden": [16]}
KD = DistillConfig(kd_steps_per_round=4, batch_size=16, lr=0.05, device="cpu")


def _fingerprint(model) -> float:
    return float(sum(p.detach().double().abs().sum() for p in model.parameters()))


def test_pair_actor_runs_the_adi_protocol_against_a_learning_student(teacher_path):
    """Rounds of synthesis alternate with KD of the pair's student: its weights change from
    round to round, and each round's competition term (the student's forward while the
    images are optimized, eval mode) sees the student as the previous round's KD left it."""
    torch.manual_seed(0)
    actor = PairActor(read_checkpoint(teacher_path), STUDENT,
                      kd={**KD.to_dict(), "total_steps": 40})
    seen = []       # fingerprints of the student in the competition term (eval-mode calls)
    actor.student.register_forward_hook(
        lambda m, i, o: None if m.training else seen.append(_fingerprint(m)))
    initial = _fingerprint(actor.student)
    config = CONFIG.replace(adi_weight=1.0, batch_size=10, iterations=8).to_dict()
    after = []
    for index in range(2):      # two shards of two rounds (batches) each
        res = actor.synthesize_shard({"index": index, "seed": index, "config": config,
                                      "labels": list(range(10)) * 2})
        after.append(res["student_state"])
        assert res["kd_steps"] == 8 * (index + 1) and res["pool"] == 20 * (index + 1)
    states = [initial] + [float(sum(v.double().abs().sum() for k, v in s.items()
                                    if "running" not in k and "num_batches" not in k))
                          for s in after]
    assert len(set(states)) == 3                       # the student learns shard by shard
    rounds = sorted(set(seen), key=seen.index)         # one student per round, in order
    assert len(rounds) == 4 and rounds[0] == pytest.approx(initial)
    assert rounds[2] == pytest.approx(states[1])       # shard 2 competes with shard 1's student


def test_cli_invert_adi_reports_the_pairs_it_used(ray_local, teacher_path, tmp_path, caplog):
    """One shard, two pairs requested: one pair runs, the summary says so and why (and the
    log warns); its student learned and was saved for a restart.  (The library's
    run_synthesis had a test of its own for the same facts: one ADI job serves both.)"""
    out = tmp_path / "cli-adi"
    with caplog.at_level("WARNING"):
        r = CliRunner().invoke(cli, ["invert", "--teacher", str(teacher_path), "--num-images",
                                     "20", "--pairs", "2", "--iterations", "5", "--shard-size",
                                     "50", "--adi", "--student", json.dumps(STUDENT),
                                     "--kd-steps", "2", "--out", str(out), "--json"])
    assert r.exit_code == 0, r.output
    summary = json.loads(r.stdout.strip().splitlines()[-1])
    assert summary["pairs"] == 1 and summary["pairs_requested"] == 2, summary
    assert "1 of 2 pairs used: only 1 shard left" in summary["pairs_note"], summary
    assert "1 of 2 pairs used" in caplog.text, caplog.text[-2000:]     # the log's warning
    assert summary["protocol"] == "adi" and summary["student_kd_steps"] == {"0": 2}, summary
    saved = read_checkpoint(out / "students" / "pair-0.pt")
    assert saved["metrics"]["kd_steps"] == 2 and saved["spec"]["family"] == "mlp"


def test_pair_killed_mid_shard_adi_loses_and_repeats_nothing(ray_local, teacher_path, tmp_path):
    """A pair actor SIGKILLed while it synthesizes a shard: the pool restarts it from the
    student it last saved and redoes that shard; every shard is written once and the
    students took exactly the planned KD steps (none lost with the dead actor's work, none
    taken twice)."""
    import os
    import threading
    from tests.deploy.raytools import kill_titled, wait_for
    out = tmp_path / "killed"
    killed = []

    def killer():  # poll for a pair inside synthesize_shard, kill it once
        killed.extend(wait_for(lambda: kill_titled(os.getpid(), "ray::PairActor.synthesize"),
                               timeout=240, what="a pair actor mid-shard", poll=0.05))

    watcher = threading.Thread(target=killer, daemon=True)
    watcher.start()
    summary = run_synthesis(teacher_path, out, 30, pairs=1, config=CONFIG.replace(
        adi_weight=1.0, batch_size=10, iterations=40), shard_size=10, student_spec=STUDENT,
        seed=2, distill=KD)
    watcher.join(timeout=1)
    assert killed and summary["restarts"] >= 1
    assert summary["written"] == 3 and summary["skipped"] == 0
    tables = [pq.read_table(out / f"shard-{i:05d}.parquet") for i in range(3)]
    assert [t.num_rows for t in tables] == [10] * 3
    assert len({t.column("seed")[0].as_py() for t in tables}) == 3
    assert summary["student_kd_steps"] == {0: 3 * KD.kd_steps_per_round}


def test_pairs_accept_the_amortized_config(ray_local, teacher_path, tmp_path):
    """method "amortized": one generator per job (trained data-parallel by the pairs, saved
    beside the shards), sampled by every pair; a rerun resumes from the saved generator."""
    config = CONFIG.replace(method="amortized", amortized={
        "steps": 30, "batch_size": 32, "width": 8, "latent_dim": 16, "lr": 0.01,
        "early_stop": False, "adapt_steps": 5, "adapt_batch": 20})
    with pytest.raises(UserError, match="amortized.stepz"):   # checked before any actor
        run_synthesis(teacher_path, tmp_path / "bad", 60, pairs=1, seed=1,
                      config=config.replace(amortized={"stepz": 3}))
    out = tmp_path / "am"
    summary = run_synthesis(teacher_path, out, 60, pairs=2, config=config, shard_size=20, seed=1)
    assert summary["written"] == 3 and summary["protocol"] == "amortized"
    assert summary["generator"]["steps"] == 30 and summary["generator_seconds"] > 0
    # both pairs trained it, each on half of every batch (local SGD by default: own copies
    # averaged every sync_every steps), and ended with the same weights
    assert summary["generator_pairs"] == 2 and summary["generator"]["same_weights"]
    assert summary["generator"]["parallel"]["mode"] == "local"
    for key in ("rank_cpu_seconds", "rank_seconds", "rank_collective_seconds"):
        assert len(summary["generator"][key]) == 2
    assert sum(b["shards"] for b in summary["pair_busy"].values()) == 3
    assert summary["marginal_images_per_second"] > summary["images_per_second"] > 0
    assert (out / "generator.pt").is_file()
    first = pq.read_table(out / "shard-00001.parquet").to_pydict()
    assert len(first["label"]) == 20 and first["seed"][0] == 1 * 1_000_003 + 1
    (out / "shard-00001.parquet").unlink()
    redo = run_synthesis(teacher_path, out, 60, pairs=1, config=config, shard_size=20, seed=1)
    assert redo["written"] == 1 and redo["skipped"] == 2 and redo["generator"]["resumed"]
    assert pq.read_table(out / "shard-00001.parquet").to_pydict()["x"] == first["x"]
    # a damaged generator.pt is read like a checkpoint (it was an unguarded torch.load: a
    # traceback), and the shards already written stay
    (out / "shard-00001.parquet").unlink()
    (out / "generator.pt").write_bytes(b"PK\x03\x04" + bytes(100))
    with pytest.raises(UserError, match="corrupt or unsafe generator .*generator.pt"):
        run_synthesis(teacher_path, out, 60, pairs=1, config=config, shard_size=20, seed=1)
    assert (out / "shard-00000.parquet").is_file() and (out / "shard-00002.parquet").is_file()


@pytest.mark.timeout(300)
def test_more_pairs_than_cpus_are_capped_not_waited_on(ray_local, teacher_path, tmp_path, caplog):
    """Three pairs on a 2-CPU Ray: a third pair actor (1 CPU each) could never be placed, and
    the job used to wait for it forever.  Two run, and the summary says why."""
    with caplog.at_level("WARNING"):
        summary = run_synthesis(teacher_path, tmp_path / "capped", 30, pairs=3, shard_size=10,
                                config=CONFIG.replace(iterations=2, batch_size=10), seed=2)
    assert summary["pairs"] == 2 and summary["pairs_requested"] == 3
    assert "2 of 3 pairs used: the cluster has 2 CPUs" in summary["pairs_note"]
    assert summary["written"] == 3 and summary["images_written"] == 30


class _DiesInTheGroup(PairActor):
    """A pair whose process exits when it joins a warm-up group as rank 1."""

    def train_generator(self, job):
        if (job.get("group") or {}).get("rank") == 1:
            os._exit(1)
        return super().train_generator(job)


@pytest.mark.timeout(300)
def test_a_pair_dying_in_the_group_warm_up_falls_back_to_one_pair(ray_local, teacher_path,
                                                                  tmp_path, monkeypatch):
    """Rank 1 of the data-parallel warm-up dies: its peer (blocked waiting for it) and it are
    restarted and the generator is trained on one pair; the job completes."""
    import cluster.pairs
    monkeypatch.setattr(cluster.pairs, "PairActor", _DiesInTheGroup)
    config = CONFIG.replace(method="amortized", amortized={
        "steps": 4, "batch_size": 16, "width": 4, "latent_dim": 8, "early_stop": False,
        "adapt_steps": 2, "adapt_batch": 10})
    groups = set(glob.glob(os.path.join(tempfile.gettempdir(), PREFIX + "*")))
    summary = run_synthesis(teacher_path, tmp_path / "fb", 20, pairs=2, config=config,
                            shard_size=10, seed=3)
    assert summary["written"] == 2 and summary["generator_pairs"] == 1
    assert summary["restarts"] == 2
    # the failed group's rendezvous directory (made by the killed rank 0) is removed; another
    # module's group may exist for a moment, so a leak is one that stays
    for _ in range(50):
        left = set(glob.glob(os.path.join(tempfile.gettempdir(), PREFIX + "*"))) - groups
        if not left:
            break
        time.sleep(0.1)
    assert not left
