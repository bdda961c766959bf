"""`nnsynth sweep --check` / `nnsynth run --check` of bounds each met by some member of the
space but by none together (h189 refused them in `nnsynth search`; the pipeline's check still
priced them one at a time): tiny's space has members over 2M parameters and members under
0.0011 ms, but none is both, so the run trained its teacher and synthesized its set before
a search that could propose nothing.  Now one error line before any work."""
from click.testing import CliRunner

from deploy.cli.main import cli


def test_bounds_no_member_meets_together_are_refused_by_the_check(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text(f"name: s\nbase: tiny\nroot: {tmp_path / 'sweeps'}\nruns:\n"
                    "  - {name: both, search.options.constraints: "
                    "['parameters>=2000000', 'latency_ms<=0.0011']}\n")
    result = CliRunner().invoke(cli, ["sweep", str(path), "--check"])
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and "finds no member of the space that meets" in lines[0], lines
    assert "parameters>=2e+06 and latency_ms<=0.0011 together" in lines[0], lines
    assert not (tmp_path / "sweeps").exists()
