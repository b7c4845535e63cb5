"""The review app's web layer (``pipeline serve``) against an in-memory fake of ``EditorService``:
every route, every error status (never a 500 on bad input, never a stack trace), the token, host
and same-origin checks, escaping, the bind rules, and one real browser (Debian's chromium through
Playwright) editing a sentence with the keyboard."""

from __future__ import annotations

import copy
import hashlib
import logging
import re
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Literal

import pytest
from click.testing import CliRunner
from starlette.testclient import TestClient

from pipeline.cli import cli
from pipeline.cli.connections import Limits
from pipeline.config.schema import ReviewConfig
from pipeline.editor.app import create_app
from pipeline.editor.contract import Service
from pipeline.editor.security import allowed_hosts, check_bind
from pipeline.editor.service import EditorService
from pipeline.errors import InvalidEdit, JobBusy, KeyRequired, NotFound, StaleKey
from pipeline.state.history import History, HistoryQuery
from pipeline.text.article import shown_time

from .requirements import chromium, needs_chromium

BASE = "http://127.0.0.1:8765"
HOSTS = allowed_hosts("127.0.0.1", 8765)
EVIL = "<script>alert(1)</script>"
TOKEN = "s3cret-Token_with-enough-length-for-a-public-bind"
JSON = {"Content-Type": "application/json"}
FILES = ("article.txt", "article.json", "narration.mp3", "transcript.vtt")


# ---- the fake service --------------------------------------------------------------------------


def key_of(sentence: dict[str, Any]) -> str:
    parts = f"{sentence['index']}|{sentence['machine']}|{sentence['edit']}|{sentence['edited_by']}"
    return hashlib.sha256(parts.encode()).hexdigest()[:16]


def text_key_of(article: dict[str, Any]) -> str:
    texts = [[s["text"] for s in paragraph] for paragraph in article["paragraphs"]]
    return hashlib.sha256(repr(texts).encode()).hexdigest()[:32]


def make_sentence(index: int, source: str, machine: str, *, edit: str | None = None, flags: Any = ()) -> dict:
    sentence = {
        "index": index,
        "source": source,
        "machine": machine,
        "edit": edit,
        "edited_by": "Ana" if edit else None,
        "edited_at": "2024-03-20T08:00:00+00:00" if edit else None,
        "edit_from": None,
        "text": edit or machine,
        "flags": [{"type": kind, "detail": detail} for kind, detail in flags],
        "history": [],
    }
    sentence["key"] = key_of(sentence)
    return sentence


def make_article(
    article_id: str, language: str, title: str, sources: list[list[str]], extra: dict[int, Any] | None = None
) -> dict:
    extra = extra or {}
    paragraphs, index = [], 0
    for block in sources:
        sentences = []
        for source in block:
            sentences.append(make_sentence(index, source, f"[{language}] {source}", **extra.get(index, {})))
            index += 1
        paragraphs.append(sentences)
    article = {
        "id": article_id,
        "language": language,
        "title": title,
        "date": "2024-03-20",
        "status": "ok",
        "review": "needs_review",
        "review_detail": None,
        "audio": "ready",
        "audio_version": "v1",
        "chapters": [{"title": title, "start": 0.0, "end": 1.5, "block": 0}],
        "source_paragraphs": [" ".join(block) for block in sources],
        "paragraphs": paragraphs,
    }
    article["text_key"] = text_key_of(article)
    return article


def silent_mp3() -> bytes:
    import lameenc

    encoder = lameenc.Encoder()
    encoder.set_bit_rate(32)
    encoder.set_in_sample_rate(22050)
    encoder.set_channels(1)
    encoder.set_quality(7)
    return bytes(encoder.encode(bytes(44100)) + encoder.flush())  # one second of silence


