"""The review app: an ASGI application (Starlette) over an editor service (``EditorService``).

``create_app(service, token=..., allowed_hosts=...)`` gives the application that ``pipeline serve``
runs under uvicorn: the live review pages (``pages.py``), the JSON API (``api.py``), the page script
(``static/editor.js``), all behind the host, token and same-origin checks of ``security.py``.
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from pipeline.editor import api, history_page, pages, signin
from pipeline.editor.auth import Authenticator
from pipeline.editor.contract import Service
from pipeline.editor.replies import INTERNAL_ERROR, json_error, log, one_line
from pipeline.editor.security import PeerMiddleware, SecurityMiddleware

__all__ = ["Service", "create_app"]


def _is_api(request: Request) -> bool:
    return request.url.path == "/api" or request.url.path.startswith("/api/")


async def _http_error(request: Request, exc: Exception) -> Response:
    """Starlette's own refusals (no such route 404, wrong method 405, ...) in the app's format."""
    assert isinstance(exc, HTTPException)
    message = one_line(str(exc.detail), "error")
    if _is_api(request) or request.url.path.startswith("/static/"):
        response = json_error(request, exc.status_code, message)
    else:
        response = pages.error_page(request, exc.status_code, message)
    if exc.headers:
        response.headers.update(exc.headers)
    return response


async def _unexpected(request: Request, exc: Exception) -> Response:
    """The last resort (endpoints catch their own errors): a 500 that shows no detail."""
    log.error("%s %s failed", request.method, request.url.path, exc_info=exc)
    return json_error(request, 500, INTERNAL_ERROR)


def create_app(
    service: Service, *, token: str | None, allowed_hosts: list[str], auth: Authenticator | None = None
) -> Starlette:
    """The review app for ``service``'s job.

    Args:
        service: what the pages and the API read and change (``EditorService``).
        token: the shared token (the one account without an accounts file), or None for none
            (``check_bind`` allows that on a loopback address only).
        allowed_hosts: the ``Host`` headers to answer (``security.allowed_hosts``).
        auth: the editor accounts and sessions (``auth.Authenticator``); default: ``token``'s one
            account.

    Returns:
        The ASGI application.
    """
    auth = auth or Authenticator(token=token)
    app = Starlette(
        routes=[
            *pages.routes,
            *history_page.routes,
            *signin.routes,
            *api.routes,
            Mount("/static", StaticFiles(packages=[("pipeline.editor", "static")]), name="static"),
        ],
        middleware=[
            Middleware(PeerMiddleware),
            # Client address and scheme from a proxy on this machine (uvicorn's own is turned off
            # by ``pipeline serve``: it would hide the connection's address from PeerMiddleware).
            Middleware(ProxyHeadersMiddleware, trusted_hosts="127.0.0.1"),
            Middleware(SecurityMiddleware, allowed_hosts=allowed_hosts, auth=auth),
        ],
        exception_handlers={HTTPException: _http_error, Exception: _unexpected},
    )
    app.state.service = service
    app.state.auth = auth
    app.state.templates = pages.environment()
    return app
