"""The review app keeps its word to editors, in a real browser (Debian's chromium through
Playwright) over the in-memory service of ``test_editor_app``: the name is asked before the first
edit, a refused save leaves the page where it was, Reject asks and Approve says how many flags are
open, ``n`` / ``p`` move between flagged sentences, a skip link leads to the first sentence, a
failed article shows why and is counted as failed, and axe-core finds nothing on any page at
desktop and phone width."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pipeline.editor.contract import ItemFailed
from pipeline.state.history import History, HistoryEntry, HistoryQuery

from .axe import violations
from .requirements import needs_axe, needs_chromium
from .test_editor_app import FakeService, live, make_article

pytestmark = [needs_chromium]
__all__ = ["live"]  # the fixture, imported for this module's tests
DESKTOP, PHONE = {"width": 1280, "height": 800}, {"width": 390, "height": 844}
LONG = "long-read"
FAILED = "broken-feed"
REASON = "the file is empty: nothing to translate"
FLAGGED = (3, 9, 15)  # the sentences of the long article with a flag, in the Albanian column


class Newsroom(FakeService):
    """The fake's two articles, a long one (20 paragraphs, flags in Albanian) and one that failed
    before it had a text."""

    def __init__(self, folder: Path):
        super().__init__(folder)
        blocks = [[f"Paragraph {n} says something about the harbour."] for n in range(20)]
        flags = {index: {"flags": [("untranslated", "looks like English")]} for index in FLAGGED}
        self.data[LONG] = {
            "sq": make_article(LONG, "sq", "A long read", blocks, flags),
            "uk": make_article(LONG, "uk", "A long read", blocks),
        }

    def articles(self) -> list[dict[str, Any]]:
        failed = {"status": "failed", "review": "needs_review", "flags": 0, "edited": 0, "audio": "pending",
                  "error": REASON}  # fmt: skip
        summary = {
            "id": FAILED,
            "date": "2024-03-19",
            "title": FAILED,
            "languages": {"sq": failed, "uk": failed},
        }
        return [*super().articles(), summary]

    def history(self, query: HistoryQuery) -> History:
        """One change of each kind the History page shows: an edit, a drop, and a review."""
        at = "2026-12-01T09:30:00Z"
        edit = HistoryEntry("c1", "edit", "Mira", at, LONG, "sq", "Paragraph 3 says something.", 3,
                            "Paragrafi 3 thotë diçka.", "Paragrafi i tretë thotë diçka.",
                            recorded_by="Mira", recorded_at=at)  # fmt: skip
        drop = HistoryEntry("c2", "drop", "Ana", at, LONG, "sq", "Paragraph 3 says something.", 3,
                            "Paragrafi i tretë thotë diçka.", "Paragrafi 3 thotë diçka.",
                            recorded_by="Ana", recorded_at=at)  # fmt: skip
        review = HistoryEntry("c3", "review", "Ana", at, LONG, "uk", status="rejected", note="wrong figures",
                              text_sha256="ab" * 32, recorded_by="Ana", recorded_at=at)  # fmt: skip
        return History([review, drop, edit], "journal")

    def article(self, article_id: str, language: str) -> dict[str, Any]:
        if article_id == FAILED:
            raise ItemFailed(article_id, language, error=REASON, stage="read")
        return super().article(article_id, language)


@pytest.fixture
def fake(tmp_path: Path) -> Newsroom:
    return Newsroom(tmp_path / "job")


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A desktop-sized page with nothing in its storage (no editor's name yet); the test's end
    checks that no script failed."""
    context = browser.new_context(viewport=DESKTOP)
    page = context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(str(error)))
    yield page
    context.close()
    assert problems == []


def test_the_name_is_asked_before_the_first_edit(live: str, page: Any) -> None:
    from playwright.sync_api import expect

    page.goto(f"{live}/articles/harbour-cranes/")
    edit = page.get_by_role("button", name="Edit sentence 1 (sq)")
    approve = page.get_by_role("button", name="Approve Albanian")
    expect(edit).to_be_disabled()
    expect(approve).to_be_disabled()
    page.get_by_role("textbox", name="Your name").fill("Mira")
    expect(edit).to_be_enabled()
    expect(approve).to_be_enabled()
    page.reload()  # remembered in this browser
    expect(page.get_by_role("textbox", name="Your name")).to_have_value("Mira")
    expect(edit).to_be_enabled()


def test_a_refused_save_leaves_the_page_where_it_was(live: str, page: Any) -> None:
    from playwright.sync_api import expect

    page.goto(f"{live}/articles/{LONG}/")
    page.get_by_role("textbox", name="Your name").fill("Mira")
    sentence = page.locator("#s-sq-16")
    sentence.get_by_role("button", name="Edit sentence 17 (sq)").click()
    area = page.get_by_role("textbox", name="Your version of sentence 17 (sq)")
    area.fill("   ")  # empty: the service refuses it (422)
    before = page.evaluate("window.scrollY")
    assert before > 500  # the sentence is far down the page
    area.press("Control+Enter")
    expect(sentence.locator(".problem")).to_have_text("the text is empty")
    expect(page.locator("#problem")).to_have_text("the text is empty")  # the live region
    assert page.evaluate("window.scrollY") == before
    expect(area).to_be_focused()


