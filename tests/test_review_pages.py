"""The review pages for people on phones, keyboards and screen readers, in a real browser (Debian's
chromium through Playwright) at phone width (390 px) and desktop width (1440 px): the title is the
headline, no server path is shown, flag details are visible without hovering, the columns stack on
a phone and stand side by side on a desktop, players and chapter lists have accessible names, every
table header has a scope, a transcript is offered as a track only when its file exists, and axe-core
finds nothing on any page (at 1280 px as well)."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from pipeline.cli import cli

from .axe import violations
from .conftest import SAMPLE_ARTICLES
from .requirements import needs_axe, needs_chromium, needs_espeak

pytestmark = [needs_chromium, needs_espeak]
PHONE, DESKTOP = {"width": 390, "height": 844}, {"width": 1440, "height": 900}
HEADLINE = "Harbour cranes return to Durrës after storm repairs"
TITLED = f"""---
date: 2024-03-20
---
# {HEADLINE}

Engineers restored the three cranes of the port of Durrës on Tuesday, the port authority said.

Ships waiting in the bay began to unload grain and timber within the hour.
"""


@pytest.fixture(scope="module")
def job(tmp_path_factory: pytest.TempPathFactory, tiny_models: dict[str, Path]) -> Path:
    """A narrated job: the sample articles, one with a title, and one empty file (a failure whose
    message names its path)."""
    root = tmp_path_factory.mktemp("review-pages")
    articles = root / "articles"
    articles.mkdir()
    for path in SAMPLE_ARTICLES:
        shutil.copy(path, articles / path.name)
    (articles / "harbour-cranes.md").write_text(TITLED, "utf-8")
    (articles / "empty.txt").write_text("", "utf-8")
    config = {
        "job": "review",
        "input": {"paths": ["articles/*"]},
        "output_dir": "out",
        "languages": {"sq": {"model": str(tiny_models["sq"])}, "uk": {"model": str(tiny_models["uk"])}},
        "translation": {"beam_size": 1, "max_length": 12, "batch_size": 8, "device": "cpu"},
        "tts": {"engine": "espeak-ng", "pause": 0.3},
    }
    (root / "job.yaml").write_text(yaml.safe_dump(config, allow_unicode=True), "utf-8")
    result = CliRunner(mix_stderr=False).invoke(cli, ["run", str(root / "job.yaml")], catch_exceptions=False)
    assert result.exit_code == 1, result.stderr  # the empty file fails; the rest are delivered
    return root / "out" / "review"


def pages(job: Path) -> list[Path]:
    return [job / "index.html", *sorted(job.glob("*/index.html"))]


def open_page(browser: Any, viewport: dict[str, int], path: Path) -> Any:
    page = browser.new_page(viewport=viewport)
    problems: list[str] = []
    page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.goto(path.as_uri())
    page.problems = problems
    return page


def record(job: Path, article_id: str, code: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((job / article_id / code / "article.json").read_text("utf-8"))
    return data


def test_the_title_is_the_headline(job: Path, browser: Any) -> None:
    headlines = {}
    for path in sorted(job.glob("*/index.html")):
        article_id = path.parent.name
        page = open_page(browser, DESKTOP, path)
        headlines[article_id] = page.title()
        assert page.locator("h1").inner_text() == page.title()
        page.close()
        if article_id == "empty":  # nothing could be read: its id is all there is
            continue
        source = record(job, article_id, "uk")["source"]
        first = record(job, article_id, "uk")["paragraphs"][0]["sentences"][0]["source"]
        assert headlines[article_id] == (source["title"] or first)
    assert headlines["harbour-cranes"] == HEADLINE
    assert headlines["empty"] == "empty"
    assert all(title != article_id for article_id, title in headlines.items() if article_id != "empty")


def test_no_server_path_on_any_page(job: Path, browser: Any) -> None:
    root = str(job.parent.parent)  # holds the articles, the config and the outputs
    empty = open_page(browser, DESKTOP, job / "empty" / "index.html")
    assert (
        "empty.txt: empty file" in empty.locator(".error").first.inner_text()
    )  # the error, without its folder
    assert "source: empty.txt" in empty.locator("header").inner_text()
    empty.close()
    for path in pages(job):
        html = path.read_text("utf-8")
        assert root not in html, f"{path} shows {root}"
        assert str(Path(root).resolve()) not in html
        page = open_page(browser, PHONE, path)
        assert root not in page.locator("body").inner_text()
        page.close()


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["390px", "1440px"])
def test_flag_details_are_visible_without_hovering(job: Path, browser: Any, viewport: dict[str, int]) -> None:
    checked = 0
    for path in sorted(job.glob("*/index.html")):
        article_id = path.parent.name
        if article_id == "empty":
            continue
        page = open_page(browser, viewport, path)
        for code in ("sq", "uk"):
            flagged = [
                (sentence["target"], sentence["flags"])
                for paragraph in record(job, article_id, code)["paragraphs"]
                for sentence in paragraph["sentences"]
                if sentence.get("flags")
            ]
            spans = page.locator(f'td[lang="{code}"] .flagged')
            assert spans.count() == len(flagged)
            for index, (target, flags) in enumerate(flagged[:5]):
                span = spans.nth(index)
                assert span.inner_text() == target
                details = page.locator(f"#{span.get_attribute('aria-describedby')}")
                assert details.is_visible()  # no hover, no click: on screen as the page opens
                box = details.bounding_box()
                assert box is not None and box["width"] > 50 and box["height"] > 5
                text = details.inner_text()
                for flag in flags:
                    assert flag["type"] in text and flag["detail"] in text
                checked += 1
        page.close()
    assert checked > 0, "the tiny models flag nothing: the test checks nothing"


def cell_boxes(page: Any, row: str) -> list[dict[str, float]]:
    boxes = [page.locator(row).first.locator("td").nth(k).bounding_box() for k in range(3)]
    assert all(box is not None for box in boxes)
    return boxes  # type: ignore[return-value]


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["390px", "1440px"])
def test_columns_stack_on_a_phone_and_stand_side_by_side_on_a_desktop(
    job: Path, browser: Any, viewport: dict[str, int], tmp_path: Path
) -> None:
    for path, row in [
        (job / SAMPLE_ARTICLES[0].stem / "index.html", "tr.block"),
        (job / "index.html", "tr.article"),
    ]:
        page = open_page(browser, viewport, path)
        english, albanian, ukrainian = cell_boxes(page, row)
        if viewport is PHONE:  # one below the other, each as wide as the page allows
            assert english["y"] + english["height"] <= albanian["y"] + 1
            assert albanian["y"] + albanian["height"] <= ukrainian["y"] + 1
            assert abs(english["x"] - albanian["x"]) < 1 and albanian["width"] > 300
        else:  # side by side, on one line
            assert abs(english["y"] - albanian["y"]) < 1 and abs(albanian["y"] - ukrainian["y"]) < 1
            assert english["x"] + english["width"] <= albanian["x"] + 1
            assert albanian["x"] + albanian["width"] <= ukrainian["x"] + 1
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= viewport["width"], f"{path}: scrolls sideways ({width} px)"
        page.screenshot(path=str(tmp_path / f"{path.parent.name}-{viewport['width']}.png"), full_page=True)
        assert page.problems == []
        page.close()
    if os.environ.get("REVIEW_SCREENSHOTS"):  # to look at them: REVIEW_SCREENSHOTS=/some/folder
        shutil.copytree(tmp_path, os.environ["REVIEW_SCREENSHOTS"], dirs_exist_ok=True)


def test_players_and_chapter_lists_have_names_and_headers_have_scope(job: Path, browser: Any) -> None:
    names = {"sq": "Albanian", "uk": "Ukrainian"}
    for path in pages(job):
        page = open_page(browser, PHONE, path)
        headers = page.locator("th")
        assert headers.count() > 0
        assert page.locator("th:not([scope])").count() == 0, path
        assert all(scope in ("col", "row") for scope in headers.evaluate_all("hs => hs.map(h => h.scope)"))
        for audio in page.locator("audio").all():
            label = audio.get_attribute("aria-label") or ""
            assert label.strip(), path
            assert page.get_by_role("list", name=label.replace("narration", "chapters")).count() == 1
        for chapters in page.locator("ol.chapters").all():
            assert (chapters.get_attribute("aria-label") or "").strip(), path
        if path.parent != job and path.parent.name != "empty":
            assert page.locator("audio").count() == 2
            for code, name in names.items():
                assert page.locator(f"#audio-{code}").get_attribute("aria-label") == f"{name} narration"
        page.close()


def test_a_transcript_is_a_track_only_when_its_file_exists(job: Path, browser: Any) -> None:
    article = job / SAMPLE_ARTICLES[0].stem
    page = open_page(browser, DESKTOP, article / "index.html")
    for code in ("sq", "uk"):
        tracks = page.locator(f"#audio-{code} track")
        if (article / code / "transcript.vtt").is_file():
            assert tracks.count() == 1
            assert tracks.get_attribute("src") == f"{code}/transcript.vtt"  # relative to the page
            assert tracks.get_attribute("srclang") == code
            assert tracks.get_attribute("kind") == "captions"
        else:
            assert tracks.count() == 0
    page.close()
    # take the Ukrainian transcript away: the page written next has no track for it
    from pipeline.config import load_config
    from pipeline.report.review import write_review

    config = load_config(job.parent.parent / "job.yaml")
    moved = article / "uk" / "transcript.vtt"
    if moved.is_file():
        moved.rename(moved.with_suffix(".bak"))
    try:
        write_review(config, json.loads((job / "manifest.json").read_text("utf-8")))
        page = open_page(browser, DESKTOP, article / "index.html")
        assert page.locator("#audio-uk track").count() == 0
        assert page.locator("#player-uk a[href='uk/transcript.vtt']").count() == 0
        page.close()
    finally:
        if moved.with_suffix(".bak").is_file():
            moved.with_suffix(".bak").rename(moved)
            write_review(config, json.loads((job / "manifest.json").read_text("utf-8")))


@needs_axe
@pytest.mark.parametrize("viewport", [{"width": 1280, "height": 800}, PHONE], ids=["1280px", "390px"])
def test_axe_finds_nothing_on_any_page(job: Path, browser: Any, viewport: dict[str, int]) -> None:
    found = {}
    for path in pages(job):
        page = open_page(browser, viewport, path)
        found[str(path.relative_to(job))] = violations(page)
        page.close()
    assert len(found) > 2 and found == {path: [] for path in found}
