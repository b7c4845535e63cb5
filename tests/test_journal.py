"""Editors' work outlives the state file: every change is journaled (fsynced) before the state
records it; a new, empty or damaged state is rebuilt from the journal; a change recorded but not
applied (a process killed between the two) is applied by the next start or run; an app whose state
file went away refuses changes instead of starting afresh."""

from __future__ import annotations

import errno
import json
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner

from pipeline.cli import cli
from pipeline.config import load_config
from pipeline.editor.service import EditorService
from pipeline.edits import Edit
from pipeline.errors import JournalError, StateUnavailable
from pipeline.state import StateStore
from pipeline.state.changes import Change
from pipeline.state.journal import EditorsJournal
from pipeline.state.journaling import catch_up, record
from pipeline.state.review_records import Review

from .conftest import SAMPLE_ARTICLES, WriteConfig
from .test_crash_recovery import FAULT_RUN, REPO
from .test_review_app_e2e import free_port, listening

FIRST, SECOND = SAMPLE_ARTICLES[0].stem, SAMPLE_ARTICLES[1].stem


def edit(n: int, article: str = "a1", language: str = "sq") -> Edit:
    at = f"2026-01-0{n}T00:00:00+00:00"
    return Edit(article, language, f"English {n}.", f"Shqip {n}.", f"makine {n}", n, "ana", at)


def everything(state: StateStore) -> tuple[Any, ...]:
    """The editors' work a state holds, as comparable values."""
    history = [list(state.edit_history(a, lang)) for a, lang in (("a1", "sq"), ("a2", "uk"))]
    return state.edits(), history, state.reviews(), state.review_history()


def make_changes(state: StateStore, journal: EditorsJournal) -> None:
    """Edits saved, one superseded, one dropped, an import and reviews, as editors make them."""
    first, later = edit(1), edit(2)
    record(state, journal, Change("edit", "ana", first.at, edits=(first,)))
    at = "2026-01-05T00:00:00+00:00"
    replaced = Edit("a1", "sq", "English 1 changed.", "Shqip i ri.", "m", 1, "max", at)
    record(state, journal, Change("edit", "max", replaced.at, edits=(replaced,), superseded=(first,)))
    record(state, journal, Change("import", "eve", later.at, edits=(later, edit(3, "a2", "uk"))))
    record(state, journal, Change("drop", "max", "2026-01-06T00:00:00+00:00", edits=(later,)))
    review = Review("a1", "sq", "approved", "lead", "ok", "2026-01-07T00:00:00+00:00", "ab" * 32)
    record(state, journal, Change("review", "lead", review.at, reviews=(review,)))


# ---- the journal file ----------------------------------------------------------------------------


def test_a_new_state_rebuilt_from_the_journal_holds_exactly_what_the_first_held(tmp_path: Path) -> None:
    journal = EditorsJournal(tmp_path / "editors-journal.jsonl")
    first = StateStore.open(tmp_path / "first.sqlite")
    make_changes(first, journal)
    assert first.pending_pairs() == {("a1", "sq"), ("a2", "uk")}

    second = StateStore.open(tmp_path / "second.sqlite")
    restored = catch_up(second, journal)
    assert (restored.changes, restored.edits, restored.drops, restored.reviews) == (5, 4, 1, 1)
    assert everything(second) == everything(first)
    assert second.pending_pairs() == {("a1", "sq"), ("a2", "uk")}  # the outputs must be written again
    assert catch_up(second, journal).changes == 0  # read once: a second catch-up reads nothing
    lines = journal.path.read_text("utf-8").splitlines()
    assert len(lines) == 6 and json.loads(lines[0])["journal"] == "pipeline editors' journal"


def test_a_state_restored_from_a_backup_takes_the_changes_made_since(tmp_path: Path) -> None:
    journal = EditorsJournal(tmp_path / "editors-journal.jsonl")
    state = StateStore.open(tmp_path / "state.sqlite")
    record(state, journal, Change("edit", "ana", edit(1).at, edits=(edit(1),)))
    state.db.execute("VACUUM INTO ?", (str(tmp_path / "backup.sqlite"),))
    record(state, journal, Change("edit", "ana", edit(2).at, edits=(edit(2),)))
    record(state, journal, Change("edit", "ana", edit(3).at, edits=(edit(3),)))

    backup = StateStore.open(tmp_path / "backup.sqlite")
    assert catch_up(backup, journal).edits == 2  # the two made after the backup, not the first again
    assert backup.edits() == state.edits()