class FakeService:
    """Two articles in Albanian and Ukrainian, in memory; raises what ``EditorService`` raises.

    ``busy`` makes that many changes answer ``JobBusy``; ``explode`` makes every call fail with an
    unexpected error; ``pending_reads`` is how many reads a new narration stays pending for."""

    job = "newsdesk"

    def __init__(self, folder: Path):
        self.notices: list[str] = []
        self.languages = [("sq", "Albanian"), ("uk", "Ukrainian")]
        self.folder = folder
        self.busy = 0
        self.explode = False
        self.pending_reads = 1
        self.reads_left = 0
        self.calls: list[tuple[Any, ...]] = []
        self.asked_for: list[tuple[str, str, str]] = []  # what file() was asked for
        self.lock = threading.Lock()
        crane = [
            ["Harbour cranes return to Durrës"],
            ["Engineers restored the cranes.", "Ships began to unload."],
        ]
        evil = [[EVIL], [f"A {EVIL} & <b>bold</b> sentence."]]
        self.data = {
            "harbour-cranes": {
                "sq": make_article(
                    "harbour-cranes",
                    "sq",
                    "Harbour cranes return to Durrës",
                    crane,
                    {2: {"edit": "Anijet filluan të shkarkojnë."}},
                ),
                "uk": make_article(
                    "harbour-cranes",
                    "uk",
                    "Harbour cranes return to Durrës",
                    crane,
                    {1: {"flags": [("untranslated", "looks like English")]}},
                ),
            },
            "evil-title": {
                code: make_article("evil-title", code, EVIL, evil, {1: {"flags": [(EVIL, EVIL)]}})
                for code in ("sq", "uk")
            },
        }
        for code in ("sq", "uk"):
            folder = self.folder / "harbour-cranes" / code
            folder.mkdir(parents=True, exist_ok=True)
            (folder / "article.txt").write_text("Harbour cranes\n", "utf-8")
            (folder / "article.json").write_text('{"id": "harbour-cranes"}', "utf-8")
            (folder / "narration.mp3").write_bytes(silent_mp3())
            (folder / "transcript.vtt").write_text("WEBVTT\n\n00:00.000 --> 00:01.000\nHarbour\n", "utf-8")
        self.data["evil-title"]["uk"]["audio"] = "none"

    def _check(self) -> None:
        if self.explode:
            raise RuntimeError("secret detail /srv/private/state.sqlite")

    def _find(self, article_id: str, language: str) -> dict[str, Any]:
        self._check()
        if article_id not in self.data:
            raise NotFound(f"unknown article {article_id!r}")
        if language not in self.data[article_id]:
            raise NotFound(f"article {article_id!r} has no language {language!r}")
        return self.data[article_id][language]

    def _sentence(self, article: dict[str, Any], index: int, if_match: str | None) -> dict[str, Any]:
        if self.busy:
            self.busy -= 1
            raise JobBusy("a pipeline run of this job is in progress; try again when it is over")
        sentences = [s for paragraph in article["paragraphs"] for s in paragraph]
        if not 0 <= index < len(sentences):
            raise NotFound(f"no sentence {index}")
        if not if_match:
            raise KeyRequired("send the sentence's key in If-Match")
        if sentences[index]["key"] != if_match:
            raise StaleKey(f"sentence {index} changed since it was read; reload the article")
        return sentences[index]

    def _changed(self, article: dict[str, Any]) -> dict[str, Any]:
        article["review"], article["review_detail"] = "needs_review", None
        article["text_key"] = text_key_of(article)
        article["audio"], article["audio_version"] = "pending", article["audio_version"] + "x"
        self.reads_left = self.pending_reads
        return copy.deepcopy(article)

    def articles(self) -> list[dict[str, Any]]:
        self._check()
        summaries = []
        for article_id, languages in self.data.items():
            first = next(iter(languages.values()))
            summary = {"id": article_id, "date": first["date"], "title": first["title"], "languages": {}}
            for code, article in languages.items():
                sentences = [s for paragraph in article["paragraphs"] for s in paragraph]
                summary["languages"][code] = {
                    "status": article["status"],
                    "review": article["review"],
                    "flags": sum(len(s["flags"]) for s in sentences),
                    "edited": sum(s["edit"] is not None for s in sentences),
                    "audio": article["audio"],
                }
            summaries.append(summary)
        return summaries

    def article(self, article_id: str, language: str) -> dict[str, Any]:
        with self.lock:
            article = self._find(article_id, language)
            if article["audio"] == "pending":
                self.reads_left -= 1
                if self.reads_left < 0:
                    article["audio"] = "ready"
            return copy.deepcopy(article)

    def save_edit(
        self, article_id: str, language: str, index: int, text: str, editor: str, if_match: str | None
    ) -> dict[str, Any]:
        with self.lock:
            self.calls.append(("save", article_id, language, index, text, editor, if_match))
            article = self._find(article_id, language)
            if not text.strip():
                raise InvalidEdit("the text is empty")
            if len(text) > 2000:
                raise InvalidEdit(f"the text is {len(text)} characters long; at most 2000 are accepted")
            sentence = self._sentence(article, index, if_match)
            sentence.update(edit=text, text=text, edited_by=editor, edited_at="2024-03-21T09:00:00+00:00")
            sentence["key"] = key_of(sentence)
            return self._changed(article)

    def drop_edit(
        self, article_id: str, language: str, index: int, if_match: str | None, editor: str = ""
    ) -> dict[str, Any]:
        with self.lock:
            self.calls.append(("drop", article_id, language, index, if_match, editor))
            article = self._find(article_id, language)
            sentence = self._sentence(article, index, if_match)
            if sentence["edit"] is None:
                raise NotFound(f"sentence {index} has no edit to drop")
            sentence.update(edit=None, text=sentence["machine"], edited_by=None, edited_at=None)
            sentence["key"] = key_of(sentence)
            return self._changed(article)

    def review(
        self, article_id: str, language: str, status: str, editor: str, note: str, if_match: str | None
    ) -> dict[str, Any]:
        with self.lock:
            self.calls.append(("review", article_id, language, status, editor, note))
            article = self._find(article_id, language)
            if not if_match:
                raise KeyRequired("send the text's key in If-Match")
            if self.busy:
                self.busy -= 1
                raise JobBusy("a pipeline run of this job is in progress; try again when it is over")
            if article["text_key"] != if_match:
                raise StaleKey(f"the text of {article_id} [{language}] changed since it was read")
            article["review"] = status
            article["review_detail"] = {"editor": editor, "note": note, "at": "2024-03-21T10:00:00+00:00"}
            return copy.deepcopy(article)

    def file(self, article_id: str, language: str, name: str) -> Path:
        self.asked_for.append((article_id, language, name))
        self._find(article_id, language)
        if name not in FILES:
            raise NotFound(f"no such file: {name}")
        path = self.folder / article_id / language / name
        if not path.is_file():
            raise NotFound(f"{article_id} [{language}] has no {name} yet")
        return path

    def history(self, query: HistoryQuery) -> History:
        return History([], "none")  # the History page is tested over a real job (test_history.py)


def _both_serve_the_app(fake: FakeService, real: EditorService) -> tuple[Service, Service]:
    """Never called: ``make lint`` runs mypy on this file, so the fake these tests drive and the
    service ``pipeline serve`` runs are checked against the one protocol the web layer uses."""
    return fake, real


@pytest.fixture
def fake(tmp_path: Path) -> FakeService:
    return FakeService(tmp_path / "job")


@pytest.fixture
def client(fake: FakeService) -> Iterator[TestClient]:
    app = create_app(fake, token=None, allowed_hosts=HOSTS)
    with TestClient(app, base_url=BASE, raise_server_exceptions=False) as test_client:
        yield test_client


@pytest.fixture
def guarded_client(fake: FakeService) -> Iterator[TestClient]:
    app = create_app(fake, token=TOKEN, allowed_hosts=HOSTS)
    with TestClient(app, base_url=BASE, raise_server_exceptions=False, follow_redirects=False) as test_client:
        yield test_client


def key(fake: FakeService, article_id: str, language: str, index: int) -> str:
    sentences = [s for paragraph in fake.data[article_id][language]["paragraphs"] for s in paragraph]
    return str(sentences[index]["key"])


def text_key(fake: FakeService, article_id: str, language: str) -> dict[str, str]:
    """The ``If-Match`` header of a review of the article-language's text as it stands."""
    return {"If-Match": f'"{fake.data[article_id][language]["text_key"]}"'}


def put(client: TestClient, path: str, body: Any, if_match: str | None = None) -> Any:
    headers = dict(JSON, **({"If-Match": if_match} if if_match is not None else {}))
    content = body if isinstance(body, str | bytes) else __import__("json").dumps(body)
    return client.put(path, content=content, headers=headers)


SENTENCE = "/api/articles/harbour-cranes/sq/sentences/{}"


# ---- pages -------------------------------------------------------------------------------------


def test_the_index_lists_every_article_with_a_column_per_language(client: TestClient) -> None:
    response = client.get("/")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/html")
    html = response.text
    assert 'href="/articles/harbour-cranes/"' in html and 'href="/articles/evil-title/"' in html
    assert '<th scope="col">Albanian</th>' in html and '<th scope="col">Ukrainian</th>' in html
    assert "1 flag" in html and "1 edited" in html and "audio ready" in html and "needs review" in html
    assert 'aria-current="page">All (2)' in html


