"""Class names that are one name in two Unicode forms are refused (helper h257).

A CSV whose label column held 'café' written with U+00E9 in some rows and with 'e' +
U+0301 in others (a file joined from two sources; macOS writes folder names decomposed)
loaded as two classes that print alike, each holding part of one class's rows: nnsynth
train trained a 3-output model of 'café', 'café' and 'ñ' without a word.
"""
import re

import numpy as np
import pytest

from synth.data import load_dataset
from synth.errors import UserError
from tests._cli import one_error_line, run

COMPOSED, DECOMPOSED = "caf\u00e9", "cafe\u0301"


def _csv(path, names):
    rng = np.random.default_rng(0)
    rows = [f"{rng.normal():.3f},{rng.normal():.3f},{c}" for c in names * 20]
    path.write_text("a,b,label\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return f"csv:{path}"


def test_one_name_in_two_unicode_forms_is_refused(tmp_path):
    ref = _csv(tmp_path / "t.csv", [COMPOSED, DECOMPOSED, "\u00f1"])
    first, second = sorted([COMPOSED, DECOMPOSED])   # the classes in sorted order
    with pytest.raises(UserError, match=re.escape(f"class names '{first}' (class 0) and "
                                                  f"'{second}' (class 1) are one name in two "
                                                  f"Unicode forms")):
        load_dataset(ref)
    line = one_error_line(run(["train", "--dataset", ref, "--model", "mlp_small",
                               "--epochs", "1", "--min-steps", "0",
                               "--out", str(tmp_path / "m.pt")]))
    assert "two Unicode forms" in line


def test_distinct_accented_names_load(tmp_path):
    data = load_dataset(_csv(tmp_path / "t.csv", [COMPOSED, "cafe", "\u00f1"]))
    assert data.num_classes == 3 and COMPOSED in data.class_names
