"""The checks in front of the review app, as one pure-ASGI middleware, and the bind-address rules.

In order, for every HTTP request:

1. the ``Host`` header must be one the app was started for (a DNS-rebinding defence): else 400;
2. with a token or editor accounts (``auth.py``), the request must name an account: a token
   (``Authorization: Bearer``), the single-sign-on header from a trusted proxy, or the session
   cookie of the sign-in form (``/sign-in``, the one page open to all, with ``/static``). Else 401
   under ``/api``, and a redirect to the sign-in form for a page. The account goes to the app as
   ``request.state.account``. Wrong tokens are slowed down per address (``throttle.py``);
3. a state-changing request (anything but GET, HEAD, OPTIONS) must come from the app's own origin
   (``Origin``, when sent, is this origin; ``Sec-Fetch-Site``, when sent, is not ``cross-site``),
   else 403, and must be ``Content-Type: application/json`` (which no HTML form can send), else 415;
   only the sign-in and sign-out forms may post ``application/x-www-form-urlencoded``.

Every response, the refusals included, carries a strict Content-Security-Policy (no inline script,
nothing from elsewhere, no framing), ``X-Content-Type-Options: nosniff`` and no referrer to other
sites (``same-origin``: under ``no-referrer`` a browser posts a form with ``Origin: null``, which the
same-origin check must refuse).
"""

from __future__ import annotations

import ipaddress
import logging
from urllib.parse import quote, urlencode

from starlette.datastructures import Headers, MutableHeaders
from starlette.requests import cookie_parser
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from pipeline.editor.accounts import Account
from pipeline.editor.auth import Authenticator, Slowed, WrongToken
from pipeline.editor.throttle import SignInThrottle
from pipeline.errors import AccountError

log = logging.getLogger(__name__)

