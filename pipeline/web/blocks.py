"""An HTML fragment's text as paragraphs: what a feed's or WordPress's full content holds."""

from __future__ import annotations

import html

from selectolax.lexbor import LexborHTMLParser, LexborNode

# Not text of the article: code, embeds, forms, and figures (a caption describes a picture that a
# narration cannot show; trafilatura leaves them out of pages too, so feeds and pages agree).
_DROP = "script, style, noscript, template, iframe, svg, form, button, figure, figcaption, object, embed"
MIN_BODY_CHARS = 200  # less text than this is a teaser, not an article
BLOCKS = "p, h1, h2, h3, h4, h5, h6, li, blockquote, pre, dd, dt"


def paragraphs_from_html(fragment: str) -> tuple[str, ...]:
    """The text of ``fragment``'s block elements (paragraphs, headings, list items, quotes), one
    string each with runs of whitespace folded, in document order.

    A block that holds other blocks (a quote of paragraphs, a list item with a nested list) gives
    its inner blocks, not one run-on paragraph; text outside any block (a fragment of bare text or
    ``<br>``-separated lines in a ``<div>``) is kept as paragraphs of its own, split at ``<br>``
    pairs and blank lines.
    """
    tree = LexborHTMLParser(f"<div>{fragment}</div>")
    root = tree.body
    if root is None:
        return ()
    for node in root.css(_DROP):
        node.decompose()
    for br in root.css("br"):
        br.replace_with("\n")
    if root.css_first(BLOCKS) is None:
        return _loose_text(root)
    paragraphs: list[str] = []
    for node in root.css(BLOCKS):
        if any(inner.mem_id != node.mem_id for inner in node.css(BLOCKS)):
            continue  # lexbor's css() matches the node itself: only a block holding blocks skips
        if words := fold(node.text(deep=True, separator="")):
            paragraphs.append(words)
    return tuple(paragraphs)


def html_text(fragment: str) -> str:
    """The text of an HTML fragment (a title with ``<em>`` or ``&#8217;``), whitespace folded."""
    root = LexborHTMLParser(f"<div>{fragment}</div>").body
    return fold(root.text(deep=True, separator="")) if root is not None else ""


def fold(text: str) -> str:
    """``text`` with runs of whitespace (line breaks, tabs, non-breaking spaces) as one space."""
    return " ".join(text.split())


def _loose_text(root: LexborNode) -> tuple[str, ...]:
    text = root.text(deep=True, separator="")
    chunks = text.replace("\r", "").split("\n\n")
    return tuple(words for chunk in chunks if (words := fold(chunk)))


def text_as_html(text: str) -> str:
    """Plain text as HTML: each blank-line-separated block an escaped ``<p>``, line breaks folded."""
    blocks = (fold(block) for block in text.replace("\r", "").split("\n\n"))
    return "".join(f"<p>{html.escape(block, quote=False)}</p>" for block in blocks if block)


def body_or_summary(content_html: str | None, summary_html: str | None) -> tuple[str | None, str | None]:
    """An entry's ``(content_html, summary)`` from what its source gives as content and summary.

    The content counts as the article's body only when it has more than ``MIN_BODY_CHARS``
    characters of text and is longer than the summary (feeds often repeat the teaser as
    "content"); otherwise content_html is None and the page must be fetched. The summary is
    returned as plain text (its paragraphs joined by spaces), None when empty.
    """
    summary = " ".join(paragraphs_from_html(summary_html)) if summary_html else ""
    body = " ".join(paragraphs_from_html(content_html)) if content_html else ""
    if len(body) > MIN_BODY_CHARS and (len(body) > len(summary) or content_html == summary_html):
        return content_html, summary or None
    return None, summary or body or None
