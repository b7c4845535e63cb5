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

import functools
import hashlib
import json
from collections.abc import Collection
from pathlib import Path
from typing import Any

from markupsafe import Markup

from pipeline.config import JobConfig
from pipeline.fsio import write_if_changed
from pipeline.integrity import file_identity, read_record
from pipeline.layout import JSON_FILE, REVIEW_FILE, TRANSCRIPT_FILE
from pipeline.state.keys import digest
from pipeline.text.article import headline as article_headline
from pipeline.text.article import shown_time


@functools.cache
def _environment() -> Any:
    """The page templates, compiled once per process (the review app writes pages on every change)."""
    from jinja2 import Environment, PackageLoader, select_autoescape

    return Environment(
        loader=PackageLoader("pipeline.report", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )


def write_review(config: JobConfig, manifest: dict[str, Any], changed: Collection[str] | None = None) -> None:
    """Write the job's ``index.html`` and each article's ``<article-id>/index.html``.

    Articles and their languages come from ``manifest``, their text from each ``article.json`` (one
    that is missing or damaged shows as no translation yet). An article's page is made again only
    when something it is made from changed (``_page_inputs``; recorded in ``PAGES_MADE``), so an
    unchanged job reads no ``article.json``; pages whose HTML is unchanged are not rewritten.
    ``changed``: the only articles that may have changed (an editor's change); the others' pages
    are taken as recorded without looking at their files.

    Raises:
        OSError: a page cannot be written.
    """
    environment = _environment()
    languages = [(t.code, t.language.name) for t in config.targets]
    by_article: dict[str, list[dict[str, Any]]] = {}
    for item in manifest["items"]:
        by_article.setdefault(item["article_id"], []).append(item)

    hide = _private_folders(config, manifest)
    common = [config.job, languages, hide, _templates_version()]
    made = _pages_made(config.job_dir)
    pages: dict[str, dict[str, Any]] = {}
    for article_id, items in by_article.items():
        earlier = made.get(article_id)
        if changed is not None and article_id not in changed and earlier is not None:
            pages[article_id] = earlier  # not touched by the change: as the last run made it
            continue
        inputs = _page_inputs(config.job_dir, article_id, items, common)
        page_file = config.job_dir / article_id / REVIEW_FILE
        if earlier is not None and earlier.get("inputs") == inputs and page_file.is_file():
            pages[article_id] = earlier  # nothing it is made from changed: not read, not rendered
            continue
        page = _article_page(config.job_dir, article_id, items, languages, hide)
        html = environment.get_template("article.html").render(job=config.job, **page)
        write_if_changed(page_file, html)  # unchanged articles: untouched
        row = environment.get_template(INDEX_ROW).render(article=_index_summary(page["summary"]))
        pages[article_id] = {"inputs": inputs, "row": row}
    html = environment.get_template(REVIEW_FILE).render(
        job=config.job,
        manifest=manifest,
        languages=languages,
        rows=[Markup(p["row"]) for p in pages.values()],  # rendered (and escaped) with their pages
    )
    write_if_changed(config.job_dir / REVIEW_FILE, html)
    write_if_changed(config.job_dir / PAGES_MADE, json.dumps(pages, ensure_ascii=False, sort_keys=True))


PAGES_MADE = ".review-pages.json"  # in the job folder: what each article's page was made from
INDEX_ROW = "_index_row.html"  # an article's row in the job's index, kept with its page's inputs


def _templates_version() -> str:
    """A digest of the page templates: a new template renders every page again."""
    folder = Path(__file__).parent / "templates"
    return hashlib.sha256(b"".join(p.read_bytes() for p in sorted(folder.glob("*.html")))).hexdigest()


def _pages_made(job_dir: Path) -> dict[str, dict[str, Any]]:
    """What the last run recorded of each article's page ({} when unreadable: all are made again)."""
    record = read_record(job_dir / PAGES_MADE)
    return {k: v for k, v in (record or {}).items() if isinstance(v, dict) and isinstance(v.get("row"), str)}


def _page_inputs(job_dir: Path, article_id: str, items: list[dict[str, Any]], common: list[Any]) -> str:
    """A digest of everything an article's page is made from, known without reading its records:
    the job's settings, its manifest items, and each language's ``article.json`` and transcript as
    ``os.stat`` sees them (any rewrite changes the time)."""
    files = []
    for item in items:
        folder = job_dir / article_id / item["language"]
        files += [[name, file_identity(folder / name)] for name in (JSON_FILE, TRANSCRIPT_FILE)]
    return digest(common, items, files)


def _index_summary(summary: dict[str, Any]) -> dict[str, Any]:
    """What the job's index shows of an article (its page's summary without the text)."""
    columns = [
        {
            **{k: column[k] for k in ("code", "name", "item", "error", "flags")},
            "narration": bool(column["narration"]),
        }
        for column in summary["columns"]
    ]
    return {**summary, "columns": columns}


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
    # longest first, then by name: the same order in every process (the pages' inputs digest it)
    return sorted({str(folder) for folder in folders if str(folder) != "/"}, key=lambda f: (-len(f), f))


def _public(text: str | None, hide: list[str]) -> str | None:
    """``text`` without the folders in ``hide`` (an absolute path becomes the part below them)."""
    if not text:
        return text
    for folder in hide:
        text = text.replace(folder + "/", "").replace(folder, Path(folder).name)
    return text


def headline(record: dict[str, Any] | None, source_blocks: list[dict[str, str]], article_id: str) -> str:
    """The article's title; for an article without one, its first sentence (``text.article.headline``);
    else its id."""
    if record is not None:
        sentences = (
            s.get("source", "") for p in record.get("paragraphs", []) for s in p.get("sentences", [])
        )
        found = article_headline((record.get("source") or {}).get("title"), sentences)
        if found:
            return found
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
        "time": shown_time(first["source"]["date"], first["source"].get("published")) if first else None,
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
