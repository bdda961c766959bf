"""Helper 80's probe of user files (synth side): a CSV in a non-Latin 8-bit code page, and the
one name matching of a model's classes to a set's (``synth.data.spelled_as``)."""
import pytest

from synth.data import load_dataset, spelled_as
from synth.errors import UserError

RUSSIAN = ["кошка", "собака", "птица"]
FRENCH = ["été", "hiver", "automne"]


def _table(names) -> str:
    rows = ["длина,ширина,вид" if names is RUSSIAN else "longueur,largeur,saison"]
    rows += [f"{i % 3 + 0.1 * (i % 7):.2f},{0.05 * (i % 11):.2f},{names[i % 3]}"
             for i in range(60)]
    return "\n".join(rows) + "\n"


def test_csv_in_windows_1251_is_refused_in_one_line(tmp_path):
    """It was read as Windows-1252: classes 'êîøêà', 'ïòèöà', 'ñîáàêà', trained silently
    (text: and .ts files had the code-page check already, synth.files.decode_user_text)."""
    path = tmp_path / "ru.csv"
    path.write_bytes(_table(RUSSIAN).encode("cp1251"))
    with pytest.raises(UserError) as err:
        load_dataset(f"csv:{path}")
    message = str(err.value)
    assert "\n" not in message and "ru.csv" in message and "code page" in message
    assert "UTF-8" in message


def test_csv_in_utf8_and_latin_csv_in_windows_1252_still_read(tmp_path):
    utf8 = tmp_path / "ru8.csv"
    utf8.write_text(_table(RUSSIAN), encoding="utf-8")
    assert load_dataset(f"csv:{utf8}").class_names == sorted(RUSSIAN)
    latin = tmp_path / "fr.csv"
    latin.write_bytes(_table(FRENCH).encode("cp1252"))
    assert load_dataset(f"csv:{latin}").class_names == sorted(FRENCH)


@pytest.mark.parametrize("names, data_names, expected", [
    (["Cat", "bird", "dog"], ["bird", "cat", "dog"], ["cat", "bird", "dog"]),
    (["cat", "dog"], ["cat", "dog"], ["cat", "dog"]),
    ([" Dog "], ["dog"], ["dog"]),
    (["Dog", "dog"], ["DOG", "cat"], ["Dog", "dog"]),   # two outputs, one spelling: as given
    (["Cat"], ["cat", "CAT"], ["Cat"]),                  # two spellings: none chosen
    (["ant"], ["bee"], ["ant"]),
])
def test_spelled_as(names, data_names, expected):
    assert spelled_as(names, data_names) == expected


@pytest.mark.skipif(not __import__("os").path.isfile("/proc/self/mem"),
                    reason="needs Linux /proc (a regular file whose read fails: EIO)")
def test_csv_that_cannot_be_read_is_one_line():
    """A read error (EIO here; EACCES for a file without read permission, which root cannot
    reproduce) was an OSError traceback from the CSV reader.  Since 2e7bebf a file that
    reports 0 bytes, as /proc/self/mem does, is refused before it is read (a /proc file's
    read may never end): one line all the same."""
    with pytest.raises(UserError, match=r"^CSV data set /proc/self/mem reports 0 bytes"):
        load_dataset("csv:/proc/self/mem")
