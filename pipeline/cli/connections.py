"""Bounds on the review app's connections, so that clients that connect and stay silent (or send
half a request and stop) cannot hold every file descriptor of ``pipeline serve``.

uvicorn closes an idle keep-alive connection, but has no deadline for reading a request, and
accepts connections until ``accept`` fails with "Too many open files" (which asyncio then logs with
a traceback for every try). Here:

- a request (head and body) must be read within ``request_timeout_s`` of its first byte, or of
  the connection's opening; past it the connection is closed;
- at most ``max_connections`` are open: a new one past the cap takes the place of the oldest
  connection that is waiting for a request (none: the new one is closed at once), so a flood of
  silent clients cannot lock editors out;
- failures of ``accept`` are logged at most once a second, on one line.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

ACCEPT_FAILED = "socket.accept() out of system resource"
# asyncio accepts up to ``backlog`` connections at each wake-up, before any of them reaches
# ``connection_made`` (where the cap acts): a small backlog keeps the sockets in flight few, so a
# burst of connections meets the cap rather than the open-file limit. (The kernel queues no more
# than this many connections waiting for accept; they are taken as fast as they come.)
ACCEPT_BACKLOG = 16
WAITING = (h11.IDLE, h11.SEND_BODY)  # the client's states while its request is still being read


@dataclass(frozen=True)
class Limits:
    request_timeout_s: float
    max_connections: int


class BoundedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol with a deadline for reading each request and a cap on connections;
    ``bounded_protocol`` makes the class for given limits."""

    limits: ClassVar[Limits]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.opened = time.monotonic()
        self.deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        if not self._make_room():
            transport.abort()
            return
        self._watch_request()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        self._watch_request()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_deadline()
        super().connection_lost(exc)

    def waiting_for_request(self) -> bool:
        """No request in hand: a new connection, or one kept alive between requests."""
        return self.conn.their_state is h11.IDLE and not self.transport.is_closing()

    def _make_room(self) -> bool:
        """Whether this connection may stay: under the cap, or in place of the oldest one waiting."""
        others = [peer for peer in self.connections if peer is not self and not _closing(peer)]
        if len(others) < self.limits.max_connections:
            return True
        idle = [
            peer for peer in others if isinstance(peer, BoundedH11Protocol) and peer.waiting_for_request()
        ]
        if not idle:
            return False
        min(idle, key=lambda peer: peer.opened).transport.abort()
        return True

    def _watch_request(self) -> None:
        """Start the deadline while a request is being read (or awaited on a new connection);
        stop it once the request is complete."""
        if self.transport.is_closing():
            return
        if self.conn.their_state in WAITING:
            if self.deadline is None:
                self.deadline = self.loop.call_later(self.limits.request_timeout_s, self._on_deadline)
        else:
            self._cancel_deadline()

    def _on_deadline(self) -> None:
        self.deadline = None
        if self.conn.their_state in WAITING:
            self.transport.abort()

    def _cancel_deadline(self) -> None:
        if self.deadline is not None:
            self.deadline.cancel()
            self.deadline = None


def _closing(peer: Any) -> bool:
    transport = getattr(peer, "transport", None)
    return transport is None or bool(transport.is_closing())


def bounded_protocol(limits: Limits) -> type[BoundedH11Protocol]:
    """The protocol class to give uvicorn (``Config(http=...)``) for these limits."""
    return type("BoundedH11Protocol", (BoundedH11Protocol,), {"limits": limits})


class OncePerInterval(logging.Filter):
    """Lets through at most one "accept failed" record per ``interval_s``, as one line that says how
    many were left out since; every other record passes as it is."""

    def __init__(self, interval_s: float = 1.0, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__()
        self.interval_s = interval_s
        self.clock = clock
        self.last: float | None = None
        self.left_out = 0

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if not message.startswith(ACCEPT_FAILED):
            return True
        now = self.clock()
        if self.last is not None and now - self.last < self.interval_s:
            self.left_out += 1
            return False
        error = record.exc_info[1] if record.exc_info else None
        more = (
            f" ({self.left_out} more in the last {now - self.last:.0f} s)"
            if self.left_out and self.last is not None
            else ""
        )
        record.msg, record.args = f"{ACCEPT_FAILED}: {error}{more}", None
        record.exc_info, record.exc_text = None, None
        self.last, self.left_out = now, 0
        return True
