"""The Ray side probed as a careless or hostile user would (helper 183): CPU counts, Ray
Train and hwsim-actor requests no cluster can grant, sweep checks that cost seconds per run,
and a submitted job's command line."""
import time

from click.testing import CliRunner

from deploy.cli.main import cli

BASE = """name: b
num_cpus: 1
teacher: {dataset: wine, model: lenet300_100_bn, epochs: 1, cache: ""}
synthesis: {enabled: false}
search: {enabled: false}
refine: {enabled: false}
export: {onnx: false, price: false}
"""


def _sweep(tmp_path, grid: str = "{seed: [1, 2]}"):
    (tmp_path / "base.yaml").write_text(BASE)
    path = tmp_path / "s.yaml"
    path.write_text(f"name: s\nbase: base.yaml\nroot: {tmp_path / 'out'}\ngrid: {grid}\n")
    return path


def test_sweep_refuses_a_local_ray_of_a_trillion_cpus_at_once(tmp_path):
    """`nnsynth sweep --num-cpus 1000000000000` reached ray.init, whose raylet never came up:
    three 30 s start-up windows (4 minutes here), then Ray's 'timed out during startup'
    traceback.  Now one line naming the option, before the sweep directory is made."""
    start = time.monotonic()
    result = CliRunner().invoke(cli, ["sweep", "--num-cpus", "1000000000000",
                                      str(_sweep(tmp_path))])
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert result.exit_code == 2, result.output
    assert lines == ["error: --num-cpus must be in [1, 4096], got 1000000000000"], lines
    assert time.monotonic() - start < 30
    assert not (tmp_path / "out").exists()