def test_a_line_cut_by_a_crash_is_skipped_and_the_next_change_stands_alone(tmp_path: Path) -> None:
    journal = EditorsJournal(tmp_path / "editors-journal.jsonl")
    state = StateStore.open(tmp_path / "state.sqlite")
    record(state, journal, Change("edit", "ana", edit(1).at, edits=(edit(1),)))
    with journal.path.open("ab") as handle:
        handle.write(b'{"id": "cut", "kind": "edit", "edi')  # a process killed mid-append
    record(state, journal, Change("edit", "ana", edit(2).at, edits=(edit(2),)))

    fresh = StateStore.open(tmp_path / "fresh.sqlite")
    assert catch_up(fresh, journal).edits == 2
    assert [e.source for e in fresh.edits()] == ["English 1.", "English 2."]


def test_a_change_that_cannot_be_journaled_is_not_recorded_and_the_journal_is_left_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    journal = EditorsJournal(tmp_path / "editors-journal.jsonl")
    state = StateStore.open(tmp_path / "state.sqlite")
    record(state, journal, Change("edit", "ana", edit(1).at, edits=(edit(1),)))
    before = journal.path.read_bytes()
    real_write = os.write

    def full_disk(fd: int, data: bytes) -> int:
        real_write(fd, data[:10])  # part of the line reaches the file, then the disk is full
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "write", full_disk)
    with pytest.raises(JournalError, match="No space left on device"):
        record(state, journal, Change("edit", "ana", edit(2).at, edits=(edit(2),)))
    monkeypatch.undo()
    assert journal.path.read_bytes() == before
    assert [e.source for e in state.edits()] == ["English 1."]


def test_a_state_with_editors_work_and_no_journal_starts_one_from_a_snapshot(tmp_path: Path) -> None:
    old = StateStore.open(tmp_path / "old.sqlite")  # a state from before journals
    old.save_edit(edit(1))
    old.set_review("a1", "sq", "approved", "lead", "", "cd" * 32)
    journal = EditorsJournal(tmp_path / "editors-journal.jsonl")

    assert catch_up(old, journal).started
    assert old.pending_pairs() == frozenset()  # the snapshot is what the outputs already show
    record(old, journal, Change("edit", "ana", edit(2).at, edits=(edit(2),)))

    rebuilt = StateStore.open(tmp_path / "rebuilt.sqlite")
    catch_up(rebuilt, journal)
    assert rebuilt.edits() == old.edits() and rebuilt.reviews() == old.reviews()


# ---- a job: the state deleted, rebuilt, refused ---------------------------------------------------


@pytest.fixture
def job(write_config: WriteConfig, articles: Path) -> Path:
    config = write_config()
    run(config)
    return config


@pytest.fixture
def service(job: Path) -> Iterator[EditorService]:
    service = EditorService(load_config(job), background=False)
    yield service
    service.close()


def run(config: Path, *args: str) -> Any:
    command = list(args) or ["run"]
    result = CliRunner(mix_stderr=False).invoke(cli, [*command, str(config)], catch_exceptions=False)
    assert result.exit_code == 0, result.stderr
    return result


def job_dir(config: Path) -> Path:
    return config.parent / "out" / "test"


def remove_state(config: Path) -> None:
    for path in job_dir(config).glob("state.sqlite*"):
        if path.is_file():
            path.unlink()


def edit_every_sentence(service: EditorService, article_id: str, language: str) -> dict[int, str]:
    """Post-edit each sentence of the article-language; returns index → text."""
    texts = {}
    for paragraph in service.article(article_id, language)["paragraphs"]:
        for sentence in paragraph:
            if sentence["source"].strip():
                text = f"Redaktuar {article_id[:12]} {sentence['index']}."
                service.save_edit(article_id, language, sentence["index"], text, "Ana", sentence["key"])
                texts[sentence["index"]] = text
    return texts


def flat(view: dict[str, Any]) -> list[dict[str, Any]]:
    return [s for paragraph in view["paragraphs"] for s in paragraph]


def published(config: Path, article_id: str, language: str) -> list[str]:
    record = json.loads((job_dir(config) / article_id / language / "article.json").read_text("utf-8"))
    return [s["target"] for p in record["paragraphs"] for s in p["sentences"]]


