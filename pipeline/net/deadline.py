"""One deadline for a whole HTTP exchange: connecting, the TLS handshake, the headers and the body.

``requests``' own timeout bounds each socket read only, so a server that sends a byte a second
could hold a request for hours. A ``Deadline`` is entered around one try; the connections of a
``new_session()`` session register their sockets with it, and a watchdog thread shuts them down
once the time is up, which ends any read blocked on them.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable
from contextlib import suppress
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool


class Deadline:
    """The time limit of one try, entered on the thread that makes it.

    The sockets of connections that a ``new_session()`` session uses inside it are watched: once
    ``seconds`` have passed, they are shut down, so a read blocked on a trickling server (TLS
    handshake, headers or body) ends then, and ``expired`` says that this is why it ended.
    """

    POLL = 0.05  # seconds between shutdowns after the deadline (for a socket connected late)

    def __init__(self, seconds: float):
        self.seconds = seconds
        self.end = time.monotonic() + seconds
        self.expired = False
        self._sockets: list[Callable[[], socket.socket | None]] = []
        self._lock = threading.Lock()
        self._done = threading.Event()
        self._outer: Deadline | None = None

    def __enter__(self) -> Deadline:
        self.end = time.monotonic() + self.seconds
        self._outer, _current.deadline = getattr(_current, "deadline", None), self
        threading.Thread(target=self._watch, name="http-deadline", daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        _current.deadline = self._outer
        with self._lock:
            self._done.set()

    def passed(self) -> bool:
        return time.monotonic() >= self.end

    def watch(self, get_socket: Callable[[], socket.socket | None]) -> None:
        """Shut down the socket ``get_socket()`` gives if the deadline passes before the try ends."""
        with self._lock:
            self._sockets.append(get_socket)

    def _watch(self) -> None:
        if self._done.wait(self.end - time.monotonic()):
            return
        while True:
            with self._lock:
                if self._done.is_set():
                    return
                self.expired = True
                for get_socket in self._sockets:
                    _shut_down(get_socket())
            if self._done.wait(self.POLL):
                return


_current = threading.local()  # the Deadline of the try this thread is making, if any


def _watch(get_socket: Callable[[], socket.socket | None]) -> None:
    deadline = getattr(_current, "deadline", None)
    if deadline is not None:
        deadline.watch(get_socket)


def _shut_down(sock: socket.socket | None) -> None:
    """Wake any read blocked on ``sock`` (with end of file); the connection is not reused."""
    if sock is not None:
        with suppress(OSError):  # already closed
            socket.socket.shutdown(sock, socket.SHUT_RDWR)  # the plain socket's, also under TLS


class _Watched:
    """A urllib3 connection whose socket the current thread's ``Deadline`` watches."""

    sock: socket.socket | None

    def connect(self) -> None:
        _watch(lambda: self.sock)  # set while the TLS handshake runs
        super().connect()  # type: ignore[misc]

    def getresponse(self, *args: Any, **kwargs: Any) -> Any:
        sock = self.sock  # kept: http.client forgets it once a reply says "Connection: close"
        _watch(lambda: sock)
        return super().getresponse(*args, **kwargs)  # type: ignore[misc]


class _WatchedHTTPConnection(_Watched, HTTPConnection):
    pass


class _WatchedHTTPSConnection(_Watched, HTTPSConnection):
    pass


class _WatchedHTTPPool(HTTPConnectionPool):
    ConnectionCls = _WatchedHTTPConnection


class _WatchedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _WatchedHTTPSConnection


_WATCHED_POOLS = {"http": _WatchedHTTPPool, "https": _WatchedHTTPSPool}


class DeadlineAdapter(HTTPAdapter):
    """requests' adapter, with connections (direct or through an HTTP proxy) that ``Deadline`` watches."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = _WATCHED_POOLS

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
        manager = super().proxy_manager_for(proxy, **proxy_kwargs)
        if not proxy.lower().startswith("socks"):  # SOCKS pools are left as they are: the body
            manager.pool_classes_by_scheme = _WATCHED_POOLS  # read still checks the deadline
        return manager


def new_session() -> requests.Session:
    """A requests session whose every request a ``Deadline`` bounds, headers included."""
    session = requests.Session()
    session.mount("http://", DeadlineAdapter())
    session.mount("https://", DeadlineAdapter())
    return session
