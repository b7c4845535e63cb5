"""``SignInThrottle``: wrong tokens slow their sender down, per client address.

A client may get a token wrong a few times (a typo, an old link); after ``free`` wrong tokens in a
row it must wait before the next try is even checked, 1 s, then 2 s, 4 s … up to ``cap``: guessing
a token by trying many stops paying. A right token clears the count. The lockout is logged once
when it starts (by the caller), not once per refused try.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

FREE_TRIES = 5  # wrong tokens in a row before a client must wait
FIRST_WAIT = 1.0  # seconds, doubled with every further wrong token
LONGEST_WAIT = 300.0
CLIENTS_KEPT = 10_000  # the addresses remembered (the least recent are forgotten first)


@dataclass
class _Client:
    wrong: int = 0  # wrong tokens in a row
    until: float = 0.0  # when the next try may be checked (clock time)


class SignInThrottle:
    """Per-address counts of wrong tokens and the waits they earn; thread-safe."""

    def __init__(
        self,
        free: int = FREE_TRIES,
        first_wait: float = FIRST_WAIT,
        longest_wait: float = LONGEST_WAIT,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.free, self.first_wait, self.longest_wait, self.clock = free, first_wait, longest_wait, clock
        self._clients: OrderedDict[str, _Client] = OrderedDict()
        self._lock = threading.Lock()

    def wait_left(self, client: str) -> float:
        """Seconds before a try from ``client`` may be checked (0: now)."""
        with self._lock:
            known = self._clients.get(client)
            return max(0.0, known.until - self.clock()) if known else 0.0

    def failed(self, client: str) -> float:
        """Count a wrong token from ``client``; returns the wait it now earns (0: none yet)."""
        with self._lock:
            known = self._clients.pop(client, None) or _Client()
            self._clients[client] = known  # the most recent last
            while len(self._clients) > CLIENTS_KEPT:
                self._clients.popitem(last=False)
            known.wrong += 1
            if known.wrong < self.free:
                return 0.0
            wait = min(self.longest_wait, self.first_wait * 2 ** (known.wrong - self.free))
            known.until = self.clock() + wait
            return wait

    def succeeded(self, client: str) -> None:
        """A right token: ``client`` starts afresh."""
        with self._lock:
            self._clients.pop(client, None)
