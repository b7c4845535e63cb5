"""Pieces every format reader shares: the ``date`` line, dates and times, paragraph splitting."""

from __future__ import annotations

import datetime as dt
import re

from pipeline.errors import FormatError, InputError

DATE_LINE = re.compile(r"^\s*date\s+(\S+)\s*(.*?)\s*$", re.IGNORECASE)
ISO_DATE = re.compile(r"^(\d{4}-\d{2}-\d{2})")


def parse_date(value: object, what: str) -> dt.date:
    """An ISO date (``2024-02-28``, or the date part of an ISO timestamp).

    Args:
        value: a date or datetime (as YAML gives them), or text that starts with the date.
        what: where the value came from (``'date'``, ``first line``), named in the error.

    Raises:
        FormatError: ``value`` does not start like 2024-02-28, or is not a real date.
    """
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    match = ISO_DATE.match(str(value).strip())
    if not match:
        raise FormatError(f"{what}: expected a date like 2024-02-28, got {str(value)[:40]!r}")
    try:
        return dt.date.fromisoformat(match.group(1))
    except ValueError:
        raise FormatError(f"{what}: {match.group(1)!r} is not a real date") from None


def parse_moment(value: object, what: str) -> tuple[dt.date, dt.datetime | None]:
    """A date, and the moment in UTC when ``value`` also gives a time of day.

    The date is the one ``value`` names, in its own zone (``2026-11-30T00:30:00+01:00`` is dated
    30 November though it is 29 November 23:30 in UTC): the day the newsroom published it. A time
    that names no zone is taken as UTC. A date alone gives ``(date, None)``, and so does a date
    followed by something that is not an ISO time (the date is kept, as before times were read).

    Args:
        value: a date or datetime (as YAML gives them), or text: an ISO date or ISO timestamp.
        what: where the value came from, named in the error.

    Raises:
        FormatError: ``value`` does not start like 2024-02-28, or is not a real date.
    """
    if isinstance(value, dt.datetime):
        return value.date(), _utc(value)
    date = parse_date(value, what)
    text = str(value).strip()
    if isinstance(value, dt.date) or len(text) <= len("2024-02-28"):
        return date, None
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        return date, None
    return date, _utc(moment)


def update_moment(value: object) -> dt.datetime | None:
    """An update time (JSON ``updated``, ``article:modified_time``...) in UTC, or None when
    ``value`` is missing, a date alone, or not a date: it is information, never a reason to
    refuse the article."""
    if value is None or value == "":
        return None
    try:
        return parse_moment(value, "update time")[1]
    except FormatError:
        return None


def _utc(moment: dt.datetime) -> dt.datetime:
    return (moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)).astimezone(dt.UTC)


def split_date_line(text: str) -> tuple[dt.date, dt.datetime | None, str, str] | None:
    """``date YYYY-MM-DD note`` (or ``date 2026-11-30T08:15+01:00 note``) on the first non-blank
    line → (date, moment in UTC or None, note, rest of the text).

    None when that line is not a date line; the note is '' when there is none.

    Raises:
        FormatError: the date line's date is not like 2024-02-28, or is not a real date or time.
    """
    stripped = text.lstrip("\n")
    first, _, rest = stripped.partition("\n")
    match = DATE_LINE.match(first)
    if not match:
        return None
    date, moment = parse_moment(match.group(1), "first line")
    return date, moment, match.group(2), rest


def paragraphs_of(text: str) -> tuple[str, ...]:
    """Blank-line-separated paragraphs, each with its line breaks and runs of spaces folded."""
    blocks = re.split(r"\n\s*\n", text)
    return tuple(folded for block in blocks if (folded := " ".join(block.split())))


def require(condition: bool, message: str) -> None:
    """A reader's check: raise ``FormatError(message)`` unless ``condition`` holds.

    Raises:
        FormatError: ``condition`` is false.
    """
    if not condition:
        raise FormatError(message)


__all__ = [
    "FormatError",
    "InputError",
    "paragraphs_of",
    "parse_date",
    "parse_moment",
    "require",
    "split_date_line",
    "update_moment",
]
