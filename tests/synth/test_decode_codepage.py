"""A user's text that is not UTF-8 is read as Windows-1252 (Latin-1); one in another 8-bit
code page (Russian in Windows-1251) read as Windows-1252 garbage ('êîò ñïèò') and trained
silently.  Now refused in one line, while Latin-1 French or Icelandic text still reads."""
import pytest

from synth.errors import UserError
from synth.files import decode_user_text


RUSSIAN = "Кот спит на окне. Собака лежит у двери. Дети играют во дворе весь день.\n" * 3
FRENCH = "Le café est très chaud. L'élève a déjà mangé à la cantine. Où est la forêt?\n" * 3
ICELANDIC = "Þetta er íslenskur texti. Ég fór út að ganga í góðu veðri með hundinn minn.\n" * 3


def test_cyrillic_in_windows_1251_is_refused_in_one_line(tmp_path):
    with pytest.raises(UserError) as err:
        decode_user_text(RUSSIAN.encode("cp1251"), "text file", tmp_path / "ru.txt")
    message = str(err.value)
    assert "\n" not in message and "ru.txt" in message and "UTF-8" in message


@pytest.mark.parametrize("text", [FRENCH, ICELANDIC])
def test_latin_text_in_windows_1252_still_reads(text, tmp_path):
    assert decode_user_text(text.encode("cp1252"), "text file", tmp_path / "t.txt") == text


def test_the_same_russian_text_in_utf8_reads(tmp_path):
    assert decode_user_text(RUSSIAN.encode("utf-8"), "text file", tmp_path / "t.txt") == RUSSIAN


def test_greek_in_windows_1253_is_refused_too(tmp_path):
    greek = "Η γάτα κοιμάται στο παράθυρο. Ο σκύλος κάθεται στην πόρτα όλη μέρα.\n" * 3
    with pytest.raises(UserError):
        decode_user_text(greek.encode("cp1253"), "text file", tmp_path / "el.txt")
