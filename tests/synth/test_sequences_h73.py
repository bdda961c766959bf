"""ts: sets (helper 73): a folder's files rewritten in place are read again."""
import os

import numpy as np

from synth.data import load_dataset

HEADER = "@problemName Toy\n@univariate true\n@classLabel true a b\n@data\n"


def _write(path, n, offset):
    rng = np.random.default_rng(n)
    lines = [",".join(f"{v:.4f}" for v in rng.normal(size=6) + offset) + (":a" if i % 2 else ":b")
             for i in range(n)]
    path.write_text(HEADER + "\n".join(lines) + "\n")


def test_a_rewritten_ts_folder_is_not_served_from_the_cache(tmp_path):
    _write(tmp_path / "Toy_TRAIN.ts", 20, 0.0)
    _write(tmp_path / "Toy_TEST.ts", 10, 0.0)
    first = load_dataset(f"ts:{tmp_path}", seed=0)
    assert len(first.y_train) + len(first.y_val) + len(first.y_test) == 30
    # the same paths, new content (e.g. the user fixed their export): before, the parse of
    # the first files was returned for the rest of the process, keyed by the path alone
    _write(tmp_path / "Toy_TRAIN.ts", 40, 5.0)
    st = os.stat(tmp_path / "Toy_TRAIN.ts")
    os.utime(tmp_path / "Toy_TRAIN.ts", ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    second = load_dataset(f"ts:{tmp_path}", seed=0)
    assert len(second.y_train) + len(second.y_val) + len(second.y_test) == 50
    assert abs(second.mean[0] - first.mean[0]) > 1.0    # the new values were normalized
    again = load_dataset(f"ts:{tmp_path}", seed=0)      # unchanged files: the same set
    assert again.digest() == second.digest()
