"""What the app's endpoints share: the service of the app, calling it off the event loop, and turning
what it raises into an answer (an ``EditorError`` into its status with its one-line message, never
with a server path or a PID; anything else into a logged 500 that shows no detail)."""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar, cast

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response

from pipeline.editor.contract import Service
from pipeline.editor.redact import without_server_details
from pipeline.errors import EditorError

log = logging.getLogger("pipeline.editor")

RETRY_AFTER = "5"  # seconds, on 423 (a pipeline run holds the job)
INTERNAL_ERROR = "internal error: the review app could not answer (the details are in its log)"
NO_STORE = {"Cache-Control": "no-store"}

T = TypeVar("T")
Endpoint = Callable[[Request], Awaitable[Response]]
ErrorReply = Callable[[Request, int, str], Response]


class TooLarge(EditorError):
    """A request body over ``contract.BODY_MAX`` bytes."""

    status = 413


def service_of(request: Request) -> Service:
    """The service the app was created with."""
    return cast(Service, request.app.state.service)


async def call(function: Callable[..., T], *args: Any) -> T:
    """``function(*args)`` in a worker thread: the service's methods block."""
    return await run_in_threadpool(function, *args)


def one_line(message: str, fallback: str) -> str:
    """``message`` on one line (whitespace runs, newlines included, become one space)."""
    return " ".join(message.split()) or fallback


def error_headers(status: int) -> dict[str, str]:
    """The headers of an error answer: never cached; ``Retry-After`` on 423."""
    return {**NO_STORE, "Retry-After": RETRY_AFTER} if status == 423 else dict(NO_STORE)


def json_error(request: Request, status: int, message: str) -> Response:
    """``{"error": message}`` with ``status``."""
    return JSONResponse({"error": message}, status_code=status, headers=error_headers(status))


def guarded(reply: ErrorReply) -> Callable[[Endpoint], Endpoint]:
    """Wrap an endpoint so that what it raises becomes ``reply(request, status, message)``.

    An ``EditorError`` answers with its status and message; Starlette's ``HTTPException`` passes
    through to the app's handler; anything else is logged with its traceback and answers 500 with a
    generic message.
    """

    def decorate(endpoint: Endpoint) -> Endpoint:
        @functools.wraps(endpoint)
        async def guarded_endpoint(request: Request) -> Response:
            try:
                return await endpoint(request)
            except EditorError as exc:
                message = one_line(str(exc), type(exc).__name__)
                shown = without_server_details(message)
                if shown != message:
                    log.warning("%s %s: %s", request.method, request.url.path, message)
                return reply(request, exc.status, shown)
            except HTTPException:
                raise
            except ClientDisconnect:
                return reply(request, 400, "the request was cut short")
            except Exception:
                log.exception("%s %s failed", request.method, request.url.path)
                return reply(request, 500, INTERNAL_ERROR)

        return guarded_endpoint

    return decorate
