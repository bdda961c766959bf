"""`nnsynth run` on data sets no test config used (h315): a CSV of breast_cancer with text
labels, a folder of tinted 16x16 RGB digits, GunPoint's .ts pair from the aeon wheel.

The teacher stage trained exactly ``teacher.epochs``, where `nnsynth train` trains at least
500 SGD steps (synth.choices.MIN_STEPS): on a small training split the teacher every later
stage distils from was barely trained -- 5 epochs of GunPoint's 144 series were 15 steps and
a teacher that predicted one class (50% test; logistic regression 95%), 3 epochs of 518
images 27 steps and 51% (97% at 500).  ``teacher.min_steps`` (default 500) raises the epochs
as train's floor does, the run says so, and a floor the epoch limit cannot hold is refused
before any work.  A teacher that predicts one class for every test sample was said only by
the export, after synthesis, search and refinement had distilled from it; the teacher stage
now says it (once)."""
import json
import logging

from click.testing import CliRunner

from deploy.cli.main import cli
from deploy.pipeline import run_pipeline
from deploy.run_config import RunConfig
from tests.deploy.teachers import teacher_only


def _run(tmp_path, teacher: dict, dataset: str = "iris"):
    values = teacher_only("h315", dataset, "lenet300_100_bn")
    del values["teacher"]["min_steps"]                # the default floor, unless given
    values["teacher"].update({"cache": ""}, **teacher)
    lines = []
    from hwsim.latency import torch_threads
    with torch_threads(1):   # small steps on a busy machine: one thread (README, CPU-only)
        run_pipeline(RunConfig.from_dict(values), tmp_path / "run", progress=False,
                     log=lines.append, stop_after="teacher")
    ledger = json.loads((tmp_path / "run" / "ledger.json").read_text())
    return ledger["stages"]["teacher"]["outputs"], lines


def test_the_teacher_trains_at_least_the_step_floor(tmp_path):
    from synth.data import load_dataset
    n = len(load_dataset("iris", seed=0).y_train)
    out, lines = _run(tmp_path, {"epochs": 1, "batch_size": 8})   # fewer epochs to time
    per_epoch = -(-n // 8)
    assert out["epochs"] * per_epoch >= 500 > (out["epochs"] - 1) * per_epoch, out
    said = [line for line in lines if "teacher.min_steps 500" in line]
    assert said and f"1 epochs of the {n:,} training inputs would be {per_epoch} steps; " \
                     f"trained {out['epochs']:,} epochs" in said[0], lines


def test_a_floor_of_zero_trains_the_epochs_asked(tmp_path):
    out, lines = _run(tmp_path, {"epochs": 1, "min_steps": 0})
    assert out["epochs"] == 1
    assert not [line for line in lines if "min_steps" in line]


def test_a_floor_past_the_epoch_limit_is_refused_before_any_work(tmp_path):
    path = tmp_path / "f.yaml"
    path.write_text("name: f\nteacher: {dataset: iris, model: lenet300_100_bn, epochs: 1, "
                    "min_steps: 1000000, cache: ''}\nsynthesis: {enabled: false}\n"
                    "search: {enabled: false}\nrefine: {enabled: false}\n"
                    "export: {onnx: false, price: false}\n")
    for check in (["--check"], []):
        run_dir = tmp_path / f"run{len(check)}"
        done = CliRunner().invoke(cli, ["run", str(path), "--run-dir", str(run_dir)] + check)
        assert done.exit_code == 2, done.output
        assert "teacher.min_steps 1,000,000 needs 500,000 passes over" in done.output
        assert "lower teacher.min_steps or teacher.batch_size" in done.output
        assert "Traceback" not in done.output
        assert not list(run_dir.glob("**/*.pt"))


def test_a_one_class_teacher_is_said_by_the_teacher_stage(tmp_path, caplog):
    # every row but six the same features: the model gives them all one class
    path = tmp_path / "flat.csv"
    path.write_text("a,b,label\n" + "".join(f"{1.0 + (i < 6) * (i + 4)},2.0,{'xy'[i % 2]}\n"
                                            for i in range(60)))
    with caplog.at_level(logging.WARNING):
        out, _ = _run(tmp_path, {"epochs": 1, "min_steps": 0}, dataset=f"csv:{path}")
    said = [r.getMessage() for r in caplog.records if "teacher model:" in r.getMessage()]
    assert len(said) == 1 and "for every test sample" in said[0], said
    assert out["warning"] in said[0]


def test_the_pareto_plot_keeps_accuracy_within_0_and_100_percent(tmp_path, monkeypatch):
    # breast_cancer's two trials both scored 1.000 on the synthesized validation inputs:
    # pareto.png's accuracy axis ran from 95% to 104%
    import matplotlib
    matplotlib.use("Agg")
    from matplotlib.figure import Figure
    from search.results import append_result, plot_pareto
    path = tmp_path / "results.parquet"
    for trial, latency, accuracy in (("a", 0.004, 1.0), ("b", 0.0004, 1.0)):
        append_result(path, {"trial_id": trial, "spec": "{}", "accuracy": accuracy,
                             "test_accuracy": 0.95, "parameters": 10, "nonzero_parameters": 10,
                             "flops": 10, "nonzero_flops": 10, "latency_ms": latency,
                             "energy_mj": latency, "epochs": 1, "wall_seconds": 1.0,
                             "stopped_early": False, "checkpoint": f"{trial}.pt",
                             "finished_at": 0.0, "device": "cpu",
                             "selected_on": "synthetic_val"})
    limits, savefig = [], Figure.savefig

    def recording(self, *args, **kwargs):
        axis = self.axes[0]
        limits.append((axis.get_ylim(), [t for t in axis.get_yticks()
                                         if axis.get_ylim()[0] <= t <= axis.get_ylim()[1]]))
        return savefig(self, *args, **kwargs)
    monkeypatch.setattr(Figure, "savefig", recording)
    plot_pareto(path, tmp_path / "pareto.png")
    (low, high), ticks = limits[0]
    assert high <= 100.5 and low < 100, limits
    assert ticks and max(ticks) <= 100, limits
