"""continual --new-classes naming a class the model already predicts (helper 254): a model of
a table's classes setosa and versicolor given --new-classes virginica,setosa was told 'new
classes must not repeat old classes, got 0 in both', a class number the user never typed."""
from click.testing import CliRunner

from deploy.cli.main import cli
from synth.checkpoint import save_checkpoint
from synth.data import load_dataset
from synth.models import build

NAMES = ["setosa", "versicolor", "virginica"]


def test_a_new_class_the_model_predicts_is_named(tmp_path):
    table = tmp_path / "t.csv"
    table.write_text("a,b,label\n" + "".join(f"{i % 7},{i % 3 + i // 3},{NAMES[i % 3]}\n"
                                             for i in range(60)))
    data = load_dataset(f"csv:{table}[0,1]", seed=0)
    model = build({"family": "mlp", "hidden": [8]}, data.input_shape, data.num_classes)
    save_checkpoint(tmp_path / "m.pt", model, dataset=data.metadata(), metrics={})
    done = CliRunner().invoke(cli, ["continual", "--model", str(tmp_path / "m.pt"),
                                    "--new-dataset", f"csv:{table}", "--new-classes",
                                    "virginica,setosa", "--method", "lwf",
                                    "--out", str(tmp_path / "c.pt")])
    assert done.exit_code == 2, done.output
    line = done.output.strip().splitlines()[-1]
    assert line == (f"error: --new-classes: 'setosa' (class 0 of csv:{table}) is one of the "
                    f"model's classes, its output 0; new classes are ones the model does not "
                    f"predict"), line
    assert not (tmp_path / "c.pt").exists()
