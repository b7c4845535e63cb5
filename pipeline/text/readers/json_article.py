"""``.json``: ``{"id", "date", "title", "body"}``; body is a string (blank-line paragraphs) or a list."""

from __future__ import annotations

import json

from pipeline.errors import FormatError
from pipeline.text.article import ArticleParts
from pipeline.text.readers.common import paragraphs_of, parse_date, require


def read_json(text: str) -> ArticleParts:
    """The article in a JSON object: ``date`` and ``body`` required, ``title`` and ``id`` optional.

    Raises:
        FormatError: the text is not JSON or not an object, ``date`` or ``body`` is missing, a key
            has the wrong type, the body has no text, or the date is not ISO.
    """
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise FormatError(f"invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}") from None
    require(isinstance(data, dict), "the JSON must be an object with id, date, title and body")
    require("date" in data, "missing key 'date'")
    require("body" in data, "missing key 'body'")
    body = data["body"]
    if isinstance(body, str):
        paragraphs = paragraphs_of(body)
    elif isinstance(body, list) and all(isinstance(item, str) for item in body):
        paragraphs = tuple(folded for item in body if (folded := " ".join(item.split())))
    else:
        raise FormatError("'body' must be a string or a list of strings")
    require(bool(paragraphs), "'body' has no text")
    title = data.get("title")
    require(title is None or isinstance(title, str), "'title' must be a string")
    article_id = data.get("id")
    require(article_id is None or isinstance(article_id, (str, int)), "'id' must be a string")
    return ArticleParts(
        date=parse_date(data["date"], "'date'"),
        paragraphs=paragraphs,
        title=" ".join(title.split()) or None if title else None,
        id_hint=str(article_id) if article_id is not None else None,
    )
