"""``.json``: ``{"id", "date", "title", "body"}``; body is a string (blank-line paragraphs) or a list.

``date`` (or ``published``) is an ISO date or timestamp; ``updated`` (or ``modified``) an optional
ISO timestamp.
"""

from __future__ import annotations

import json

from pipeline.errors import FormatError
from pipeline.text.article import ArticleParts
from pipeline.text.readers.common import paragraphs_of, parse_moment, require, update_moment


def read_json(text: str) -> ArticleParts:
    """The article in a JSON object: ``date`` (or ``published``) and ``body`` required, ``title``,
    ``id`` and ``updated`` (or ``modified``) optional.

    Raises:
        FormatError: the text is not JSON or not an object, ``date`` or ``body`` is missing, a key
            has the wrong type, the body has no text, or the date is not ISO.
    """
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise FormatError(f"invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}") from None
    require(isinstance(data, dict), "the JSON must be an object with id, date, title and body")
    date_key = "date" if "date" in data else "published"
    require(date_key in data, "missing key 'date'")
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
    date, published = parse_moment(data[date_key], f"'{date_key}'")
    if published is None and date_key == "date" and data.get("published") is not None:  # the time beside it
        published = parse_moment(data["published"], "'published'")[1]
    return ArticleParts(
        date=date,
        published=published,
        updated=update_moment(data.get("updated", data.get("modified"))),
        paragraphs=paragraphs,
        title=" ".join(title.split()) or None if title else None,
        id_hint=str(article_id) if article_id is not None else None,
    )
