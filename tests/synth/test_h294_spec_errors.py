"""A model spec that cannot be built is one line naming its key, not 'does not fit input
shape' (h294).

``synth.models.registry.build`` wrapped any error of a family's builder as "model spec ...
does not fit input shape (1, 8, 8): ...": a pool 'median', widths/kernels/strides of
different lengths and an hlstm gate_hidden of the wrong length (the builder's own lines), and
Python's 'int() argument must be ... not list' for ``"hidden": [[64]]`` or 'object of type
'int' has no len()' for ``"widths": 16``.  Now a list key must be a flat list of integers
(``resolve_spec``), a builder's own line is given as it is, another error names the key that
builds when set back to its default, and 'does not fit input shape' is said only where the
layers met the input (lenet5's 5x5 kernels on digits' 8x8)."""
import pytest
from click.testing import CliRunner

from deploy.cli.main import cli
from synth.errors import UserError
from synth.models import build

CASES = [   # (data set, spec, what the line must say)
    ("digits", '{"family":"mlp","hidden":[[64]]}',
     "mlp spec key 'hidden' must be integers (a list, one per layer), got [[64]]"),
    ("digits", '{"family":"mlp","hidden":64}', "mlp spec key 'hidden' must be integers"),
    ("digits", '{"family":"convnet","widths":16,"kernels":3,"strides":1}',
     "convnet spec key 'kernels' must be integers (a list, one per layer), got 3"),
    ("digits", '{"family":"convnet","widths":[16,32],"kernels":[3],"strides":[1,1]}',
     "convnet widths, kernels and strides must have the same nonzero length, got 2, 1, 2"),
    ("digits", '{"family":"convnet","widths":[16],"kernels":[3],"strides":[1],"pool":"median"}',
     "convnet pool must be avg, max or flatten, got 'median'"),
    ("digits", '{"family":"lenet5","channels":[6]}',
     "lenet5 spec key 'channels' cannot be built from [6] (not enough values to unpack "
     "(expected 2, got 1)); expected a value like its default [6, 16]"),
    ("digits", '{"family":"resnet","depths":[1],"width":[16]}',
     "resnet spec key 'width' cannot be built from [16]"),
    ("digits", '{"family":"mlp","hidden":[64],"dropout":-0.1}',
     "mlp spec key 'dropout' must be in [0, 1), got -0.1"),
    ("digits", '{"family":"mlp","hidden":[-3]}',
     "mlp spec key 'hidden' values must each be in [1, 100000000], got [-3]"),
    ("digits", '{"family":"mlp","hidden":[64],"bogus":1}',
     "unknown key 'bogus' in mlp spec; known: bn, dropout, hidden"),
    ("basicmotions", '{"family":"convnet1d","widths":[16],"kernels":[3],"strides":[1],'
                     '"pool":"max2d"}', "convnet1d pool must be avg, max or flatten, got 'max2d'"),
    ("basicmotions", '{"family":"hlstm","hidden":[32],"gate_hidden":[1,2,3]}',
     "hlstm gate_hidden must be an int or a list with one entry per layer (1), got [1, 2, 3]"),
    ("basicmotions", '{"family":"lstm","hidden":[32],"frame":1000}',
     "lstm frame must be an int in [1, steps=100], got 1000"),
    ("iris", '{"family":"convnet1d","widths":[16],"kernels":[3],"strides":[1],"pool":"max"}',
     "model family 'convnet1d' takes sequences (channels, steps); the data has input shape (4,)"),
]


@pytest.mark.parametrize("dataset,spec,said", CASES)
def test_a_bad_spec_is_one_line_naming_its_key(tmp_path, dataset, spec, said):
    out = tmp_path / "m.pt"
    done = CliRunner().invoke(cli, ["train", "--dataset", dataset, "--model", spec,
                                    "--epochs", "1", "--min-steps", "0", "--out", str(out)])
    assert done.exit_code == 2, done.output
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), done.stderr
    assert said in lines[0] and "does not fit input shape" not in lines[0], lines[0]
    assert "Traceback" not in done.output and not out.exists()


def test_the_shape_is_named_only_where_it_is_the_shape():
    with pytest.raises(UserError, match=r"does not fit input shape \(1, 8, 8\): .*Kernel size"):
        build("lenet5", (1, 8, 8), 10)   # default channels: the 8x8 input is what is wrong
    with pytest.raises(UserError, match=r"does not fit input shape \(1, 8, 8\)"):
        build({"family": "lenet5", "channels": [3, 8]}, (1, 8, 8), 10)   # not 'channels'
    assert build({"family": "lenet5", "channels": [3, 8]}, (1, 28, 28), 10)
