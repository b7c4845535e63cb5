"""robots.txt: fetched once per site (scheme, host and port) and read with protego.

As Google does: a robots.txt that is not there (404, or any 4xx but 429) allows everything; one
that cannot be had (5xx, 429, a timeout, a connection error) disallows the whole site for the
run, with one warning, since the site may be down or asking for less traffic.
"""

from __future__ import annotations

import logging
import threading
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass

from protego import Protego

from pipeline.errors import FetchError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Rules:
    """One site's rules for our user agent token: ``parser`` None means "allow all" when
    ``reachable``, "disallow all" when not."""

    parser: Protego | None
    reachable: bool = True

    def allows(self, url: str, agent: str) -> bool:
        if self.parser is None:
            return self.reachable
        return bool(self.parser.can_fetch(url, agent))

    def crawl_delay(self, agent: str) -> float | None:
        if self.parser is None:
            return None
        delay = self.parser.crawl_delay(agent)
        return float(delay) if delay is not None else None


def origin(url: str) -> str:
    """``scheme://host[:port]`` of ``url``, lower-case: what one robots.txt covers."""
    parts = urllib.parse.urlsplit(url)
    return f"{parts.scheme.lower()}://{parts.netloc.lower()}"


class RobotsCache:
    """Each site's ``Rules``, fetched with ``fetch_text(robots_url)`` the first time a URL of the
    site is asked about (once, even when several threads ask at the same time).

    ``fetch_text`` returns the file's text, or raises ``FetchError`` (with ``status`` when a reply
    came)."""

    def __init__(self, agent: str, fetch_text: Callable[[str], str]):
        self.agent, self.fetch_text = agent, fetch_text
        self._rules: dict[str, Rules] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._lock = threading.Lock()

    def allows(self, url: str) -> bool:
        return self.rules(url).allows(url, self.agent)

    def crawl_delay(self, url: str) -> float | None:
        return self.rules(url).crawl_delay(self.agent)

    def rules(self, url: str) -> Rules:
        site = origin(url)
        with self._lock:
            site_lock = self._locks.setdefault(site, threading.Lock())
        with site_lock:
            if site not in self._rules:
                self._rules[site] = self._load(site)
            return self._rules[site]

    def _load(self, site: str) -> Rules:
        robots_url = f"{site}/robots.txt"
        try:
            text = self.fetch_text(robots_url)
        except FetchError as exc:
            if exc.status is not None and 400 <= exc.status < 500 and exc.status != 429:
                return Rules(None)
            log.warning("%s; nothing on %s is fetched in this run", exc, site)
            return Rules(None, reachable=False)
        return Rules(Protego.parse(text))
