"""h179: DSE probes (each test failed before its fix)."""
import pytest
from click.testing import CliRunner
from torch import nn

from deploy.cli.main import cli
from hwsim import extract
from hwsim.dse import DseConfig, explore
from synth.errors import ConfigError


def _ops():
    return extract(nn.Sequential(nn.Linear(6, 5), nn.ReLU(), nn.Linear(5, 3)), (6,))


def test_an_area_budget_below_a_sample_says_it_is_a_sample():
    """budget 1 drew one 4.046 mm^2 point of the default grid, and the error read as if no
    configuration of the grid fitted 4 mm^2 ('the smallest configuration's area 4.046')."""
    with pytest.raises(ConfigError) as e:
        explore({"m": _ops()}, DseConfig(rows=(128,), cols=(64, 128), budget=1,
                                         area_budget_mm2=0.5))
    assert "1 configuration sampled (budget) of the grid's" in str(e.value)
    with pytest.raises(ConfigError) as e:   # the whole grid: as before
        explore({"m": _ops()}, DseConfig(rows=(128,), cols=(64, 128), area_budget_mm2=0.5))
    assert "sampled" not in str(e.value) and "smallest configuration's area" in str(e.value)


def test_the_best_buffers_print_as_configured(tmp_path):
    """A 0.001 KiB ifmap pad printed as 'buffers 0/8/8 KiB'."""
    path = tmp_path / "d.yaml"
    path.write_text("rows: [1]\ncols: [1]\ndataflows: [os]\nifmap_kb: [0.001]\n"
                    "filter_kb: [8]\nofmap_kb: [0.5]\n")
    res = CliRunner().invoke(cli, ["hwsim", "dse", "--model", "mlp_small@4",
                                   "--dse-config", str(path)])
    assert res.exit_code == 0, res.output
    assert "buffers 0.001/8/0.5 KiB" in res.output, res.output


def test_explore_shows_progress_on_stderr(capsys, monkeypatch):
    """A million-point grid on resnet34 priced for a minute and a half without a word
    (DESIGN: every long loop shows progress on stderr); ``nnsynth hwsim dse`` passes
    ``progress`` unless -q.  The bar shows after PROGRESS_DELAY_S (here at once)."""
    import hwsim.dse
    monkeypatch.setattr(hwsim.dse, "PROGRESS_DELAY_S", 0.0)
    explore({"m": _ops()}, DseConfig(budget=50), progress=True)
    err = capsys.readouterr().err
    assert "dse" in err and "config" in err
    explore({"m": _ops()}, DseConfig(budget=50))
    assert capsys.readouterr().err == ""
