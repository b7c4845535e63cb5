"""The review app's pages and files.

- ``GET /``: the articles, a column per language, 50 a page (``?page=``), filtered with ``?show=``
  (an article is listed when any of its languages matches).
- ``GET /articles/{id}/``: the source paragraphs and every language side by side, with the editing,
  review and audio controls (``static/editor.js`` drives them through the API); an article that
  failed in every language before it had a text: why, per language (``failed.html``).
- ``GET /articles/{id}/{lang}/{name}``: ``article.txt``, ``article.json``, ``narration.mp3`` or
  ``transcript.vtt``.

All text is escaped (Jinja2 autoescaping); errors are a small HTML page with the error's status.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from pipeline.editor.contract import (
    FILTERS,
    MEDIA_TYPES,
    PAGE_SIZE,
    ItemFailed,
    Service,
    language_codes,
    listing,
    parse_index,
    valid_article_id,
)
from pipeline.editor.files import open_regular
from pipeline.editor.replies import call, error_headers, guarded, service_of
from pipeline.errors import NotFound
from pipeline.layout import AUDIO_FILE, TRANSCRIPT_FILE


def environment() -> Any:
    """The Jinja environment: this package's templates first, then the static review pages' (for
    ``_style.html``), autoescaping everything."""
    from jinja2 import ChoiceLoader, Environment, PackageLoader, select_autoescape

    return Environment(
        loader=ChoiceLoader(
            [PackageLoader("pipeline.editor", "templates"), PackageLoader("pipeline.report", "templates")]
        ),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render(request: Request, template: str, status: int = 200, **context: Any) -> HTMLResponse:
    """``template`` rendered with the job's name and languages besides ``context``."""
    service = service_of(request)
    html = request.app.state.templates.get_template(template).render(
        job=service.job,
        languages=service.languages,
        notices=service.notices,
        account=getattr(request.state, "account", None),
        **context,
    )
    headers = error_headers(status) if status >= 400 else {"Cache-Control": "no-store"}
    return HTMLResponse(html, status_code=status, headers=headers)


def error_page(request: Request, status: int, message: str) -> Response:
    """The error page: what went wrong, in one line, with a link back to the list."""
    return render(request, "error.html", status=status, status_code=status, message=message)


page_endpoint = guarded(error_page)


class DescriptorResponse(FileResponse):
    """A ``FileResponse`` of a file already opened (``files.open_regular``): what it sends is the
    file that was checked, whatever the path names by then. The descriptor is closed once sent."""

    def __init__(self, fd: int, path: Path, **options: Any) -> None:
        super().__init__(path, **options)
        self.fd = fd

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        extensions = {k: v for k, v in scope.get("extensions", {}).items() if k != "http.response.pathsend"}
        try:
            await super().__call__({**scope, "extensions": extensions}, receive, send)
        finally:
            os.close(self.fd)

    @asynccontextmanager
    async def _open_file(self) -> AsyncIterator[anyio.AsyncFile[bytes]]:
        # Starlette opens ``path`` here (once per response): the descriptor instead, from its start
        # (a range seeks on it), left open for ``__call__`` to close.
        handle = os.fdopen(self.fd, "rb", closefd=False)
        handle.seek(0)
        file = anyio.wrap_file(handle)
        try:
            yield file
        finally:
            with anyio.CancelScope(shield=True):
                await file.aclose()


@page_endpoint
async def index(request: Request) -> Response:
    """``GET /``: a page of the article list (``?page=``, from 1), filtered by ``?show=`` (an
    unknown filter shows all, an unusable page the first)."""
    show = request.query_params.get("show", "all")
    show = show if show in FILTERS else "all"
    page = parse_index(request.query_params.get("page", "1")) or 1
    found = listing(await call(service_of(request).articles), show, page, PAGE_SIZE)
    filters = [(name, label, found["counts"][name]) for name, (label, _test) in FILTERS.items()]
    return render(request, "index.html", found=found, articles=found["articles"], filters=filters, show=show)


def _has_file(service: Service, article_id: str, language: str, name: str) -> bool:
    try:
        return service.file(article_id, language, name).is_file()
    except NotFound:
        return False


def _columns(service: Service, article_id: str) -> list[dict[str, Any]]:
    """Per language: its article dict (None when the article has no such language, with the reason)
    and whether it has a narration and a transcript on disk."""
    columns = []
    for code, name in service.languages:
        column: dict[str, Any] = {"code": code, "name": name, "data": None, "error": None}
        try:
            column["data"] = service.article(article_id, code)
        except ItemFailed as exc:
            column["error"], column["failed"] = f"This translation failed: {exc.error}", True
        except NotFound as exc:
            column["error"] = str(exc)
        else:
            column["narration"] = _has_file(service, article_id, code, AUDIO_FILE)
            column["transcript"] = _has_file(service, article_id, code, TRANSCRIPT_FILE)
            sentences = [s for paragraph in column["data"]["paragraphs"] for s in paragraph]
            column["flags"] = sum(len(sentence["flags"]) for sentence in sentences)
            column["edited"] = sum(sentence.get("edit") is not None for sentence in sentences)
        columns.append(column)
    return columns


@page_endpoint
async def article_page(request: Request) -> Response:
    """``GET /articles/{id}/``: the article in every language, with its editing controls."""
    article_id = request.path_params["article_id"]
    if not valid_article_id(article_id):
        raise NotFound(f"unknown article {article_id!r}")
    columns = await call(_columns, service_of(request), article_id)
    found = [column["data"] for column in columns if column["data"] is not None]
    if not found and any(column.get("failed") for column in columns):
        return render(request, "failed.html", article_id=article_id, columns=columns)
    if not found:
        raise NotFound(next((c["error"] for c in columns if c["error"]), f"unknown article {article_id!r}"))
    first = found[0]
    return render(
        request,
        "article.html",
        article_id=article_id,
        title=first.get("title") or article_id,
        date=first.get("date") or "",
        time=first.get("time"),
        source_paragraphs=first.get("source_paragraphs") or [],
        kinds=first.get("kinds") or [],
        columns=columns,
    )


@page_endpoint
async def article_file(request: Request) -> Response:
    """``GET /articles/{id}/{lang}/{name}``: one of the files of ``MEDIA_TYPES``."""
    article_id, language, name = (request.path_params[key] for key in ("article_id", "language", "name"))
    service = service_of(request)
    if not valid_article_id(article_id) or language not in language_codes(service) or name not in MEDIA_TYPES:
        raise NotFound(f"no such file: {article_id}/{language}/{name}")
    path = await call(service.file, article_id, language, name)
    try:
        fd, found = await call(open_regular, path)
    except FileNotFoundError:
        raise NotFound(f"no such file: {article_id}/{language}/{name}") from None
    return DescriptorResponse(
        fd, path, media_type=MEDIA_TYPES[name], stat_result=found, headers={"Cache-Control": "no-cache"}
    )


routes = [
    Route("/", index, methods=["GET"]),
    Route("/articles/{article_id}/", article_page, methods=["GET"]),
    Route("/articles/{article_id}/{language}/{name}", article_file, methods=["GET"]),
]
