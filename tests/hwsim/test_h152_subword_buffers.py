"""A scratchpad or buffer that holds no operand word is refused in one line.  ifmap_kb 1e-300
(or 1e-3 KiB, 1.02 B, against a 13-bit word of 1.625 B) was priced as a pad that spills every
operand; a DSE grid value the same; SPRING's weight/activation buffers of 1e-6 MB (8 bits)
against its 20-bit values likewise."""
import pytest

from hwsim import AcceleratorConfig, SpringConfig
from hwsim.dse import DseConfig
from synth.errors import ConfigError


@pytest.mark.parametrize("field", ["ifmap_kb", "filter_kb", "ofmap_kb"])
def test_accelerator_scratchpad_holds_a_word(field):
    with pytest.raises(ConfigError, match=rf"^{field} .*one 13-bit word \(0\.00158691 KiB\)"):
        AcceleratorConfig(precision_bits=13, **{field: 1e-3})
    with pytest.raises(ConfigError, match=rf"^{field} "):
        AcceleratorConfig(**{field: 1e-300})
    AcceleratorConfig(precision_bits=13, **{field: 2e-3})          # 2.05 B: one word
    AcceleratorConfig(precision_bits=8, **{field: 1 / 1024})        # exactly one byte


@pytest.mark.parametrize("field", ["ifmap_kb", "filter_kb", "ofmap_kb"])
def test_dse_grid_scratchpad_holds_a_word_of_the_base_precision(field):
    with pytest.raises(ConfigError, match=rf"^{field} value .*one 8-bit word"):
        DseConfig(**{field: (8, 0.000001)})
    with pytest.raises(ConfigError, match=rf"^{field} value .*one 16-bit word"):
        DseConfig(base=(("precision_bits", 16),), **{field: (1 / 1024,)})
    DseConfig(base=(("precision_bits", 16),), **{field: (2 / 1024,)})


@pytest.mark.parametrize("field", ["weight_buffer_mb", "act_buffer_mb"])
def test_spring_buffer_holds_a_value(field):
    with pytest.raises(ConfigError, match=rf"^{field} .*one 20-bit value \(2\.5e-06 MB\)"):
        SpringConfig(**{field: 1e-6})
    with pytest.raises(ConfigError, match=rf"^{field} .*one 9-bit value"):
        SpringConfig(int_bits=1, frac_bits=8, **{field: 1e-6})
    SpringConfig(**{field: 2.5e-6})
    SpringConfig(int_bits=1, frac_bits=7, **{field: 1e-6})          # 8 bits: one value