@pytest.mark.parametrize(
    ("show", "listed"),
    [
        ("all", {"harbour-cranes", "evil-title"}),
        ("flagged", {"harbour-cranes", "evil-title"}),
        ("edited", {"harbour-cranes"}),
        ("needs_review", {"harbour-cranes", "evil-title"}),
        ("approved", set()),
        ("rejected", set()),
        ("nonsense", {"harbour-cranes", "evil-title"}),
    ],
)
def test_the_index_filters_by_any_language(client: TestClient, show: str, listed: set[str]) -> None:
    html = client.get("/", params={"show": show}).text
    assert set(re.findall(r'href="/articles/([^/"]+)/"', html)) == listed
    current = re.findall(r'<a href="/\?show=(\w+)" aria-current="page">', html)
    assert current == [show if show != "nonsense" else "all"]
    if not listed:
        assert "No articles match this filter" in html


def test_an_approval_moves_an_article_between_filters(client: TestClient, fake: FakeService) -> None:
    client.post(
        "/api/articles/evil-title/uk/reject",
        json={"editor": "Mira", "note": ""},
        headers=text_key(fake, "evil-title", "uk"),
    )
    assert 'href="/articles/evil-title/"' in client.get("/?show=rejected").text
    assert 'href="/articles/harbour-cranes/"' not in client.get("/?show=rejected").text


def test_the_list_comes_a_page_at_a_time_filtered_and_counted_by_the_server(
    client: TestClient, fake: FakeService, monkeypatch: pytest.MonkeyPatch
) -> None:
    every = fake.articles()
    assert len(every) >= 2
    second = client.get("/api/articles", params={"page": 2, "per_page": 1}).json()
    assert second["articles"] == every[1:2] and (second["page"], second["pages"]) == (2, len(every))
    assert client.get("/api/articles", params={"page": 99, "per_page": 1}).json()["articles"] == every[-1:]
    client.post(
        "/api/articles/evil-title/uk/reject",
        json={"editor": "Mira", "note": ""},
        headers=text_key(fake, "evil-title", "uk"),
    )
    rejected = client.get("/api/articles", params={"status": "rejected"}).json()
    assert [a["id"] for a in rejected["articles"]] == ["evil-title"] and rejected["total"] == 1
    assert rejected["counts"]["rejected"] == 1 and rejected["counts"]["all"] == len(every)
    for bad in ({"status": "maybe"}, {"page": "0"}, {"page": "x"}, {"per_page": "501"}):
        response = client.get("/api/articles", params=bad)
        assert response.status_code == 422 and "error" in response.json(), bad

    from pipeline.editor import pages

    monkeypatch.setattr(pages, "PAGE_SIZE", 1)
    html = client.get("/?page=2").text
    assert f'href="/articles/{every[1]["id"]}/"' in html and f'href="/articles/{every[0]["id"]}/"' not in html
    assert f"page 2 of {len(every)}" in html and 'rel="prev" href="/?show=all&amp;page=1"' in html


def test_the_article_page_shows_every_language_with_its_controls(client: TestClient) -> None:
    response = client.get("/articles/harbour-cranes/")
    assert response.status_code == 200
    html = response.text
    assert "<title>Harbour cranes return to Durrës</title>" in html
    for code, name in (("sq", "Albanian"), ("uk", "Ukrainian")):
        assert f'<th scope="col">{name}</th>' in html
        for n in (1, 2, 3):
            assert f'aria-label="Edit sentence {n} ({code})"' in html
        assert f'src="{code}/narration.mp3?v=v1"' in html and f'aria-label="{name} narration"' in html
        assert f'<track kind="captions" src="{code}/transcript.vtt?v=v1"' in html
        assert f'aria-label="{name} chapters"' in html and "0:00 Harbour cranes" in html
        assert f'<label for="note-{code}">' in html and f'aria-label="Approve {name}"' in html
        assert f'id="audio-status-{code}" class="audio-status" role="status" aria-live="polite"' in html
    assert '<label for="editor-name">Your name</label>' in html
    assert "edited by Ana" in html and "<summary>Machine translation</summary>" in html
    assert "[sq] Ships began to unload." in html  # the machine translation, on request
    assert 'aria-label="Revert to machine translation: sentence 3 (sq)"' in html
    assert html.count("Revert to machine translation</button>") == 1
    assert '<span class="badge flag">untranslated</span> looks like English' in html  # flags visible
    assert re.findall(r"<script[^>]*>", html) == [
        '<script src="/static/editor.js" defer>'
    ]  # no inline script
    assert '<th scope="col">English</th>' in html and "Engineers restored the cranes. Ships began" in html


def test_the_article_page_says_when_new_audio_is_being_made(client: TestClient, fake: FakeService) -> None:
    fake.data["harbour-cranes"]["uk"]["audio"] = "pending"
    fake.reads_left = 10
    html = client.get("/articles/harbour-cranes/").text
    assert re.search(r'id="player-uk"[^>]*data-audio="pending"', html)
    assert re.search(r'id="audio-status-uk"[^>]*>New audio is being made…</p>', html)


def test_article_text_is_escaped(client: TestClient) -> None:
    for path in ("/articles/evil-title/", "/", "/?show=flagged"):
        html = client.get(path).text
        assert EVIL not in html and "<b>bold</b>" not in html
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    html = client.get("/articles/evil-title/").text
    assert f"<title>{EVIL}" not in html and "&lt;b&gt;bold&lt;/b&gt;" in html


def test_a_page_for_an_unknown_article_is_a_404_page(client: TestClient) -> None:
    for path in ("/articles/no-such/", "/articles/..%2F..%2Fetc/", "/articles/%2e%2e/", "/articles/-x/"):
        response = client.get(path)
        assert response.status_code == 404, path
        assert (
            response.headers["content-type"].startswith("text/html")
            and "newsdesk: all articles" in response.text
        )


def test_an_article_path_without_its_slash_redirects(client: TestClient) -> None:
    response = client.get("/articles/harbour-cranes", follow_redirects=False)
    assert response.status_code in (307, 308) and response.headers["location"].endswith(
        "/articles/harbour-cranes/"
    )


@pytest.mark.parametrize(
    ("name", "media_type"),
    [
        ("article.txt", "text/plain; charset=utf-8"),
        ("article.json", "application/json"),
        ("narration.mp3", "audio/mpeg"),
        ("transcript.vtt", "text/vtt; charset=utf-8"),
    ],
)
def test_files_are_served_with_their_type(
    client: TestClient, fake: FakeService, name: str, media_type: str
) -> None:
    response = client.get(f"/articles/harbour-cranes/uk/{name}?v=v1")
    assert response.status_code == 200 and response.headers["content-type"] == media_type
    assert response.content == (fake.folder / "harbour-cranes" / "uk" / name).read_bytes()
    assert "attachment" not in response.headers.get("content-disposition", "")


