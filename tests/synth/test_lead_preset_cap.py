"""A preset's phases follow a smaller ``iterations`` as ``settings_for`` has them do.

``nnsynth run --check`` of ``synthesis: {preset: imagenet224, inversion: {iterations: 10}}``
said 'synthesis.inversion: warmup_iterations must be in [0, 10], got 100' (h238's probe): a
key the user never set (the preset's 100-iteration warm-up), while the run itself, through
``settings_for``, lowers the preset's phases inside the cap and accepts the config."""
from click.testing import CliRunner

from deploy.cli.main import cli
from synth.inversion import InversionConfig


def test_a_preset_fits_its_phases_inside_the_iterations_given():
    config = InversionConfig.preset("imagenet224", iterations=10)
    assert (config.warmup_iterations, config.lowres_iterations, config.min_iterations) == (1, 5, 10)
    full = InversionConfig.preset("imagenet224")
    assert (full.warmup_iterations, full.lowres_iterations, full.min_iterations) == (100, 2000, 500)
    own = InversionConfig.preset("imagenet224", iterations=10, warmup_iterations=3)
    assert own.warmup_iterations == 3      # a phase the caller sets is its own


def test_run_check_accepts_a_preset_with_fewer_iterations(tmp_path):
    config = tmp_path / "cap.yaml"
    config.write_text("name: capcheck\nsynthesis:\n  preset: imagenet224\n"
                      "  inversion: {iterations: 10}\n")
    r = CliRunner().invoke(cli, ["run", str(config), "--check"])
    assert r.exit_code == 0 and "valid" in r.output, r.output
