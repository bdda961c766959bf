"""Output folders a config names (Tune's storage_path, Ray Train's scaling.storage_path, the
pipeline's teacher.cache), given as a link loop or under a file: ``Path.resolve`` raised
'Symlink loop', a traceback once the training had begun (found by h311).  Each is now one
line naming the key, before the work."""
import os
from types import SimpleNamespace

import pytest

from synth.errors import UserError


@pytest.fixture
def loop(tmp_path):
    os.symlink(tmp_path / "b", tmp_path / "a")
    os.symlink(tmp_path / "a", tmp_path / "b")
    return tmp_path / "a"


def test_tune_storage_path(loop):
    from search.run import SearchConfig, check_searchable
    config = SearchConfig(dataset="iris", space="mlp", trials=1, storage_path=str(loop))
    with pytest.raises(UserError, match=r"^storage_path .* is a symbolic link loop"):
        check_searchable(config)


def test_ray_train_storage_path_before_any_training(loop, tmp_path):
    from cluster.train import Scaling, train_model
    ran = []
    with pytest.raises(UserError, match=r"^scaling.storage_path .* is a symbolic link loop"):
        train_model(lambda *a: ran.append(a), {},
                    scaling=Scaling(num_workers=0, storage_path=str(loop / "x")))
    assert not ran
    (tmp_path / "f").write_text("mine")
    with pytest.raises(UserError, match=r"is a file, not a directory"):
        train_model(lambda *a: ran.append(a), {},
                    scaling=Scaling(num_workers=0, storage_path=str(tmp_path / "f" / "s")))
    assert not ran and (tmp_path / "f").read_text() == "mine"


def test_teacher_cache(loop, tmp_path):
    from deploy.stages import teacher_cache
    ctx = SimpleNamespace(config=SimpleNamespace(teacher=SimpleNamespace(cache=str(loop))),
                          run_dir=tmp_path / "run")
    with pytest.raises(UserError, match=r"^teacher.cache .* is a symbolic link loop"):
        teacher_cache(ctx)
    ctx.config.teacher.cache = "cache"   # relative: beside the run directory, as before
    assert teacher_cache(ctx) == tmp_path / "cache"
