"""Alerts: POST a JSON summary of a run to ``notify.webhook`` after a run with failures (or always).

An alert is a courtesy, never a reason for the run to fail or hang: a webhook that refuses the
connection, answers 4xx/5xx, or does not answer at all is logged as one ``WARNING`` and the run's
exit code stays what it was. The whole exchange (connect, send, reply) runs on a daemon thread
that the caller waits for at most ``notify.timeout`` seconds, so even a server that trickles its
reply a byte a second cannot hold the run longer than that.

This module sits below the executor: it takes the config and plain values (a ``RunReport``-like
object through a protocol), and never imports ``pipeline.executor``.
"""

from __future__ import annotations

import json
import logging
import socket
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

import requests

from pipeline.clock import utc_now_iso
from pipeline.config import JobConfig
from pipeline.items import Failure
from pipeline.version import __version__

log = logging.getLogger(__name__)

MAX_FAILURES = 200  # failed items listed in one summary; the rest are counted in "failures_omitted"


class RunReportLike(Protocol):
    """What ``run_summary`` reads of a run's report (``pipeline.executor.run_report.RunReport``)."""

    @property
    def todo(self) -> int: ...

    @property
    def up_to_date(self) -> int: ...

    @property
    def done(self) -> int: ...

    @property
    def failed(self) -> int: ...

    @property
    def failures(self) -> Sequence[Failure]: ...

    @property
    def ingest_failures(self) -> Sequence[Failure]: ...

    @property
    def interrupted(self) -> bool: ...


def run_summary(
    job: str,
    report: RunReportLike | None,
    exit_code: int,
    *,
    run_id: int | None = None,
    log_path: Path | str | None = None,
    error: str | None = None,
) -> dict[str, Any]:
    """The JSON-ready summary of one run that ``notify_run`` sends.

    Args:
        job: the job name.
        report: the run's report; None when the run stopped before it made one (a crash, an
            unusable state file, input globs that match nothing: the log says which).
        exit_code: the code ``pipeline run`` exits with.
        run_id: the run's id in the state file (``pipeline status``), when known.
        log_path: the run's full log file, when there is one.
        error: the one-line reason a run stopped without a report.

    Returns:
        ``{"text", "job", "run_id", "exit_code", "status", "counts", "failures", "failures_omitted",
        "log", "host", "finished"}``; ``failures`` lists ``{"article_id", "language", "stage",
        "error"}`` (language None: the input file failed for every language), at most
        ``MAX_FAILURES`` of them. ``text`` is one human line (chat webhooks show it).
    """
    failures = [] if report is None else [*report.ingest_failures, *report.failures]
    counts = {"todo": 0, "up_to_date": 0, "done": 0, "failed": 0}
    if report is not None:
        counts = {
            "todo": report.todo, "up_to_date": report.up_to_date, "done": report.done, "failed": report.failed
        }  # fmt: skip
    if report is None:
        status = "error"
    elif report.interrupted:
        status = "interrupted"
    else:
        status = "failed" if exit_code or counts["failed"] else "ok"
    summary: dict[str, Any] = {
        "job": job,
        "run_id": run_id,
        "exit_code": exit_code,
        "status": status,
        "counts": counts,
        "failures": [
            {"article_id": f.article_id, "language": f.language, "stage": f.stage, "error": f.message}
            for f in failures[:MAX_FAILURES]
        ],
        "failures_omitted": max(0, len(failures) - MAX_FAILURES),
        "log": str(log_path) if log_path is not None else None,
        "host": socket.gethostname(),
        "finished": utc_now_iso(),
    }
    if error is not None:
        summary["error"] = error
    summary["text"] = _line(summary)
    return summary


