"""`nnsynth run` refuses a search step floor its synthesized set cannot make within the epoch
limit before the teacher stage (h288): search.options.min_steps 1000000 passed --check, and
the run trained its teacher and synthesized its set before every trial failed inside Ray.
Bounded by synthesis.num_images (the set's size; its training split is smaller)."""
import pytest
from click.testing import CliRunner

from deploy.cli.main import cli

CONFIG = ("name: f\nteacher: {{dataset: iris, model: lenet300_100_bn, epochs: 1}}\n"
          "synthesis: {{num_images: 8, student: ''}}\nsearch: {{options: {options}}}\n")


@pytest.mark.parametrize("options, name, passes", [
    ("{min_steps: 1000000}", "search.options.min_steps", "1,000,000"),
    ("{min_steps: 0, grow_prune: {retrain_min_steps: 1000000}}",
     "search.options.grow_prune.retrain_min_steps", "1,000,000")])
@pytest.mark.parametrize("check", [True, False])
def test_an_unmakeable_search_floor_is_refused_before_the_teacher(tmp_path, options, name,
                                                                   passes, check):
    path = tmp_path / "f.yaml"
    path.write_text(CONFIG.format(options=options))
    run_dir = tmp_path / "run"
    done = CliRunner().invoke(cli, ["run", str(path), "--run-dir", str(run_dir)]
                              + (["--check"] if check else []))
    assert done.exit_code == 2, done.output
    assert (f"{name} 1,000,000 needs at least {passes} passes over the synthesized set's 8 "
            f"inputs (synthesis.num_images; its training split is fewer); the limit is "
            f"100,000 (lower {name}, or raise synthesis.num_images)") in done.output
    assert "Traceback" not in done.output
    assert not (run_dir / "teacher.pt").exists() and not list(run_dir.glob("**/*.pt"))


def test_a_makeable_floor_passes_the_check(tmp_path):
    path = tmp_path / "f.yaml"
    path.write_text(CONFIG.format(options="{min_steps: 500, grow_prune: {}}"))
    done = CliRunner().invoke(cli, ["run", str(path), "--check"])
    assert done.exit_code == 0, done.output
