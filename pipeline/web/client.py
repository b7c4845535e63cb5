"""The web ingest's HTTP client: polite to the newsroom's site, and never waiting on it for ever.

``WebClient.fetch`` sends one conditional GET (``If-None-Match``, ``If-Modified-Since``) and
follows redirects by hand, so each hop is checked: only http and https, at most ``max_redirects``,
no loops, robots.txt asked for every site a hop reaches. Requests to one host start at least
``host_interval_s`` apart (or the site's ``Crawl-delay``, when larger), from any number of threads.
Each try has one deadline for the whole exchange (connection, headers and body, as the speech
sender has), and the decoded body is read in pieces and given up as soon as it passes ``max_bytes``.
A 429 or 503 asking to wait up to ``max_retry_after_s`` is waited for; 5xx, timeouts and connection
errors are tried again after a short backoff. What still fails is a ``FetchError`` whose one line
names the URL: ``FetchUnavailable`` (may pass) or ``FetchRefused`` (will not).
"""

from __future__ import annotations

import email.message
import threading
import time
import urllib.parse
from collections.abc import Callable, Mapping
from contextlib import closing
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

import requests
import urllib3

from pipeline.errors import FetchError, FetchRefused, FetchUnavailable, Stopped
from pipeline.net.deadline import Deadline, new_session
from pipeline.net.failures import TRANSPORT_ERRORS, UNSENDABLE, root_cause, status_phrase
from pipeline.net.retry_after import retry_after_seconds
from pipeline.retry import RetryPolicy
from pipeline.version import __version__
from pipeline.web import charset
from pipeline.web.robots import RobotsCache
from pipeline.web.spacing import HostSpacing

REDIRECTS = frozenset({301, 302, 303, 307, 308})
RETRIED = frozenset({408, 425, 429})  # besides every 5xx: statuses that say "not now"
_PIECE = 64 * 1024
_TIMEOUTS = (requests.Timeout, urllib3.exceptions.TimeoutError, TimeoutError)


def user_agent(contact: str | None) -> str:
    """``newsroom-pipeline/VERSION (+CONTACT)``: names the tool, and whom a site's admin may write to."""
    name = f"newsroom-pipeline/{__version__}"
    return f"{name} (+{contact})" if contact else name


@dataclass(frozen=True)
class Validators:
    """What a conditional GET sends back: the reply's ``ETag`` and ``Last-Modified``."""

    etag: str | None = None
    last_modified: str | None = None

    def headers(self) -> dict[str, str]:
        headers = {}
        if self.etag:
            headers["If-None-Match"] = self.etag
        if self.last_modified:
            headers["If-Modified-Since"] = self.last_modified
        return headers


@dataclass(frozen=True)
class Fetched:
    """A reply: 200 with its body, or 304 (``not_modified``, empty body) to a conditional GET.

    ``url`` is the final URL, after redirects; ``headers`` have lower-case names; ``body`` is
    decoded from gzip or deflate; ``validators`` are the reply's (for a 304, those sent);
    ``content_type`` is the media type alone (``text/html``), lower-case; ``charset`` the header's.
    ``warnings``: what was doubtful about the header's charset (see ``text``).
    """

    url: str
    status: int
    headers: dict[str, str]
    body: bytes
    validators: Validators
    content_type: str | None
    charset: str | None
    warnings: tuple[str, ...] = ()

    @property
    def not_modified(self) -> bool:
        return self.status == HTTPStatus.NOT_MODIFIED

    def text(self) -> str:
        """The body as text: the header's charset, else the document's own declaration, else a guess;
        UTF-8 bytes said to be Latin-1, Windows-1252 or ASCII are read as UTF-8."""
        return charset.decode(self.body, self.charset)[0]


class _FailedTry(Exception):
    """One try failed in a way that may pass; ``retry_after``: the seconds the server asked for."""

    def __init__(self, problem: str, status: int | None = None, retry_after: float | None = None):
        super().__init__(problem)
        self.problem, self.status, self.retry_after = problem, status, retry_after