def test_a_deleted_state_is_rebuilt_by_the_next_run_and_every_edit_stays_published(
    job: Path, service: EditorService
) -> None:
    edits = {(FIRST, "sq"): edit_every_sentence(service, FIRST, "sq"),
             (SECOND, "uk"): edit_every_sentence(service, SECOND, "uk")}  # fmt: skip
    service.review(FIRST, "sq", "approved", "Lead", "", service.article(FIRST, "sq")["text_key"])
    total = sum(len(texts) for texts in edits.values())
    assert total > 10

    remove_state(job)
    result = run(job)

    assert f"restored {total + 1} changes ({total} edits, 1 review)" in result.stderr
    for (article_id, language), texts in edits.items():
        sentences = published(job, article_id, language)
        assert all(sentences[index] == text for index, text in texts.items())
        assert all(text in (job_dir(job) / article_id / language / "article.txt").read_text("utf-8")
                   for text in texts.values())  # fmt: skip
    manifest = json.loads((job_dir(job) / "manifest.json").read_text("utf-8"))
    reviews = {(i["article_id"], i["language"]): i["review"] for i in manifest["items"]}
    assert reviews[(FIRST, "sq")] == "approved"  # the approval holds: the text is the one approved
    state = StateStore.open(job_dir(job) / "state.sqlite", create=False)
    assert state.pending_pairs() == frozenset()  # the run applied what it restored
    state.close()


def test_the_app_refuses_changes_once_its_state_file_is_deleted_and_unpublishes_nothing(
    job: Path, service: EditorService, caplog: pytest.LogCaptureFixture
) -> None:
    sentence = flat(service.article(FIRST, "sq"))[1]
    service.save_edit(FIRST, "sq", sentence["index"], "Teksti i redaktorit.", "Ana", sentence["key"])
    manifest = (job_dir(job) / "manifest.json").read_bytes()
    public = sorted(p.relative_to(job_dir(job)) for p in (job_dir(job) / "public").rglob("*"))
    remove_state(job)

    sentence = flat(service.article(FIRST, "sq"))[2]
    with pytest.raises(StateUnavailable, match=r"state file \(state.sqlite\) was deleted") as refused:
        service.save_edit(FIRST, "sq", sentence["index"], "Tjetër.", "Ana", sentence["key"])
    assert refused.value.status == 503
    with pytest.raises(StateUnavailable):
        service.review(FIRST, "sq", "approved", "Lead", "", service.article(FIRST, "sq")["text_key"])
    assert not (job_dir(job) / "state.sqlite").exists()  # no new, empty state was started
    assert (job_dir(job) / "manifest.json").read_bytes() == manifest
    assert sorted(p.relative_to(job_dir(job)) for p in (job_dir(job) / "public").rglob("*")) == public
    assert [r.levelname for r in caplog.records if "change refused" in r.message] == ["ERROR", "ERROR"]


@pytest.mark.parametrize(
    ("damage", "said"),
    [
        ("replaced", "replaced since the app started; restart the app"),
        ("emptied", r"state file \(state.sqlite\) is empty; run `pipeline state rebuild CONFIG`"),
    ],
)
def test_the_app_refuses_changes_to_a_state_file_replaced_or_emptied_under_it(
    job: Path, service: EditorService, damage: str, said: str
) -> None:
    state = job_dir(job) / "state.sqlite"
    if damage == "replaced":
        shutil.copy(state, state.with_name("copy.sqlite"))
        os.replace(state.with_name("copy.sqlite"), state)  # same content, another file
    else:
        for path in job_dir(job).glob("state.sqlite-*"):
            if path.is_file():
                path.unlink()
        state.write_bytes(b"")
    sentence = flat(service.article(FIRST, "sq"))[1]
    with pytest.raises(StateUnavailable, match=said):
        service.save_edit(FIRST, "sq", sentence["index"], "Tjetër.", "Ana", sentence["key"])
    assert damage == "replaced" or state.stat().st_size == 0  # not made a new state


def test_state_rebuild_moves_a_damaged_state_aside_and_restores_the_edits(
    job: Path, service: EditorService
) -> None:
    texts = edit_every_sentence(service, FIRST, "uk")
    service.close()
    state = job_dir(job) / "state.sqlite"
    state.write_bytes(b"this is not a database" * 100)
    for extra in job_dir(job).glob("state.sqlite-*"):
        if extra.is_file():
            extra.unlink()

    result = run(job, "state", "rebuild")
    assert f"restored {len(texts)} changes ({len(texts)} edits)" in result.stdout
    assert "wait for `pipeline run" in result.stdout
    (aside,) = job_dir(job).glob("state.sqlite.damaged-*")
    assert aside.read_bytes().startswith(b"this is not a database")
    assert "nothing to restore" in run(job, "state", "rebuild").stdout  # a second rebuild adds nothing

    run(job)
    sentences = published(job, FIRST, "uk")
    assert all(sentences[index] == text for index, text in texts.items())


