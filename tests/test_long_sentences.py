from pipeline.mt.long_sentences import split_to_fit


def words(text: str) -> int:
    return len(text.split())


def test_short_sentence_is_untouched() -> None:
    assert split_to_fit("one two three", words, 5) == ["one two three"]


def test_split_prefers_clause_punctuation_near_the_middle() -> None:
    sentence = "alpha beta gamma delta, epsilon zeta eta theta; iota kappa"
    assert split_to_fit(sentence, words, 6) == [
        "alpha beta gamma delta,",
        "epsilon zeta eta theta; iota kappa",
    ]
    assert split_to_fit(sentence, words, 4) == [
        "alpha beta gamma delta,",
        "epsilon zeta eta theta;",
        "iota kappa",
    ]


def test_split_falls_back_to_spaces_and_keeps_every_word() -> None:
    sentence = " ".join(f"w{i}" for i in range(100))
    parts = split_to_fit(sentence, words, 7)
    assert all(words(part) <= 7 for part in parts)
    assert " ".join(parts).split() == sentence.split()


def test_one_enormous_word_is_cut_by_characters() -> None:
    blob = "x" * 1000
    parts = split_to_fit(blob, len, 100)
    assert all(len(part) <= 100 for part in parts)
    assert "".join(parts) == blob