class WebClient:
    """Fetches pages and feeds for the web ingest; one client serves a whole run, from any thread.

    ``sleep`` waits (Retry-After, backoff, the host interval) and ``clock`` tells the time the
    host interval is measured on; tests inject both. With the default ``sleep`` a wait ends as soon
    as the event given to ``stop_on`` is set, and the fetch then raises ``Stopped``.
    ``requests_made`` counts the requests sent, robots.txt included.
    """

    def __init__(
        self,
        *,
        user_agent: str,
        timeout_s: float = 20,
        max_bytes: int = 10_000_000,
        max_redirects: int = 5,
        host_interval_s: float = 1.0,
        max_retry_after_s: float = 60,
        retries: int = 2,
        sleep: Callable[[float], object] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        respect_robots: bool = True,
    ):
        self.user_agent, self.timeout_s, self.max_bytes = user_agent, timeout_s, max_bytes
        self.max_redirects, self.host_interval_s = max_redirects, host_interval_s
        self.max_retry_after_s, self.retries, self.respect_robots = max_retry_after_s, retries, respect_robots
        self.sleep = sleep
        self.retry = RetryPolicy(max_tries=retries + 1, backoff=0.5, max_backoff=max_retry_after_s)
        self.session = new_session()
        self.session.headers.update({"User-Agent": user_agent, "Accept-Encoding": "gzip, deflate"})
        self.robots = RobotsCache(user_agent.split("/")[0].split()[0], self._robots_text)
        self.requests_made = 0
        self._spacing = HostSpacing(clock)
        self._stop = threading.Event()
        self._count_lock = threading.Lock()

    def stop_on(self, stop: threading.Event) -> None:
        """Start no request, and end any wait, once ``stop`` is set (the run's stop signal)."""
        self._stop = stop

    def fetch(self, url: str, validators: Validators | None = None, accept: str = "*/*") -> Fetched:
        """The reply to a GET of ``url`` (conditional when ``validators`` are given).

        Raises ``FetchRefused`` (4xx, robots.txt, over ``max_bytes``, redirects), ``FetchUnavailable``
        (5xx, 429, timeouts, connection errors, after the retries) or ``Stopped``.
        """
        headers = {"Accept": accept, **(validators.headers() if validators else {})}
        try:
            fetched = self._follow(url, headers, self.respect_robots, self.retries + 1)
        except FetchError as exc:
            if exc.url == url:
                raise
            raise type(exc)(url, f"{exc.problem} (at {exc.url})", exc.status) from exc
        if fetched.not_modified and validators is not None:
            return Fetched(**{**fetched.__dict__, "validators": validators})
        return fetched

    def _follow(self, url: str, headers: Mapping[str, str], check_robots: bool, tries: int) -> Fetched:
        """The reply at the end of ``url``'s redirects."""
        seen = [url]
        while True:
            self._check_allowed(seen[-1], check_robots)
            reply = self._get(seen[-1], headers, check_robots, tries)
            if isinstance(reply, Fetched):
                return reply
            target = urllib.parse.urljoin(seen[-1], reply)
            if target in seen:
                raise FetchRefused(url, f"redirect loop ({' → '.join([*seen, target])})")
            if len(seen) > self.max_redirects:
                raise FetchRefused(url, f"too many redirects (more than {self.max_redirects})")
            seen.append(target)

    def _check_allowed(self, url: str, check_robots: bool) -> None:
        scheme = urllib.parse.urlsplit(url).scheme.lower()
        if scheme not in ("http", "https"):
            raise FetchRefused(url, f"not an http or https URL ({scheme or 'no scheme'})")
        if check_robots and not self.robots.allows(url):
            raise FetchRefused(url, "disallowed by robots.txt")

    def _robots_text(self, robots_url: str) -> str:
        """robots.txt's text, fetched once, without retries or a robots check of its own."""
        return self._follow(robots_url, {"Accept": "text/plain, */*"}, False, 1).text()

    def _get(self, url: str, headers: Mapping[str, str], check_robots: bool, tries: int) -> Fetched | str:
        """The reply to ``url`` (or the ``Location`` it redirects to), trying up to ``tries`` times."""
        failed = _FailedTry("no try")
        for attempt in range(1, tries + 1):
            try:
                return self._try(url, headers, check_robots)
            except _FailedTry as exc:
                failed = exc
            if failed.retry_after is not None and failed.retry_after > self.max_retry_after_s:
                problem = f"{failed.problem}, asked to wait {failed.retry_after:g} s"
                raise FetchUnavailable(url, problem, failed.status)
            if attempt < tries:
                self._wait(url, self.retry.delay(attempt, failed.retry_after))
        after = f" (after {tries} tries)" if tries > 1 else ""
        raise FetchUnavailable(url, f"{failed.problem}{after}", failed.status)

    def _try(self, url: str, headers: Mapping[str, str], check_robots: bool) -> Fetched | str:
        self._wait(url, self._spacing.reserve(_host(url), self._interval(url, check_robots)))
        request = self.session.prepare_request(requests.Request("GET", url, headers=dict(headers)))
        with self._count_lock:
            self.requests_made += 1
        response = None
        with Deadline(self.timeout_s) as deadline:
            try:
                response = self.session.send(
                    request, timeout=self.timeout_s, allow_redirects=False, **self._environment(url)
                )
                with closing(response):
                    return self._reply(url, response, deadline)
            except UNSENDABLE as exc:
                raise FetchRefused(url, f"cannot be fetched ({exc})") from exc
            except TRANSPORT_ERRORS as exc:
                raise _FailedTry(self._transport_problem(exc, deadline, response is not None)) from exc

    def _interval(self, url: str, check_robots: bool) -> float:
        delay = self.robots.crawl_delay(url) if check_robots else None
        return max(self.host_interval_s, delay or 0.0)

    def _environment(self, url: str) -> Mapping[str, Any]:
        """``verify``, ``cert``, ``proxies`` and ``stream`` as ``requests.get`` would send with (the
        session's settings merged with ``REQUESTS_CA_BUNDLE`` and the ``*_proxy`` variables)."""
        return self.session.merge_environment_settings(url, {}, True, None, None)

    def _reply(self, url: str, response: requests.Response, deadline: Deadline) -> Fetched | str:
        status = response.status_code
        location = response.headers.get("Location")
        if status in REDIRECTS and location:
            return location
        if 200 <= status < 300 or status == HTTPStatus.NOT_MODIFIED:
            body = b"" if status == HTTPStatus.NOT_MODIFIED else self._read_body(url, response, deadline)
            return _fetched(url, response, body)
        problem = f"{status} {response.reason or status_phrase(status)}"
        if status in RETRIED or status >= 500:
            raise _FailedTry(problem, status, retry_after_seconds(response.headers.get("Retry-After")))
        raise FetchRefused(url, problem, status)

    def _read_body(self, url: str, response: requests.Response, deadline: Deadline) -> bytes:
        """The decoded body, read a piece at a time; given up past ``max_bytes`` or the deadline."""
        too_large = f"over {self.max_bytes:,} bytes"
        length = response.headers.get("Content-Length", "")
        if length.isdigit() and int(length) > self.max_bytes:
            raise FetchRefused(url, too_large, response.status_code)
        pieces: list[bytes] = []
        size = 0
        while piece := response.raw.read1(_PIECE, decode_content=True):
            size += len(piece)
            if size > self.max_bytes:
                raise FetchRefused(url, too_large, response.status_code)
            if deadline.passed():
                break
            pieces.append(piece)
        if deadline.expired or deadline.passed():  # a body without a length ends at the shutdown
            raise _FailedTry(f"no complete answer within {self.timeout_s:g} s", response.status_code)
        return b"".join(pieces)

    def _transport_problem(self, exc: BaseException, deadline: Deadline, answered: bool) -> str:
        if deadline.expired or isinstance(exc, _TIMEOUTS):
            return f"{'no complete answer' if answered else 'no answer'} within {self.timeout_s:g} s"
        return f"{'a broken reply' if answered else 'connection error'} ({root_cause(exc)})"

    def _wait(self, url: str, seconds: float) -> None:
        """Wait ``seconds``; raises ``Stopped`` if the run stops before or during the wait."""
        if not self._stop.is_set() and seconds > 0:
            if self.sleep is time.sleep:
                self._stop.wait(seconds)
            else:
                self.sleep(seconds)
        if self._stop.is_set():
            raise Stopped(f"{url}: not fetched: the run is stopping")


def _fetched(url: str, response: requests.Response, body: bytes) -> Fetched:
    headers = {name.lower(): value for name, value in response.headers.items()}
    content_type, header_charset = _media_type(headers.get("content-type"))
    validators = Validators(headers.get("etag"), headers.get("last-modified"))
    warnings = charset.header_warnings(body, header_charset)
    return Fetched(
        url, response.status_code, headers, body, validators, content_type, header_charset, warnings
    )


def _media_type(value: str | None) -> tuple[str | None, str | None]:
    """(``text/html``, ``utf-8``) from a ``Content-Type`` value; None for what it does not say."""
    if not value:
        return None, None
    message = email.message.Message()
    message["Content-Type"] = value
    return message.get_content_type(), message.get_content_charset()


def _host(url: str) -> str:
    return urllib.parse.urlsplit(url).netloc.lower()
