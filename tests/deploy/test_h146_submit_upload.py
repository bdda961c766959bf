"""``nnsynth submit`` refuses a config that the job's upload leaves out.

The project is uploaded as the job's working_dir without ``deploy.submit.EXCLUDES`` (``runs``,
``.venv``...) and, as Ray packs it, without what a ``.gitignore`` or ``.rayignore`` matches.
A config kept in ``runs/`` (or an ignored folder) was checked, uploaded without itself, and the
job failed on the cluster with "config file ... not found" (helper 146:
``nnsynth submit runs/h146probe/c.yaml --address ...``).  Now that is one line before any
upload.  No cluster: the refusal comes before the dashboard is asked (its address here is a
port nothing listens on)."""
import shutil
from pathlib import Path

import pytest

from deploy.submit import submit_run, upload_exclusion
from synth.errors import UserError

CONFIG = Path(__file__).parent / "configs" / "digits_search.yaml"
NOWHERE = "http://127.0.0.1:1"


def _project(tmp_path):
    root = tmp_path / "project"
    for folder in ("runs/a", "local", "configs", "data"):
        (root / folder).mkdir(parents=True)
    (root / ".gitignore").write_text("local/\n*.tmp.yaml\n")
    (root / "data" / ".rayignore").write_text("*.yaml\n!keep.yaml\n")
    return root


@pytest.mark.parametrize("where, why", [
    ("runs/a/c.yaml", "runs is excluded by nnsynth submit's or Ray's excludes"),
    ("local/c.yaml", "local/c.yaml is matched by .gitignore"),
    ("configs/c.tmp.yaml", "configs/c.tmp.yaml is matched by .gitignore"),
    ("data/c.yaml", "data/c.yaml is matched by data/.rayignore"),
])
def test_a_config_left_out_of_the_upload_is_refused(tmp_path, monkeypatch, where, why):
    monkeypatch.delenv("RAY_RUNTIME_ENV_IGNORE_GITIGNORE", raising=False)
    root = _project(tmp_path)
    shutil.copy(CONFIG, root / where)
    with pytest.raises(UserError, match=f"is not uploaded with the project \\({why}\\)"):
        submit_run(str(root / where), NOWHERE, working_dir=root, follow=False)


def test_an_uploaded_config_passes_to_the_dashboard(tmp_path, monkeypatch):
    monkeypatch.delenv("RAY_RUNTIME_ENV_IGNORE_GITIGNORE", raising=False)
    root = _project(tmp_path)
    for where in ("configs/c.yaml", "data/keep.yaml"):
        assert upload_exclusion(root, Path(where)) is None, where
    shutil.copy(CONFIG, root / "configs" / "c.yaml")
    # past the upload check: the next step is the dashboard, which is not there
    with pytest.raises(UserError, match="cannot reach the Ray dashboard|authentication token"):
        submit_run(str(root / "configs" / "c.yaml"), NOWHERE, working_dir=root, follow=False)


def test_gitignore_is_not_read_when_ray_is_told_to_ignore_it(tmp_path, monkeypatch):
    monkeypatch.setenv("RAY_RUNTIME_ENV_IGNORE_GITIGNORE", "1")
    root = _project(tmp_path)
    assert upload_exclusion(root, Path("local/c.yaml")) is None
    assert upload_exclusion(root, Path("runs/a/c.yaml")).startswith("runs is excluded")
