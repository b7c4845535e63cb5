"""Who is asking: the account behind a request to the review app.

A request names its account in one of three ways, tried in this order:

1. ``Authorization: Bearer <token>`` (scripts): the account whose token it is;
2. ``review.trusted_user_header`` (single sign-on, ``X-Forwarded-User`` as oauth2-proxy sets it),
   honoured only when the connection comes from one of ``review.trusted_proxies``: the account of
   that name;
3. the session cookie that the sign-in form set (``/sign-in``): sessions live in this process's
   memory, expire after ``review.session_hours``, and end when their account is removed or gets
   a new token (a session remembers the token's hash it was opened with).

With an accounts file (``accounts.py``) only its accounts sign in. Without one, the shared token
(``PIPELINE_REVIEW_TOKEN``, ``--token-file``) is the one account, ``editor``, an approver. With
neither (a loopback bind only), nobody signs in and the page asks for a name, as it always did.
"""

from __future__ import annotations

import ipaddress
import logging
import math
import re
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from pipeline.editor.accounts import Account, AccountStore, token_hash
from pipeline.editor.throttle import SignInThrottle

log = logging.getLogger(__name__)

SHARED_ACCOUNT = "editor"
SESSION_HOURS = 12.0
SESSIONS_KEPT = 10_000  # sessions remembered at once (the oldest are dropped first)


def cookie_name(job: str, port: int) -> str:
    """The session cookie of the app of ``job`` on ``port``: two apps on one host keep theirs apart
    (cookies are shared between the ports of a host)."""
    return f"pipeline_review_{re.sub(r'[^A-Za-z0-9_-]', '_', job)}_{port}"


class WrongToken(Exception):
    """A token that is no account's."""


class Slowed(Exception):
    """Too many wrong tokens from this address lately: ``wait`` seconds before the next is checked."""

    def __init__(self, wait: float):
        super().__init__(f"wait {wait:.0f} s")
        self.wait = wait

    @property
    def seconds(self) -> int:
        """The wait in whole seconds, at least 1: what ``Retry-After`` and the message say."""
        return max(1, math.ceil(self.wait))


@dataclass
class _Session:
    name: str
    token_sha256: str
    expires: float


@dataclass
class Authenticator:
    """The accounts, the sessions and the sign-in throttle of one review app.

    Args:
        token: the shared token (the one account when there is no accounts file), or None.
        store: the job's accounts file, or None for none.
        cookie: the session cookie's name (``cookie_name``).
        session_hours: how long a session lasts.
        trusted_header: the single-sign-on header naming the account, or None.
        trusted_proxies: the addresses or networks that header is taken from.
    """

    token: str | None = None
    store: AccountStore | None = None
    cookie: str = "pipeline_review"
    session_hours: float = SESSION_HOURS
    trusted_header: str | None = None
    trusted_proxies: tuple[str, ...] = ()
    throttle: SignInThrottle = field(default_factory=SignInThrottle)
    clock: Callable[[], float] = time.time
    _sessions: dict[str, _Session] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _required: bool = False

    def __post_init__(self) -> None:
        self.token = self.token or None
        self._networks = [ipaddress.ip_network(proxy, strict=False) for proxy in self.trusted_proxies]
        self.required()

    def required(self) -> bool:
        """Whether requests must name an account: with a token or an accounts file (once there is
        one, for the rest of the process: removing it never opens the app)."""
        if not self._required:
            self._required = bool(self.token) or (self.store is not None and self.store.exists())
        return self._required

    def accounts(self) -> dict[str, Account]:
        """Who may sign in now: the accounts file's, else the shared token's one account."""
        found = self.store.accounts() if self.store is not None else None
        if found is not None:
            return found
        if self.token:
            return {SHARED_ACCOUNT: Account(SHARED_ACCOUNT, "approver", token_hash(self.token))}
        return {}

    def by_token(self, token: str, client: str) -> Account:
        """The account of ``token``, counted by the throttle per ``client`` address.

        Raises:
            Slowed: ``client`` must wait before its next try is checked.
            WrongToken: no account has this token.
        """
        wait = self.throttle.wait_left(client)
        if wait > 0:  # not even checked: guessing must not pay
            raise Slowed(wait)
        given = token_hash(token)
        found = None
        for account in self.accounts().values():
            if secrets.compare_digest(given, account.token_sha256):
                found = account
        if found is None:
            if self.throttle.failed(client) == self.throttle.first_wait:
                log.warning("review app: %d wrong tokens in a row from %s; its tries are slowed down",
                            self.throttle.free, client)  # fmt: skip
            raise WrongToken("wrong token")
        self.throttle.succeeded(client)
        return found

    def by_proxy(self, peer: str, value: str | None) -> Account | None:
        """The account the single-sign-on header names, when ``peer`` is a trusted proxy; else None."""
        if not self.trusted_header or value is None or not self.trusted_from(peer):
            return None
        return self.accounts().get(value.strip())

    def trusted_from(self, peer: str) -> bool:
        """Whether ``peer`` (the connection's address) is one of the trusted proxies."""
        try:
            address = ipaddress.ip_address(peer)
        except ValueError:
            return False
        return any(address in network for network in self._networks)

    def open_session(self, account: Account) -> str:
        """A new session for ``account``; returns its id (the cookie's value)."""
        session = secrets.token_urlsafe(32)
        with self._lock:
            now = self.clock()
            for old in [key for key, value in self._sessions.items() if value.expires <= now]:
                del self._sessions[old]
            while len(self._sessions) >= SESSIONS_KEPT:
                del self._sessions[next(iter(self._sessions))]
            self._sessions[session] = _Session(account.name, account.token_sha256, now + self.max_age)
        return session

    def by_session(self, session: str) -> Account | None:
        """The account of a live session: not expired, its account still there with the same token."""
        with self._lock:
            found = self._sessions.get(session)
            if found is not None and found.expires <= self.clock():
                del self._sessions[session]
                found = None
        if found is None:
            return None
        account = self.accounts().get(found.name)
        if account is None or not secrets.compare_digest(account.token_sha256, found.token_sha256):
            return None
        return account

    def close_session(self, session: str) -> None:
        """End a session (signing out)."""
        with self._lock:
            self._sessions.pop(session, None)

    @property
    def max_age(self) -> int:
        """A session's life in seconds (the cookie's ``Max-Age``)."""
        return max(1, round(self.session_hours * 3600))
