"""Bounds each met by some member of the space but by none together are refused before Ray
starts.  nnsynth search --space tiny.yaml --dataset digits --constraint 'latency_ms<=0.002'
--constraint 'parameters>=5000' (the one-conv [4] is the only member under 0.002 ms, with 2,614
parameters) passed check_searchable (each bound alone is met at the space's extremes), started
Ray, ran no trial ('finished no trial: none of 64 random members ...'), and left --out holding
a search that could never run: the corrected command into it was refused ('holds an earlier
search').  No Ray here: the refusal comes first."""
import pytest

from search.run import SearchConfig, check_searchable
from synth.errors import UserError

TINY = ("family: convnet\nparams:\n  widths: {list: [4, 8], length: [1, 2]}\n"
        "  kernels: {list: [3], length: widths}\n  strides: {list: [1], length: widths}\n"
        "  pool: flatten\n")


@pytest.fixture
def tiny(tmp_path):
    path = tmp_path / "tiny.yaml"
    path.write_text(TINY)
    return str(path)


def test_bounds_no_member_meets_together_are_refused(tiny):
    config = SearchConfig(space=tiny, dataset="digits", trials=2, concurrency=1, n_initial=2,
                          epochs=1, constraints=("latency_ms<=0.002", "parameters>=5000"))
    with pytest.raises(UserError) as e:
        check_searchable(config)
    line = str(e.value)
    assert "\n" not in line
    assert "latency_ms<=0.002" in line and "parameters>=5000" in line and "together" in line


def test_bounds_some_member_meets_together_pass(tiny):
    """The [4] member (2,614 parameters, ~0.0019 ms) meets both: nothing is refused."""
    config = SearchConfig(space=tiny, dataset="digits", trials=2, concurrency=1, n_initial=2,
                          epochs=1, constraints=("latency_ms<=0.002", "parameters>=2000"))
    check_searchable(config)
