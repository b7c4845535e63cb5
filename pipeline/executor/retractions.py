"""Approvals that end with their article: when an approved article-language leaves the input, a
run records that its approval no longer holds, so the article, should its file come back (the
same text, even), needs approving again before it is published."""

from __future__ import annotations

import logging
from collections.abc import Collection
from pathlib import Path

from pipeline.clock import utc_now_iso
from pipeline.errors import JournalError
from pipeline.report.manifest import Reviews
from pipeline.state import StateStore
from pipeline.state.changes import Change
from pipeline.state.journal import EditorsJournal
from pipeline.state.review_records import Review

log = logging.getLogger(__name__)
RETRACTED_BY = "pipeline"  # the review's editor: the run, not a person
NOTE = "the article left the input"


def retract_approvals(
    state: StateStore, journal_path: Path, gone: Collection[tuple[str, str]], reviews: Reviews
) -> bool:
    """Journal and record a ``retracted`` review for each article-language of ``gone`` (no longer
    in the input) whose current review is an approval; rejections stand. Call under the job's lock.
    Returns whether any was recorded (then ``reviews`` is out of date). The retractions are
    recorded applied, not pending: the run writes the manifest that holds them, so neither the
    review app's start nor ``pipeline status`` reports them as editors' changes left to apply. A
    journal that cannot be written leaves the approvals as they are, with a warning: the next run
    tries again."""
    approved = sorted(pair for pair in gone if (review := reviews.get(pair)) and review.status == "approved")
    if not approved:
        return False
    now = utc_now_iso()
    retractions = tuple(
        Review(article_id, code, "retracted", RETRACTED_BY, NOTE, now, reviews[article_id, code].text_sha256)
        for article_id, code in approved
    )
    change = Change("review", RETRACTED_BY, now, reviews=retractions)
    try:  # journaled first, as every change; applied at once: this run's manifest writes it
        state.record_change(change, EditorsJournal(journal_path).append(change), applied=True)
    except JournalError as exc:
        log.warning("approvals of articles gone from the input still stand: %s", exc)
        return False
    log.info("%d approval(s) of articles gone from the input retracted", len(approved))
    return True
