"""Fixed-point formats that hold no positive value (helper h185)."""
import pytest
import torch

from synth.errors import ConfigError
from synth.quant import QuantConfig, quantize_per_tensor
from tests._cli import one_error_line, run


def test_a_format_without_a_positive_value_is_refused(tmp_path):
    """--fixed-point 1.0 (the sign bit alone: the grid is {-1, 0}) trained; with --scaling
    per_tensor every gradient became NaN (the per-tensor scale that fits max|g| into a top
    value of 0 is 0, and 0/0) and the run ended 'training diverged: the weights became NaN
    or infinite in epoch 1 of 2 (lr 0.02); lower the learning rate', a remedy that could
    not help.  The format is refused by the config, before any training."""
    with pytest.raises(ConfigError, match=r"1\.0 holds only -1 and 0"):
        QuantConfig.from_format("1.0")
    line = one_error_line(run(["train", "--dataset", "wine", "--model", "mlp_small",
                               "--epochs", "2", "--fixed-point", "1.0", "--scaling",
                               "per_tensor", "--out", str(tmp_path / "q.pt")]))
    assert "1.0 holds only -1 and 0" in line and "diverged" not in line, line
    assert not (tmp_path / "q.pt").exists()
    assert QuantConfig.from_format("1.1").format == "1.1"    # -1, -0.5, 0, 0.5: kept
    assert QuantConfig.from_format("2.0").format == "2.0"


def test_per_tensor_rounding_onto_a_grid_without_positive_values_raises():
    """quantize_per_tensor(x, 1, 0) returned NaN for every entry (a scale of 0)."""
    with pytest.raises(ValueError, match="no positive value"):
        quantize_per_tensor(torch.tensor([0.3, -0.2]), 1, 0, "nearest")
    assert quantize_per_tensor(torch.tensor([0.3, -0.2]), 1, 1, "nearest").isfinite().all()


@pytest.mark.parametrize("text", ["\u00b2.3", "4.\u00b9\u2076", "\u2460.8"])
def test_a_format_of_other_digit_characters_is_one_line(tmp_path, text):
    """--fixed-point '².3' ended in a traceback (ValueError: invalid literal for int() with
    base 10: '²'): str.isdigit() holds for superscript and circled digits, which int() does
    not read.  Only the ASCII digits 0-9 make a format."""
    with pytest.raises(ConfigError, match="INT.FRAC"):
        QuantConfig.from_format(text)
    line = one_error_line(run(["train", "--dataset", "wine", "--model", "mlp_small",
                               "--fixed-point", text, "--out", str(tmp_path / "q.pt")]))
    assert "--fixed-point" in line and "INT.FRAC" in line, line
