"""What the review app needs from the editor service, and what it checks before asking it.

``Service`` is the interface the web layer (``app.py``, ``pages.py``, ``api.py``) is written
against; ``EditorService`` (``service.py``) is the implementation, the tests use an in-memory fake.
Every method is synchronous and may block (the app calls them in a worker thread), and raises the
``EditorError`` subclasses of ``pipeline/errors.py``, whose ``status`` is the HTTP status the app
answers with.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from pipeline.errors import NotFound
from pipeline.layout import AUDIO_FILE, JSON_FILE, TEXT_FILE, TRANSCRIPT_FILE
from pipeline.state.history import History, HistoryQuery

# The files of an article's language that the app serves, with the type it serves them as.
MEDIA_TYPES = {
    TEXT_FILE: "text/plain; charset=utf-8",
    JSON_FILE: "application/json",
    AUDIO_FILE: "audio/mpeg",
    TRANSCRIPT_FILE: "text/vtt; charset=utf-8",
}
REVIEW_STATES = ("approved", "rejected")
EDITOR_MAX = 100  # characters of an editor's name, after stripping
NOTE_MAX = 2000  # characters of a review note
TEXT_MAX = 2000  # characters of a post-edit: longer than any sentence a newsroom writes (a paste gone wrong)
BODY_MAX = 256 * 1024  # bytes of a request body (a sentence is far smaller)

# Article ids are slugs (``pipeline.text.slug``): lower-case letters, digits and hyphens. The app
# accepts a little more, but never a path: no slash, no dot first, nothing outside ASCII.
_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,199}", re.ASCII)
_INDEX = re.compile(r"[0-9]{1,9}", re.ASCII)
_WHOLE_NUMBER = re.compile(r"-?[0-9]+", re.ASCII)


class ItemFailed(NotFound):
    """An article-language that failed before it had a text: nothing to show but why (``error``,
    already without server details, and the ``stage`` it failed at). A 404 to the API; the article
    page shows the reason."""

    def __init__(self, article_id: str, language: str, *, error: str, stage: str = "") -> None:
        at = f" at {stage}" if stage else ""
        super().__init__(f"{article_id} [{language}] failed{at}: {error}")
        self.error, self.stage = error, stage


class Service(Protocol):
    """What an editor can do to a job (see ``pipeline.editor.service.EditorService``).

    ``articles()`` gives one summary per article; ``article()``, ``save_edit()``, ``drop_edit()``
    and ``review()`` give (after the change) one article's sentences in one language. ``file()``
    gives the path of one of the files in ``MEDIA_TYPES``; ``history()`` the editors' changes.
    """

    job: str
    languages: list[tuple[str, str]]
    notices: list[str]  # what editors should know about the job (shown on every page)

    def articles(self) -> list[dict[str, Any]]: ...

    def article(self, article_id: str, language: str) -> dict[str, Any]: ...

    def save_edit(
        self, article_id: str, language: str, index: int, text: str, editor: str, if_match: str | None
    ) -> dict[str, Any]: ...

    def drop_edit(
        self, article_id: str, language: str, index: int, if_match: str | None, editor: str = ""
    ) -> dict[str, Any]: ...

    def review(
        self, article_id: str, language: str, status: str, editor: str, note: str, if_match: str | None
    ) -> dict[str, Any]: ...

    def file(self, article_id: str, language: str, name: str) -> Path: ...

    def history(self, query: HistoryQuery) -> History: ...


# The filters of the article list: a name, its label, and what a language of an article must be
# for the article to be listed (any of its languages).
FILTERS: dict[str, tuple[str, Callable[[dict[str, Any]], bool]]] = {
    "all": ("All", lambda column: True),
    "needs_review": (
        "Needs review",
        lambda column: column.get("review") == "needs_review" and column.get("status") != "failed",
    ),
    "failed": ("Failed", lambda column: column.get("status") == "failed"),
    "flagged": ("Flagged", lambda column: bool(column.get("flags"))),
    "edited": ("Edited", lambda column: bool(column.get("edited"))),
    "approved": ("Approved", lambda column: column.get("review") == "approved"),
    "rejected": ("Rejected", lambda column: column.get("review") == "rejected"),
}
PAGE_SIZE = 50  # articles on a page of the list (the index and ``GET /api/articles``)
PAGE_SIZE_MAX = 500


def matches(article: dict[str, Any], show: str) -> bool:
    """Whether any of ``article``'s languages passes the filter ``show``."""
    test = FILTERS[show][1]
    return any(test(column) for column in (article.get("languages") or {}).values())


def listing(
    articles: list[dict[str, Any]], status: str, page: int, per_page: int = PAGE_SIZE
) -> dict[str, Any]:
    """Page ``page`` (from 1; past the last: the last) of the ``articles`` that pass the filter
    ``status`` (a name of ``FILTERS``), with how many pass each filter: ``{"status", "page",
    "pages", "per_page", "total", "counts", "articles"}``."""
    counts = {name: 0 for name in FILTERS}
    chosen = []
    for article in articles:
        for name in FILTERS:
            if matches(article, name):
                counts[name] += 1
                if name == status:
                    chosen.append(article)
    pages = max(1, -(-len(chosen) // per_page))
    page = min(page, pages)
    return {
        "status": status,
        "page": page,
        "pages": pages,
        "per_page": per_page,
        "total": len(chosen),
        "counts": counts,
        "articles": chosen[(page - 1) * per_page : page * per_page],
    }


def valid_article_id(article_id: str) -> bool:
    """Whether ``article_id`` could be an article's id (never ``..``, a slash or a control character)."""
    return _ID.fullmatch(article_id) is not None


def parse_index(text: str) -> int | None:
    """The sentence index in a URL (ASCII digits only), or None."""
    return int(text) if _INDEX.fullmatch(text) else None


def is_whole_number(text: str) -> bool:
    """Whether ``text`` is a whole number in ASCII digits, of any sign or length."""
    return _WHOLE_NUMBER.fullmatch(text) is not None


def language_codes(service: Service) -> list[str]:
    """The codes of the job's languages, in the job's order."""
    return [code for code, _name in service.languages]
