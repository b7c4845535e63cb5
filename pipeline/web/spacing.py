"""A least interval between the starts of requests to one host, across threads."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class HostSpacing:
    """Hands out start times: each host's requests start at least their interval apart.

    A caller reserves its start under the lock and waits outside it, so threads fetching from one
    host queue up one interval apart while those fetching from other hosts go on at once.
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic):
        self.clock = clock
        self._next_start: dict[str, float] = {}
        self._lock = threading.Lock()

    def reserve(self, host: str, interval: float) -> float:
        """Seconds the caller must wait before its request to ``host`` starts (0 when none)."""
        with self._lock:
            now = self.clock()
            start = max(now, self._next_start.get(host, now))
            self._next_start[host] = start + interval
        return start - now
