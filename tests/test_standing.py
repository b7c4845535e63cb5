"""``standing``: how ``pipeline status`` counts articles and article-languages and lists failures,
from the last run's manifest (or, without one, the state)."""

from __future__ import annotations

from typing import Any

from pipeline.report.standing import standing
from pipeline.state import ItemState


def item(article_id: str, language: str, status: str, **extra: Any) -> dict[str, Any]:
    return {
        "article_id": article_id,
        "language": language,
        "status": status,
        "source": f"in/{article_id}.txt",
        **extra,
    }


def state(article_id: str, language: str, stage: str, status: str, attempts: int = 1) -> ItemState:
    error = "boom" if status == "failed" else None
    return ItemState(article_id, language, stage, "key", status, attempts, False, error, {})


def test_an_article_counts_by_its_worst_language() -> None:
    manifest = {
        "items": [
            item("a", "sq", "ok"),
            item("a", "uk", "ok"),
            item("b", "sq", "ok"),
            item("b", "uk", "failed", stage="narration", error="no voice", transient=True),
            item("c", "sq", "pending"),
            item("c", "uk", "ok"),
            item("d", "sq", "retracted"),
            item("d", "uk", "retracted"),
            item("e", "sq", "ok"),
            item("e", "uk", "retracted"),  # a language that left the job: the article is still done
            item("f", "sq", "failed", stage="text", error="model", transient=False),
            item("f", "uk", "pending"),  # failed outranks pending
        ]
    }
    states = {("b", "uk", "narration"): state("b", "uk", "narration", "failed", attempts=3)}
    data = standing(manifest, states)
    assert data["counts"] == {
        "articles": {"done": 2, "failed": 2, "pending": 1, "retracted": 1},
        "article_languages": {"done": 5, "failed": 2, "pending": 2, "retracted": 3},
    }
    assert [(f["article_id"], f["language"]) for f in data["failures"]] == [("b", "uk"), ("f", "sq")]
    assert data["failures"][:1] == [
        {
            "article_id": "b",
            "language": "uk",
            "stage": "narration",
            "source": "in/b.txt",
            "error": "no voice",
            "transient": True,
            "attempts": 3,
        }
    ]


def test_an_unreadable_file_is_one_failure_before_the_article_languages() -> None:
    unreadable = {"stage": "ingest", "error": "in/z.txt: empty file", "transient": False}
    manifest = {
        "items": [
            item("a", "sq", "failed", stage="text", error="model", transient=False),
            item("z", "sq", "failed", **unreadable),
            item("z", "uk", "failed", **unreadable),
        ]
    }
    data = standing(manifest, {})
    assert [(f["article_id"], f["language"], f["attempts"]) for f in data["failures"]] == [
        ("z", None, None),
        ("a", "sq", None),
    ]
    assert data["failures"][0]["error"] == "in/z.txt: empty file"
    assert data["counts"]["article_languages"]["failed"] == 3
    assert data["counts"]["articles"]["failed"] == 2


def test_without_a_manifest_the_state_counts_article_languages_not_stages() -> None:
    states = {
        ("a", "sq", "text"): state("a", "sq", "text", "done"),
        ("a", "sq", "narration"): state("a", "sq", "narration", "done"),
        ("a", "uk", "text"): state("a", "uk", "text", "done"),
        ("a", "uk", "narration"): state("a", "uk", "narration", "failed", attempts=2),
    }
    data = standing(None, states)
    assert data["counts"]["article_languages"] == {"done": 1, "failed": 1, "pending": 0, "retracted": 0}
    assert data["counts"]["articles"] == {"done": 0, "failed": 1, "pending": 0, "retracted": 0}
    assert [(f["language"], f["stage"], f["attempts"], f["error"]) for f in data["failures"]] == [
        ("uk", "narration", 2, "boom")
    ]
