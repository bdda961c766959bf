"""hwsim.accel.read_accel_file: the one reader of an accelerator YAML file (nnsynth hwsim
eval --accel's, nnsynth search --accel's); its errors name the file (h299)."""
import pytest

from hwsim.accel import AcceleratorConfig, read_accel_file
from synth.errors import ConfigError


def test_reads_the_array_and_names_the_file_in_errors(tmp_path):
    good = tmp_path / "odd.yaml"
    good.write_text("rows: 8\ncols: 64\ndataflow: os\nclock_mhz: 50\n")
    assert read_accel_file(good) == AcceleratorConfig(rows=8, cols=64, dataflow="os",
                                                      clock_mhz=50)
    empty = tmp_path / "empty.yaml"
    empty.write_text("# nothing set\n")
    assert read_accel_file(empty) == AcceleratorConfig()
    for text, said in (("rows: 0\n", "rows must be in [1, 4096], got 0"),
                       ("- 8\n", "must hold a mapping of keys, got list"),
                       ("bogus: 1\n", "unknown config key 'accel.bogus'")):
        bad = tmp_path / "bad.yaml"
        bad.write_text(text)
        with pytest.raises(ConfigError) as e:
            read_accel_file(bad)
        assert str(bad) in str(e.value) and said in str(e.value)