def test_narration_can_be_fetched_in_ranges(client: TestClient) -> None:
    response = client.get("/articles/harbour-cranes/sq/narration.mp3", headers={"Range": "bytes=0-9"})
    assert response.status_code == 206 and len(response.content) == 10


@pytest.mark.parametrize(
    "path",
    [
        "/articles/harbour-cranes/sq/state.sqlite",
        "/articles/harbour-cranes/sq/..%2F..%2F..%2Fetc%2Fpasswd",
        "/articles/harbour-cranes/xx/article.txt",
        "/articles/evil-title/sq/narration.mp3",  # no such file yet
        "/articles/no-such/sq/article.txt",
        "/articles/..%2F..%2Fetc/sq/article.txt",
        "/articles/%2E%2E/sq/article.txt",
        "/articles/..%5C..%5Cx/sq/article.txt",
        "/articles/harbour-cranes/sq/article.txt%00.png",
        "/articles/harbour-cranes/sq/%2e%2e%2f%2e%2e%2fx",
    ],
)
def test_no_other_file_is_served(client: TestClient, fake: FakeService, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 404, response.text
    assert "root:" not in response.text
    for article_id, language, name in fake.asked_for:  # the app asks the service only for these
        assert name in FILES and language in ("sq", "uk") and re.fullmatch(r"[a-z0-9][a-z0-9-]*", article_id)


def test_the_page_script_is_served(client: TestClient) -> None:
    response = client.get("/static/editor.js")
    assert response.status_code == 200 and "javascript" in response.headers["content-type"]
    assert "innerHTML" not in response.text.replace("never innerHTML", "")
    assert client.get("/static/../app.py").status_code == 404
    assert client.get("/static/%2e%2e/app.py").status_code == 404


# ---- the API -----------------------------------------------------------------------------------


def test_the_api_gives_the_services_dicts(client: TestClient, fake: FakeService) -> None:
    listed = client.get("/api/articles").json()
    assert listed["articles"] == fake.articles() and listed["total"] == len(fake.articles())
    assert (listed["page"], listed["pages"], listed["status"]) == (1, 1, "all")
    response = client.get("/api/articles/harbour-cranes/uk")
    assert response.status_code == 200 and response.json() == fake.data["harbour-cranes"]["uk"]
    assert response.headers["cache-control"] == "no-store"


@pytest.mark.parametrize("form", ['"{}"', 'W/"{}"', "{}", ' "{}" '])
def test_a_sentence_is_saved_with_its_key(client: TestClient, fake: FakeService, form: str) -> None:
    current = key(fake, "harbour-cranes", "sq", 1)
    response = put(
        client, SENTENCE.format(1), {"text": "Inxhinierët.", "editor": "  Mira "}, form.format(current)
    )
    assert response.status_code == 200, response.text
    assert fake.calls == [("save", "harbour-cranes", "sq", 1, "Inxhinierët.", "Mira", current)]
    saved = response.json()["paragraphs"][1][0]
    assert saved["text"] == "Inxhinierët." and saved["edited_by"] == "Mira"
    assert response.json()["audio"] == "pending"


def test_an_edit_is_reverted(client: TestClient, fake: FakeService) -> None:
    current = key(fake, "harbour-cranes", "sq", 2)
    response = client.request(
        "DELETE", SENTENCE.format(2), headers=dict(JSON, **{"If-Match": f'"{current}"'}), content=b""
    )
    assert response.status_code == 200, response.text
    assert response.json()["paragraphs"][1][1]["text"] == "[sq] Ships began to unload."
    assert fake.calls == [("drop", "harbour-cranes", "sq", 2, current, "")]
    again = client.request(
        "DELETE",
        SENTENCE.format(2),
        headers=dict(JSON, **{"If-Match": key(fake, "harbour-cranes", "sq", 2)}),
        json={"editor": "Mira"},
    )
    assert again.status_code == 404 and fake.calls[-1][-1] == "Mira"  # nothing left to revert


@pytest.mark.parametrize(("action", "status"), [("approve", "approved"), ("reject", "rejected")])
def test_a_language_is_approved_or_rejected(
    client: TestClient, fake: FakeService, action: str, status: str
) -> None:
    url, current = f"/api/articles/harbour-cranes/uk/{action}", text_key(fake, "harbour-cranes", "uk")
    response = client.post(url, json={"editor": "Mira", "note": " ok "}, headers=current)
    assert response.status_code == 200 and response.json()["review"] == status
    assert response.json()["text_key"] == current["If-Match"].strip('"')
    assert fake.calls == [("review", "harbour-cranes", "uk", status, "Mira", "ok")]
    assert client.post(url, json={"editor": "Mira"}, headers=current).status_code == 200


@pytest.mark.parametrize("action", ["approve", "reject"])
def test_a_review_is_of_the_text_the_editor_read(client: TestClient, fake: FakeService, action: str) -> None:
    url = f"/api/articles/harbour-cranes/sq/{action}"
    read = client.get("/api/articles/harbour-cranes/sq").json()["text_key"]
    edited = put(
        client,
        SENTENCE.format(1),
        {"text": "Tekst tjetër.", "editor": "Ben"},
        key(fake, "harbour-cranes", "sq", 1),
    )
    assert edited.status_code == 200 and edited.json()["text_key"] != read  # another tab's edit
    for headers, status in (({"If-Match": f'"{read}"'}, 412), ({}, 428)):
        response = client.post(url, json={"editor": "Mira"}, headers=headers)
        assert response.status_code == status, response.text
        assert list(response.json()) == ["error"] and "\n" not in response.json()["error"]
    assert (
        "changed since it was read"
        in client.post(url, json={"editor": "Mira"}, headers={"If-Match": read}).json()["error"]
    )
    assert fake.data["harbour-cranes"]["sq"]["review"] == "needs_review"  # nothing recorded
    fresh = client.get("/api/articles/harbour-cranes/sq").json()["text_key"]
    assert client.post(url, json={"editor": "Mira"}, headers={"If-Match": f'"{fresh}"'}).status_code == 200


def errors_of(client: TestClient, fake: FakeService) -> dict[str, Any]:
    """Each case: (method, path, body, If-Match) → the expected status."""
    good = key(fake, "harbour-cranes", "sq", 1)
    edit = {"text": "Tekst.", "editor": "Mira"}
    return {
        "unknown article": ("PUT", "/api/articles/no-such/sq/sentences/1", edit, good, 404),
        "unknown language": ("PUT", "/api/articles/harbour-cranes/xx/sentences/1", edit, good, 404),
        "unknown index": ("PUT", SENTENCE.format(99), edit, good, 404),
        "GET unknown article": ("GET", "/api/articles/no-such/sq", None, None, 404),
        "GET unknown language": ("GET", "/api/articles/harbour-cranes/de", None, None, 404),
        "approve unknown article": ("POST", "/api/articles/..%2F/sq/approve", {"editor": "M"}, None, 404),
        "no such route": ("GET", "/api/nothing", None, None, 404),
        "stale key": ("PUT", SENTENCE.format(1), edit, "0123456789abcdef", 412),
        "no key": ("PUT", SENTENCE.format(1), edit, None, 428),
        "empty text": ("PUT", SENTENCE.format(1), {"text": "  ", "editor": "Mira"}, good, 422),
        "over-long text": ("PUT", SENTENCE.format(1), {"text": "x" * 2001, "editor": "Mira"}, good, 422),
        "text not a string": ("PUT", SENTENCE.format(1), {"text": 5, "editor": "Mira"}, good, 422),
        "text missing": ("PUT", SENTENCE.format(1), {"editor": "Mira"}, good, 422),
        "not JSON": ("PUT", SENTENCE.format(1), "{text: 'x'", good, 422),
        "not UTF-8": ("PUT", SENTENCE.format(1), b'{"text": "\xff", "editor": "M"}', good, 422),
        "not an object": ("PUT", SENTENCE.format(1), '["text", "editor"]', good, 422),
        "null body": ("PUT", SENTENCE.format(1), "null", good, 422),
        "empty body": ("PUT", SENTENCE.format(1), "", good, 422),
        "deeply nested": ("PUT", SENTENCE.format(1), "[" * 100_000 + "]" * 100_000, good, 422),
        "missing editor": ("PUT", SENTENCE.format(1), {"text": "Tekst."}, good, 422),
        "editor not a string": ("PUT", SENTENCE.format(1), {"text": "T", "editor": ["M"]}, good, 422),
        "blank editor": ("PUT", SENTENCE.format(1), {"text": "Tekst.", "editor": " \t "}, good, 422),
        "editor too long": ("PUT", SENTENCE.format(1), {"text": "Tekst.", "editor": "M" * 101}, good, 422),
        "index not a number": ("PUT", SENTENCE.format("one"), edit, good, 422),
        "index a float": ("PUT", SENTENCE.format("1.5"), edit, good, 422),
        "index negative": ("PUT", SENTENCE.format("-1"), edit, good, 404),  # a number naming no sentence
        "index in other digits": ("PUT", SENTENCE.format("%D9%A1"), edit, good, 422),
        "index huge": ("PUT", SENTENCE.format("9" * 30), edit, good, 404),
        "index a lone minus": ("PUT", SENTENCE.format("-"), edit, good, 422),
        "delete bad index": ("DELETE", SENTENCE.format("x"), None, good, 422),
        "delete negative index": ("DELETE", SENTENCE.format("-1"), None, good, 404),
        "delete bad body": ("DELETE", SENTENCE.format(1), "[1]", good, 422),
        "review without editor": (
            "POST",
            "/api/articles/harbour-cranes/sq/approve",
            {"note": "x"},
            None,
            422,
        ),
        "review note not a string": (
            "POST",
            "/api/articles/harbour-cranes/sq/reject",
            {"editor": "M", "note": 3},
            None,
            422,
        ),
        "review note too long": (
            "POST",
            "/api/articles/harbour-cranes/sq/reject",
            {"editor": "M", "note": "n" * 2001},
            None,
            422,
        ),
        "body too large": ("PUT", SENTENCE.format(1), {"text": "x" * 300_000, "editor": "M"}, good, 413),
        "wrong method": ("PATCH", SENTENCE.format(1), edit, good, 405),
        "GET on a change": ("GET", "/api/articles/harbour-cranes/sq/approve", None, None, 405),
    }


def test_every_error_has_its_status_and_a_one_line_json_message(
    client: TestClient, fake: FakeService
) -> None:
    for case, (method, path, body, if_match, status) in errors_of(client, fake).items():
        headers = dict(JSON, **({"If-Match": if_match} if if_match else {}))
        content = body if isinstance(body, str | bytes) or body is None else __import__("json").dumps(body)
        response = client.request(method, path, content=content, headers=headers)
        assert response.status_code == status, f"{case}: {response.status_code} {response.text}"
        assert response.headers["content-type"] == "application/json", case
        message = response.json()["error"]
        assert message and "\n" not in message and "Traceback" not in message, case
    saves = [call for call in fake.calls if call[0] == "save"]
    assert all(call[3] in (1, 99) for call in saves)  # the service saw only well-formed requests


def test_a_busy_job_answers_423_with_retry_after(client: TestClient, fake: FakeService) -> None:
    fake.busy = 2
    response = put(
        client, SENTENCE.format(1), {"text": "T.", "editor": "M"}, key(fake, "harbour-cranes", "sq", 1)
    )
    assert response.status_code == 423 and response.headers["retry-after"] == "5"
    assert "pipeline run" in response.json()["error"]
    current = text_key(fake, "harbour-cranes", "sq")
    response = client.post("/api/articles/harbour-cranes/sq/approve", json={"editor": "M"}, headers=current)
    assert response.status_code == 423 and response.headers["retry-after"] == "5"
    approve = client.post("/api/articles/harbour-cranes/sq/approve", json={"editor": "M"}, headers=current)
    assert approve.status_code == 200


def test_an_unexpected_error_is_a_500_without_detail(
    client: TestClient, fake: FakeService, caplog: pytest.LogCaptureFixture
) -> None:
    fake.explode = True
    with caplog.at_level(logging.ERROR, logger="pipeline.editor"):
        for path in ("/api/articles", "/api/articles/harbour-cranes/sq"):
            response = client.get(path)
            assert response.status_code == 500 and response.headers["content-type"] == "application/json"
            assert "secret" not in response.text and "Traceback" not in response.text
            assert "\n" not in response.json()["error"]
        page = client.get("/articles/harbour-cranes/")
        assert page.status_code == 500 and "secret" not in page.text and "Traceback" not in page.text
        assert page.headers["content-type"].startswith("text/html")  # the page's own error page
    assert "secret detail" in caplog.text and "Traceback" in caplog.text  # in the log, with its traceback


MALFORMED = [
    ("GET", "/articles/..%2F..%2Fetc/sq/article.txt"),
    ("GET", "/articles/../../etc/sq/article.txt"),
    ("GET", "/articles/harbour-cranes/sq/..%2F..%2Fx"),
    ("GET", "/articles/%00/sq/article.txt"),
    ("GET", "/articles/%ff%fe/"),
    ("GET", "/articles/" + "a" * 5000 + "/"),
    ("GET", "/api/articles/%00/sq"),
    ("GET", "/api/articles/harbour-cranes/%2F"),
    ("GET", "/?show=%00%ff"),
    ("GET", "/?show=needs_review&show=flagged"),
    ("GET", "/static/"),
    ("GET", "/static/nothing.js"),
    ("GET", "/api"),
    ("HEAD", "/articles/harbour-cranes/sq/narration.mp3"),
    ("OPTIONS", "/api/articles"),
    ("POST", "/"),
    ("PUT", "/api/articles/harbour-cranes/sq/sentences/"),
    ("PUT", "/api/articles/harbour-cranes/sq/sentences/1/2"),
    ("DELETE", "/api/articles"),
    ("POST", "/api/articles/harbour-cranes/sq/publish"),
]


@pytest.mark.parametrize(("method", "path"), MALFORMED)
def test_malformed_requests_never_answer_500(client: TestClient, method: str, path: str) -> None:
    response = client.request(method, path, headers=JSON, content=b'{"text": 1}')
    assert response.status_code < 500, response.text
    assert "Traceback" not in response.text


@pytest.mark.parametrize(
    "headers",
    [
        {"If-Match": '"'},
        {"If-Match": "W/"},
        {"If-Match": "é".encode()},
        {"Content-Type": "application/json; charset=latin-1"},
        {"Content-Type": "application/json;;;"},
        {"Content-Length": "5"},
    ],
)
def test_odd_headers_never_answer_500(client: TestClient, headers: dict[str, Any]) -> None:
    headers = dict(JSON, **headers)
    response = client.put(SENTENCE.format(1), content=b'{"text": "T.", "editor": "M"}', headers=headers)
    assert response.status_code < 500, response.text


# ---- security ----------------------------------------------------------------------------------


def test_every_response_carries_the_security_headers(client: TestClient) -> None:
    for response in (
        client.get("/"),
        client.get("/articles/harbour-cranes/"),
        client.get("/api/articles"),
        client.get("/articles/harbour-cranes/sq/narration.mp3"),
        client.get("/static/editor.js"),
        client.get("/api/articles/no-such/sq"),
        client.get("/", headers={"Host": "evil.example"}),
        client.put(SENTENCE.format(1), data={"text": "x"}),
    ):
        csp = response.headers["content-security-policy"]
        assert "default-src 'self'" in csp and "script-src 'self';" in csp and "frame-ancestors 'none'" in csp
        assert "unsafe-inline" not in csp.split("script-src")[1].split(";")[0]
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["referrer-policy"] == "same-origin"


@pytest.mark.parametrize("host", ["evil.example", "evil.example:8765", "127.0.0.1:9999", "localhost", ""])
def test_other_hosts_are_refused(client: TestClient, host: str) -> None:
    for path in ("/", "/api/articles", "/articles/harbour-cranes/sq/article.txt"):
        response = client.get(path, headers={"Host": host})
        assert response.status_code == 400 and "Host" in response.json()["error"]


@pytest.mark.parametrize("host", ["127.0.0.1:8765", "localhost:8765", "[::1]:8765", "LOCALHOST:8765"])
def test_the_loopback_hosts_are_accepted(client: TestClient, host: str) -> None:
    assert client.get("/", headers={"Host": host}).status_code == 200


def test_allowed_hosts_follow_the_bind() -> None:
    assert allowed_hosts("127.0.0.1", 8765) == ["127.0.0.1:8765", "localhost:8765", "[::1]:8765"]
    assert allowed_hosts("::1", 80) == [
        "127.0.0.1:80",
        "localhost:80",
        "[::1]:80",
        "127.0.0.1",
        "localhost",
        "[::1]",
    ]
    assert allowed_hosts("192.168.1.5", 8000) == ["192.168.1.5:8000"]
    assert allowed_hosts("fe80::1", 8000) == ["[fe80::1]:8000"]
    assert allowed_hosts("0.0.0.0", 8000) == ["*"] and allowed_hosts("::", 8000) == ["*"]


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({"Origin": "http://evil.example"}, 403),
        ({"Origin": "null"}, 403),
        ({"Origin": "http://127.0.0.1:9999"}, 403),
        ({"Origin": "https://127.0.0.1:8765"}, 403),
        ({"Sec-Fetch-Site": "cross-site"}, 403),
        ({"Origin": BASE, "Sec-Fetch-Site": "cross-site"}, 403),
        ({"Origin": BASE, "Sec-Fetch-Site": "same-origin"}, 200),
        ({}, 200),
    ],
)
def test_changes_from_another_origin_are_refused(
    client: TestClient, fake: FakeService, headers: dict[str, str], status: int
) -> None:
    current = key(fake, "harbour-cranes", "sq", 1)
    response = client.put(
        SENTENCE.format(1), json={"text": "T.", "editor": "M"}, headers={"If-Match": current, **headers}
    )
    assert response.status_code == status, response.text
    assert bool(fake.calls) == (status == 200)  # a refused change never reaches the service
    approve = client.post(
        "/api/articles/harbour-cranes/sq/approve",
        json={"editor": "M"},
        headers={**text_key(fake, "harbour-cranes", "sq"), **headers},
    )
    assert approve.status_code == status


