"""h184: a .ts set whose every channel is constant on the training split is refused, as a
table of constant columns is (``synth.data``).  Normalized, every input was zeros and so was
the left padding (a series' length was not even left): ``nnsynth grow-prune --dataset
ts:zeros.ts`` trained a constant model and reported its chance accuracy (0.333 of 3
classes, 7 connections) without a word."""
import pytest

from synth.data import load_dataset
from synth.errors import UserError


def _write(path, channels, lengths, value=None):
    lines = ["@problemName T", "@timeStamps false", "@missing false", "@univariate false",
             "@equalLength false", "@classLabel true a b c", "@data"]
    for i, t in enumerate(lengths):
        chans = [",".join(str(value if value is not None else (i * 7 + c + k) % 5 - 2.0)
                          for k in range(t)) for c in range(channels)]
        lines.append(":".join(chans) + f":{'abc'[i % 3]}")
    path.write_text("\n".join(lines) + "\n")
    return path


def test_a_set_of_constant_channels_is_refused(tmp_path):
    f = _write(tmp_path / "zeros.ts", 2, [5, 3, 4] * 10, value=0.0)
    with pytest.raises(UserError, match=r"every channel is constant on the training split.*"
                                        r"nothing to learn from"):
        load_dataset(f"ts:{f}")


def test_one_varying_channel_or_length_one_series_load(tmp_path):
    f = _write(tmp_path / "some.ts", 2, [1] * 30)          # length-1 series, values vary
    data = load_dataset(f"ts:{f}")
    assert data.input_shape == (2, 1) and data.x_train.abs().sum() > 0


def test_the_cli_says_so_in_one_line(tmp_path):
    from click.testing import CliRunner
    from deploy.cli.main import cli
    f = _write(tmp_path / "zeros.ts", 1, [4] * 30, value=1.5)
    r = CliRunner().invoke(cli, ["-q", "grow-prune", "--dataset", f"ts:{f}", "--model",
                                 "lstm32", "--out", str(tmp_path / "m.pt")])
    assert r.exit_code == 2, r.output
    assert "every channel is constant" in r.output and "Traceback" not in r.output
    assert not (tmp_path / "m.pt").exists()