def test_the_app_will_not_start_on_a_job_whose_state_file_is_gone(job: Path) -> None:
    remove_state(job)
    result = CliRunner(mix_stderr=False).invoke(cli, ["serve", str(job), "--port", str(free_port())])
    assert result.exit_code == 2
    assert "state file state.sqlite is missing; run `pipeline state rebuild CONFIG`" in result.stderr


# ---- recorded means applied -------------------------------------------------------------------------


def serve(config: Path, port: int, spec: dict[str, Any] | None = None) -> subprocess.Popen[str]:
    command = [FAULT_RUN, json.dumps(spec)] if spec else ["-m", "pipeline"]
    process = subprocess.Popen(
        [sys.executable, *command, "serve", str(config), "--port", str(port)],
        env={**os.environ, "PYTHONPATH": str(REPO)}, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    for _ in range(600):
        if listening(port) or process.poll() is not None:
            break
        subprocess.run(["sleep", "0.1"], check=True)
    assert process.poll() is None, process.communicate()[1]
    return process


@pytest.mark.slow
def test_an_app_killed_between_recording_and_applying_an_edit_applies_it_at_its_next_start(
    job: Path,
) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    killed = serve(job, port, {"kill": ["recorded", 1]})
    sentence = httpx.get(f"{base}/api/articles/{FIRST}/sq", timeout=30).json()["paragraphs"][1][0]
    with pytest.raises(httpx.TransportError):  # the editor sees the connection drop
        httpx.put(f"{base}/api/articles/{FIRST}/sq/sentences/{sentence['index']}",
                  json={"text": "Teksti i shpëtuar.", "editor": "Ana"},
                  headers={"If-Match": sentence["key"], "Origin": base}, timeout=60)  # fmt: skip
    killed.wait(30)
    assert killed.returncode == -signal.SIGKILL
    assert "Teksti i shpëtuar." not in published(job, FIRST, "sq")  # recorded, not applied
    status = run(job, "status", "--json")
    assert json.loads(status.stdout)["pending_changes"] == [{"article_id": FIRST, "language": "sq"}]

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    restarted = serve(job, port)
    try:
        view = httpx.get(f"{base}/api/articles/{FIRST}/sq", timeout=30).json()
        page = httpx.get(f"{base}/", timeout=30).text
        article_page = httpx.get(f"{base}/articles/{FIRST}/", timeout=30).text
    finally:
        restarted.send_signal(signal.SIGTERM)
        _, stderr = restarted.communicate(timeout=60)
    shown = flat(view)[sentence["index"]]
    assert (shown["text"], shown["edited_by"]) == ("Teksti i shpëtuar.", "Ana")
    assert published(job, FIRST, "sq")[sentence["index"]] == "Teksti i shpëtuar."
    assert "Teksti i shpëtuar." in (job_dir(job) / FIRST / "sq" / "article.txt").read_text("utf-8")
    assert "recorded but not applied" in page and "recorded but not applied" in stderr
    assert "Teksti i shpëtuar." in article_page  # the app's page of the article...
    assert "Teksti i shpëtuar." in (job_dir(job) / FIRST / "index.html").read_text(
        "utf-8"
    )  # ...the static one
    state = StateStore.open(job_dir(job) / "state.sqlite", create=False)
    assert state.pending_pairs() == frozenset() and len(state.edits()) == 1
    state.close()


def test_a_run_whose_journal_is_not_a_journal_stops_with_one_line_before_any_work(job: Path) -> None:
    (job_dir(job) / "editors-journal.jsonl").write_text("not a journal\n", "utf-8")
    remove_state(job)  # a new state would need the journal: the run must not go on without it
    result = CliRunner(mix_stderr=False).invoke(cli, ["run", str(job)])
    assert result.exit_code == 1
    errors = [line for line in result.stderr.splitlines() if "ERROR" in line]
    assert len(errors) == 1 and errors[0].endswith(
        "editors-journal.jsonl in the job folder is not an editors' journal; move it aside"
    ), result.stderr
    assert "Traceback" not in result.stderr
