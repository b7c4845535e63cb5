"""Times as the web gives them, made timezone-aware: ISO 8601 / W3C text and feedparser's tuples."""

from __future__ import annotations

import calendar
import datetime as dt
import time


def parse_time(value: object) -> dt.datetime | None:
    """An ISO 8601 / W3C datetime (``2026-11-30T08:15:00+01:00``, ``…Z``, ``2026-11-30``) as an
    aware datetime in UTC; a time without a zone is taken as UTC. None for anything else (missing,
    empty, not a date): a page's or feed's bad date is a missing date, never a failure."""
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        parsed = dt.datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    return parsed.astimezone(dt.UTC)


def from_struct(value: time.struct_time | None) -> dt.datetime | None:
    """feedparser's ``*_parsed`` (a UTC ``struct_time``) as an aware UTC datetime; None when
    feedparser could not read the date."""
    if value is None:
        return None
    return dt.datetime.fromtimestamp(calendar.timegm(value), dt.UTC)
