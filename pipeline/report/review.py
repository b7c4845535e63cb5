"""Static review pages: ``outputs/<job>/index.html`` and one ``index.html`` per article.

Source paragraphs and every translation side by side, aligned by paragraph; quality flags marked
on the sentences they concern; an audio player per language whose chapter list jumps to the
paragraph it speaks; links to the text, JSON and MP3 files. The pages open from disk with no
server and no external assets, and all article text is escaped (Jinja2 autoescaping).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pipeline.config import JobConfig
from pipeline.fsio import write_if_changed
from pipeline.integrity import read_record
from pipeline.layout import JSON_FILE, REVIEW_FILE


def _environment() -> Any:
    from jinja2 import Environment, PackageLoader, select_autoescape

    return Environment(
        loader=PackageLoader("pipeline.report", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )


def write_review(config: JobConfig, manifest: dict[str, Any]) -> None:
    """Write the job's ``index.html`` and each article's ``<article-id>/index.html``.

    Articles and their languages come from ``manifest``, their text from each ``article.json`` (one
    that is missing or damaged shows as no translation yet). Pages whose HTML is unchanged are not
    rewritten.

    Raises:
        OSError: a page cannot be written.
    """
    environment = _environment()
    languages = [(t.code, t.language.name) for t in config.targets]
    by_article: dict[str, list[dict[str, Any]]] = {}
    for item in manifest["items"]:
        by_article.setdefault(item["article_id"], []).append(item)

    summaries = []
    for article_id, items in by_article.items():
        page = _article_page(config.job_dir, article_id, items, languages)
        summaries.append(page["summary"])
        html = environment.get_template("article.html").render(job=config.job, **page)
        write_if_changed(config.job_dir / article_id / REVIEW_FILE, html)  # unchanged articles: untouched
    html = environment.get_template(REVIEW_FILE).render(
        job=config.job, manifest=manifest, languages=languages, articles=summaries
    )
    write_if_changed(config.job_dir / REVIEW_FILE, html)


def _article_page(
    job_dir: Path, article_id: str, items: list[dict[str, Any]], languages: list[tuple[str, str]]
) -> dict[str, Any]:
    records = {}
    for item in items:
        record = read_record(job_dir / article_id / item["language"] / JSON_FILE)
        if record is not None:  # a missing or damaged file shows as no translation yet
            records[item["language"]] = record
    first = next(iter(records.values()), None)
    source_blocks = (
        [
            {"kind": p["kind"], "text": " ".join(s["source"] for s in p["sentences"])}
            for p in first["paragraphs"]
        ]
        if first
        else []
    )
    columns = []
    for code, name in languages:
        listed = next((i for i in items if i["language"] == code), None)
        record = records.get(code)
        narration = (record or {}).get("narration") or {}
        columns.append(
            {
                "code": code,
                "name": name,
                "item": listed,
                "paragraphs": [p["sentences"] for p in record["paragraphs"]] if record else None,
                "narration": narration if narration.get("status") == "ok" else None,
                "narration_error": narration.get("error"),
                "flags": sum((record or {}).get("flags", {}).values()),
            }
        )
    source = items[0]["source"]
    summary = {
        "id": article_id,
        "date": first["source"]["date"] if first else "",
        "lead": source_blocks[0]["text"] if source_blocks else "",
        "source": source,
        "columns": columns,
    }
    return {"article_id": article_id, "source_blocks": source_blocks, "columns": columns, "summary": summary}
