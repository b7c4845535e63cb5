"""The checks in front of the review app, as one pure-ASGI middleware, and the bind-address rules.

In order, for every HTTP request:

1. the ``Host`` header must be one the app was started for (a DNS-rebinding defence): else 400;
2. with a token, the request must carry it: ``Authorization: Bearer <token>`` or the
   ``pipeline_review`` cookie. ``GET <any page>?token=<token>`` sets the cookie and redirects to the
   same URL without the token. Else 401 (JSON under ``/api``, a short HTML page elsewhere);
3. a state-changing request (anything but GET, HEAD, OPTIONS) must come from the app's own origin
   (``Origin``, when sent, is this origin; ``Sec-Fetch-Site``, when sent, is not ``cross-site``),
   else 403, and must be ``Content-Type: application/json`` (which no HTML form can send), else 415.

Every response, the refusals included, carries a strict Content-Security-Policy (no inline script,
nothing from elsewhere, no framing), ``X-Content-Type-Options: nosniff`` and no referrer.
"""

from __future__ import annotations

import hashlib
import hmac
import html
import ipaddress
import logging
import math
from urllib.parse import parse_qsl, quote, urlencode

from starlette.datastructures import Headers, MutableHeaders
from starlette.requests import cookie_parser
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from pipeline.editor.throttle import SignInThrottle

log = logging.getLogger(__name__)

COOKIE = "pipeline_review"
TOKEN_PARAMETER = "token"
ANY_HOST = "*"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
SECURITY_HEADERS = {
    # The shared _style.html is an inline <style>: hence 'unsafe-inline' for styles (never scripts).
    "content-security-policy": (
        "default-src 'self'; img-src 'self' data:; media-src 'self'; style-src 'self' 'unsafe-inline'; "
        "script-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    ),
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
    "cross-origin-opener-policy": "same-origin",
}
UNAUTHORIZED_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Sign-in needed</title></head>
<body><main><h1>Sign-in needed</h1>
<p>This review app needs its access token. Open this address once with <code>?token=</code> and
the token after it (the one in <code>PIPELINE_REVIEW_TOKEN</code> or the <code>--token-file</code>
of <code>pipeline serve</code>).</p></main></body></html>
"""
SIGNED_IN_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta http-equiv="refresh" content="0; url={location}">
<title>Signed in</title></head>
<body><main><p>Signed in. <a href="{location}">Continue to the review app</a>.</p></main></body></html>
"""
LOOPBACK_NAMES = frozenset({"localhost", "localhost."})
WILDCARD_BINDS = frozenset({"0.0.0.0", "::", ""})
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "[::1]")  # what a loopback bind always answers to


def is_loopback(host: str) -> bool:
    """Whether ``host`` (a name or an address, IPv6 with or without brackets) is this machine only."""
    name = host.strip().lower()
    if name in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(name.removeprefix("[").removesuffix("]")).is_loopback
    except ValueError:
        return False


MIN_TOKEN_LENGTH = 32  # characters of a token for an app reachable beyond this machine
MIN_TOKEN_SYMBOLS = 10  # different characters in it (``aaaa…`` is long but guessable)
MAKE_TOKEN = "python3 -c 'import secrets; print(secrets.token_urlsafe(32))'"


def token_weakness(token: str) -> str | None:
    """Why ``token`` is too weak to guard an app reachable beyond this machine, or None."""
    if len(token) < MIN_TOKEN_LENGTH:
        return f"it is {len(token)} characters long; at least {MIN_TOKEN_LENGTH} are needed"
    if len(set(token)) < MIN_TOKEN_SYMBOLS:
        return f"it has {len(set(token))} different characters; at least {MIN_TOKEN_SYMBOLS} are needed"
    return None