ANY_HOST = "*"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
SECURITY_HEADERS = {
    # The shared _style.html is an inline <style>: hence 'unsafe-inline' for styles (never scripts).
    "content-security-policy": (
        "default-src 'self'; img-src 'self' data:; media-src 'self'; style-src 'self' 'unsafe-inline'; "
        "script-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    ),
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
    "x-frame-options": "DENY",
    "cross-origin-opener-policy": "same-origin",
}
SIGN_IN_PATH = "/sign-in"
FORM_PATHS = frozenset({SIGN_IN_PATH, "/sign-out"})  # may post a form (still same-origin only)
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


def check_bind(host: str, token: str | None, *, accounts: bool = False) -> str | None:
    """The one-line error when serving on ``host`` would expose the app without a token or
    accounts, or with a weak token; else None.

    Args:
        host: the address or name the server is to listen on.
        token: the access token, if any (an empty or blank one counts as none).
        accounts: whether the job has editor accounts (their tokens are strong: made here).

    Returns:
        None for a loopback host (``127.0.0.1``, ``localhost``, ``::1``) or when a strong token is given.
    """
    if is_loopback(host):
        return None
    if not (token or "").strip():
        if accounts:
            return None
        return (
            f"refusing to serve on {host} without a token: add editor accounts (pipeline editors add), "
            "set PIPELINE_REVIEW_TOKEN or pass --token-file"
        )
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


def _error(scope: Scope, status: int, message: str) -> Response:
    """A refusal: JSON ``{"error": ...}``; for a page that needs a sign-in, a redirect to the form."""
    path = str(scope.get("path", ""))
    if status == 401 and scope["method"] in ("GET", "HEAD") and not path.startswith("/api"):
        query = scope.get("query_string", b"").decode("latin-1")
        target = quote(path, safe="/:@!$&'()*+,;=-._~") + ("?" + query if query else "")
        return RedirectResponse(f"{SIGN_IN_PATH}?{urlencode({'next': target})}", status_code=303)
    return JSONResponse({"error": message}, status_code=status, headers={"Cache-Control": "no-store"})


def client_address(scope: Scope) -> str:
    """The client's address (what wrong tokens are counted by)."""
    client = scope.get("client")
    return str(client[0]) if client else "unknown"


def slowed(scope: Scope, slow: Slowed) -> Response:
    """429 with ``Retry-After``: too many wrong tokens from this address lately."""
    seconds = slow.seconds
    response = _error(scope, 429, f"too many wrong tokens from this address: try again in {seconds} s")
    response.headers["Retry-After"] = str(seconds)
    return response


PEER = "pipeline.peer"  # the scope key of the connection's own address


class PeerMiddleware:
    """Keeps the connection's own address (``scope[PEER]``) before ``X-Forwarded-For`` from a local
    proxy replaces ``client`` (uvicorn's ``ProxyHeadersMiddleware``, inside this one): the
    single-sign-on header is trusted by who connects, never by what a request says it came from."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope.get("client"):
            scope[PEER] = str(scope["client"][0])
        await self.app(scope, receive, send)


class SecurityMiddleware:
    """Host, account and same-origin checks, and the security headers on every response.

    Args:
        app: the application behind it.
        token: the shared token, or None (used only without ``auth``).
        allowed_hosts: the accepted ``Host`` headers (``allowed_hosts()``; ``"*"`` accepts any).
        throttle: the sign-in throttle (only without ``auth``).
        auth: the accounts and sessions; default: the shared token's one account.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        token: str | None = None,
        allowed_hosts: list[str],
        throttle: SignInThrottle | None = None,
        auth: Authenticator | None = None,
    ) -> None:
        self.app = app
        self.auth = auth or Authenticator(token=token, throttle=throttle or SignInThrottle())
        self.hosts = {host.lower() for host in allowed_hosts}

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
        """The response that refuses the request; None: let it in."""
        headers = Headers(scope=scope)
        host = headers.get("host", "").lower()
        if ANY_HOST not in self.hosts and host not in self.hosts:
            return _error(
                scope, 400, f"unexpected Host header {host!r}: open the address pipeline serve printed"
            )
        path = str(scope.get("path", ""))
        if self.auth.required() and path != SIGN_IN_PATH and not path.startswith("/static/"):
            answer = self._account_refusal(scope, headers)
            if answer is not None:
                return answer
        if scope["method"] not in SAFE_METHODS:
            return self._same_origin_refusal(scope, headers, host)
        return None

    def _account_refusal(self, scope: Scope, headers: Headers) -> Response | None:
        """401 (or 429) unless the request names an account; else None, with the account in
        ``scope["state"]["account"]``."""
        client = client_address(scope)
        scheme, _, credentials = headers.get("authorization", "").partition(" ")
        proxied = headers.get(self.auth.trusted_header) if self.auth.trusted_header else None
        account: Account | None
        try:
            if scheme.lower() == "bearer":
                account = self.auth.by_token(credentials.strip(), client)
            elif proxied is not None and self.auth.trusted_from(str(scope.get(PEER) or client)):
                account = self.auth.accounts().get(proxied.strip())
                if account is None:
                    return _error(scope, 401, f"{self.auth.trusted_header} names no editor account")
            else:
                session = cookie_parser(headers.get("cookie", "")).get(self.auth.cookie)
                account = self.auth.by_session(session) if session else None
        except Slowed as exc:
            return slowed(scope, exc)
        except WrongToken:
            return _error(scope, 401, "wrong token")
        except AccountError as exc:
            log.error("review app: %s", exc)
            return _error(scope, 503, "the editor accounts cannot be read (the details are in the log)")
        if account is None:
            return _error(scope, 401, "sign in first: Authorization: Bearer <token>, or the form at /sign-in")
        scope.setdefault("state", {})["account"] = account
        return None

    def _same_origin_refusal(self, scope: Scope, headers: Headers, host: str) -> Response | None:
        """403 for a request from another origin, 415 for a body that is not JSON, else None."""
        origin = headers.get("origin")
        own = f"{scope.get('scheme', 'http')}://{host}"
        if origin is not None and origin.lower() != own:
            return _error(scope, 403, f"refused: a change requested from another origin ({origin})")
        if headers.get("sec-fetch-site", "").lower() == "cross-site":
            return _error(scope, 403, "refused: a change requested from another site")
        media_type = headers.get("content-type", "").partition(";")[0].strip().lower()
        if media_type == "application/x-www-form-urlencoded" and scope.get("path") in FORM_PATHS:
            return None
        if media_type != "application/json":
            return _error(scope, 415, "send the request body as Content-Type: application/json")
        return None
