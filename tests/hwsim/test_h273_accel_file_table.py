"""h273: the README's table of the --accel file's fields is AcceleratorConfig's: every field
named, its default the dataclass's, and each end of its range accepted while a value just
outside is refused in one line naming the field.  (The fields, units and ranges were said
nowhere a user reads: only AcceleratorConfig.validate held them.)"""
import dataclasses
import re
from pathlib import Path

import pytest

from hwsim.accel import AcceleratorConfig, word_kb
from synth.errors import ConfigError

README = Path(__file__).resolve().parents[2] / "README.md"


def _rows() -> dict:
    text = README.read_text()
    start = text.index("| field | default | unit | range (both ends allowed) |")
    rows = {}
    for line in text[start:].splitlines()[2:]:
        if not line.startswith("| `"):
            break
        name, default, _, rng = (c.strip() for c in line.strip("|").split("|"))
        rows[name.strip("`")] = (default, rng)
    return rows


ROWS = _rows()
DEFAULTS = {f.name: f.default for f in dataclasses.fields(AcceleratorConfig)}


def test_every_field_is_in_the_table_with_its_default():
    assert set(ROWS) == set(DEFAULTS)
    for name, (default, _) in ROWS.items():
        want = DEFAULTS[name]
        assert (default == want if isinstance(want, str) else float(default) == want), name


def _refused(name, value):
    with pytest.raises(ConfigError) as e:
        AcceleratorConfig.from_dict({name: value})
    assert "\n" not in str(e.value) and name in str(e.value)


@pytest.mark.parametrize("name", sorted(DEFAULTS))
def test_each_range_is_the_configs(name):
    rng = ROWS[name][1]
    if name == "dataflow":
        choices = re.findall(r"\b(ws|os|is)\b", rng)
        assert choices == ["ws", "os", "is"]
        for d in choices:
            AcceleratorConfig.from_dict({name: d})
        _refused(name, "rs")
        return
    low, high = re.match(r"(.+?) to (\S+?)(,|$)", rng).group(1, 2)
    low = word_kb(DEFAULTS["precision_bits"]) if low.startswith("one operand word") \
        else float(low)
    high = float(high)
    integer = "an integer" in rng
    for v in (low, high):
        AcceleratorConfig.from_dict({name: int(v) if integer else v})
    if integer:
        _refused(name, int(low) - 1)
        _refused(name, int(high) + 1)
    else:
        _refused(name, low - max(abs(low) * 1e-3, 1e-9))
        _refused(name, high * (1 + 1e-3))
