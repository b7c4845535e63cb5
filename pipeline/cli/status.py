"""``pipeline status``: the job's recent runs, their exit codes, its articles and article-languages
counted as ``run`` counts them, every failed item with its reason (files that could not be read
included) and how many items await an editor's review (text or JSON)."""

from __future__ import annotations

import json
import sqlite3
import sys
from pathlib import Path
from typing import Any

import click

from pipeline import logs
from pipeline.cli.common import (
    EXIT_CONFIG,
    cli,
    config_argument,
    load_job,
    set_option,
    verbosity,
    verbosity_options,
)


@cli.command()
@config_argument
@set_option
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option("--runs", "run_count", default=5, show_default=True, help="How many recent runs to show.")
@verbosity_options
@click.pass_context
def status(
    ctx: click.Context, config: Path, overrides: tuple[str, ...], as_json: bool, run_count: int
) -> None:
    """The job's recent runs (with their exit codes), its counts and its failed items."""
    logs.configure(verbosity(ctx))
    job = load_job(config, overrides)
    data = _status_data(job, run_count)
    if as_json:
        click.echo(json.dumps(data, indent=2, ensure_ascii=False))
    else:
        click.echo("\n".join(_status_lines(data)))


def _status_data(job: Any, run_count: int) -> dict[str, Any]:
    """What ``status`` shows, as JSON-ready data; a job that never ran has no runs and no items.
    Exits 2 with one line if the state file cannot be used."""
    from pipeline.errors import StateError
    from pipeline.integrity import read_record
    from pipeline.layout import MANIFEST_FILE
    from pipeline.report.standing import standing
    from pipeline.state import StateStore
    from pipeline.state.store import corrupt_state_message

    data: dict[str, Any] = {
        "job": job.job,
        "state": str(job.state_path),
        "state_exists": job.state_path.exists(),
        "last_exit_code": None,
        "counts": standing(None, {})["counts"],
        "runs": [],
        "failures": [],
        "editors_journal": str(job.journal_path),
        "pending_changes": [],
    }
    if not data["state_exists"]:
        return data
    manifest = read_record(job.job_dir / MANIFEST_FILE)  # the last run's record of every item
    try:
        state = StateStore.open(job.state_path, create=False)
        try:
            data["runs"] = state.runs(run_count)
            data.update(standing(manifest, state.items()))
            data["pending_changes"] = [
                {"article_id": article_id, "language": language}
                for article_id, language in sorted(state.pending_pairs())
            ]
        finally:
            state.close()
    except StateError as exc:
        click.echo(f"error: state file {job.state_path}: {exc}", err=True)
        sys.exit(EXIT_CONFIG)
    except sqlite3.DatabaseError as exc:
        message = corrupt_state_message(job.state_path, exc)
        click.echo(f"error: state file {job.state_path}: {message}", err=True)
        sys.exit(EXIT_CONFIG)
    # the last `pipeline run`'s: the review app's runs (origin serve, import) have no exit code
    runs = [run for run in data["runs"] if run.get("origin", "run") == "run"]
    data["last_exit_code"] = runs[0]["exit_code"] if runs else None
    if manifest is not None:
        data["awaiting_review"] = _awaiting_review(manifest)
        data["require_approval"] = job.review.require_approval
    return data


def _awaiting_review(manifest: dict[str, Any]) -> int:
    """How many ok items of the manifest no editor reviewed as they stand."""
    items = manifest.get("items", [])
    return sum(1 for item in items if item["status"] == "ok" and item.get("review") == "needs_review")


def _status_lines(data: dict[str, Any]) -> list[str]:
    """``status`` for people: the runs, newest first, with their exit codes; counts; failures."""
    lines = [f"job {data['job']}: state {data['state']}"]
    if not data["runs"]:
        lines.append("runs: none yet")
    else:
        lines.append("runs (newest first):")
    for r in data["runs"]:
        exit_code = "" if r["exit_code"] is None else f" (exit {r['exit_code']})"
        origin = "" if r.get("origin", "run") == "run" else f" [{r['origin']}]"
        lines.append(
            f"  #{r['id']}{origin} {r['started']} -> {r['finished'] or '...'} {r['status']}{exit_code}: "
            f"{r['todo']} to do, {r['up_to_date']} up to date, {r['done']} done, {r['failed']} failed"
        )
    lines += [_count_line("articles", data["counts"]["articles"]),
              _count_line("article-languages", data["counts"]["article_languages"])]  # fmt: skip
    if "awaiting_review" in data:
        gate = " (published only once approved)" if data["require_approval"] else ""
        lines.append(f"awaiting review: {data['awaiting_review']}{gate}")
    if data["pending_changes"]:
        pending = ", ".join(f"{p['article_id']} [{p['language']}]" for p in data["pending_changes"][:5])
        more = f" and {len(data['pending_changes']) - 5} more" if len(data["pending_changes"]) > 5 else ""
        lines.append(f"editors' changes not applied yet (the next run or the app's start applies them): "
                     f"{pending}{more}")  # fmt: skip
    lines.append(f"failed items: {len(data['failures'])}")
    lines += [_failure_line(f) for f in data["failures"]]
    return lines


def _count_line(unit: str, counts: dict[str, int]) -> str:
    """``articles: 5 done, 2 failed``, the run's words; pending and retracted only when there are."""
    shown = [f"{counts['done']} done", f"{counts['failed']} failed"]
    shown += [f"{counts[word]} {word}" for word in ("pending", "retracted") if counts[word]]
    return f"{unit}: {', '.join(shown)}"


def _failure_line(failure: dict[str, Any]) -> str:
    """A failed article-language, or a file that could not be read, with the line the run printed
    (which names the file)."""
    kind = "transient" if failure["transient"] else "permanent"
    if failure["language"] is None:
        return f"  {failure['article_id']} [every language] {failure['stage']} ({kind}): {failure['error']}"
    attempts = "" if failure["attempts"] is None else f", {failure['attempts']}x"
    where = f"{failure['article_id']} [{failure['language']}] {failure['stage']}"
    return f"  {where} ({kind}{attempts}): {failure['error']}"
