"""A real local web site for tests of the web ingest: a threaded HTTP/1.1 server on 127.0.0.1.

    with Site() as site:                    # or the ``site`` fixture (tests/conftest.py)
        site.route("/feed.xml", body=b"<rss>...</rss>", etag="v1",
                   headers={"Content-Type": "application/rss+xml"})
        site.route("/slow", handler=lambda request: (200, {}, trickle()))
        client.fetch(site.url("/feed.xml"))
        assert site.count("/feed.xml") == 1

A route answers with fixed bytes (``body``, ``status``, ``headers``), or ``handler(request)`` returns
``(status, headers, body)`` where ``body`` is bytes (sent with a ``Content-Length``) or an iterable
of bytes (sent chunked, a piece at a time, so a generator can trickle, or stream 50 MB lazily; it
stops when the client goes away). ``etag`` / ``last_modified`` make a fixed route conditional: it
answers 304 when the request's ``If-None-Match`` / ``If-Modified-Since`` matches. ``gzip=True``
compresses a fixed body for clients that accept it. Paths not routed (``/robots.txt`` too) get a
404. Every request is recorded in ``site.requests``; ``site.sent(path)`` counts the body bytes
written for a path (those a client did not read may be missing: they were never sent).
"""

from __future__ import annotations

import email.utils
import gzip as gzip_module
import sys
import threading
import urllib.parse
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

Body = bytes | Iterable[bytes]
Answer = tuple[int, Mapping[str, str], Body]


@dataclass(frozen=True)
class Request:
    """A request the site received: ``path`` with its query, ``headers`` with lower-case names."""

    method: str
    path: str
    headers: dict[str, str]


@dataclass
class Route:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    handler: Callable[[Request], Answer] | None = None
    etag: str | None = None
    last_modified: str | None = None
    gzip: bool = False

    def answer(self, request: Request) -> Answer:
        if self.handler is not None:
            return self.handler(request)
        headers = dict(self.headers)
        if self.etag is not None:
            headers["ETag"] = self.etag
        if self.last_modified is not None:
            headers["Last-Modified"] = self.last_modified
        if self._not_modified(request):
            return 304, headers, b""
        body = self.body
        if self.gzip and "gzip" in request.headers.get("accept-encoding", ""):
            body, headers["Content-Encoding"] = gzip_module.compress(body), "gzip"
        return self.status, headers, body

    def _not_modified(self, request: Request) -> bool:
        if self.etag is not None and "if-none-match" in request.headers:
            sent = [tag.strip() for tag in request.headers["if-none-match"].split(",")]
            return self.etag in sent or "*" in sent
        since = request.headers.get("if-modified-since")
        if self.last_modified is None or since is None:
            return False
        try:
            return email.utils.parsedate_to_datetime(self.last_modified) <= email.utils.parsedate_to_datetime(
                since
            )
        except (TypeError, ValueError):
            return False


class Site:
    """The server and its routes; ``url(path)`` is where a client finds ``path``."""

    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.requests: list[Request] = []
        self.closing = threading.Event()  # set when the site shuts down: long handlers may stop
        self._sent: dict[str, int] = {}
        self._lock = threading.Lock()
        self._server = _Server(("127.0.0.1", 0), _handler_class(self))
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), name="test-site", daemon=True
        )

    def __enter__(self) -> Site:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.closing.set()
        self._server.shutdown()
        self._server.server_close()

    def route(
        self,
        path: str,
        body: bytes | str = b"",
        status: int = 200,
        headers: Mapping[str, str] | None = None,
        handler: Callable[[Request], Answer] | None = None,
        etag: str | None = None,
        last_modified: str | None = None,
        gzip: bool = False,
    ) -> None:
        """Answer GETs of ``path`` (with its query, if the route has one): see the module's doc."""
        if isinstance(body, str):
            body = body.encode("utf-8")
        if etag is not None and not etag.startswith(('"', "W/")):
            etag = f'"{etag}"'
        self.routes[path] = Route(status, body, dict(headers or {}), handler, etag, last_modified, gzip)

    def redirect(self, path: str, to: str, status: int = 302) -> None:
        """``path`` redirects to ``to`` (a path or a URL, sent as it is in ``Location``)."""
        self.route(path, status=status, headers={"Location": to})

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def count(self, path: str) -> int:
        """How many requests for ``path`` (with its query, if given one) came."""
        with self._lock:
            return sum(1 for request in self.requests if path in (request.path, _bare(request.path)))

    def sent(self, path: str) -> int:
        """How many body bytes were written for ``path`` (all requests together)."""
        with self._lock:
            return self._sent.get(path, 0)

    def _record(self, request: Request) -> Route | None:
        with self._lock:
            self.requests.append(request)
        return self.routes.get(request.path) or self.routes.get(_bare(request.path))

    def _count_sent(self, path: str, size: int) -> None:
        with self._lock:
            self._sent[path] = self._sent.get(path, 0) + size


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionError):  # a client that went away: expected
            super().handle_error(request, client_address)


def _bare(path: str) -> str:
    return urllib.parse.urlsplit(path).path


def _handler_class(site: Site) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            request = Request("GET", self.path, {name.lower(): value for name, value in self.headers.items()})
            route = site._record(request)
            if route is None:
                status, headers, body = 404, {"Content-Type": "text/plain"}, b"not found"
            else:
                status, headers, body = route.answer(request)
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            try:
                if isinstance(body, bytes):
                    self._send_whole(request.path, body)
                else:
                    self._send_chunked(request.path, body)
            except (BrokenPipeError, ConnectionResetError):
                self.close_connection = True

        def _send_whole(self, path: str, body: bytes) -> None:
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            site._count_sent(path, len(body))

        def _send_chunked(self, path: str, body: Iterable[bytes]) -> None:
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for piece in body:
                if site.closing.is_set():
                    self.close_connection = True
                    return
                if piece:
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
                    self.wfile.flush()
                    site._count_sent(path, len(piece))
            self.wfile.write(b"0\r\n\r\n")

        def log_message(self, format: str, *args: object) -> None:
            pass  # the tests read site.requests

    return Handler
