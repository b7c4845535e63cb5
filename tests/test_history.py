"""``pipeline history`` and the review app's History page: every edit, drop and review of a job
made through the service (as the app and ``approve`` make them), newest first, with who, when and
the text before and after; filtered; read from the state when a job has no journal yet; escaped."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from starlette.testclient import TestClient

from pipeline.cli import cli
from pipeline.editor.app import create_app
from pipeline.editor.service import EditorService
from pipeline.state import StateStore
from pipeline.state.history import HistoryQuery, job_history
from pipeline.state.journal import EditorsJournal

from .test_editor_app import BASE, EVIL, HOSTS, TOKEN
from .test_journal import FIRST, SECOND, flat, job, job_dir, make_changes, service  # noqa: F401 - fixtures

FIELDS = {"change", "kind", "editor", "at", "article_id", "language", "sentence", "position", "before",
          "after", "status", "note", "text_sha256", "retired", "recorded_by", "recorded_at"}  # fmt: skip


def sentence(reader: EditorService, index: int = 1) -> dict[str, Any]:
    return flat(reader.article(FIRST, "sq"))[index]


@pytest.fixture
def worked(service: EditorService) -> dict[str, Any]:  # noqa: F811 - the fixture imported above
    """Sentence 1 of FIRST [sq] edited by Ana, edited again by Max, dropped by Lead; then approved
    by Lead. Returns the sentence as it was first read."""
    first = sentence(service)
    service.save_edit(FIRST, "sq", 1, "Ana e redaktoi.", "Ana", first["key"])
    service.save_edit(FIRST, "sq", 1, "Max e redaktoi.", "Max", sentence(service)["key"])
    service.drop_edit(FIRST, "sq", 1, sentence(service)["key"], "Lead")
    service.review(FIRST, "sq", "approved", "Lead", "good now", service.article(FIRST, "sq")["text_key"])
    return first


def history(config: Path, *args: str, code: int = 0) -> Any:
    result = CliRunner(mix_stderr=False).invoke(cli, ["history", str(config), *args], catch_exceptions=False)
    assert result.exit_code == code, result.stderr
    return result


def entries(config: Path, *args: str) -> list[dict[str, Any]]:
    return json.loads(history(config, *args, "--json").stdout)


def test_every_change_is_listed_newest_first_with_its_text_before_and_after(
    job: Path,  # noqa: F811
    worked: dict[str, Any],
) -> None:
    found = entries(job)
    assert [(e["kind"], e["status"], e["editor"]) for e in found] == [
        ("review", "approved", "Lead"), ("drop", None, "Lead"), ("edit", None, "Max"), ("edit", None, "Ana")
    ]  # fmt: skip
    review, drop, again, edit = found
    assert all(set(entry) == FIELDS for entry in found)
    assert (edit["before"], edit["after"]) == (worked["machine"], "Ana e redaktoi.")
    assert (again["before"], again["after"]) == ("Ana e redaktoi.", "Max e redaktoi.")  # the edit it replaced
    assert (drop["before"], drop["after"]) == ("Max e redaktoi.", worked["machine"])  # published as again
    assert {e["sentence"] for e in (edit, again, drop)} == {worked["source"]}
    assert {(e["article_id"], e["language"]) for e in found} == {(FIRST, "sq")}
    assert review["note"] == "good now" and len(review["text_sha256"]) == 64
    assert review["before"] is None and review["sentence"] is None
    assert found[0]["at"] >= found[-1]["at"] and all(e["change"] for e in found)

    text = history(job).stdout
    assert text.index("approved") < text.index("drop") < text.index("by Max") < text.index("by Ana")
    assert f"  before: {worked['machine']}\n  after:  Ana e redaktoi." in text
    assert "note: good now" in text


@pytest.mark.parametrize(
    ("args", "editors"),
    [
        (("--editor", "Ana"), ["Ana"]),
        (("--editor", "Lead"), ["Lead", "Lead"]),
        (("--article", FIRST), ["Lead", "Lead", "Max", "Ana"]),
        (("--article", SECOND), []),
        (("--lang", "uk"), []),
        (("--lang", "sq", "--editor", "Max"), ["Max"]),
        (("--since", "2000-01-01"), ["Lead", "Lead", "Max", "Ana"]),
        (("--since", "2999-01-01"), []),
        (("--since", "2999-01-01T00:00:00+00:00"), []),
    ],
)
def test_filters_keep_only_the_changes_asked_for(
    job: Path,  # noqa: F811
    worked: dict[str, Any],
    args: tuple[str, ...],
    editors: list[str],
) -> None:
    assert [entry["editor"] for entry in entries(job, *args)] == editors


def test_a_job_without_changes_or_with_a_bad_date(job: Path) -> None:  # noqa: F811
    assert entries(job) == []
    assert history(job).stdout.strip() == "no changes yet"
    result = history(job, "--since", "last tuesday", code=2)
    assert "not a date" in result.stderr


def test_a_job_with_a_state_but_no_journal_is_read_from_the_state(
    job: Path,  # noqa: F811
    worked: dict[str, Any],
) -> None:
    from_journal = entries(job)
    (job_dir(job) / "editors-journal.jsonl").unlink()
    from_state = entries(job)
    keep = ("kind", "editor", "at", "article_id", "language", "sentence", "before", "after", "status")
    assert [[e[k] for k in keep] for e in from_state] == [[e[k] for k in keep] for e in from_journal]
    assert "read from the state file" in history(job).stdout


@pytest.fixture
def app(service: EditorService) -> Iterator[TestClient]:  # noqa: F811
    with TestClient(create_app(service, token=None, allowed_hosts=HOSTS), base_url=BASE) as client:
        yield client


def test_the_history_page_lists_the_changes_filtered_and_escaped(
    app: TestClient,
    service: EditorService,  # noqa: F811
    worked: dict[str, Any],
) -> None:
    service.save_edit(FIRST, "sq", 2, EVIL, "Eve", sentence(service, 2)["key"])
    page = app.get("/history")
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    html = page.text
    assert "<main>" in html and '<th scope="col">Before</th>' in html
    assert EVIL not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert html.index(">Eve<") < html.index(">approved<") < html.index(">Ana<")  # newest first
    assert "5 changes" in html and worked["machine"] in html and "Max e redaktoi." in html

    only = app.get("/history", params={"editor": "Max"}).text
    assert "1 change matching" in only and "Max e redaktoi." in only and ">Ana<" not in only
    assert "No changes match" in app.get("/history", params={"article": SECOND}).text
    assert "No changes match" in app.get("/history", params={"since": "2999-01-01", "lang": "sq"}).text
    bad = app.get("/history", params={"since": "soon"})
    assert bad.status_code == 422 and "since" in bad.text

    assert 'href="/history"' in app.get("/").text
    assert f'href="/history?article={FIRST}"' in app.get(f"/articles/{FIRST}/").text


def test_the_history_page_needs_signing_in(service: EditorService) -> None:  # noqa: F811
    app = create_app(service, token=TOKEN, allowed_hosts=HOSTS)
    with TestClient(app, base_url=BASE, follow_redirects=False) as client:
        response = client.get("/history?editor=Ana")
        assert response.status_code == 303 and response.headers["location"].startswith("/sign-in?next=")
        assert client.get("/history", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200


def test_an_edit_of_a_changed_english_sentence_names_the_edits_it_retired(tmp_path: Path) -> None:
    journal, state_path = tmp_path / "editors-journal.jsonl", tmp_path / "state.sqlite"
    state = StateStore.open(state_path)
    make_changes(state, EditorsJournal(journal))  # an edit, one superseding it, an import, a drop, a review
    state.close()
    found = job_history(journal, state_path).entries
    assert [(e.kind, e.editor, e.recorded_by, e.article_id) for e in found] == [
        ("review", "lead", "lead", "a1"), ("drop", "max", "max", "a1"), ("import", "ana", "eve", "a2"),
        ("import", "ana", "eve", "a1"), ("edit", "max", "max", "a1"), ("edit", "ana", "ana", "a1"),
    ]  # fmt: skip
    assert [e.kind for e in job_history(journal, state_path, HistoryQuery(editor="eve")).entries] == [
        "import",
        "import",
    ]  # who imported, as well as whose text
    replaced = found[4]
    assert (replaced.before, replaced.after) == ("m", "Shqip i ri.")  # another English: its machine text
    assert replaced.retired == ({"sentence": "English 1.", "text": "Shqip 1."},)
    assert found[1].before == "Shqip 2." and found[1].after == "makine 2"
    assert found[2].language == "uk" and found[2].at != found[2].recorded_at  # the translator's time

    journal.unlink()
    from_state = job_history(journal, state_path)
    assert from_state.source == "state"
    assert [(e.kind, e.before, e.after, e.retired) for e in from_state.entries] == [
        (
            "review" if e.kind == "review" else "drop" if e.kind == "drop" else "edit",
            e.before,
            e.after,
            e.retired,
        )
        for e in found
    ]  # the state knows no imports: each is an edit
