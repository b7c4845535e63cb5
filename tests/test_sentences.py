import pytest

from pipeline.text.sentences import split_sentences


@pytest.mark.parametrize(
    ("paragraph", "expected"),
    [
        (
            "Ukraine and Albania signed a treaty in Tirana on Feb. 28, President Zelensky said. "
            "It was his first trip.",
            [
                "Ukraine and Albania signed a treaty in Tirana on Feb. 28, President Zelensky said.",
                "It was his first trip.",
            ],
        ),
        (
            "He works for the U.S. Army in Europe. She left.",
            ["He works for the U.S. Army in Europe.", "She left."],
        ),
        (
            "Dr. Smith met the envoy at 7:30 a.m. on Monday. Inflation rose 3.5% in Jan. to a record.",
            ["Dr. Smith met the envoy at 7:30 a.m. on Monday.", "Inflation rose 3.5% in Jan. to a record."],
        ),
        (
            "Ukraine opened the route after Russia left the U.N.-brokered grain deal. The ships sail on.",
            [
                "Ukraine opened the route after Russia left the U.N.-brokered grain deal.",
                "The ships sail on.",
            ],
        ),
        (
            '"The corridor keeps working despite daily attacks," Vaskov told reporters. He added more.',
            ['"The corridor keeps working despite daily attacks," Vaskov told reporters.', "He added more."],
        ),
        ("Ships carried 4.2 million tons of cargo.", ["Ships carried 4.2 million tons of cargo."]),
        ("A headline without a full stop", ["A headline without a full stop"]),
        ("   ", []),
    ],
)
def test_sentence_boundaries(paragraph: str, expected: list[str]) -> None:
    assert split_sentences(paragraph) == expected


def test_sentences_rejoin_to_the_paragraph() -> None:
    paragraph = (
        "Engineers restored power to 85,000 homes on March 12.  "
        "Drones hit at 1 a.m.\nand 4 a.m. Most were shot down."
    )
    sentences = split_sentences(paragraph)
    assert len(sentences) == 3
    assert " ".join(sentences) == " ".join(paragraph.split())
