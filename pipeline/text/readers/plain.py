"""``.txt``: ``date YYYY-MM-DD <audio note>`` on the first line, then blank-line paragraphs.

The date may be an ISO timestamp (``date 2026-11-30T08:15+01:00``) to give the time as well.
"""

from __future__ import annotations

from pipeline.errors import FormatError
from pipeline.text.article import ArticleParts
from pipeline.text.readers.common import paragraphs_of, require, split_date_line


def read_plain(text: str) -> ArticleParts:
    """The article in a ``.txt`` file; the date line's note becomes the audio note. No title.

    Raises:
        FormatError: the first line is not a date line, its date is not real, or no paragraphs
            follow it.
    """
    dated = split_date_line(text)
    if dated is None:
        first = text.strip().splitlines()[0][:60]
        raise FormatError(f"missing date line: the first line must be 'date YYYY-MM-DD ...', not {first!r}")
    date, published, note, body = dated
    paragraphs = paragraphs_of(body)
    require(bool(paragraphs), "no paragraphs after the date line")
    return ArticleParts(date=date, paragraphs=paragraphs, audio_note=note or None, published=published)
