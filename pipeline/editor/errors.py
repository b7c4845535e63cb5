"""What an editor's request can run into, each with the HTTP status the review app answers with.

Every one carries a one-line message meant for the editor (and for scripts using the API)."""

from __future__ import annotations


class EditorError(Exception):
    """A request the service refuses; ``status`` is the HTTP status the app answers with."""

    status = 400


class NotFound(EditorError):
    """An unknown article, language, sentence or file."""

    status = 404


class StaleKey(EditorError):
    """``If-Match`` no longer matches: the sentence changed since the page was loaded."""

    status = 412


class InvalidEdit(EditorError):
    """Empty, over-long or otherwise unusable text (or a malformed request body)."""

    status = 422


class JobBusy(EditorError):
    """A ``pipeline run`` of the job holds its lock; try again when it is over."""

    status = 423


class KeyRequired(EditorError):
    """A change without the sentence's key in ``If-Match``."""

    status = 428


class NotApplied(EditorError):
    """The change is recorded, but the outputs could not be brought up to date with it."""

    status = 503