def test_reject_asks_and_dismissing_records_nothing(live: str, page: Any, fake: Newsroom) -> None:
    from playwright.sync_api import expect

    page.goto(f"{live}/articles/harbour-cranes/")
    page.get_by_role("textbox", name="Your name").fill("Mira")
    asked: list[str] = []
    page.once("dialog", lambda dialog: (asked.append(dialog.message), dialog.dismiss()))
    page.get_by_role("button", name="Reject Albanian").click()
    expect(page.locator("#notice")).to_have_text("Nothing recorded: Albanian is as it was.")
    assert asked == ["Reject Albanian? It is withdrawn until it is approved again."]
    assert [call for call in fake.calls if call[0] == "review"] == []

    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Reject Albanian").click()
    expect(page.locator("#review-sq")).to_have_text("rejected")
    assert [call[3] for call in fake.calls if call[0] == "review"] == ["rejected"]


def test_approve_says_how_many_flags_are_open_and_asks(live: str, page: Any, fake: Newsroom) -> None:
    from playwright.sync_api import expect

    page.goto(f"{live}/articles/{LONG}/")
    page.get_by_role("textbox", name="Your name").fill("Mira")
    asked: list[str] = []
    page.once("dialog", lambda dialog: (asked.append(dialog.message), dialog.dismiss()))
    page.get_by_role("button", name="Approve Albanian").click()
    expect(page.locator("#notice")).to_have_text("Nothing recorded: Albanian is as it was.")
    assert asked == ["3 flags are still open in Albanian. Approve anyway?"]
    assert fake.data[LONG]["sq"]["review"] == "needs_review"

    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Approve Albanian").click()
    expect(page.locator("#review-sq")).to_have_text("approved")

    page.on("dialog", lambda dialog: asked.append(dialog.message))  # none expected: no flag open
    page.get_by_role("button", name="Approve Ukrainian").click()
    expect(page.locator("#review-uk")).to_have_text("approved")
    assert len(asked) == 1


def test_n_and_p_move_the_focus_between_flagged_sentences(live: str, page: Any) -> None:
    from playwright.sync_api import expect

    page.goto(f"{live}/articles/{LONG}/")
    page.locator("body").click(position={"x": 5, "y": 5})
    for index in (*FLAGGED, FLAGGED[0]):  # on, then round to the first
        page.keyboard.press("n")
        expect(page.locator(f"#s-sq-{index}")).to_be_focused()
        expect(page.locator(f"#s-sq-{index}")).to_be_in_viewport()
    page.keyboard.press("p")
    expect(page.locator(f"#s-sq-{FLAGGED[-1]}")).to_be_focused()
    page.get_by_role("button", name="Previous flagged sentence").click()
    expect(page.locator(f"#s-sq-{FLAGGED[1]}")).to_be_focused()
    page.get_by_role("button", name="Next flagged sentence").click()
    expect(page.locator(f"#s-sq-{FLAGGED[2]}")).to_be_focused()

    name = page.get_by_role("textbox", name="Your name")  # typing is not jumping
    name.focus()
    page.keyboard.type("np")
    expect(name).to_have_value("np")
    expect(name).to_be_focused()


def test_the_skip_link_is_first_and_leads_to_the_first_sentence(live: str, page: Any) -> None:
    from playwright.sync_api import expect

    page.goto(f"{live}/articles/harbour-cranes/")
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to the first sentence")
    expect(skip).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("#s-sq-0")).to_be_focused()
    page.get_by_role("textbox", name="Your name").fill("Mira")
    page.reload()  # the name is remembered: from the top, Tab, Enter, Tab reaches the first Edit
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Edit sentence 1 (sq)")).to_be_focused()


def test_a_failed_article_shows_why_and_is_counted_as_failed(live: str, page: Any) -> None:
    from playwright.sync_api import expect

    response = page.goto(f"{live}/articles/{FAILED}/")
    assert response.status == 200
    expect(page.get_by_role("heading", level=1)).to_have_text(f"{FAILED} failed")
    expect(page.locator("main")).to_contain_text(f"This translation failed: {REASON}")

    page.goto(f"{live}/")
    row = page.locator("tr.article", has=page.get_by_role("link", name=FAILED))
    expect(row).to_contain_text(REASON)
    expect(row).not_to_contain_text("needs review")
    expect(row).not_to_contain_text("audio pending")
    expect(page.get_by_role("link", name="Failed (1)")).to_be_visible()
    expect(page.get_by_role("link", name="Needs review (3)")).to_be_visible()  # the other three


LIVE_PAGES = ["/", "/articles/harbour-cranes/", f"/articles/{LONG}/", f"/articles/{FAILED}/", "/sign-in",
              "/articles/no-such-article/", "/history", f"/history?article={LONG}"]  # fmt: skip


@needs_axe
@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["1280px", "390px"])
def test_axe_finds_nothing_on_the_live_pages(live: str, browser: Any, viewport: dict[str, int]) -> None:
    context = browser.new_context(viewport=viewport)
    page = context.new_page()
    found = {}
    from playwright.sync_api import expect

    for path in LIVE_PAGES:
        page.goto(f"{live}{path}")
        if path.startswith("/history"):  # the page with its entries, not an error page
            expect(page.get_by_text("wrong figures")).to_be_visible()
        found[path] = violations(page)
    page.goto(f"{live}/articles/{LONG}/")  # with an editor open and a refusal shown
    page.get_by_role("textbox", name="Your name").fill("Mira")
    page.get_by_role("button", name="Edit sentence 4 (sq)").click()
    page.get_by_role("textbox", name="Your version of sentence 4 (sq)").fill(" ")
    page.get_by_role("button", name="Save sentence 4 (sq)").click()
    page.locator("#s-sq-3 .problem").wait_for()
    found["editing"] = violations(page)
    context.close()
    assert found == {path: [] for path in found}