def _line(summary: dict[str, Any]) -> str:
    counts = summary["counts"]
    run = f"run {summary['run_id']}" if summary["run_id"] is not None else "run"
    line = (
        f"{summary['job']} on {summary['host']}: {run} {summary['status']} (exit {summary['exit_code']}): "
        f"{counts['done']} done, {counts['failed']} failed, {counts['up_to_date']} up to date"
    )
    if summary.get("error"):
        line += f"; {summary['error']}"
    elif summary["status"] == "error":
        line += f"; it stopped before it finished: see {summary['log'] or 'stderr'}"
    return line


def has_failures(summary: dict[str, Any]) -> bool:
    """True for a run that exits non-zero (failed items, a crash, a signal) or has failed items."""
    return bool(summary["exit_code"]) or bool(summary["counts"]["failed"])


THREAD_GRACE = 5.0  # seconds the abandoned request may outlive notify.timeout before its socket gives up


def notify_run(config: JobConfig, summary: dict[str, Any]) -> None:
    """POST ``summary`` as JSON to ``config.notify.webhook``, if one is set and ``notify.on`` asks.

    Waits at most ``notify.timeout`` seconds for the whole exchange. Never raises: a webhook that
    fails, answers with an error status or does not answer in time is one ``WARNING`` line (the
    URL's path and query are left out of it: they often hold a token).
    """
    settings = config.notify
    if settings.webhook is None:
        return
    if settings.on == "failures" and not has_failures(summary):
        log.debug("notify: run without failures, no alert (notify.on: failures)")
        return
    where = _redacted(settings.webhook)
    try:
        body = json.dumps(summary, ensure_ascii=False, default=str).encode("utf-8")
    except (TypeError, ValueError) as exc:  # a summary built by hand with something odd in it
        log.warning("notify.webhook %s: summary is not JSON (%s); no alert sent", where, exc)
        return
    outcome: list[object] = []
    thread = threading.Thread(
        # the thread's own socket timeout runs past the deadline, so a webhook that does not answer
        # is always reported as such, never as whichever of the two timers fired first
        target=_post,
        args=(settings.webhook, body, settings.timeout + THREAD_GRACE, outcome),
        name="notify",
        daemon=True,
    )
    thread.start()
    thread.join(settings.timeout)
    if thread.is_alive() or not outcome:  # the thread is left to die with the process
        log.warning(
            "notify.webhook %s: no reply within %g s (notify.timeout); alert not confirmed",
            where,
            settings.timeout,
        )
        return
    result = outcome[0]
    if isinstance(result, int) and 200 <= result < 300:
        log.info("notify.webhook %s: alert sent (HTTP %d)", where, result)
    elif isinstance(result, int):
        log.warning("notify.webhook %s: HTTP %d; alert not accepted", where, result)
    else:
        log.warning("notify.webhook %s: alert failed: %s", where, result)


def _post(url: str, body: bytes, timeout: float, outcome: list[object]) -> None:
    """One POST; appends the status code, or the error's one-line description, to ``outcome``."""
    try:
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": f"newsroom-pipeline/{__version__}",
        }
        # stream=True: the reply's body is never read; only its status line and headers count.
        with requests.post(url, data=body, headers=headers, timeout=timeout, stream=True) as response:
            outcome.append(response.status_code)
    except Exception as exc:  # any failure is reported by the caller as one warning
        outcome.append(f"{type(exc).__name__}: {_first_line(exc, url)}")


def _first_line(exc: BaseException, url: str) -> str:
    """The error's first line, with the URL's path and query (a token, often) left out."""
    text = str(exc).strip()
    line = text.splitlines()[0] if text else "(no message)"
    parts = urlsplit(url)
    secret = parts.path + (f"?{parts.query}" if parts.query else "")
    for hidden in (url, secret, parts.path):
        if hidden.strip("/"):
            line = line.replace(hidden, "/…")
    return line


def _redacted(url: str) -> str:
    """``https://host:port/…``: enough to say which webhook, without a token in its path."""
    parts = urlsplit(url)
    rest = "/…" if parts.path.strip("/") or parts.query else ""
    return f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}{rest}"  # user:password@ left out too
