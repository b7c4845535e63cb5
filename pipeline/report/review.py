"""Static review pages: ``outputs/<job>/index.html`` and one ``index.html`` per article.

Source paragraphs and every translation side by side, aligned by paragraph (stacked at phone
width); quality flags marked on the sentences they concern, with their details listed visibly
beside them; an audio player per language whose chapter list jumps to the paragraph it speaks,
with the transcript as a track when there is one; links to the text, JSON, MP3 and transcript
files. The pages open from disk with no server and no external assets, all article text is escaped
(Jinja2 autoescaping), and no server path is shown: the source is named by its file name, and
errors name files relative to the folders the job knows.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pipeline.config import JobConfig
from pipeline.fsio import write_if_changed
from pipeline.integrity import read_record
from pipeline.layout import JSON_FILE, REVIEW_FILE, TRANSCRIPT_FILE


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

    hide = _private_folders(config, manifest)
    summaries = []
    for article_id, items in by_article.items():
        page = _article_page(config.job_dir, article_id, items, languages, hide)
        summaries.append(page["summary"])
        html = environment.get_template("article.html").render(job=config.job, **page)
        write_if_changed(config.job_dir / article_id / REVIEW_FILE, html)  # unchanged articles: untouched
    html = environment.get_template(REVIEW_FILE).render(
        job=config.job, manifest=manifest, languages=languages, articles=summaries
    )
    write_if_changed(config.job_dir / REVIEW_FILE, html)


def _private_folders(config: JobConfig, manifest: dict[str, Any]) -> list[str]:
    """Folders of this machine that page text must not show (longest first): the job's, the config's,
    the inputs', the local models' and the caches'. An error naming ``<one of them>/x/y.txt`` is
    shown as ``x/y.txt``."""
    folders = {config.job_dir, config.output_root, config.path.parent, config.state_path.parent}
    folders |= {Path(target.model) for target in config.targets if target.model_is_local}
    if config.translation.cache_dir:
        folders.add(Path(config.translation.cache_dir))
    folders |= {Path(item["source"]).parent for item in manifest["items"] if item.get("source")}
    for folder in list(folders):
        folders.add(folder.resolve())
    return sorted({str(folder) for folder in folders if str(folder) != "/"}, key=len, reverse=True)


def _public(text: str | None, hide: list[str]) -> str | None:
    """``text`` without the folders in ``hide`` (an absolute path becomes the part below them)."""
    if not text:
        return text
    for folder in hide:
        text = text.replace(folder + "/", "").replace(folder, Path(folder).name)
    return text


def headline(record: dict[str, Any] | None, source_blocks: list[dict[str, str]], article_id: str) -> str:
    """The article's title; for an article without one, its first sentence; else its id."""
    if record is not None:
        title = (record.get("source") or {}).get("title")
        if title:
            return str(title)
        for paragraph in record.get("paragraphs", []):
            for sentence in paragraph.get("sentences", []):
                if sentence.get("source", "").strip():
                    return str(sentence["source"]).strip()
    return source_blocks[0]["text"] if source_blocks else article_id


def _article_page(
    job_dir: Path,
    article_id: str,
    items: list[dict[str, Any]],
    languages: list[tuple[str, str]],
    hide: list[str],
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
        error = (listed or {}).get("error")
        transcript = job_dir / article_id / code / TRANSCRIPT_FILE
        columns.append(
            {
                "code": code,
                "name": name,
                "item": listed,
                "error": _public(error, hide),
                "paragraphs": [p["sentences"] for p in record["paragraphs"]] if record else None,
                "narration": narration if narration.get("status") == "ok" else None,
                "narration_error": _public(narration.get("error"), hide),
                # relative to the article's page, and only when the file is there
                "transcript": f"{code}/{TRANSCRIPT_FILE}" if transcript.is_file() else None,
                "flags": sum((record or {}).get("flags", {}).values()),
            }
        )
    title = headline(first, source_blocks, article_id)
    summary = {
        "id": article_id,
        "headline": title,
        "date": first["source"]["date"] if first else "",
        "lead": source_blocks[0]["text"] if source_blocks else "",
        "source": Path(items[0]["source"]).name,  # the file name only: no server path on the page
        "columns": columns,
    }
    return {
        "article_id": article_id,
        "headline": title,
        "source_blocks": source_blocks,
        "columns": columns,
        "summary": summary,
    }