def check_bind(host: str, token: str | None) -> str | None:
    """The one-line error when serving on ``host`` would expose the app without a token, or with
    a weak one; else None.

    Args:
        host: the address or name the server is to listen on.
        token: the access token, if any (an empty or blank one counts as none).

    Returns:
        None for a loopback host (``127.0.0.1``, ``localhost``, ``::1``) or when a strong token is given.
    """
    if is_loopback(host):
        return None
    if not (token or "").strip():
        return f"refusing to serve on {host} without a token: set PIPELINE_REVIEW_TOKEN or pass --token-file"
    weakness = token_weakness(token or "")
    if weakness:
        return f"refusing to serve on {host} with a weak token ({weakness}); make one with: {MAKE_TOKEN}"
    return None


def _host_literal(host: str) -> str:
    """``host`` as it appears in a Host header: IPv6 addresses in brackets."""
    bare = host.strip().lower().removeprefix("[").removesuffix("]")
    try:
        return f"[{bare}]" if ipaddress.ip_address(bare).version == 6 else bare
    except ValueError:
        return bare


def allowed_hosts(host: str, port: int) -> list[str]:
    """The ``Host`` headers the app accepts when it listens on ``host``:``port``.

    A loopback bind accepts ``127.0.0.1``, ``localhost`` and ``[::1]`` with the port, and the
    address bound when it is another (``127.0.0.2``: the URL ``pipeline serve`` prints); any other
    address or name accepts itself with the port; a wildcard bind (``0.0.0.0``, ``::``), which
    ``check_bind`` only allows with a token, accepts any host (the token guards it).
    """
    if host.strip().lower().removeprefix("[").removesuffix("]") in WILDCARD_BINDS:
        return [ANY_HOST]
    names = [_host_literal(host)]
    if is_loopback(host):
        names = [*LOOPBACK_HOSTS, *(name for name in names if name not in LOOPBACK_HOSTS)]
    hosts = [f"{name}:{port}" for name in names]
    if port == 80:  # browsers leave the default port out of the Host header
        hosts += names
    return hosts


def cookie_value(token: str) -> str:
    """What the ``pipeline_review`` cookie holds for ``token``: a keyed hash, not the token itself."""
    return hmac.new(token.encode("utf-8"), b"pipeline review cookie", hashlib.sha256).hexdigest()


def _same(given: str, expected: str) -> bool:
    """Constant-time comparison of two strings of any characters."""
    return hmac.compare_digest(given.encode("utf-8", "replace"), expected.encode("utf-8", "replace"))


def _error(scope: Scope, status: int, message: str) -> Response:
    """A refusal: JSON ``{"error": ...}`` for the API, else (for 401) the sign-in page."""
    if status == 401 and not str(scope.get("path", "")).startswith("/api"):
        return HTMLResponse(UNAUTHORIZED_PAGE, status_code=401)
    return JSONResponse({"error": message}, status_code=status)


def _client(scope: Scope) -> str:
    """The client's address (what wrong tokens are counted by)."""
    client = scope.get("client")
    return str(client[0]) if client else "unknown"


def _slowed(scope: Scope, wait: float) -> Response:
    """429 with ``Retry-After``: too many wrong tokens from this address lately."""
    seconds = max(1, math.ceil(wait))
    response = _error(scope, 429, f"too many wrong tokens from this address: try again in {seconds} s")
    response.headers["Retry-After"] = str(seconds)
    return response


