"""``--json`` changes stdout only: ``nnsynth run --json`` still shows its progress on
stderr, and the root group's ``-q`` silences it; the JSON object is stdout's last line."""
import json

import yaml
from click.testing import CliRunner

from deploy.cli.main import cli

FAST = {"name": "fast", "scaling": {"num_workers": 0}, "teacher": {"dataset": "digits", "model": '{"family": "mlp", "hidden": [16]}',
                                    "epochs": 1, "cache": ""},
        "synthesis": {"enabled": False}, "search": {"enabled": False},
        "refine": {"enabled": False}, "export": {"price": False, "onnx": False}}


def test_json_keeps_progress_on_stderr_and_quiet_silences_it(tmp_path, monkeypatch):
    import ray
    monkeypatch.delenv("TQDM_DISABLE", raising=False)
    config = tmp_path / "fast.yaml"
    config.write_text(yaml.safe_dump(FAST))
    args = ["run", str(config), "--run-dir", str(tmp_path / "run"), "--num-cpus", "2", "--json"]
    try:
        loud = CliRunner().invoke(cli, args)
        assert loud.exit_code == 0, loud.output
        assert "[1/2] teacher ..." in loud.stderr and "finished in" in loud.stderr
        assert json.loads(loud.stdout.strip().splitlines()[-1])["final_test_accuracy"] > 0.5
        quiet = CliRunner().invoke(cli, ["-q"] + args)      # resumes: both stages done
        assert quiet.exit_code == 0, quiet.output
        assert "teacher" not in quiet.stderr and "[1/2]" not in quiet.stderr
        assert json.loads(quiet.stdout.strip().splitlines()[-1])["final_test_accuracy"] > 0.5
    finally:
        monkeypatch.delenv("TQDM_DISABLE", raising=False)
        ray.shutdown()
