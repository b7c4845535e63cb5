"""Article formats, one module each, looked up by file suffix.

A reader is a function ``text -> ArticleParts`` that raises ``FormatError`` on content it cannot
use; adding a format is one module and one line here.
"""

from __future__ import annotations

from collections.abc import Callable

from pipeline.errors import FormatError
from pipeline.text.article import ArticleParts
from pipeline.text.readers.html import read_html
from pipeline.text.readers.json_article import read_json
from pipeline.text.readers.markdown import read_markdown
from pipeline.text.readers.plain import read_plain

Reader = Callable[[str], ArticleParts]

READERS: dict[str, tuple[str, Reader]] = {
    ".txt": ("txt", read_plain),
    ".md": ("md", read_markdown),
    ".markdown": ("md", read_markdown),
    ".html": ("html", read_html),
    ".htm": ("html", read_html),
    ".json": ("json", read_json),
}

__all__ = ["READERS", "FormatError", "Reader"]
