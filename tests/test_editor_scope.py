"""An editor's change costs one article: the run that applies it reads, plans and writes only the
article-languages it touches, and leaves the job exactly as a whole nightly run would."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from pipeline.config import load_config
from pipeline.editor.service import EditorService
from pipeline.errors import NotApplied
from pipeline.executor.options import RunOptions
from pipeline.executor.plan import Planner
from pipeline.executor.run import run_job
from pipeline.report import review
from pipeline.stages.ingest import Ingest
from pipeline.tts import ENGINES

from .conftest import SAMPLE_ARTICLES, WriteConfig
from .fakes import tone_engine
from .test_editor_service import run

FIRST = SAMPLE_ARTICLES[0].stem


@pytest.fixture
def job(write_config: WriteConfig, articles: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A job run once, with feeds and a public folder: sq narrated by a tone engine, uk text only."""
    monkeypatch.setitem(ENGINES, "tone", tone_engine("tone", [], lambda text: 0.1 + len(text) / 3000))
    config = write_config(
        tts={"engine": "tone", "pause": 0.2},
        feeds={"base_url": "https://news.example.org/audio/", "image": "https://news.example.org/cover.jpg"},
    )
    run(config)
    return config


def snapshot(folder: Path) -> dict[str, tuple[int, str]]:
    """Every file under ``folder`` but the state, the lock and the logs: its mtime and content."""
    skipped = ("state.sqlite", ".lock", "logs/")
    return {
        str(path.relative_to(folder)): (
            path.stat().st_mtime_ns,
            hashlib.sha256(path.read_bytes()).hexdigest(),
        )
        for path in sorted(folder.rglob("*"))
        if path.is_file() and not str(path.relative_to(folder)).startswith(skipped)
    }


def changed(before: dict[str, tuple[int, str]], after: dict[str, tuple[int, str]]) -> set[str]:
    return {name for name in before.keys() | after.keys() if before.get(name) != after.get(name)}


def manifest_items(folder: Path) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = json.loads((folder / "manifest.json").read_text("utf-8"))["items"]
    return items


def test_a_saved_edit_reads_plans_and_writes_its_article_language_only(
    job: Path, service: EditorService, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = job.parent / "out" / "test"
    read: list[Path] = []
    planned: list[tuple[str, str]] = []
    pages_checked: list[str] = []
    real_ingest, real_plan, real_inputs = Ingest.__call__, Planner._plan_item, review._page_inputs
    monkeypatch.setattr(
        Ingest, "__call__", lambda self, paths, *a: read.extend(paths) or real_ingest(self, paths, *a)
    )

    def plan_item(self: Planner, segmented: Any, target: Any, *args: Any) -> Any:
        planned.append((segmented.article.id, target.code))
        return real_plan(self, segmented, target, *args)

    def page_inputs(job_dir: Path, article_id: str, *args: Any) -> str:
        pages_checked.append(article_id)
        return real_inputs(job_dir, article_id, *args)

    monkeypatch.setattr(Planner, "_plan_item", plan_item)
    monkeypatch.setattr(review, "_page_inputs", page_inputs)
    before = snapshot(folder)
    sentence = service.article(FIRST, "sq")["paragraphs"][1][0]
    service.save_edit(FIRST, "sq", sentence["index"], "Teksti i redaktorit.", "Ana", sentence["key"])
    assert service.background is not None and service.background.wait_idle(60)

    assert [path.stem for path in read] == [FIRST, FIRST]  # the save's run, then its narration's
    assert planned == [(FIRST, "sq"), (FIRST, "sq")]
    assert set(pages_checked) == {FIRST}
    touched = changed(before, snapshot(folder))
    assert f"{FIRST}/sq/article.txt" in touched and f"{FIRST}/sq/narration.mp3" in touched
    allowed = {
        "manifest.json",
        "index.html",
        ".review-pages.json",
        ".transcripts.json",
        "public/feeds/sq.xml",
        "feed-versions.json",  # the item's new audio version, published as a correction
        "editors-journal.jsonl",  # the change, appended
    }
    assert "editors-journal.jsonl" in touched
    assert {name for name in touched if not name.startswith((f"{FIRST}/", f"public/{FIRST}/sq/"))} <= allowed
    assert not any(name.startswith((f"{FIRST}/uk/", f"public/{FIRST}/uk/")) for name in touched)

    # what the change wrote is what a whole nightly run makes of the job: it finds nothing to redo
    items, after = manifest_items(folder), snapshot(folder)
    run(job)
    assert manifest_items(folder) == items
    assert changed(after, snapshot(folder)) == set()


def test_a_change_the_manifest_cannot_vouch_for_reads_the_whole_input(job: Path) -> None:
    config = load_config(job)
    folder = config.job_dir
    items = manifest_items(folder)
    (folder / "manifest.json").unlink()
    report = run_job(config, options=RunOptions(pairs=frozenset({(FIRST, "sq")}), origin="serve"))
    assert not report.partial
    assert manifest_items(folder) == items  # every item listed again, not just the pair's

    report = run_job(config, options=RunOptions(pairs=frozenset({(FIRST, "sq")}), origin="serve"))
    assert report.partial and [plan.key for plan in report.plans] == [(FIRST, "sq")]
    assert manifest_items(folder) == items


def test_an_article_whose_file_left_the_input_is_refused_with_the_edit_kept(
    job: Path, service: EditorService, articles: Path
) -> None:
    sentence = service.article(FIRST, "sq")["paragraphs"][1][0]
    (articles / SAMPLE_ARTICLES[0].name).rename(articles.parent / "moved-away.txt")
    with pytest.raises(NotApplied, match="no longer in the job's input"):
        service.save_edit(FIRST, "sq", sentence["index"], "Teksti i redaktorit.", "Ana", sentence["key"])
    edits = service._with_state(None, lambda state: state.edits("sq"))
    assert [edit.text for edit in edits] == ["Teksti i redaktorit."]


def test_the_article_list_is_read_from_the_manifest_alone(
    job: Path, service: EditorService, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pipeline.text.load import read_article

    shown = service.article(FIRST, "sq")["title"]  # the article page's headline, from article.json

    def no_record(*args: Any) -> None:
        raise AssertionError("the list read an article.json")

    monkeypatch.setattr(EditorService, "_record_of", no_record)
    listed = {article["id"]: article for article in service.articles()}
    assert len(listed) == len(SAMPLE_ARTICLES)
    article = read_article(SAMPLE_ARTICLES[0])
    assert listed[FIRST]["title"] == shown and listed[FIRST]["date"] == article.date.isoformat()
    assert listed[FIRST]["languages"]["sq"]["audio"] == "ready"
    assert listed[FIRST]["languages"]["uk"]["audio"] == "ready"
