"""``.md``: optional YAML front matter (date, title, id, updated) or a ``date`` line; ``# Title``;
paragraphs.

Markdown is parsed with markdown-it (CommonMark), so emphasis, links and line breaks come out as
plain words; code blocks, raw HTML and images are left out of what is translated.

The title is one block, never two: with a front-matter ``title``, a ``#`` heading that opens the
body is the same title written again for renderers that do not show front matter, and is left out
(even when its words differ, the front matter's title wins); a ``#`` heading further down stays a
paragraph.
"""

from __future__ import annotations

import yaml
from markdown_it import MarkdownIt
from markdown_it.token import Token

from pipeline.errors import FormatError
from pipeline.text.article import ArticleParts
from pipeline.text.readers.common import parse_moment, require, split_date_line, update_moment

_BLOCKS_READ = {"paragraph_open", "heading_open"}


def read_markdown(text: str) -> ArticleParts:
    """The article in a Markdown file.

    Date from the front matter, else from a first ``date`` line (whose note becomes the audio
    note); title from the front matter, else the first ``#`` heading; id from the front matter.

    Raises:
        FormatError: no date or a date that is not ISO, front matter that is never closed, not
            YAML or not a mapping, or no paragraphs of text.
    """
    meta, body = _front_matter(text)
    note = None
    if "date" in meta:
        date, published = parse_moment(meta["date"], "front matter 'date'")
    elif (dated := split_date_line(body)) is not None:
        date, published, note, body = dated
    else:
        raise FormatError(
            "missing date: add front matter 'date: YYYY-MM-DD' or a first line 'date YYYY-MM-DD'"
        )

    title, paragraphs = _title_and_paragraphs(meta.get("title"), body)
    require(bool(paragraphs), "no paragraphs of text")
    return ArticleParts(
        date=date,
        published=published,
        updated=update_moment(meta.get("updated")),
        paragraphs=tuple(paragraphs),
        title=title,
        audio_note=note or None,
        id_hint=str(meta["id"]) if meta.get("id") else None,
    )


def _title_and_paragraphs(meta_title: object, body: str) -> tuple[str | None, list[str]]:
    """The title (the front matter's, else the first ``#`` heading) and the other text blocks; a
    ``#`` heading that is the body's first block is the title, never also a paragraph."""
    title = " ".join(str(meta_title).split()) if meta_title else None
    paragraphs: list[str] = []
    first_block = True
    tokens = MarkdownIt("commonmark").parse(body)
    for index, token in enumerate(tokens):
        if token.type not in _BLOCKS_READ:
            continue
        words = " ".join(_inline_text(tokens[index + 1]).split())
        if not words:
            continue
        opens_body, first_block = first_block, False
        if token.tag == "h1" and (title is None or opens_body):
            title = title or words
        else:
            paragraphs.append(words)
    return title or None, paragraphs


def _front_matter(text: str) -> tuple[dict, str]:
    stripped = text.lstrip("\n")
    if not stripped.startswith("---\n"):
        return {}, text
    header, sep, body = stripped[4:].partition("\n---")
    if not sep:
        raise FormatError("front matter opened with '---' is never closed")
    try:
        meta = yaml.safe_load(header) or {}
    except yaml.YAMLError as exc:
        raise FormatError(f"front matter is not valid YAML: {exc}".splitlines()[0]) from None
    if not isinstance(meta, dict):
        raise FormatError("front matter must be a mapping of keys")
    return meta, body.partition("\n")[2]


def _inline_text(token: Token) -> str:
    parts: list[str] = []
    for child in token.children or []:
        if child.type in ("text", "code_inline"):
            parts.append(child.content)
        elif child.type in ("softbreak", "hardbreak"):
            parts.append(" ")
    return "".join(parts)
