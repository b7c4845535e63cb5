"""Editor accounts: who may sign in to the review app, and with which role.

The accounts live beside the job, in ``<output_dir>/<job>/editors.json`` (mode 600, written
atomically): per account its name, its role (``editor``: edit sentences; ``approver``: also approve
and reject) and the SHA-256 of its token, never the token itself. A token is 32 random bytes
(``secrets.token_urlsafe``), shown once when the account is made: a hash without a salt is enough
for a secret that cannot be guessed, and lets a token be found without trying every account's salt.

``AccountStore`` reads the file again whenever it changes on disk, so an account removed while the
review app runs stops working at its next request.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import threading
import unicodedata
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from pipeline.clock import utc_now_iso
from pipeline.errors import AccountError
from pipeline.fsio import atomic_write_bytes, json_bytes

ACCOUNTS_FILE = "editors.json"
ROLES = ("editor", "approver")
NAME_MAX = 100
# Control, format (bidi overrides, zero-width characters), line and paragraph separators: a name
# must read the same in the journal, a terminal and a page.
FORBIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp", "Cs", "Co", "Cn"})


@dataclass(frozen=True)
class Account:
    """One editor: ``name`` is what the journal, ``article.json``, the history and TMX record."""

    name: str
    role: str
    token_sha256: str
    created: str = ""

    @property
    def may_review(self) -> bool:
        """Whether the account may approve or reject a language of an article."""
        return self.role == "approver"


def token_hash(token: str) -> str:
    """The SHA-256 (hex) of ``token``: what the accounts file keeps."""
    return hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()


def check_name(name: str) -> str:
    """``name`` stripped, or AccountError: 1 to ``NAME_MAX`` characters, none of them invisible or
    controlling (``FORBIDDEN_CATEGORIES``)."""
    name = name.strip()
    if not 1 <= len(name) <= NAME_MAX:
        raise AccountError(f"an editor's name must be 1 to {NAME_MAX} characters")
    bad = [char for char in name if unicodedata.category(char) in FORBIDDEN_CATEGORIES]
    if bad:
        raise AccountError(
            f"an editor's name must not hold control or invisible characters (U+{ord(bad[0]):04X})"
        )
    return name


def _account(entry: Any, path: Path) -> Account:
    if not isinstance(entry, dict) or not all(
        isinstance(entry.get(key), str) for key in ("name", "role", "token_sha256")
    ):
        raise AccountError(f"{path}: an account is not an object with a name, a role and a token_sha256")
    if entry["role"] not in ROLES:
        raise AccountError(f"{path}: account {entry['name']!r} has an unknown role {entry['role']!r}")
    return Account(entry["name"], entry["role"], entry["token_sha256"], str(entry.get("created", "")))


class AccountStore:
    """The accounts file of a job (``job_dir / ACCOUNTS_FILE``); thread-safe reads.

    Args:
        path: the accounts file (it need not exist: then there are no accounts).
    """

    def __init__(self, path: Path):
        self.path = path
        self._lock = threading.Lock()
        self._seen: tuple[int, int, int] | None = None
        self._accounts: dict[str, Account] | None = None

    def exists(self) -> bool:
        """Whether the accounts file is there (then only its accounts may sign in)."""
        return self.path.exists()

    def accounts(self) -> dict[str, Account] | None:
        """The accounts by name, read again when the file changed; None without a file.

        Raises:
            AccountError: the file cannot be read or is not an accounts file.
        """
        try:
            found = os.stat(self.path)
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise AccountError(f"{self.path}: cannot be read ({exc.strerror})") from exc
        seen = (found.st_mtime_ns, found.st_size, found.st_ino)
        with self._lock:
            if seen != self._seen:
                self._accounts, self._seen = self._read(), seen
            return self._accounts

    def _read(self) -> dict[str, Account]:
        try:
            data = json.loads(self.path.read_bytes())
        except (OSError, ValueError) as exc:
            raise AccountError(f"{self.path}: cannot be read as an accounts file ({exc})") from exc
        entries = data.get("accounts") if isinstance(data, dict) else None
        if not isinstance(entries, list):
            raise AccountError(f'{self.path}: not an accounts file (no "accounts" list)')
        accounts = [_account(entry, self.path) for entry in entries]
        return {account.name: account for account in accounts}

    def add(self, name: str, role: str = "editor") -> str:
        """Make an account; returns its token (only its hash is kept: this is the one chance to see it).

        Raises:
            AccountError: a bad or taken name, or an unknown role.
        """
        name = check_name(name)
        if role not in ROLES:
            raise AccountError(f"unknown role {role!r}: one of {', '.join(ROLES)}")
        accounts = dict(self.accounts() or {})
        if name in accounts:
            raise AccountError(f"there is already an editor named {name!r}")
        token = secrets.token_urlsafe(32)
        accounts[name] = Account(name, role, token_hash(token), utc_now_iso())
        self._write(accounts)
        return token

    def remove(self, name: str) -> None:
        """Remove the account ``name``: its token and its sessions stop working.

        Raises:
            AccountError: no such account.
        """
        accounts = dict(self.accounts() or {})
        if accounts.pop(name.strip(), None) is None:
            raise AccountError(f"there is no editor named {name.strip()!r}")
        self._write(accounts)

    def _write(self, accounts: dict[str, Account]) -> None:
        data = {"accounts": [asdict(account) for account in accounts.values()]}
        atomic_write_bytes(self.path, json_bytes(data), mode=0o600)
