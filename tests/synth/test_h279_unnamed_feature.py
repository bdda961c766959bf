"""A CSV's first column without a header name is a feature when it holds fractional numbers
(h279).  It was dropped as a row index whatever it held: a file whose header cell over its
one informative measurement was left empty (',b,label') trained on 'b' alone, to chance
(0.333 of 3 classes), without a word.  A row index (whole numbers or text, all different, as
pandas' to_csv and R write it) is still not read."""
import numpy as np

from synth.data import load_dataset


def _rows(first):
    rng = np.random.default_rng(0)
    return [f"{first(i, i % 3, rng)},{rng.normal():.5f},{i % 3}" for i in range(60)]


def test_a_nameless_column_of_measurements_is_read(tmp_path):
    path = tmp_path / "m.csv"
    path.write_text(",b,label\n" + "\n".join(_rows(lambda i, c, r: f"{r.normal() + 3 * c:.5f}"))
                    + "\n")
    data = load_dataset(f"csv:{path}")
    assert data.input_shape == (2,)


def test_a_row_index_is_still_dropped(tmp_path):
    for first in (lambda i, c, r: str(i * 7), lambda i, c, r: f"row{i}"):
        path = tmp_path / "i.csv"
        path.write_text(",b,label\n" + "\n".join(_rows(first)) + "\n")
        assert load_dataset(f"csv:{path}").input_shape == (1,)
