"""A search's teacher trained on a file rewritten since says so (lead, 12-06).

``nnsynth search --teacher t.pt --dataset csv:d.csv`` splits d.csv with the teacher's recorded
seed and reports its trials on the test split; a d.csv rewritten after the teacher was trained
put the teacher's training rows there, silently (1b7c1c8 made eval warn; the search's driver
loads the set through search.trial.real_data, which did not ask).  It warns once, in the
driver (``warn=True``), not in every trial."""
import logging
import random

from search.run import SearchConfig, real_split_seed
from search.trial import real_data
from tests._cli import json_result, run


def _write(path, rows):
    path.write_text("a,b,c,label\n" + "".join(",".join(map(str, r)) + "\n" for r in rows))


def _warnings(caplog, *args, **kwargs):
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        real_data(*args, **kwargs)
    return [r.getMessage() for r in caplog.records if "changed since" in r.getMessage()]


def test_the_search_driver_warns_of_a_rewritten_teacher_set(tmp_path, caplog):
    rng = random.Random(0)
    rows = [[round(rng.gauss(i % 3, 1), 3) for _ in range(3)] + [i % 3] for i in range(60)]
    data = tmp_path / "d.csv"
    _write(data, rows)
    teacher = tmp_path / "t.pt"
    json_result(run(["-q", "train", "--dataset", f"csv:{data}", "--model",
                     '{"family": "mlp", "hidden": [8]}', "--epochs", "1", "--min-steps", "0",
                     "--out", str(teacher), "--json"]))
    config = SearchConfig(dataset=f"csv:{data}", teacher=str(teacher), data=str(tmp_path))
    seed = real_split_seed(config)
    assert not _warnings(caplog, config.dataset, seed, str(teacher), warn=True)
    _write(data, rows[::-1])                                  # the same rows, another order
    assert len(_warnings(caplog, config.dataset, seed, str(teacher), warn=True)) == 1
    assert not _warnings(caplog, config.dataset, seed, str(teacher))      # a trial's load
