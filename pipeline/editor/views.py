"""How the review app shows what the outputs and the state hold: each sentence with its edit,
flags, history and key (the version ``If-Match`` carries), an article's title, a sentence pair."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from pipeline.edits import Edit, SentenceEdits


def sentence_key(sentence: dict[str, Any]) -> str:
    """A sentence's version, for ``If-Match``: changes when its English, its machine translation,
    its edit or its place in the article does."""
    parts = [sentence["index"], sentence["source"], sentence["machine"], sentence["edit"],
             sentence["edited_by"], sentence["edited_at"]]  # fmt: skip
    return hashlib.sha256(json.dumps(parts, ensure_ascii=False).encode()).hexdigest()[:20]


def sentence_pair(
    source: str, target: str, editor: str, at: str, article_id: str, status: str = "approved"
) -> dict[str, str]:
    """One human-checked sentence pair (see ``EditorService.sentence_pairs``)."""
    return {"source": source, "target": target, "editor": editor, "at": at, "article_id": article_id,
            "status": status}  # fmt: skip


def _history_sources(source: str, edits: SentenceEdits, history: list[tuple[Edit, str]]) -> set[str]:
    """The English sentences whose edits are in this sentence's history: its own, those of earlier
    versions of it that it is flagged with, and those retired by an edit of it (the same editor,
    the same time: one transaction) because its English had changed."""
    sources = {source, *(old.source for old in edits.stale)}
    saved = {(e.editor, e.at) for e, action in history if e.source == source and action == "saved"}
    sources |= {e.source for e, action in history if action == "superseded" and (e.editor, e.at) in saved}
    return sources


def sentence_view(
    raw: dict[str, Any], index: int, edits: SentenceEdits, history: list[tuple[Edit, str]]
) -> dict[str, Any]:
    """One sentence as the API shows it, from its ``article.json`` record and the edits in force."""
    edit = raw.get("edit")
    sentence: dict[str, Any] = {
        "index": index,
        "source": raw["source"],
        "machine": raw.get("machine", raw["target"]),
        "edit": raw["target"] if edit else None,
        "edited_by": edit["editor"] if edit else None,
        "edited_at": edit["at"] if edit else None,
        "edit_from": edit.get("from") if edit else None,
        "text": raw["target"],
        "flags": raw.get("flags", []),
        "history": [
            {"source": e.source, "text": e.text, "editor": e.editor, "at": e.at, "action": action}
            for e, action in history
            if e.source in _history_sources(raw["source"], edits, history)
        ],
    }
    sentence["key"] = sentence_key(sentence)
    return sentence