@pytest.mark.parametrize(
    "content_type",
    ["application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "text/plain", None],
)
def test_changes_must_be_json(client: TestClient, fake: FakeService, content_type: str | None) -> None:
    headers = {"Content-Type": content_type} if content_type else {}
    for method, path in (("POST", "/api/articles/harbour-cranes/sq/approve"), ("PUT", SENTENCE.format(1))):
        response = client.request(method, path, content=b"editor=Mira&text=x", headers=headers)
        assert response.status_code == 415 and "application/json" in response.json()["error"]
    assert fake.calls == []


def test_without_the_token_nothing_is_served(guarded_client: TestClient) -> None:
    for path in ("/api/articles", "/api/articles/harbour-cranes/sq"):
        response = guarded_client.get(path)
        assert response.status_code == 401 and "sign in" in response.json()["error"]
    for path, back in (
        ("/", "%2F"),
        ("/articles/harbour-cranes/?show=x", "%2Farticles%2Fharbour-cranes%2F%3Fshow%3Dx"),
        ("/articles/harbour-cranes/sq/article.txt", "%2Farticles%2Fharbour-cranes%2Fsq%2Farticle.txt"),
    ):
        response = guarded_client.get(path)
        assert response.status_code == 303 and response.headers["location"] == f"/sign-in?next={back}"
    assert guarded_client.get("/static/editor.js").status_code == 200  # the sign-in page's files
    wrong = {"Authorization": "Bearer " + TOKEN[:-1] + "X"}
    assert guarded_client.get("/api/articles", headers=wrong).status_code == 401
    assert guarded_client.get("/api/articles", headers={"Authorization": "Bearer "}).status_code == 401
    assert (
        guarded_client.get("/api/articles", headers={b"Authorization": "Bearer é".encode()}).status_code
        == 401
    )
    assert guarded_client.get("/api/articles", headers={"Authorization": TOKEN}).status_code == 401
    guarded_client.cookies.set("pipeline_review", TOKEN)  # the token itself is no session
    assert guarded_client.get("/api/articles").status_code == 401
    guarded_client.cookies.clear()
    assert guarded_client.put(SENTENCE.format(1), json={}).status_code == 401


def test_the_token_in_a_header_lets_requests_through(guarded_client: TestClient, fake: FakeService) -> None:
    bearer = {"Authorization": f"Bearer {TOKEN}"}
    assert guarded_client.get("/", headers=bearer).status_code == 200
    assert guarded_client.get("/articles/harbour-cranes/sq/narration.mp3", headers=bearer).status_code == 200
    assert (
        guarded_client.get("/api/articles", headers={"Authorization": f"bearer {TOKEN}"}).status_code == 200
    )
    current = key(fake, "harbour-cranes", "sq", 1)
    response = guarded_client.put(
        SENTENCE.format(1), json={"text": "T.", "editor": "M"}, headers={**bearer, "If-Match": current}
    )
    assert response.status_code == 200
    assert fake.calls[-1][-2:] == ("editor", current)  # the shared token's one account, not "M"


def test_a_token_in_a_link_signs_nobody_in(guarded_client: TestClient) -> None:
    # A URL ends up in browser history and logs: a token there is not taken.
    response = guarded_client.get("/", params={"show": "flagged", "token": TOKEN})
    assert response.status_code == 303 and response.headers["location"].startswith("/sign-in?next=")
    assert "set-cookie" not in response.headers
    assert guarded_client.get("/api/articles", params={"token": TOKEN}).status_code == 401


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "::1", "[::1]", "127.0.0.2", "LOCALHOST"])
def test_loopback_binds_need_no_token(host: str) -> None:
    assert check_bind(host, None) is None
    assert check_bind(host, TOKEN) is None


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.168.1.5", "example.org", "localhost.example.org"])
def test_other_binds_need_a_token(host: str) -> None:
    message = check_bind(host, None)
    assert message is not None and host in message and "--token-file" in message and "\n" not in message
    assert "pipeline editors add" in message
    assert check_bind(host, "") == message == check_bind(host, "   ")
    assert check_bind(host, TOKEN) is None
    assert check_bind(host, None, accounts=True) is None  # editor accounts guard it


