"""Polite HTTP for speech services: bounded concurrency, spacing, timeouts, retries with backoff.

One ``PoliteSender`` is shared by every request to one service, so its limits hold across
articles, languages and threads.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http import HTTPStatus
from typing import TYPE_CHECKING

from pipeline.errors import SpeechError, SpeechUnavailableError
from pipeline.retry import RetryPolicy

if TYPE_CHECKING:
    import requests

log = logging.getLogger(__name__)


class Throttle:
    """At most ``concurrency`` requests in flight; request starts at least ``min_interval`` apart."""

    def __init__(
        self,
        concurrency: int,
        min_interval: float,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ):
        self._slots = threading.BoundedSemaphore(concurrency)
        self._lock = threading.Lock()
        self._next_start = 0.0
        self.min_interval, self.clock, self.sleep = min_interval, clock, sleep

    @contextmanager
    def slot(self) -> Iterator[None]:
        with self._slots:
            with self._lock:
                now = self.clock()
                start = max(now, self._next_start)
                self._next_start = start + self.min_interval
            if start > now:
                self.sleep(start - now)
            yield


class PoliteSender:
    """Sends with retries; after ``give_up_after`` requests in a row have failed every try, the
    service is considered down for the rest of the run and further requests fail at once, so a
    nightly job does not spend hours retrying an endpoint that is not there."""

    def __init__(
        self,
        session: requests.Session,
        throttle: Throttle,
        retry: RetryPolicy,
        timeout: float,
        service: str = "the TTS endpoint",
        sleep: Callable[[float], None] = time.sleep,
        give_up_after: int = 3,
    ):
        self.session, self.throttle, self.retry, self.timeout = session, throttle, retry, timeout
        self.service, self.sleep, self.give_up_after = service, sleep, give_up_after
        self._lock = threading.Lock()
        self._failed_in_a_row = 0
        self._last_problem = ""

    def send(self, request: requests.PreparedRequest) -> requests.Response:
        """The response to ``request``; raises ``SpeechUnavailableError`` once every try failed."""
        with self._lock:
            if self._failed_in_a_row >= self.give_up_after:
                raise SpeechUnavailableError(
                    f"{self.service} is considered down for this run: {self._failed_in_a_row} requests "
                    f"in a row failed every try (last: {self._last_problem})"
                )
        try:
            response = self._send_with_retries(request)
        except SpeechUnavailableError as exc:
            with self._lock:
                self._failed_in_a_row += 1
                self._last_problem = str(exc)
            raise
        with self._lock:
            self._failed_in_a_row = 0
        return response

    def _send_with_retries(self, request: requests.PreparedRequest) -> requests.Response:
        import requests

        for attempt in range(1, self.retry.max_tries + 1):
            retry_after = None
            try:
                with self.throttle.slot():
                    response = self.session.send(request, timeout=self.timeout)
            except requests.Timeout:
                problem = f"no answer within {self.timeout:g} s"
            except requests.ConnectionError as exc:
                problem = f"connection error ({_root_cause(exc)})"
            else:
                if response.ok:
                    return response
                status = f"{response.status_code} {response.reason or _phrase(response.status_code)}"
                if response.status_code != 429 and response.status_code < 500:
                    raise SpeechError(f"{status} from {self.service}")
                problem = status
                retry_after = _seconds(response.headers.get("Retry-After"))
            if attempt == self.retry.max_tries:
                break
            delay = self.retry.delay(attempt, retry_after)
            log.warning(
                "%s from %s (try %d of %d); retrying in %.1f s",
                problem,
                self.service,
                attempt,
                self.retry.max_tries,
                delay,
            )
            self.sleep(delay)
        tries = self.retry.max_tries
        raise SpeechUnavailableError(
            f"{problem} from {self.service} after {tries} tr{'y' if tries == 1 else 'ies'}"
        )


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "error"


def _seconds(value: str | None) -> float | None:
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None  # an HTTP date: rare for 429; the backoff decides


def _root_cause(exc: BaseException) -> str:
    while exc.__cause__ is not None or exc.__context__ is not None:
        exc = exc.__cause__ or exc.__context__  # type: ignore[assignment]
    return str(exc).splitlines()[0][:120] if str(exc) else type(exc).__name__
