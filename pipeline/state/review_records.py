"""The state's editors' reviews: each article × language's current ``reviews`` and the
``review_history`` of every one recorded. Mixed into ``StateStore``."""

from __future__ import annotations

import sqlite3
from contextlib import AbstractContextManager
from dataclasses import astuple, dataclass

from pipeline.clock import utc_now_iso

REVIEW_STATUSES = ("approved", "rejected", "retracted")  # retracted: the run's, not an editor's (below)
REVIEW_COLUMNS = "article_id, language, status, editor, note, at, text_sha256"
_VALUES = f"({REVIEW_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)"


@dataclass(frozen=True)
class Review:
    """An editor's review of one article × language's text (``text_sha256``: of its article.txt).
    ``retracted`` is recorded by a run when an approved article leaves the input: the approval no
    longer holds, so the article, should it come back, needs approving again."""

    article_id: str
    language: str
    status: str  # approved, rejected, retracted
    editor: str
    note: str
    at: str
    text_sha256: str


def put_review(db: sqlite3.Connection, review: Review) -> None:
    """Make ``review`` its article-language's current review and add it to the history (inside
    the caller's transaction)."""
    if review.status not in REVIEW_STATUSES:
        raise ValueError(f"unknown review status {review.status!r}")
    db.execute(f"INSERT OR REPLACE INTO reviews {_VALUES}", astuple(review))
    db.execute(f"INSERT INTO review_history {_VALUES}", astuple(review))


class ReviewRecords:
    """Review storage; expects ``self.db`` and ``self.transaction()`` (``StateStore``)."""

    db: sqlite3.Connection

    def transaction(self) -> AbstractContextManager[sqlite3.Connection]:
        raise NotImplementedError  # StateStore's

    def set_review(
        self, article_id: str, language: str, status: str, editor: str, note: str, text_sha256: str
    ) -> Review:
        """Record an editor's review of an article × language's text now (replacing its current
        one; the history keeps every review) and return it."""
        review = Review(article_id, language, status, editor, note, utc_now_iso(), text_sha256)
        with self.transaction() as db:
            put_review(db, review)
        return review

    def reviews(self) -> dict[tuple[str, str], Review]:
        """Every article × language's current review, by ``(article_id, language)``."""
        rows = self.db.execute(f"SELECT {REVIEW_COLUMNS} FROM reviews")
        return {(row[0], row[1]): Review(*row) for row in rows}

    def review_history(self) -> list[Review]:
        """Every review recorded, oldest first."""
        return [
            Review(*row)
            for row in self.db.execute(f"SELECT {REVIEW_COLUMNS} FROM review_history ORDER BY id")
        ]
