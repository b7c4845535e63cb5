"""Pieces every format reader shares: the ``date`` line, dates, paragraph splitting."""

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


def split_date_line(text: str) -> tuple[dt.date, str, str] | None:
    """``date YYYY-MM-DD note`` on the first non-blank line → (date, note, rest of the text).

    None when that line is not a date line; the note is '' when there is none.

    Raises:
        FormatError: the date line's date is not like 2024-02-28, or is not a real date.
    """
    stripped = text.lstrip("\n")
    first, _, rest = stripped.partition("\n")
    match = DATE_LINE.match(first)
    if not match:
        return None
    return parse_date(match.group(1), "first line"), match.group(2), rest


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


__all__ = ["FormatError", "InputError", "paragraphs_of", "parse_date", "require", "split_date_line"]
