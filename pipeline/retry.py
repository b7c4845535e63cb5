"""When to try again: a small policy object (exponential backoff with jitter)."""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True)
class RetryPolicy:
    """How many times to try in all (``max_tries``), and how long to wait between tries (``delay``)."""

    max_tries: int = 5
    backoff: float = 1.0  # seconds before the second try; doubles with every further try
    max_backoff: float = 60.0
    jitter: bool = True

    def delay(self, failed_tries: int, retry_after: float | None = None) -> float:
        """Seconds to wait after ``failed_tries`` failures (1 = the first try failed).

        ``retry_after`` is the wait the server asked for (Retry-After), if any: the delay is at
        least that, or ``max_backoff`` if that is less.
        """
        ceiling = min(self.max_backoff, self.backoff * 2 ** (failed_tries - 1))
        # "Equal jitter": half the backoff for sure, half at random, so clients spread out
        # without any of them coming back immediately.
        wait = ceiling * (0.5 + random.random() / 2) if self.jitter else ceiling
        if retry_after is not None:  # the server said when; never come back sooner
            wait = max(wait, min(retry_after, self.max_backoff))
        return wait
