"""How a job stands, for ``pipeline status``: its articles and article-languages counted the way
``pipeline run`` counts them, and every failure with its reason, reading failures included.

The last run's ``manifest.json`` is the record: it lists every article × language of the input,
an unreadable file's once per language (its ``error`` the line the run printed, naming the file),
so a failure that a later run fixed (the file repaired or removed) is gone from it. The state adds
how often each article-language failed. A job whose manifest is missing (a run that crashed before
writing it) is counted from the state alone, which knows nothing of unreadable files.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from pipeline.items import NARRATION, TEXT
from pipeline.state import ItemState

LANGUAGE_STAGES = (TEXT, NARRATION)  # a failure of another stage (reading, splitting) fails every language
COUNTED = ("done", "failed", "pending", "retracted")
_STATUS_WORDS = {"ok": "done"}  # the manifest's word for a delivered item, in the run's words


def standing(
    manifest: Mapping[str, Any] | None, states: Mapping[tuple[str, str, str], ItemState]
) -> dict[str, Any]:
    """``{"counts": {"articles": {...}, "article_languages": {...}}, "failures": [...]}``.

    Each count has ``done`` (delivered, by the last run or an earlier one), ``failed``, ``pending``
    (not finished: an interrupted run) and ``retracted`` (gone from the input). An article is
    failed when any of its languages failed, pending when any is pending, retracted when all are,
    else done. ``failures`` lists each failed article-language (``stage`` ``text`` or ``narration``)
    and each input file that could not be read once (``language`` None: it failed for every
    language), each as ``{"article_id", "language", "stage", "source", "error", "transient",
    "attempts"}`` (``attempts`` None when the state does not count them).

    ``manifest``: the last run's ``manifest.json`` (None: there is none); ``states``: the state's
    ``items()``.
    """
    if manifest is None:
        return _from_states(states)
    items = manifest.get("items", [])
    statuses = {(i["article_id"], i["language"]): _STATUS_WORDS.get(i["status"], i["status"]) for i in items}
    failed = [item for item in items if item["status"] == "failed"]
    return {"counts": _counts(statuses), "failures": _failures(failed, states)}


def _failures(
    failed: Iterable[Mapping[str, Any]], states: Mapping[tuple[str, str, str], ItemState]
) -> list[dict[str, Any]]:
    failures: dict[tuple[str, str | None, str], dict[str, Any]] = {}
    for item in failed:
        stage = item.get("stage", "")
        per_language = stage in LANGUAGE_STAGES
        language = item["language"] if per_language else None
        state = states.get((item["article_id"], item["language"], stage)) if per_language else None
        failures.setdefault(
            (item["article_id"], language, stage),
            {
                "article_id": item["article_id"],
                "language": language,
                "stage": stage,
                "source": item.get("source") or None,
                "error": item.get("error", ""),
                "transient": bool(item.get("transient")),
                "attempts": state.attempts if state is not None else None,
            },
        )
    return sorted(
        failures.values(), key=lambda f: (f["language"] is not None, f["article_id"], f["language"] or "")
    )


def _from_states(states: Mapping[tuple[str, str, str], ItemState]) -> dict[str, Any]:
    """Counts and failures from the state's records alone: an article-language failed when a stage
    of it failed, else done."""
    statuses: dict[tuple[str, str], str] = {}
    failures = []
    for (article_id, language, stage), state in sorted(states.items()):
        if state.status == "failed":
            statuses[(article_id, language)] = "failed"
            failures.append(
                {
                    "article_id": article_id,
                    "language": language,
                    "stage": stage,
                    "source": None,
                    "error": state.last_error,
                    "transient": state.transient,
                    "attempts": state.attempts,
                }
            )
        else:
            statuses.setdefault((article_id, language), "done")
    return {"counts": _counts(statuses), "failures": failures}


def _counts(statuses: Mapping[tuple[str, str], str]) -> dict[str, dict[str, int]]:
    by_article: dict[str, set[str]] = {}
    for (article_id, _), status in statuses.items():
        by_article.setdefault(article_id, set()).add(status)
    articles = [_article_status(found) for found in by_article.values()]
    pairs = list(statuses.values())
    return {
        "articles": {word: articles.count(word) for word in COUNTED},
        "article_languages": {word: pairs.count(word) for word in COUNTED},
    }


def _article_status(statuses: set[str]) -> str:
    for word in ("failed", "pending"):
        if word in statuses:
            return word
    return "retracted" if statuses == {"retracted"} else "done"
