"""Lines h319 and h321 left wrong or misleading (h323).

* The help of prune, continual, distill and invert said images where any input is meant
  (``nnsynth prune --num-images``: 'Images to invert', though prune inverts a table's rows or
  a set's series as well, and counts them as ``synthesized_inputs``).
* ``nnsynth incremental``: the dense fine-tuning that trained on no sample showed its dense
  copy's nonzero weights as its connections (296 of digits' 592 here), read as the dense
  model's size: each row now gives the weights they are nonzero among ('296 of 592'), and
  the text says why the dense copy holds so few.
* ``cluster.pairs.merge_results`` (an ADI shard's rounds) copied the first round's
  low-fidelity warning into the merged shard's stats: a round of one class the teacher cannot
  see warned '0.00' beside a merged fidelity above the floor.  The warning is the merged one's.
* ``run_synthesis``'s fidelity summed fidelity x inputs per shard: 15 hits of 22 read
  14.999999999999998, so the set's fidelity and the sum of ``class_fidelity``'s hits disagreed.
* prune's and continual's ``synthesis`` summary gives ``class_fidelity`` of the set they
  synthesized (which classes the data-free step could not make), as invert's --json does.
"""
from __future__ import annotations

import re

import click
import torch

from deploy.cli.commands.incremental import human_text
from deploy.cli.main import cli
from synth import masked
from synth.checkpoint import load_model, read_checkpoint, save_checkpoint
from synth.incremental import IncrementalConfig, compare, split_dataset
from synth.inversion import (balanced_labels, class_fidelity, fidelity_warning,
                             settings_for)
from synth.models import build, prunable_layers
from tests._cli import json_result, run
from tests.synth.test_h319_per_class_fidelity import BLIND, blind_checkpoint

IRIS = ["setosa", BLIND, "virginica"]


# ------------------------------------------------------------------------------- the help
def _help_texts(name: str) -> list[tuple[str, str]]:
    command = cli.commands[name]
    ctx = click.Context(command, info_name=name)
    return [("help", command.help or "")] + [
        (p.name, (p.get_help_record(ctx) or ("", ""))[1]) for p in command.get_params(ctx)]


# where 'image(s)' is right: a list of the kinds of input, or a thing of images alone
IMAGE_CONTEXTS = (", table rows or series", "; a segment of time in sequences", " of 16 px")


def test_the_help_says_inputs_where_any_input_is_meant():
    wrong = []
    for name in ("prune", "continual", "distill", "invert"):
        for option, text in _help_texts(name):
            text = " ".join(text.split())
            for m in re.finditer(r"\bimages?\b", text, re.I):
                if not text[m.end():].startswith(IMAGE_CONTEXTS):
                    wrong.append(f"{name} {option}: {text[max(0, m.start() - 30):m.end() + 30]}")
    assert wrong == [], "\n".join(wrong)
    prune = dict(_help_texts("prune"))
    assert prune["num_images"].startswith("Inputs to invert (images, table rows or series")


# ------------------------------------------------------------------------------ incremental
def test_the_dense_finetunings_connections_say_of_how_many_weights(digits):
    old, new = split_dataset(digits, 0.6, seed=0)
    torch.manual_seed(0)
    model = build({"family": "mlp", "hidden": [8], "bn": False, "dropout": 0.0},
                  old.input_shape, old.num_classes)
    masked.attach_masks(model)
    masked.prune_connections(model, 0.5, "lamp")
    r = compare(model, old, new, IncrementalConfig(target=0.01, min_steps=0, device="cpu"))
    weights = sum(layer.weight.numel() for _, layer in prunable_layers(model))
    nonzero = masked.connections(model)
    dense = r["finetune"]
    assert dense["samples"] == 0 and dense["connections"] == nonzero < weights
    for key in ("before", "incremental", "finetune", "finetune_sparse", "scratch"):
        assert r[key]["weights"] == weights, key   # every row: the architecture's weights
    assert r["scratch"]["connections"] == weights
    text = human_text(r)
    row = next(line for line in text.splitlines() if line.startswith("fine-tune dense"))
    assert f"connections {nonzero:>8,} of {weights:,}  test" in row, row
    assert (f"fine-tune dense trained on no sample: its model, a dense copy that trains all "
            f"{weights:,} weights, holds the pruned model's {nonzero:,} nonzero ones") in text
    kept = {k: (dict(v) if isinstance(v, dict) else v) for k, v in r.items()}
    for key in ("before", "incremental", "finetune", "finetune_sparse", "scratch"):
        kept[key].pop("weights")   # a rerun's result kept from before 'weights'
    assert f"connections {nonzero:>8,}  test" in human_text(kept)
    assert "trained on no sample:" not in human_text(kept)


