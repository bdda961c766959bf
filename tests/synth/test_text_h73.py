"""text: sets in any script (helper 73): words are Unicode words, case-folded."""
import unicodedata

from synth.text import EOS, UNK, load_text, tokenize


def test_non_english_words_are_kept_whole():
    # before: only a-z made words; "café" was "caf", Cyrillic, Greek and CJK vanished
    text = "Café naïve Straße. Москва — столица России. Ελληνικά 我们是学生。"
    assert tokenize(text) == ["café", "naïve", "strasse", EOS, "москва", "столица", "россии",
                              EOS, "ελληνικά", "我", "们", "是", "学", "生", EOS]


def test_marks_digits_apostrophes_and_compatibility_forms():
    # Devanagari vowel signs are combining marks (the stdlib's \w lacks them); "’" is "'";
    # full-width letters and ligatures fold to their usual forms; "mp3" is one word
    text = "हिन्दी भाषा। Don’t ＡＢＣ ﬁne mp3 1,000 ٣"
    assert tokenize(text) == ["हिन्दी", "भाषा", EOS, "don't", "abc", "fine", "mp3", "N", "N",
                              EOS]


def test_decomposed_accents_are_the_same_word():
    # a file saved in NFD (macOS) held "cafe" + a lone accent: "café" split into "cafe"
    assert tokenize(unicodedata.normalize("NFD", "Café crème.")) == ["café", "crème", EOS]


def test_sentences_of_scripts_with_and_without_case_end():
    # a one-paragraph Russian text was one sentence (the split looked for a-z / A-Z only):
    # "too few sentence ends" for a text of many sentences
    assert tokenize("Это дом. Там кот! 你好！他来了") == [
        "это", "дом", EOS, "там", "кот", EOS, "你", "好", EOS, "他", "来", "了", EOS]
    assert tokenize("Dr. Smith lives in the U.S. now. He is 3.5 m tall.") == [
        "dr", "smith", "lives", "in", "the", "u", "s", "now", EOS, "he", "is", "N", "m",
        "tall", EOS]


def test_a_russian_text_file_trains_with_its_own_vocabulary(tmp_path):
    # one line of 60 sentences: before, its words were all dropped (0 tokens: refused)
    p = tmp_path / "ru.txt"
    p.write_text(" ".join(["Кот спит на окне. Собака лает во дворе."] * 30), encoding="utf-8")
    data = load_text(f"text:{p}", min_count=1)
    assert data.vocab[:2] == [UNK, EOS]
    assert set(data.vocab[2:]) == {"кот", "спит", "на", "окне", "собака", "лает", "во", "дворе"}
    assert data.unk_rate("test") == 0.0


def test_a_text_without_sentence_ends_is_cut_between_words(tmp_path):
    # text8 (one line of words, no punctuation) was refused: "too few sentence ends"
    p = tmp_path / "text8"
    p.write_text(" ".join(["anarchism originated as a term of abuse"] * 200))
    data = load_text(f"text:{p}", min_count=1)
    assert [len(data.split(s)) for s in ("train", "val", "test")] == [1120, 140, 141]
    assert data.unk_rate("val") == 0.0


def test_a_literal_unk_is_the_unknown_token(tmp_path):
    # Mikolov's PTB files hold "<unk>": it became the word "unk" (an <unk> rate of 0 %)
    assert tokenize("the <unk> said <UNK>") == ["the", UNK, "said", UNK, EOS]
    p = tmp_path / "ptb.txt"
    p.write_text("the <unk> cat sat\n" * 50)
    data = load_text(f"text:{p}", min_count=1)
    assert "unk" not in data.vocab and abs(data.unk_rate("train") - 0.2) < 1e-6


def test_a_text_of_no_words_says_so(tmp_path):
    import pytest

    from synth.errors import UserError
    p = tmp_path / "punct.txt"
    p.write_text("... !!! ??? ---\n" * 10)
    with pytest.raises(UserError, match="holds no words"):
        load_text(f"text:{p}")


def test_each_cjk_ideograph_is_a_word():
    # Chinese has no spaces: a clause was one "word" (a vocabulary of whole clauses, nearly
    # every test clause <unk>); kana and hangul runs stay whole
    assert tokenize("我们是学生。日本語のテキスト 한국어") == [
        "我", "们", "是", "学", "生", EOS, "日", "本", "語", "のテキスト", "한국어", EOS]
