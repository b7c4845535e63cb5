"""The one exception hierarchy of the pipeline: every error it raises on purpose is defined here.

Library code raises these; only the CLI turns them into exit codes. Every message is meant to be
read by an operator at 7 a.m.: it says what went wrong, where, and how to fix it, in one line.

``TransientError`` is for what may succeed if tried again (network, 5xx, 429, out of memory);
``PermanentError`` for what will fail the same way until someone changes the input or the config.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


class PipelineError(Exception):
    """Base of every error the pipeline raises on purpose."""

    transient = False


class TransientError(PipelineError):
    """May succeed on a later attempt: network trouble, rate limits, out of memory."""

    transient = True


class PermanentError(PipelineError):
    """Fails the same way until the input or the configuration changes."""


@dataclass(frozen=True)
class ConfigIssue:
    """One problem in a config: the key path (``languages.sq.model``) and, where known, the line."""

    key: str
    message: str
    line: int | None = None
    origin: str | None = None  # the config file, or "--set" for a command-line override

    def __str__(self) -> str:
        where = self.origin or "config"
        if self.line is not None:
            where = f"{where}:{self.line}"
        key = f"{self.key}: " if self.key else ""
        return f"{where}: {key}{self.message}"


class ConfigError(PermanentError):
    """A config file that cannot be used; carries every problem found, not just the first."""

    def __init__(self, issues: list[ConfigIssue]):
        self.issues = list(issues)
        super().__init__("\n".join(str(issue) for issue in self.issues))


class InputError(PermanentError):
    """An article file that cannot be read as an article (empty, binary, missing date...)."""

    def __init__(self, path: Path, message: str):
        self.path = path
        super().__init__(f"{path}: {message}")


class PageError(PermanentError):
    """A web page (or a feed's entry) that gives no article: not HTML, no text, not English..."""

    def __init__(self, url: str, message: str):
        self.url = url
        super().__init__(f"{url}: {message}")


class ModelError(PermanentError):
    """A translation model that cannot be found, loaded or used as configured."""


class ModelUnavailableError(TransientError):
    """A hub model that could not be fetched because the network or the hub failed."""


class OutOfMemoryError(TransientError):
    """The device ran out of memory; a smaller ``translation.batch_size`` may help."""


class TranslationError(PermanentError):
    """The model failed on a sentence for a reason other than memory."""


class SpeechError(PermanentError):
    """A narration that cannot be made as configured (engine missing, voice unknown, bad reply)."""


class SpeechUnavailableError(TransientError):
    """The speech service failed (429, 5xx, timeouts, connection errors) after every retry."""


class FetchError(PipelineError):
    """A web page, feed or file that could not be fetched; the one-line message names the URL and
    the problem (``https://x/a: 404 Not Found``). ``status`` is the HTTP status when a reply came.
    Raised as ``FetchUnavailable`` (may pass: 5xx, 429, timeouts, connection errors) or
    ``FetchRefused`` (will not: 404, 410, robots.txt, too large, too many redirects)."""

    def __init__(self, url: str, problem: str, status: int | None = None):
        self.url, self.problem, self.status = url, problem, status
        super().__init__(f"{url}: {problem}")


class FetchUnavailable(FetchError, TransientError):
    """A fetch that failed in a way that may pass on a later run (5xx, 429, timeouts, the network)."""


class FetchRefused(FetchError, PermanentError):
    """A fetch that fails the same way until the site or the config changes (404, 410, robots.txt,
    too large, redirects that never end, a URL that is not http or https)."""


class Stopped(TransientError):
    """Work not done because the run was asked to stop (SIGTERM, Ctrl-C): no failure of the item,
    which is left for the next run, and never recorded as one."""


class QualityError(PermanentError):
    """A translation with quality flags, when the config says flagged articles fail."""


class DiskFullError(TransientError):
    """No space left on the device (or quota) that holds ``folder``: an output not written fails
    its item, and the next runs try it again once there is room."""

    def __init__(self, folder: Path):
        self.folder = folder
        super().__init__(f"no space left on device in {folder}")


class LockedError(PipelineError):
    """Another run of the same job holds the lock."""


class StateError(PermanentError):
    """A state file that cannot be used (corrupt, foreign, or from a newer version)."""


class JournalError(TransientError):
    """The editors' journal cannot be read or written (a full disk, permissions): a change that
    cannot be journaled is not made."""


class StateDamaged(StateError):
    """The state file is not readable as SQLite (damaged, or not a database at all)."""


class Mp3Error(PermanentError, ValueError):
    """Bytes that are not the MP3 this pipeline can join (no frames, mixed formats)."""


class FormatError(PermanentError, ValueError):
    """A reader's complaint about an article's content; the caller adds the file name."""


class UnexpectedError(TransientError):
    """Something no rule foresaw (a bug, a library's surprise) while working on one item.

    It fails that article-language only and counts as transient, so the next runs try again up to
    ``state.max_attempts`` times; the original exception is chained, so its traceback reaches the
    run log.
    """


class EditorError(PipelineError):
    """A request of an editor's (the review app, ``approve``, ``import-tm``) that is refused or not
    carried out; ``status`` is the HTTP status the review app answers with. The message is one line
    meant for the editor (and for scripts using the API)."""

    status = 400


class Forbidden(EditorError, PermanentError):
    """The signed-in account may not do this (an editor approving, say)."""

    status = 403


class AccountError(EditorError, PermanentError):
    """An editor account that cannot be added or removed (a bad or taken name, an unknown one), or
    an accounts file that cannot be read."""

    status = 400


class NotFound(EditorError, PermanentError):
    """An unknown article, language, sentence or file."""

    status = 404


class StaleKey(EditorError, PermanentError):
    """``If-Match`` no longer matches: the sentence changed since the page was loaded."""

    status = 412


class InvalidEdit(EditorError, PermanentError):
    """Empty, over-long or otherwise unusable text (or a malformed request body)."""

    status = 422


class JobBusy(EditorError, TransientError):
    """A ``pipeline run`` of the job holds its lock; try again when it is over."""

    status = 423


class KeyRequired(EditorError, PermanentError):
    """A change without the sentence's key in ``If-Match``."""

    status = 428


class NotApplied(EditorError, TransientError):
    """The change is recorded, but the outputs could not be brought up to date with it."""

    status = 503


class StateUnavailable(EditorError, TransientError):
    """The state file is missing, empty or not the one the review app opened: changes are refused
    (recorded there, they would be lost or start a new state that unpublishes the job)."""

    status = 503


class ReportsNotUpdated(NotApplied):
    """A review is recorded, but the manifest or the reports could not be rewritten."""


def item_error(exc: BaseException, doing: str) -> PipelineError:
    """``exc`` as the error of one item: a ``PipelineError`` as it is, anything else wrapped as an
    ``UnexpectedError`` whose one-line message names what was being done (``doing``) and the
    exception's type; the caller raises it ``from exc`` or logs ``exc`` for the traceback."""
    if isinstance(exc, PipelineError):
        return exc
    text = str(exc).strip().splitlines()
    detail = f": {text[0][:200]}" if text else ""
    error = UnexpectedError(f"unexpected error while {doing}: {type(exc).__name__}{detail}")
    error.__cause__ = exc
    return error
