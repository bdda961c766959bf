"""incremental --model of another number of classes than its data (helper 254): a model of
iris[0,1] updated with --old iris --new iris said 'error: the model predicts 2 classes; the
data has 3 (give a model of its classes)', naming neither the model's set nor the data."""
from click.testing import CliRunner

from deploy.cli.main import cli
from synth.checkpoint import save_checkpoint
from synth.data import load_dataset
from synth.models import build


def test_the_refusal_names_the_models_set_and_the_datas_classes(tmp_path):
    data = load_dataset("iris[0,1]", seed=0)
    model = build({"family": "mlp", "hidden": [8]}, data.input_shape, data.num_classes)
    save_checkpoint(tmp_path / "m.pt", model, dataset=data.metadata(), metrics={})
    done = CliRunner().invoke(cli, ["incremental", "--model", str(tmp_path / "m.pt"),
                                    "--old", "iris", "--new", "iris"])
    assert done.exit_code == 2, done.output
    line = done.output.strip().splitlines()[-1]
    assert line == ("error: the model (trained on iris[0,1]) predicts 2 classes; iris has 3 "
                    "['setosa', 'versicolor', 'virginica']: give a model of those classes "
                    "(nnsynth continual adds classes to a model)"), line