# --------------------------------------------------------------------- pairs: merged stats
def test_a_merged_adi_shard_warns_of_its_own_fidelity(tmp_path):
    """Four rounds of one ADI shard: the first all of the class the teacher cannot see (its
    round warns '0.00'), the rest of the two it sees."""
    from cluster.pairs import PairActor
    from synth.data import input_range
    from synth.distill import DistillConfig
    path = blind_checkpoint(tmp_path)
    payload, model = read_checkpoint(path), load_model(path)
    value_range = input_range(model.checkpoint_info["dataset"])
    kd = {**DistillConfig(kd_steps_per_round=1, batch_size=4, device="cpu").to_dict(),
          "total_steps": 4}
    labels = [1] * 4 + [0, 2] * 6   # 16 inputs: rounds of 4
    for floor in (0.5, 0.95):
        config = settings_for(model, value_range=value_range, iterations=200,
                              device="cpu").replace(adi_weight=0.0, batch_size=4,
                                                    min_fidelity=floor)
        shard = {"index": 0, "seed": 0, "labels": labels, "config": config.to_dict()}
        stats = PairActor(payload, {"family": "mlp", "hidden": [8]}, kd=kd
                          ).synthesize_shard(shard)["stats"]
        counts = stats["class_counts"]
        assert counts["synthesized"] == [6, 4, 6] and counts["hits"][1] == 0
        expected = fidelity_warning(sum(counts["hits"]) / 16, floor, config.iterations,
                                    class_fidelity(counts, IRIS))
        assert stats.get("warning") == expected, (floor, stats.get("warning"))
        assert stats["fidelity"] == sum(counts["hits"]) / 16
        assert stats["missed"] == 16 - sum(counts["hits"])   # every round's
        if floor == 0.5:   # above the floor: no warning (round 1's 0.00 was kept)
            assert stats["fidelity"] >= floor and "warning" not in stats


# ----------------------------------------------------------------- pairs: the set's figure
def one_class_checkpoint(folder):
    """A BN MLP on iris whose last layer answers setosa (class 0) for every input: the hits
    of any set are its setosa targets, whatever the inversion makes."""
    from synth.data import load_dataset
    data = load_dataset("iris")
    torch.manual_seed(0)
    model = build({"family": "mlp", "hidden": [8], "bn": True}, data.input_shape,
                  data.num_classes)
    with torch.no_grad():
        model(data.x_train)   # running statistics of the data (train mode)
        model.net[-1].weight.zero_()
        model.net[-1].bias.copy_(torch.tensor([10.0, 0.0, 0.0]))
    path = folder / "setosa.pt"
    save_checkpoint(path, model.eval(), dataset=data.metadata(), metrics={})
    return path


def test_the_sets_fidelity_is_its_counts(ray_local, tmp_path):
    """42 inputs in shards of 41 and 1, of a teacher that answers setosa alone: 14 hits of 41
    summed as fidelity x inputs read 13.999999999999998, and the set's fidelity was not the
    counts' 14 / 42."""
    from cluster.pairs import run_synthesis
    from synth.data import input_range
    teacher = one_class_checkpoint(tmp_path)
    model = load_model(teacher)
    config = settings_for(model, value_range=input_range(model.checkpoint_info["dataset"]),
                          iterations=3).replace(adi_weight=0.0)
    made = run_synthesis(teacher, tmp_path / "inv", 42, 1, config, shard_size=41,
                         progress=False)
    classes = made["class_fidelity"]
    assert [(c["synthesized"], c["hits"]) for c in classes.values()] == [(14, 14), (14, 0),
                                                                          (14, 0)]
    assert made["fidelity"] == 14 / 42, made["fidelity"]


# ------------------------------------------------------------- prune and continual summary
def test_prune_says_which_classes_it_could_not_synthesize(tmp_path):
    teacher = blind_checkpoint(tmp_path)
    r = json_result(run(["prune", "--model", str(teacher), "--ratio", "0.5", "--kd-steps", "0",
                         "--num-images", "12", "--iterations", "20", "--device", "cpu",
                         "--out", str(tmp_path / "p.pt"), "--json"]))
    classes = r["synthesis"]["class_fidelity"]
    assert list(classes) == IRIS
    assert classes[BLIND] == {"synthesized": 4, "hits": 0, "fidelity": 0.0}
    assert sum(c["synthesized"] for c in classes.values()) == r["synthesized_inputs"] == 12
    saved = read_checkpoint(tmp_path / "p.pt")["metrics"]["synthesis"]
    assert saved["class_fidelity"] == classes


def test_continual_says_which_old_classes_it_could_not_synthesize(tmp_path):
    from hwsim.latency import torch_threads
    from synth.continual import ContinualConfig
    from synth.data import load_dataset
    from synth.train import TrainConfig, fit
    from synth.workflows import continual_checkpoint
    data = load_dataset("iris[0,1]")   # setosa and versicolor; versicolor out of reach
    with torch_threads(1):
        torch.manual_seed(0)
        old = build({"family": "mlp", "hidden": [16], "bn": True}, data.input_shape,
                    data.num_classes)
        fit(old, data, TrainConfig(epochs=3, seed=0, device="cpu", progress=False))
    with torch.no_grad():
        old.net[-1].bias[1] -= 1e4
    save_checkpoint(tmp_path / "old.pt", old.eval(), dataset=data.metadata(), metrics={})
    result = continual_checkpoint(str(tmp_path / "old.pt"), "iris", [2], tmp_path / "new.pt",
                                  ContinualConfig(epochs=1, min_steps=0, device="cpu",
                                                  progress=False),
                                  num_images=8, iterations=20)
    classes = result["synthesis"]["class_fidelity"]
    assert list(classes) == ["setosa", BLIND]
    assert classes[BLIND] == {"synthesized": 4, "hits": 0, "fidelity": 0.0}
