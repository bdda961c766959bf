"""A file of another kind given to a prefix (h109): an Excel workbook or a Parquet file given
as csv:, a CSV given as parquet:.  Each is one line saying what the file is and how to load
it, not a parse error of its bytes ("is compressed", "Expected 1 columns, got 2: ??",
"Parquet magic bytes not found in footer")."""
import zipfile

import numpy as np
import pandas as pd
import pytest

from synth.data import load_dataset
from synth.errors import UserError


def _frame():
    return pd.DataFrame({"a": np.arange(40.0), "b": np.arange(40.0) * 2,
                         "label": np.arange(40) % 2})


def _one_line(e) -> str:
    text = str(e.value)
    assert "\n" not in text and "Traceback" not in text, text
    return text


def _xlsx(path):
    # the parts of a workbook that identify it (openpyxl writes [Content_Types].xml first)
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("xl/workbook.xml", "<workbook/>")


def test_an_excel_workbook_given_as_csv_is_named(tmp_path):
    # it said 'is compressed; give the uncompressed .csv'
    _xlsx(tmp_path / "book.xlsx")
    with pytest.raises(UserError, match="is a spreadsheet workbook") as e:
        load_dataset(f"csv:{tmp_path / 'book.xlsx'}")
    assert "save" in _one_line(e) and "CSV" in str(e.value)


def test_an_old_excel_workbook_given_as_csv_is_named(tmp_path):
    # an .xls (OLE2) was 'cannot be parsed: CSV parse error: Expected 2 columns, got 1'
    (tmp_path / "book.xls").write_bytes(bytes.fromhex("D0CF11E0A1B11AE1") + bytes(range(256)) * 8)
    with pytest.raises(UserError, match="is a spreadsheet workbook") as e:
        load_dataset(f"csv:{tmp_path / 'book.xls'}")
    _one_line(e)


def test_a_parquet_file_given_as_csv_is_told_its_prefix(tmp_path):
    _frame().to_parquet(tmp_path / "d.csv")
    with pytest.raises(UserError, match="Parquet") as e:
        load_dataset(f"csv:{tmp_path / 'd.csv'}")
    assert f"parquet:{tmp_path / 'd.csv'}" in _one_line(e)


def test_a_csv_given_as_parquet_is_told_its_prefix(tmp_path):
    _frame().to_csv(tmp_path / "d.csv", index=False)
    with pytest.raises(UserError, match="not a Parquet file") as e:
        load_dataset(f"parquet:{tmp_path / 'd.csv'}")
    assert f"csv:{tmp_path / 'd.csv'}" in _one_line(e)


def test_a_zip_of_a_csv_is_still_called_compressed(tmp_path):
    with zipfile.ZipFile(tmp_path / "d.zip", "w") as z:
        z.writestr("d.csv", _frame().to_csv(index=False))
    with pytest.raises(UserError, match="compressed"):
        load_dataset(f"csv:{tmp_path / 'd.zip'}")
