"""A DSE config's ``base`` (fixed AcceleratorConfig fields) is validated with the rest of
the file (h252).  ``nnsynth hwsim dse --model lenet5 --dse-config d.yaml`` with
``base: {precision_bits: "x"}`` said 'error: precision_bits must be an integer, got 'x''
(with ``base: {foo: 1}`` 'unknown config key 'dse.base.foo''): the base was first checked
when explore priced the grid, after the networks were built, outside the file's error
prefix (h250), so the line named neither the file nor that the field is the base's."""
import pytest
from click.testing import CliRunner

from deploy.cli.main import cli
from hwsim.dse import DseConfig
from synth.errors import ConfigError

ARGS = ["hwsim", "dse", "--model", "mlp_small@4", "--num-classes", "3", "--dse-config"]


@pytest.mark.parametrize("text, expected", [
    ('base: {precision_bits: "x"}', "base.precision_bits must be an integer in [1, 64], got 'x'"),
    ("base: {precision_bits: 16.0}", "base.precision_bits must be an integer in [1, 64], got 16.0"),
    ("base: [[clock_mhz, 100], [dram_gbps, .nan]]", "base.dram_gbps must be a number in"),
    ("base: {vdd: 5}", "base.vdd must be in [0.3, 2.0], got 5"),
    ("base: {foo: 1}", "unknown config key 'dse.base.foo' for AcceleratorConfig"),
])
def test_a_bad_base_value_names_the_file_and_the_base(tmp_path, text, expected):
    f = tmp_path / "d.yaml"
    f.write_text(text + "\n")
    r = CliRunner().invoke(cli, ARGS + [str(f)])
    assert r.exit_code == 2, r.output
    assert len(r.output.strip().splitlines()) == 1, r.output
    assert r.output.startswith(f"error: {f}: {expected}"), r.output


def test_the_base_is_checked_when_the_config_is_made():
    with pytest.raises(ConfigError, match=r"^base\.leakage_mw_per_mm2 must be in") as e:
        DseConfig(base={"leakage_mw_per_mm2": -1})
    assert e.value.field == "base.leakage_mw_per_mm2" and e.value.value == -1
    # a valid base is taken as before
    assert dict(DseConfig(base={"precision_bits": 16, "clock_mhz": 200}).base) == {
        "precision_bits": 16, "clock_mhz": 200}
