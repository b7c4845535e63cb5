"""An editor's change as the journal and the state keep it: a post-edit saved, edits dropped, an
import, reviews, or a snapshot of what a state already held (written when a journal is started
for a state that has editors' work). One change is one journal line."""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass, field
from typing import Any

from pipeline.edits import Edit
from pipeline.state.review_records import Review

KINDS = ("edit", "drop", "import", "review", "snapshot")


def new_change_id() -> str:
    return uuid.uuid4().hex


@dataclass(frozen=True)
class Change:
    """``kind`` says what ``edits`` are: put in force (``edit``, ``import``, ``snapshot``) or
    dropped (``drop``); ``superseded``: the edits an ``edit`` retires; ``reviews``: recorded."""

    kind: str
    editor: str
    at: str  # ISO time, UTC
    edits: tuple[Edit, ...] = ()
    superseded: tuple[Edit, ...] = ()
    reviews: tuple[Review, ...] = ()
    id: str = field(default_factory=new_change_id)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown change kind {self.kind!r}")

    def pairs(self) -> frozenset[tuple[str, str]]:
        """The article-languages whose text or review it changes."""
        return frozenset(
            {(e.article_id, e.language) for e in (*self.edits, *self.superseded)}
            | {(r.article_id, r.language) for r in self.reviews}
        )

    def counts(self) -> dict[str, int]:
        """How many edits it saves, drops and how many reviews it records (for a summary)."""
        dropped = len(self.edits) if self.kind == "drop" else 0
        return {"edits": len(self.edits) - dropped, "drops": dropped, "reviews": len(self.reviews)}

    def to_json(self) -> dict[str, Any]:
        record: dict[str, Any] = {"id": self.id, "kind": self.kind, "editor": self.editor, "at": self.at}
        for name in ("edits", "superseded", "reviews"):
            if getattr(self, name):
                record[name] = [asdict(entry) for entry in getattr(self, name)]
        return record

    @classmethod
    def from_json(cls, record: dict[str, Any]) -> Change:
        """The change a journal line holds.

        Raises:
            ValueError, TypeError, KeyError: the line is not a change this version can read.
        """
        return cls(
            kind=record["kind"],
            editor=str(record["editor"]),
            at=str(record["at"]),
            edits=tuple(Edit(**entry) for entry in record.get("edits", ())),
            superseded=tuple(Edit(**entry) for entry in record.get("superseded", ())),
            reviews=tuple(Review(**entry) for entry in record.get("reviews", ())),
            id=str(record["id"]),
        )
