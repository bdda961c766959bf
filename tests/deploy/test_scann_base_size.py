"""`nnsynth scann --hidden` widths each in range but together too large for the data: the
model build refused them in words naming neither --hidden nor the data's width ('model spec
... has 400,000,003 parameters; the limit is 100,000,000'), after the reduction was fit."""
from synth.models import max_parameters
from tests._cli import one_error_line, run


def test_a_base_mlp_over_the_parameter_limit_is_told_by_hidden():
    line = one_error_line(run(["scann", "--dataset", "iris", "--hidden", "50000000"]))
    assert line.startswith("error: --hidden must make a base MLP of at most "
                           f"{max_parameters():,} parameters"), line
    assert "the data's 4 features (these make 400,000,003), got 50000000" in line, line
