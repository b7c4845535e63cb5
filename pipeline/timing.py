"""Where a run spends its time: wall-clock seconds per phase, summed across calls (thread-safe)."""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager


class Timings:
    """Seconds per phase (``seconds``: phase → total), added up by ``measure``."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)
        self._lock = threading.Lock()

    @contextmanager
    def measure(self, phase: str) -> Iterator[None]:
        """Context manager: add the wall-clock time of the ``with`` block to ``phase``, even if it raises."""
        started = time.perf_counter()
        try:
            yield
        finally:
            with self._lock:
                self.seconds[phase] += time.perf_counter() - started