class SecurityMiddleware:
    """Host, token and same-origin checks, and the security headers on every response.

    Args:
        app: the application behind it.
        token: the access token, or None to serve without one (a loopback bind only).
        allowed_hosts: the accepted ``Host`` headers (``allowed_hosts()``; ``"*"`` accepts any).
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        token: str | None,
        allowed_hosts: list[str],
        throttle: SignInThrottle | None = None,
    ) -> None:
        self.app = app
        self.token = token or None
        self.cookie = cookie_value(self.token) if self.token else None
        self.hosts = {host.lower() for host in allowed_hosts}
        self.throttle = throttle or SignInThrottle()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    if name not in headers:
                        headers[name] = value
            await send(message)

        refusal = self.refusal(scope)
        if refusal is not None:
            await refusal(scope, receive, send_with_headers)
        else:
            await self.app(scope, receive, send_with_headers)

    def refusal(self, scope: Scope) -> Response | None:
        """The response that refuses the request (or, for ``?token=``, redirects it); None: let it in."""
        headers = Headers(scope=scope)
        host = headers.get("host", "").lower()
        if ANY_HOST not in self.hosts and host not in self.hosts:
            return _error(
                scope, 400, f"unexpected Host header {host!r}: open the address pipeline serve printed"
            )
        if self.token:
            answer = self._token_answer(scope, headers)
            if answer is not None:
                return answer
        if scope["method"] not in SAFE_METHODS:
            return self._same_origin_refusal(scope, headers, host)
        return None

    def _token_answer(self, scope: Scope, headers: Headers) -> Response | None:
        """401 without the token; the cookie and a redirect for ``?token=``; None when it is given."""
        assert self.token is not None and self.cookie is not None
        query = parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)
        given = [value for name, value in query if name == TOKEN_PARAMETER]
        scheme, _, credentials = headers.get("authorization", "").partition(" ")
        bearer = credentials.strip() if scheme.lower() == "bearer" else None
        if (given and scope["method"] in ("GET", "HEAD")) or bearer is not None:
            client = _client(scope)
            wait = self.throttle.wait_left(client)
            if wait > 0:  # not even checked: guessing must not pay
                return _slowed(scope, wait)
            if not _same(given[-1] if given else bearer or "", self.token):
                self._wrong_token(client)
                return _error(scope, 401, "wrong token")
            self.throttle.succeeded(client)
            if given:
                return self._sign_in(
                    scope, [(name, value) for name, value in query if name != TOKEN_PARAMETER]
                )
            return None
        cookie = cookie_parser(headers.get("cookie", "")).get(COOKIE)
        if cookie is not None and _same(cookie, self.cookie):
            return None
        return _error(scope, 401, "this review app needs its token: Authorization: Bearer <token>")

    def _wrong_token(self, client: str) -> None:
        """Count a wrong token; the try that starts a wait is logged (once per burst, not per try)."""
        wait = self.throttle.failed(client)
        if wait == self.throttle.first_wait:
            log.warning("review app: %d wrong tokens in a row from %s; its tries are slowed down",
                        self.throttle.free, client)  # fmt: skip

    def _sign_in(self, scope: Scope, query: list[tuple[str, str]]) -> Response:
        """Set the cookie and redirect to the same path without the token (never to another host)."""
        assert self.cookie is not None
        path = "/" + quote(str(scope.get("path", "/")), safe="/:@!$&'()*+,;=-._~").lstrip("/")
        location = path + ("?" + urlencode(query) if query else "")
        response: Response
        if Headers(scope=scope).get("sec-fetch-site", "").lower() in ("cross-site", "same-site"):
            # A link followed from another site: a SameSite=Strict cookie is not sent along a redirect
            # chain that site started, so the page itself moves on (a same-origin navigation).
            response = HTMLResponse(SIGNED_IN_PAGE.format(location=html.escape(location)))
        else:
            response = RedirectResponse(location, status_code=303)
        response.headers["Cache-Control"] = "no-store"
        response.set_cookie(
            COOKIE,
            self.cookie,
            path="/",
            httponly=True,
            samesite="strict",
            secure=scope.get("scheme") == "https",
        )
        return response

    def _same_origin_refusal(self, scope: Scope, headers: Headers, host: str) -> Response | None:
        """403 for a request from another origin, 415 for a body that is not JSON, else None."""
        origin = headers.get("origin")
        own = f"{scope.get('scheme', 'http')}://{host}"
        if origin is not None and origin.lower() != own:
            return _error(scope, 403, f"refused: a change requested from another origin ({origin})")
        if headers.get("sec-fetch-site", "").lower() == "cross-site":
            return _error(scope, 403, "refused: a change requested from another site")
        media_type = headers.get("content-type", "").partition(";")[0].strip().lower()
        if media_type != "application/json":
            return _error(scope, 415, "send the request body as Content-Type: application/json")
        return None
