"""The sign-in form: a token, posted (never in a URL), becomes a session cookie; and signing out.

- ``GET /sign-in[?next=<path>]``: the form (a password field).
- ``POST /sign-in`` (``application/x-www-form-urlencoded``: ``token``, ``next``): with an account's
  token, a session cookie (``HttpOnly``, ``SameSite=Strict``, ``Secure`` over HTTPS, ``Max-Age`` of
  ``review.session_hours``) and a 303 to ``next`` (a path of this app only); else 401 and the form
  again, and wrong tokens slow their address down (429 with ``Retry-After``).
- ``POST /sign-out``: the session ends and its cookie is cleared.
"""

from __future__ import annotations

from typing import cast
from urllib.parse import parse_qs

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from pipeline.editor.auth import Authenticator, Slowed, WrongToken
from pipeline.editor.pages import render
from pipeline.editor.security import SIGN_IN_PATH, client_address

FORM_MAX = 4096  # bytes of a sign-in form


def auth_of(request: Request) -> Authenticator:
    """The app's accounts and sessions."""
    return cast(Authenticator, request.app.state.auth)


def safe_next(target: str) -> str:
    """``target`` when it is a path of this app (``/…``, not ``//host`` nor ``/\\host``), else ``/``."""
    if not target.startswith("/") or target.startswith(("//", "/\\")) or any(ord(c) < 32 for c in target):
        return "/"
    return target


def _form(request: Request, status: int, problem: str, target: str) -> Response:
    response = render(request, "sign-in.html", status=status, problem=problem, next=safe_next(target))
    response.headers["Cache-Control"] = "no-store"
    return response


async def sign_in_form(request: Request) -> Response:
    """``GET /sign-in``: the form (straight to ``next`` when no sign-in is needed)."""
    target = safe_next(request.query_params.get("next", "/"))
    if not auth_of(request).required():
        return RedirectResponse(target, status_code=303)
    return _form(request, 200, "", target)


async def sign_in(request: Request) -> Response:
    """``POST /sign-in``: a token for a session cookie."""
    auth = auth_of(request)
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > FORM_MAX:
            return _form(request, 413, "The form is too large.", "/")
    fields = parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)
    token, target = (fields.get(name, [""])[-1] for name in ("token", "next"))
    client = client_address(request.scope)
    try:
        account = auth.by_token(token.strip(), client)
    except Slowed as exc:
        seconds = exc.seconds
        response = _form(
            request, 429, f"Too many wrong tokens from this address: try again in {seconds} s.", target
        )
        response.headers["Retry-After"] = str(seconds)
        return response
    except WrongToken:
        return _form(request, 401, "That token is not right.", target)
    response = RedirectResponse(safe_next(target), status_code=303, headers={"Cache-Control": "no-store"})
    response.set_cookie(
        auth.cookie,
        auth.open_session(account),
        max_age=auth.max_age,
        path="/",
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )
    return response


async def sign_out(request: Request) -> Response:
    """``POST /sign-out``: end the session."""
    auth = auth_of(request)
    session = request.cookies.get(auth.cookie)
    if session:
        auth.close_session(session)
    response = RedirectResponse(SIGN_IN_PATH, status_code=303, headers={"Cache-Control": "no-store"})
    response.delete_cookie(auth.cookie, path="/", httponly=True, samesite="strict")
    return response


routes = [
    Route(SIGN_IN_PATH, sign_in_form, methods=["GET"]),
    Route(SIGN_IN_PATH, sign_in, methods=["POST"]),
    Route("/sign-out", sign_out, methods=["POST"]),
]
