"""``pipeline status``: the job's recent runs, their exit codes, its failed items and how many items
await an editor's review (text or JSON)."""

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
    """The job's recent runs (with their exit codes), its item counts and its failed items."""
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
    from pipeline.state import StateStore
    from pipeline.state.store import corrupt_state_message

    data: dict[str, Any] = {
        "job": job.job,
        "state": str(job.state_path),
        "state_exists": job.state_path.exists(),
        "last_exit_code": None,
        "counts": {"done": 0, "failed": 0},
        "runs": [],
        "failures": [],
        "editors_journal": str(job.journal_path),
        "pending_changes": [],
    }
    if not data["state_exists"]:
        return data
    try:
        state = StateStore.open(job.state_path, create=False)
        try:
            data["runs"] = state.runs(run_count)
            data["counts"] = state.item_counts()
            data["failures"] = _failures(state)
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
    awaiting = _awaiting_review(job)
    if awaiting is not None:
        data["awaiting_review"] = awaiting
        data["require_approval"] = job.review.require_approval
    return data


def _awaiting_review(job: Any) -> int | None:
    """How many ok items of the manifest no editor reviewed as they stand; None without a manifest."""
    from pipeline.integrity import read_record
    from pipeline.layout import MANIFEST_FILE

    manifest = read_record(job.job_dir / MANIFEST_FILE)
    if manifest is None:
        return None
    items = manifest.get("items", [])
    return sum(1 for item in items if item["status"] == "ok" and item.get("review") == "needs_review")


def _failures(state: Any) -> list[dict[str, Any]]:
    """Every failed item of the state, as ``status`` shows it."""
    return [
        {
            "article_id": row.article_id,
            "language": row.language,
            "stage": row.stage,
            "attempts": row.attempts,
            "transient": row.transient,
            "error": row.last_error,
        }
        for row in state.items().values()
        if row.status == "failed"
    ]


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
    lines.append(f"items: {data['counts']['done']} done, {data['counts']['failed']} failed")
    if "awaiting_review" in data:
        gate = " (published only once approved)" if data["require_approval"] else ""
        lines.append(f"awaiting review: {data['awaiting_review']}{gate}")
    if data["pending_changes"]:
        pending = ", ".join(f"{p['article_id']} [{p['language']}]" for p in data["pending_changes"][:5])
        more = f" and {len(data['pending_changes']) - 5} more" if len(data["pending_changes"]) > 5 else ""
        lines.append(f"editors' changes not applied yet (the next run or the app's start applies them): "
                     f"{pending}{more}")  # fmt: skip
    lines.append(f"failed items: {len(data['failures'])}")
    for f in data["failures"]:
        kind = "transient" if f["transient"] else "permanent"
        lines.append(
            f"  {f['article_id']} [{f['language']}] {f['stage']} ({kind}, {f['attempts']}x): {f['error']}"
        )
    return lines
