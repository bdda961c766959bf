"""h212: a search space's ranges checked against the family's (dropout in [0, 1)), and a
space file that is a device or a FIFO named as such."""
import os
import pytest

from search.space import load_space
from synth.errors import UserError
from synth.models import resolve_spec
from tests._cli import one_error_line, run


@pytest.mark.parametrize("entry", [{"float": [0.0, 1.5]}, {"float": [-0.5, 0.5]},
                                   {"choice": [0.1, 0.2, 1.0]}])
@pytest.mark.parametrize("family", ["mlp", "lstm", "hlstm"])
def test_a_range_outside_the_familys_is_refused_when_loaded(family, entry):
    # {float: [0.0, 1.5]} was accepted; members above 1 failed to build and were skipped
    with pytest.raises(UserError, match=r"dropout.*\[0, 1\)") as e:
        load_space({"family": family, "params": {"dropout": entry}})
    assert "\n" not in str(e.value) and "space.params.dropout: " in str(e.value)


def test_a_range_inside_the_familys_loads_and_a_spec_outside_is_refused():
    assert load_space({"family": "mlp", "params": {"dropout": {"float": [0.0, 0.9]}}})
    with pytest.raises(UserError, match=r"mlp spec key 'dropout' must be in \[0, 1\), got 1.5"):
        resolve_spec({"family": "mlp", "dropout": 1.5})


def test_the_cli_refuses_the_range_in_one_line(tmp_path):
    space = tmp_path / "s.yaml"
    space.write_text("family: mlp\nparams:\n  dropout: {float: [0.0, 1.5]}\n")
    line = one_error_line(run(["-q", "search", "--space", str(space),
                               "--out", str(tmp_path / "out")]))
    assert "s.yaml.params.dropout: range [0, 1.5] reaches outside" in line and "[0, 1)" in line


def test_the_cli_names_a_device_space(tmp_path):
    line = one_error_line(run(["-q", "search", "--space", "/dev/zero",
                               "--out", str(tmp_path / "out")]))
    assert "/dev/zero is a device" in line


def test_a_device_space_file_is_named_a_device():
    with pytest.raises(UserError, match="space file /dev/zero is a device; expected"):
        load_space("/dev/zero")


def test_a_fifo_space_file_is_named_a_pipe(tmp_path):
    fifo = tmp_path / "space.yaml"
    os.mkfifo(fifo)
    with pytest.raises(UserError, match=r"is a named pipe \(FIFO\); expected"):
        load_space(str(fifo))


def test_a_missing_space_file_is_still_not_found(tmp_path):
    with pytest.raises(UserError, match="space file not found: .*nope.yaml"):
        load_space(str(tmp_path / "nope.yaml"))
