"""Follow-ups (helper 84): ``scaling:`` refuses a storage path Ray Train cannot use, at
validation (``nnsynth run --check``), not when the training starts."""
from pathlib import Path

import pytest

from cluster.train import Scaling
from synth.errors import UserError
from tests._cli import one_error_line, run


@pytest.mark.parametrize("path, message", [
    (5, r"^scaling.storage_path must be a path or a URI such as s3://bucket/runs, got 5 \(int\)"),
    (["a"], "^scaling.storage_path must be a path or a URI"),
    ("  ", "^scaling.storage_path is blank"),
    ("ftp://host/runs", "^scaling.storage_path: Ray cannot store to 'ftp://host/runs': the URI "
                        "scheme must be one of file, s3"),
    ("FILE:///tmp/x", "the URI scheme must be one of"),    # pyarrow's schemes are lower case
    ("gs://", "^scaling.storage_path: 'gs://' names no bucket or path")])
def test_scaling_refuses_a_storage_path_ray_cannot_use(path, message):
    with pytest.raises(UserError, match=message):
        Scaling.from_dict({"storage_path": path}, where="scaling")


def test_scaling_keeps_storage_paths_ray_uses(tmp_path):
    for path in ("", None, "runs/train", "s3://bucket/runs", "abfss://c@a.dfs.core.windows.net/x",
                 tmp_path, str(tmp_path)):
        assert Scaling(storage_path=path).storage_path == path


def test_run_check_refuses_a_number_as_storage_path(tmp_path):
    config = tmp_path / "r.yaml"
    text = (Path(__file__).parents[2] / "deploy" / "configs" / "tiny.yaml").read_text()
    config.write_text(text + "scaling:\n  storage_path: 5\n")
    line = one_error_line(run(["run", "--check", str(config)]))
    assert line == (f"error: {config}: scaling.storage_path must be a path or a URI such as "
                    "s3://bucket/runs, got 5 (int)")
