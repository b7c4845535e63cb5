"""The review app's JSON API, under ``/api``.

- ``GET /api/articles``: a page of the articles (``?status=`` a filter, ``?page=``, ``?per_page=``)
  with, per language, its status, review, flags, edits and audio, and how many pass each filter.
- ``GET /api/articles/{id}/{lang}``: one article's sentences in one language.
- ``PUT /api/articles/{id}/{lang}/sentences/{index}`` (``{"text", "editor"}``, ``If-Match: <key>``):
  save an editor's version of a sentence; ``DELETE`` the same (``If-Match``, optional body
  ``{"editor"}``): back to the machine's.
- ``POST /api/articles/{id}/{lang}/approve`` and ``/reject`` (``{"editor", "note"}``, ``If-Match:
  <the article's text_key>``): a review of the text as it was read.

The editor of a change is the signed-in account (``auth.py``), whatever the body's ``editor`` says;
only an approver may approve or reject (403). Without accounts (a loopback bind without a token),
the body names the editor.

Answers are the service's dicts; errors are ``{"error": "<one line>"}`` with the status of what the
service raised (404, 412, 422, 423 with ``Retry-After``, 428), 422 for a malformed body or a sentence
index that is not a whole number (404 for one no sentence has, negative say), 500 for the rest.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from pipeline.editor.accounts import Account
from pipeline.editor.contract import (
    BODY_MAX,
    EDITOR_MAX,
    FILTERS,
    NOTE_MAX,
    PAGE_SIZE,
    PAGE_SIZE_MAX,
    is_whole_number,
    language_codes,
    listing,
    parse_index,
    valid_article_id,
)
from pipeline.editor.replies import NO_STORE, TooLarge, call, guarded, json_error, service_of
from pipeline.errors import Forbidden, InvalidEdit, NotFound

api_endpoint = guarded(json_error)


def _answer(data: Any) -> Response:
    return JSONResponse(data, headers=NO_STORE)


def _article_and_language(request: Request) -> tuple[str, str]:
    """The article id and language of the URL; NotFound unless they could name one."""
    article_id, language = request.path_params["article_id"], request.path_params["language"]
    if not valid_article_id(article_id):
        raise NotFound(f"unknown article {article_id!r}")
    if language not in language_codes(service_of(request)):
        raise NotFound(f"unknown language {language!r}")
    return article_id, language


def _index(request: Request) -> int:
    """The sentence index of the URL: NotFound for a number no sentence has (negative, or too long to
    be one), InvalidEdit for what is not a number."""
    text = request.path_params["index"]
    index = parse_index(text)
    if index is None and is_whole_number(text):
        raise NotFound(f"no sentence {text[:20]}")
    if index is None:
        raise InvalidEdit(f"sentence index {text!r} is not a number")
    return index


def if_match(request: Request) -> str | None:
    """The key in ``If-Match`` (a sentence's, or an article's ``text_key``), without quotes or a
    ``W/`` prefix; None when absent."""
    value = request.headers.get("if-match")
    if value is None:
        return None
    value = value.strip().removeprefix("W/").strip()
    if len(value) >= 2 and value[0] == value[-1] == '"':
        value = value[1:-1]
    return value


async def read_object(request: Request, *, optional: bool = False) -> dict[str, Any]:
    """The request body as a JSON object (with ``optional``, an empty body is ``{}``).

    Raises:
        TooLarge: over ``BODY_MAX`` bytes.
        InvalidEdit: not JSON, or not an object.
    """
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > BODY_MAX:
            raise TooLarge(f"the request body is over {BODY_MAX} bytes")
    if optional and not body.strip():
        return {}
    try:
        data = json.loads(bytes(body))
    except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
        raise InvalidEdit("the request body is not JSON") from None
    if not isinstance(data, dict):
        raise InvalidEdit("the request body must be a JSON object")
    return data


def _string(data: dict[str, Any], name: str, default: str | None = None) -> str:
    value = data.get(name, default)
    if not isinstance(value, str):
        raise InvalidEdit(f"{name!r} must be a string" if name in data else f"{name!r} is missing")
    return value


def editor_name(request: Request, data: dict[str, Any], *, review: bool = False) -> str:
    """Who makes the change: the signed-in account (a body's ``editor`` is then ignored: nobody
    acts under another's name), else the body's ``editor``, stripped, 1 to ``EDITOR_MAX`` characters.

    Raises:
        Forbidden: a ``review`` by an account that may not approve or reject.
        InvalidEdit: no account and no usable ``editor``.
    """
    account: Account | None = getattr(request.state, "account", None)
    if account is not None:
        if review and not account.may_review:
            raise Forbidden(f"{account.name} is an editor: only an approver may approve or reject")
        return account.name
    editor = _string(data, "editor").strip()
    if not 1 <= len(editor) <= EDITOR_MAX:
        raise InvalidEdit(f"'editor' must be your name, 1 to {EDITOR_MAX} characters")
    return editor


@api_endpoint
async def list_articles(request: Request) -> Response:
    """``GET /api/articles[?status=<filter>&page=<n>&per_page=<n>]``: a page of the article list."""
    query = request.query_params
    status = query.get("status", "all")
    if status not in FILTERS:
        raise InvalidEdit(f"unknown status {status!r}: one of {', '.join(FILTERS)}")
    page, per_page = parse_index(query.get("page", "1")), parse_index(query.get("per_page", str(PAGE_SIZE)))
    if not page:
        raise InvalidEdit("'page' must be a whole number from 1")
    if not per_page or per_page > PAGE_SIZE_MAX:
        raise InvalidEdit(f"'per_page' must be a whole number from 1 to {PAGE_SIZE_MAX}")
    return _answer(listing(await call(service_of(request).articles), status, page, per_page))


@api_endpoint
async def get_article(request: Request) -> Response:
    """``GET /api/articles/{id}/{lang}``."""
    article_id, language = _article_and_language(request)
    return _answer(await call(service_of(request).article, article_id, language))


@api_endpoint
async def put_sentence(request: Request) -> Response:
    """``PUT /api/articles/{id}/{lang}/sentences/{index}``: save an edit."""
    article_id, language = _article_and_language(request)
    index = _index(request)
    data = await read_object(request)
    text, editor = _string(data, "text"), editor_name(request, data)
    service = service_of(request)
    return _answer(
        await call(service.save_edit, article_id, language, index, text, editor, if_match(request))
    )


@api_endpoint
async def delete_sentence(request: Request) -> Response:
    """``DELETE /api/articles/{id}/{lang}/sentences/{index}``: back to the machine translation (the
    body, optional, may name the ``editor`` who reverts it)."""
    article_id, language = _article_and_language(request)
    index = _index(request)
    data = await read_object(request, optional=True)
    signed_in = getattr(request.state, "account", None) is not None
    editor = editor_name(request, data) if signed_in or "editor" in data else ""
    service = service_of(request)
    return _answer(await call(service.drop_edit, article_id, language, index, if_match(request), editor))


async def _review(request: Request, status: str) -> Response:
    article_id, language = _article_and_language(request)
    data = await read_object(request)
    editor, note = editor_name(request, data, review=True), _string(data, "note", "")
    if len(note) > NOTE_MAX:
        raise InvalidEdit(f"'note' is over {NOTE_MAX} characters")
    service = service_of(request)
    return _answer(
        await call(service.review, article_id, language, status, editor, note.strip(), if_match(request))
    )


@api_endpoint
async def approve(request: Request) -> Response:
    """``POST /api/articles/{id}/{lang}/approve``."""
    return await _review(request, "approved")


@api_endpoint
async def reject(request: Request) -> Response:
    """``POST /api/articles/{id}/{lang}/reject``."""
    return await _review(request, "rejected")


SENTENCE = "/api/articles/{article_id}/{language}/sentences/{index}"
routes = [
    Route("/api/articles", list_articles, methods=["GET"]),
    Route("/api/articles/{article_id}/{language}", get_article, methods=["GET"]),
    Route(SENTENCE, put_sentence, methods=["PUT"]),
    Route(SENTENCE, delete_sentence, methods=["DELETE"]),
    Route("/api/articles/{article_id}/{language}/approve", approve, methods=["POST"]),
    Route("/api/articles/{article_id}/{language}/reject", reject, methods=["POST"]),
]
