"""``--input-shape`` that no model of the command reads is refused, not ignored (h252).

``nnsynth hwsim eval --spec lenet5@1x28x28 --input-shape 1x32x32`` priced lenet5 on 1x28x28
and printed it without a word about the 1x32x32 typed (``hwsim dse --model
lenet5@1x28x28 --input-shape 1x32x32`` and ``hwsim table --model ...`` likewise): the shape
after @ wins, so the option was dropped.  A checkpoint's own shape already refuses a
different --input-shape (``_check_own``); a model given with @shape now does too, where no
other model of the command is given without one (that one reads it)."""
import json

import pytest
from click.testing import CliRunner

from deploy.cli.main import cli

CASES = [
    ["hwsim", "eval", "--spec", "mlp_small@4", "--num-classes", "3", "--input-shape", "5"],
    ["hwsim", "table", "--device", "accel", "--model", "mlp_small@4", "--num-classes", "3",
     "--input-shape", "5"],
    ["hwsim", "dse", "--model", "mlp_small@4", "--num-classes", "3", "--input-shape", "5",
     "--budget", "2", "--area-budget", "100"],
]


@pytest.mark.parametrize("args", CASES)
def test_an_input_shape_no_model_reads_is_refused(args):
    r = CliRunner().invoke(cli, args)
    assert r.exit_code == 2, r.output
    assert len(r.output.strip().splitlines()) == 1, r.output
    assert r.output.startswith("error: --input-shape 5 is the shape of a spec model given "
                               "without @shape; 'mlp_small@4' has its own (4)"), r.output


@pytest.mark.parametrize("args", CASES)
def test_the_same_shape_or_a_model_that_reads_it_is_taken(args):
    same = [a if a != "5" else "4" for a in args]     # the @shape's own: nothing dropped
    r = CliRunner().invoke(cli, same + ["--json"])
    assert r.exit_code == 0, r.output
    if args[1] == "dse":   # another model reads --input-shape: it is used
        r = CliRunner().invoke(cli, args + ["--model", "mlp_small", "--json"])
        assert r.exit_code == 0, r.output
        assert json.loads(r.output.strip().splitlines()[-1])["networks"] == [
            "mlp_small@4", "mlp_small"]
