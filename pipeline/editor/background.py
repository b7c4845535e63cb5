"""Narration redone in the background after an editor's change, one job run at a time.

The review app writes an edited article's text at once and leaves its narration pending; this
worker then runs the job on the edited article-languages (``run_job`` with their pairs), which
speaks only the paragraphs whose text changed (the segment cache has the rest), rebuilds the MP3
and its chapters and rewrites the pages. An editor's next change asks the run in hand to stop
after the segment it is speaking (``exclusive``); what it finished is kept and the rest is taken
up again once the change is applied. A ``pipeline run`` that holds the job's lock meanwhile
finishes the pending narration itself.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

log = logging.getLogger(__name__)

Pairs = frozenset[tuple[str, str]]
# Runs the job on the pairs until done or until the event is set; returns the pairs still pending.
Narrator = Callable[[Pairs, threading.Event], Pairs]


class BackgroundNarration:
    """A thread that narrates the article-languages handed to it with ``add``.

    Args:
        narrate: runs the job on some pairs (see ``Narrator``); it is called on this worker's
            thread, never while an ``exclusive`` block runs.
    """

    def __init__(self, narrate: Narrator):
        self._narrate = narrate
        self._mutex = threading.Lock()  # held by the run in hand, or by an exclusive block
        self._changed = threading.Condition()
        self._pending: set[tuple[str, str]] = set()
        self._stop_run = threading.Event()
        self._waiting = 0  # exclusive blocks waiting for the mutex: the worker lets them go first
        self._closed = False
        self._busy = False
        self._thread = threading.Thread(target=self._loop, name="narration", daemon=True)
        self._thread.start()

    def add(self, pairs: Pairs) -> None:
        """Narrate these article-languages as soon as nothing else needs the job."""
        with self._changed:
            self._pending |= pairs
            self._changed.notify_all()

    def pending(self) -> Pairs:
        """The article-languages waiting for narration or being narrated now."""
        with self._changed:
            return frozenset(self._pending) | (self._current if self._busy else frozenset())

    @contextmanager
    def exclusive(self) -> Iterator[None]:
        """Hold the job against the background run for the block: the run in hand is asked to
        stop after its current step and is resumed afterwards."""
        with self._changed:
            self._waiting += 1
        self._stop_run.set()
        try:
            with self._mutex:
                yield
        finally:
            with self._changed:
                self._waiting -= 1
                self._changed.notify_all()

    def wait_idle(self, timeout: float) -> bool:
        """Wait until nothing is pending or being narrated (for tests and shutdown); False on timeout."""
        with self._changed:
            return self._changed.wait_for(lambda: not self._pending and not self._busy, timeout)

    def close(self, timeout: float = 30) -> None:
        """Stop the run in hand after its current step and end the thread."""
        with self._changed:
            self._closed = True
            self._changed.notify_all()
        self._stop_run.set()
        self._thread.join(timeout)

    _current: Pairs = frozenset()

    def _take(self) -> Pairs | None:
        """The pairs to narrate next (None: closed), once no exclusive block is waiting."""
        with self._changed:
            self._changed.wait_for(lambda: self._closed or (self._pending and not self._waiting))
            if self._closed:
                return None
            taken, self._pending = frozenset(self._pending), set()
            self._current, self._busy = taken, True
            return taken

    def _loop(self) -> None:
        while (pairs := self._take()) is not None:
            left: Pairs = pairs
            try:
                with self._mutex:
                    self._stop_run.clear()
                    if not self._waiting and not self._closed:
                        left = self._narrate(pairs, self._stop_run)
            except Exception:
                log.exception("narrating %d edited article-language(s) failed", len(pairs))
                left = frozenset()
            with self._changed:
                self._pending |= left  # stopped early: taken up again after the change
                self._busy = False
                self._changed.notify_all()
