"""The review app against what a web tester tries, on a real job (tiny models, no narration): links
planted in the job folder are never followed, no answer carries a server path or a PID, the Host
check accepts the address the app is bound to, and invisible characters are refused in editors'
names and flagged in their edits."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from click.testing import CliRunner
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from pipeline.cli import cli
from pipeline.cli.serve import url
from pipeline.editor.app import create_app
from pipeline.editor.files import open_regular, regular_below
from pipeline.editor.redact import without_server_details
from pipeline.editor.replies import guarded, json_error
from pipeline.editor.security import SecurityMiddleware, allowed_hosts
from pipeline.editor.service import EditorService
from pipeline.errors import InvalidEdit, JobBusy, JournalError, NotApplied
from pipeline.lock import JobLock
from pipeline.state.journal import EditorsJournal

from .conftest import SAMPLE_ARTICLES, WriteConfig

ARTICLE = SAMPLE_ARTICLES[0].stem
BASE = "http://127.0.0.1:8765"


@pytest.fixture
def job(write_config: WriteConfig, tiny_models: dict[str, Path], articles: Path) -> Path:
    """A job run once: uk text only."""
    config = write_config(languages={"uk": {"model": str(tiny_models["uk"]), "tts": {"engine": "none"}}})
    result = CliRunner(mix_stderr=False).invoke(cli, ["run", str(config)], catch_exceptions=False)
    assert result.exit_code == 0, result.stderr
    return config


@pytest.fixture
def client(service: EditorService) -> Iterator[TestClient]:
    app = create_app(service, token=None, allowed_hosts=allowed_hosts("127.0.0.1", 8765))
    with TestClient(app, base_url=BASE, raise_server_exceptions=False) as test_client:
        yield test_client


def folder_of(service: EditorService) -> Path:
    return service.config.job_dir / ARTICLE / "uk"


def sentences(view: dict[str, Any]) -> list[dict[str, Any]]:
    return [s for paragraph in view["paragraphs"] for s in paragraph]


# ---- files: regular files only, no link at any level ---------------------------------------------


def test_a_delivered_file_is_served(client: TestClient, service: EditorService) -> None:
    response = client.get(f"/articles/{ARTICLE}/uk/article.txt")
    assert response.status_code == 200
    assert response.content == (folder_of(service) / "article.txt").read_bytes()
    ranged = client.get(f"/articles/{ARTICLE}/uk/article.txt", headers={"Range": "bytes=2-5"})
    assert ranged.status_code == 206 and ranged.content == response.content[2:6]


@pytest.mark.parametrize("target", ["secret", "state"])
@pytest.mark.parametrize("name", ["article.txt", "transcript.vtt"])
def test_a_link_in_the_job_folder_is_not_followed(
    client: TestClient, service: EditorService, tmp_path: Path, name: str, target: str
) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("root:x:0:0:root:/root:/bin/bash\n")
    planted = folder_of(service) / name
    planted.unlink(missing_ok=True)
    planted.symlink_to(secret if target == "secret" else Path("../..") / service.config.state_path.name)
    response = client.get(f"/articles/{ARTICLE}/uk/{name}")
    assert response.status_code == 404, response.text
    assert "root:" not in response.text and "SQLite" not in response.text


def test_a_linked_language_or_article_folder_is_a_404_not_a_500(
    client: TestClient, service: EditorService, tmp_path: Path
) -> None:
    outside = tmp_path / "outside"
    folder_of(service).rename(outside)
    folder_of(service).symlink_to(outside)
    assert client.get(f"/articles/{ARTICLE}/uk/article.txt").status_code == 404
    assert client.get(f"/articles/{ARTICLE}/").status_code == 404
    assert client.get(f"/api/articles/{ARTICLE}/uk").status_code == 404


def test_a_fifo_or_a_folder_is_not_served(client: TestClient, service: EditorService) -> None:
    folder = folder_of(service)
    (folder / "article.txt").unlink()
    os.mkfifo(folder / "article.txt")
    (folder / "article.json").unlink()
    (folder / "article.json").mkdir()
    assert client.get(f"/articles/{ARTICLE}/uk/article.txt").status_code == 404
    assert client.get(f"/articles/{ARTICLE}/uk/article.json").status_code == 404


def test_a_file_swapped_for_a_link_after_the_check_is_not_opened(tmp_path: Path) -> None:
    root = tmp_path / "job"
    (root / "a" / "uk").mkdir(parents=True)
    served = root / "a" / "uk" / "article.txt"
    served.write_text("published")
    assert regular_below(root, served)
    assert not regular_below(root, tmp_path / "elsewhere.txt")
    served.unlink()
    served.symlink_to(tmp_path / "elsewhere.txt")
    (tmp_path / "elsewhere.txt").write_text("secret")
    assert not regular_below(root, served)
    served.unlink()
    served.symlink_to(root / "state.sqlite")  # a link inside the job's folder is not followed either
    (root / "state.sqlite").write_text("SQLite format 3")
    assert not regular_below(root, served)
    with pytest.raises(FileNotFoundError):
        open_regular(served)


# ---- the Host check accepts the address the app is bound to -------------------------------------


@pytest.mark.parametrize("host", ["127.0.0.2", "127.8.9.10", "127.0.0.1", "localhost", "::1", "[::1]"])
def test_the_printed_link_is_accepted_on_any_loopback_bind(host: str) -> None:
    link = url(host, 8765)
    ok = Starlette(routes=[Route("/", lambda request: PlainTextResponse("ok"))])
    app = SecurityMiddleware(ok, token=None, allowed_hosts=allowed_hosts(host, 8765))
    with TestClient(app, base_url=link) as test_client:
        response = test_client.get("/", headers={"Host": urlsplit(link).netloc})
        assert response.status_code == 200, (link, response.text)
        assert test_client.get("/", headers={"Host": "127.0.0.3:8765"}).status_code == 400
        assert test_client.get("/", headers={"Host": "evil.example:8765"}).status_code == 400


# ---- no answer carries a server path or a PID ----------------------------------------------------


def server_details(text: str, service: EditorService) -> list[str]:
    """What of the server's own the text gives away: its folders, the lock's name, a PID."""
    found = [part for part in (str(service.config.job_dir.parent), "PID", str(os.getpid())) if part in text]
    return found + (["the lock"] if ".lock" in text else [])


def put_edit(client: TestClient, service: EditorService, text: str = "Текст.", editor: str = "Ana") -> Any:
    sentence = sentences(service.article(ARTICLE, "uk"))[2]
    return client.put(
        f"/api/articles/{ARTICLE}/uk/sentences/2",
        json={"text": text, "editor": editor},
        headers={"If-Match": sentence["key"]},
    )


def test_a_busy_job_answers_without_the_locks_path_or_pid(
    client: TestClient, service: EditorService, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("INFO")
    key = service.article(ARTICLE, "uk")["text_key"]
    with JobLock(service.config.lock_path):
        busy = put_edit(client, service)
        with pytest.raises(JobBusy) as review:
            service.review(ARTICLE, "uk", "approved", "Ana", "", key)
    assert busy.status_code == 423 and "in progress" in busy.json()["error"]
    assert server_details(busy.text, service) == [] and server_details(str(review.value), service) == []
    assert str(service.config.lock_path) in caplog.text  # the detail goes to the log


def test_a_journal_that_cannot_be_read_answers_without_its_path(
    client: TestClient, service: EditorService
) -> None:
    journal = service.config.journal_path
    journal.unlink(missing_ok=True)
    journal.mkdir()
    refused = put_edit(client, service)
    assert refused.status_code == 503 and "journal" in refused.json()["error"]
    assert server_details(refused.text, service) == []
    with pytest.raises(JournalError) as direct:  # the message itself names the file only
        EditorsJournal(journal).header()
    assert server_details(str(direct.value), service) == [] and journal.name in str(direct.value)


def test_the_net_under_the_messages_cuts_paths_and_pids() -> None:
    message = "in progress (PID 4242; lock /srv/news/out/job/.lock): [Errno 13] denied: '/srv/x/y.json'"
    assert without_server_details(message) == "in progress (PID …; lock .lock): [Errno 13] denied: 'y.json'"
    kept = "no such file: a-b/uk/article.txt; send Content-Type: application/json to http://127.0.0.1:8765/"
    assert without_server_details(kept) == kept


def test_an_editor_error_built_from_an_exception_is_answered_without_paths(
    caplog: pytest.LogCaptureFixture,
) -> None:
    @guarded(json_error)
    async def failing(request: Any) -> Any:
        raise NotApplied("the change could not be applied: no space left on device in /srv/news/out/job")

    with TestClient(Starlette(routes=[Route("/", failing)]), raise_server_exceptions=False) as test_client:
        answer = test_client.get("/")
    assert answer.status_code == 503 and answer.json()["error"].endswith("no space left on device in job")
    assert "/srv/news/out/job" in caplog.text  # logged once, at WARNING


# ---- invisible characters: refused in names, flagged in edits -----------------------------------


@pytest.mark.parametrize(
    "name", ["\u202enimda\u202c", "An\u200ba", "\u2066Ana\u2069", "\ufeffAna", "Ana\u061c"]
)
def test_a_name_with_invisible_characters_is_refused(
    client: TestClient, service: EditorService, name: str
) -> None:
    before = (folder_of(service) / "article.txt").read_bytes()
    refused = put_edit(client, service, editor=name)
    assert refused.status_code == 422, refused.text
    error = refused.json()["error"]
    assert "invisible characters" in error and "\n" not in error and "U+" in error
    with pytest.raises(InvalidEdit, match="invisible characters"):
        service.review(ARTICLE, "uk", "approved", name, "", service.article(ARTICLE, "uk")["text_key"])
    assert (folder_of(service) / "article.txt").read_bytes() == before


def test_an_edit_with_invisible_characters_is_saved_and_flagged(
    client: TestClient, service: EditorService
) -> None:
    text = "Текст \u202eзмінено\u202c тут\u200b."
    saved = put_edit(client, service, text=text)
    assert saved.status_code == 200, saved.text
    sentence = sentences(saved.json())[2]
    assert sentence["text"] == text
    flag = next(f for f in sentence["flags"] if f["type"] == "invisible_characters")
    assert "U+202E RIGHT-TO-LEFT OVERRIDE" in flag["detail"] and "U+200B ZERO WIDTH SPACE" in flag["detail"]
    record = json.loads((folder_of(service) / "article.json").read_text("utf-8"))
    published = [s for p in record["paragraphs"] for s in p["sentences"]][2]
    assert {"invisible_characters"} <= {f["type"] for f in published["flags"]}
    clean = put_edit(client, service, text="Текст змінено тут.")
    assert not [f for f in sentences(clean.json())[2]["flags"] if f["type"] == "invisible_characters"]
