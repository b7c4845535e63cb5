"""The one clock: now, in UTC, and the ISO form the state, records and reports write it in."""

from __future__ import annotations

import datetime as dt


def utc_now() -> dt.datetime:
    """Now, timezone-aware, in UTC."""
    return dt.datetime.now(dt.UTC)


def utc_now_iso() -> str:
    """Now as ``2026-12-02T21:47:44+00:00`` (seconds, UTC): how every recorded time is written."""
    return utc_now().isoformat(timespec="seconds")