@pytest.mark.parametrize(
    ("token", "said"),
    [
        ("a", "it is 1 characters long; at least 32 are needed"),
        ("T0ken-for-the-e2e-test", "it is 22 characters long; at least 32 are needed"),
        ("ab" * 20, "it has 2 different characters; at least 10 are needed"),
    ],
)
def test_a_public_bind_refuses_a_weak_token(token: str, said: str) -> None:
    message = check_bind("0.0.0.0", token)
    assert message == (
        f"refusing to serve on 0.0.0.0 with a weak token ({said}); "
        "make one with: python3 -c 'import secrets; print(secrets.token_urlsafe(32))'"
    )
    assert check_bind("127.0.0.1", token) is None  # this machine only: any token, or none


# ---- the command -------------------------------------------------------------------------------


def fake_job(tmp_path: Path) -> Any:
    """What ``pipeline serve`` reads of a loaded config."""

    from pipeline.config.schema import ReviewConfig

    return SimpleNamespace(job="newsdesk", job_dir=tmp_path / "job", review=ReviewConfig())


def test_serve_refuses_a_public_address_without_a_token_before_anything(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import pipeline.cli.serve as serve_command
    import pipeline.editor.service as service_module

    monkeypatch.delenv("PIPELINE_REVIEW_TOKEN", raising=False)
    monkeypatch.setattr(serve_command, "load_job", lambda *a: fake_job(tmp_path))
    monkeypatch.setattr(service_module, "EditorService", lambda *a: pytest.fail("the job was opened"))
    result = CliRunner(mix_stderr=False).invoke(cli, ["serve", "job.yaml", "--host", "0.0.0.0"])
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines() == [
        "error: refusing to serve on 0.0.0.0 without a token: add editor accounts (pipeline editors add), "
        "set PIPELINE_REVIEW_TOKEN or pass --token-file"
    ]


def test_serve_prints_the_link_and_closes_the_service(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import uvicorn

    import pipeline.cli.serve as serve_command
    import pipeline.editor.service as service_module

    closed: list[bool] = []
    served: list[Any] = []

    class Service(FakeService):
        def __init__(self, config: Any):
            super().__init__(tmp_path / "job")

        def close(self) -> None:
            closed.append(True)

    def run(server: Any, sockets: Any = None) -> None:
        served.append(server.config)
        server.started = True

    review = ReviewConfig(request_timeout_s=7, keep_alive_s=3, max_connections=40)
    job = fake_job(tmp_path)
    job.review = review
    monkeypatch.setattr(serve_command, "load_job", lambda config, overrides: job)
    monkeypatch.setattr(service_module, "EditorService", Service)
    monkeypatch.setattr(uvicorn.Server, "run", run)
    monkeypatch.setenv("PIPELINE_REVIEW_TOKEN", TOKEN)
    result = CliRunner(mix_stderr=False).invoke(
        cli, ["serve", "job.yaml", "--host", "0.0.0.0", "--port", "9000"]
    )
    assert result.exit_code == 0, result.stderr
    assert result.stdout == (
        "review app for job newsdesk: http://127.0.0.1:9000/ (sign in there with your token)\n"
    )
    assert TOKEN not in result.stdout + result.stderr  # never printed: it would end up in the journal
    assert closed == [True] and served[0].port == 9000 and served[0].host == "0.0.0.0"
    assert served[0].log_level == "warning" and served[0].timeout_graceful_shutdown == 5
    assert served[0].timeout_keep_alive == 3 and served[0].http.limits == Limits(7, 40)
    monkeypatch.delenv("PIPELINE_REVIEW_TOKEN")
    result = CliRunner(mix_stderr=False).invoke(cli, ["serve", "job.yaml"])
    assert result.stdout == "review app for job newsdesk: http://127.0.0.1:8765/\n"

    token_file = tmp_path / "token"
    token_file.write_text(TOKEN + "\n", "utf-8")
    args = ["serve", "job.yaml", "--host", "0.0.0.0", "--token-file", str(token_file)]
    result = CliRunner(mix_stderr=False).invoke(cli, args)
    assert result.exit_code == 0 and result.stderr == "", result.stderr
    result = CliRunner(mix_stderr=False).invoke(cli, ["serve", "job.yaml", "--token", TOKEN])
    assert result.stderr.splitlines() == [
        "warning: --token shows in `ps` to every user of this machine; "
        "prefer PIPELINE_REVIEW_TOKEN or --token-file"
    ]


# ---- a real browser ----------------------------------------------------------------------------


@pytest.fixture
def live(fake: FakeService) -> Iterator[str]:
    """The app under uvicorn, on a free loopback port, in a thread."""
    import uvicorn

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    app = create_app(fake, token=None, allowed_hosts=allowed_hosts("127.0.0.1", port))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "uvicorn did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)
    sock.close()


@needs_chromium
def test_browser_an_editor_edits_a_sentence_with_the_keyboard(live: str, fake: FakeService) -> None:
    from playwright.sync_api import expect

    with chromium() as browser:
        page = browser.new_page()
        problems: list[str] = []
        page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
        page.on("pageerror", lambda error: problems.append(str(error)))
        page.goto(f"{live}/articles/harbour-cranes/")
        page.get_by_role("textbox", name="Your name").fill("Mira")

        # Keyboard only: Tab to the first Edit button, open it, type, Ctrl+Enter.
        page.locator("body").focus()
        for _ in range(80):
            page.keyboard.press("Tab")
            label = page.evaluate("document.activeElement.getAttribute('aria-label') || ''")
            if label.startswith("Edit sentence"):
                break
        assert label == "Edit sentence 1 (sq)"
        before = key(fake, "harbour-cranes", "sq", 0)
        page.keyboard.press("Enter")
        editor = page.get_by_role("textbox", name="Your version of sentence 1 (sq)")
        expect(editor).to_be_focused()
        expect(editor).to_have_value("[sq] Harbour cranes return to Durrës")
        page.keyboard.press("Control+A")
        page.keyboard.type("Vinçat e portit <b>kthehen</b>")
        page.keyboard.press("Control+Enter")

        text = page.locator("#s-sq-0 .text")
        expect(text).to_have_text("Vinçat e portit <b>kthehen</b>")  # as text, not markup
        assert fake.calls[0] == (
            "save",
            "harbour-cranes",
            "sq",
            0,
            "Vinçat e portit <b>kthehen</b>",
            "Mira",
            before,
        )
        expect(page.get_by_role("button", name="Edit sentence 1 (sq)")).to_be_focused()
        expect(page.locator("#s-sq-0 .badge.edited")).to_have_text("edited by Mira")
        expect(
            page.get_by_role("button", name="Revert to machine translation: sentence 1 (sq)")
        ).to_be_visible()

        # The narration is remade: the page says so, asks every 2 s, then swaps the player's source.
        status = page.locator("#audio-status-sq")
        expect(status).to_have_text("New audio is being made…")
        expect(status).to_have_text("New audio is ready.", timeout=15_000)
        expect(page.locator("#audio-sq")).to_have_attribute("src", "sq/narration.mp3?v=v1x")

        # Escape cancels and gives the focus back.
        page.get_by_role("button", name="Edit sentence 2 (uk)").click()
        area = page.get_by_role("textbox", name="Your version of sentence 2 (uk)")
        expect(area).to_be_focused()
        expect(page.locator("#s-uk-1 button.edit")).to_be_hidden()  # Save and Cancel stand in for it

        # Every control has an accessible name (the open editor included).
        for selector in ("button", "textarea", "input", "audio"):
            controls = page.locator(selector)
            assert controls.count() > 0 or selector == "textarea"
            for index in range(controls.count()):
                if controls.nth(index).is_visible():  # the open editor hides its Edit button
                    expect(controls.nth(index)).to_have_accessible_name(re.compile(r"\S"))
        roles: list[tuple[Literal["button", "textbox", "list"], str]] = [
            ("button", "Save sentence 2 (uk)"),
            ("button", "Cancel editing sentence 2 (uk)"),
            ("button", "Approve Albanian"),
            ("button", "Reject Ukrainian"),
            ("textbox", "Note with the Albanian review (optional)"),
            ("list", "Ukrainian chapters"),
        ]
        for role, name in roles:
            expect(page.get_by_role(role, name=name)).to_have_count(1)
        page.keyboard.press("Escape")
        expect(area).to_have_count(0)
        expect(page.get_by_role("button", name="Edit sentence 2 (uk)")).to_be_focused()

        # A pipeline run holds the job: the page says so and tries again 5 s later.
        fake.busy = 1
        page.get_by_role("textbox", name="Note with the Albanian review (optional)").fill("fine")
        page.get_by_role("button", name="Approve Albanian").click()
        expect(page.locator("#notice")).to_have_text("A pipeline run of this job is in progress; retrying…")
        expect(page.locator("#review-sq")).to_have_text("approved", timeout=10_000)
        expect(page.locator("#notice")).to_have_text("Albanian approved.")
        assert [call for call in fake.calls if call[0] == "review"][-1] == (
            "review", "harbour-cranes", "sq", "approved", "Mira", "fine"
        )  # fmt: skip
        assert [p for p in problems if not p.startswith("Failed to load resource")] == []  # 423s are logged
        browser.close()


@pytest.mark.parametrize(
    ("host", "link"),
    [
        ("127.0.0.1", "http://127.0.0.1:8765/"),
        ("localhost", "http://localhost:8765/"),
        ("::1", "http://[::1]:8765/"),
        ("0.0.0.0", "http://127.0.0.1:8765/"),
        ("::", "http://[::1]:8765/"),
        ("192.168.1.5", "http://192.168.1.5:8765/"),
    ],
)
def test_the_printed_link(host: str, link: str) -> None:
    from pipeline.cli.serve import url

    assert url(host, 8765) == link  # never with the token: printed lines end up in logs


def test_the_article_page_shows_the_publish_time(client: TestClient, fake: FakeService) -> None:
    html = client.get("/articles/harbour-cranes/").text
    assert '<p class="muted">2024-03-20 · harbour-cranes</p>' in html  # a date alone, as before
    for code in ("sq", "uk"):
        fake.data["harbour-cranes"][code]["time"] = shown_time("2024-03-20", "2024-03-20T07:15:00Z")
    html = client.get("/articles/harbour-cranes/").text
    assert '<time datetime="2024-03-20T07:15:00Z">2024-03-20 07:15 UTC</time> · harbour-cranes' in html
