"""The review app end to end: a real ``pipeline serve`` process over a real job (tiny models, sq
narrated by espeak-ng, uk text only, podcast feeds, approval required), driven by Debian's chromium
through Playwright and by plain HTTP.

Every call of the speech engine is counted across the process boundary: a wrapper named
``espeak-ng`` first on the PATH of the server and of every ``pipeline run`` logs one line per
synthesis (the text it reads on stdin; the ``--voices`` listing is not counted), then hands over
to the real program. The served job is shared by the tests of this module, in file order:

1. an edit in the browser is published at once and only its paragraph is narrated again;
2. approving in the browser puts the article in the feed;
3. nightly runs keep the edit, and flag it once its English sentence changes;
4. every refusal of the API (404, 412, 428, 422, 423) leaves the article's files as they were,
   and a save refused while a run holds the job goes through by itself once it is over;
5. the bind, token and same-origin checks of the real process.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from pipeline.config import load_config
from pipeline.lock import JobLock

from .conftest import SAMPLE_ARTICLES
from .requirements import needs_chromium, needs_espeak

ESPEAK = shutil.which("espeak-ng")
pytestmark = [needs_chromium, needs_espeak]
FIRST, SECOND, THIRD = (path.stem for path in SAMPLE_ARTICLES)  # edited, approved, the API's errors
JOB = "test"
EDITOR = "Mira"
EDIT = "Kryeministri Rama nënshkroi marrëveshjen me Zelenskin."
STARTUP_S = 90  # a loaded 2-core machine may take long to import torch and start uvicorn
NARRATION_MS = 90_000  # the page polls every 2 s until the background narration is done
BUSY = "A pipeline run of this job is in progress; retrying…"

# Logs the text of each synthesis (espeak-ng reads it on stdin) as one line, then runs the real
# program with the same arguments and the very same stdin bytes.
WRAPPER = """#!/bin/bash
for arg in "$@"; do
  if [ "$arg" = "--stdin" ]; then
    input=$(mktemp)
    cat > "$input"
    line=$(tr '\\n' ' ' < "$input")
    printf '%s\\n' "$line" >> {log}
    exec 3< "$input"
    rm -f "$input"
    exec {real} "$@" <&3 3<&-
  fi
done
exec {real} "$@"
"""


@dataclass
class Server:
    """A ``pipeline serve`` process, its address and where its output goes."""

    process: subprocess.Popen[bytes]
    base: str
    output: Path  # stdout; stderr is beside it (.err)

    @property
    def stderr(self) -> str:
        return self.output.with_suffix(".err").read_text("utf-8", "replace")


@dataclass
class Served:
    """The job and the ``pipeline serve`` process that serves it."""

    root: Path
    config: Path
    env: dict[str, str]
    log: Path
    server: Server | None = None

    @property
    def base(self) -> str:
        assert self.server is not None
        return self.server.base

    @property
    def job_dir(self) -> Path:
        return self.root / "out" / JOB

    def calls(self) -> list[str]:
        """The text of every synthesis so far, one per call, in the order they were made."""
        return self.log.read_text("utf-8").splitlines() if self.log.exists() else []

    def article(self, article_id: str, language: str) -> dict[str, Any]:
        reply = httpx.get(f"{self.base}/api/articles/{article_id}/{language}", timeout=30)
        assert reply.status_code == 200, reply.text
        data: dict[str, Any] = reply.json()
        return data

    def folder(self, article_id: str, language: str) -> Path:
        return self.job_dir / article_id / language


# ---- processes ---------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def listening(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(2)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def pipeline_run(served: Served, *args: str) -> subprocess.CompletedProcess[str]:
    """``pipeline run`` of the job in a process of its own (the wrapper first on its PATH); it waits
    for the app's background narration to let go of the job rather than exit 3."""
    done = subprocess.run(
        [sys.executable, "-m", "pipeline", "run", str(served.config), "--wait-lock", "300", *args],
        cwd=served.root, env=served.env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return done


def serve(served: Served, *args: str) -> Server:
    """Start ``pipeline serve`` on a free loopback port; return it once it answers."""
    port = free_port()
    output = served.root / f"serve-{port}.out"
    with open(output, "wb") as out, open(output.with_suffix(".err"), "wb") as err:
        process = subprocess.Popen(
            [sys.executable, "-m", "pipeline", "serve", str(served.config), "--port", str(port), *args],
            cwd=served.root, env=served.env, stdout=out, stderr=err,
        )  # fmt: skip
    server = Server(process, f"http://127.0.0.1:{port}", output)
    deadline = time.monotonic() + STARTUP_S
    while True:
        if process.poll() is not None:
            raise AssertionError(f"pipeline serve exited {process.returncode}: {server.stderr}")
        try:
            httpx.get(f"{server.base}/api/articles", timeout=5)  # any answer (a 401 too): it is up
            break
        except httpx.TransportError:
            if time.monotonic() > deadline:
                process.kill()
                raise AssertionError(f"pipeline serve did not answer in {STARTUP_S} s") from None
            time.sleep(0.2)
    sign_in = " (sign in there with your token)" if "--token" in args else ""
    assert output.read_text("utf-8") == f"review app for job {JOB}: {server.base}/{sign_in}\n"
    return server


def stop(server: Server) -> None:
    """SIGTERM, as systemd stops it: it finishes, closes the service and exits 143, without a trace."""
    server.process.send_signal(signal.SIGTERM)
    try:
        code = server.process.wait(60)
    except subprocess.TimeoutExpired:
        server.process.kill()
        raise AssertionError("pipeline serve did not stop within 60 s of SIGTERM") from None
    assert code == 128 + signal.SIGTERM, server.stderr
    assert "Traceback" not in server.stderr and "ERROR" not in server.stderr, server.stderr


# ---- the served job ----------------------------------------------------------------------------


def write_job(root: Path, tiny_models: dict[str, Path]) -> Path:
    """The job as conftest's ``write_config`` writes it (which is per test), with sq narrated by
    espeak-ng, uk text only, feeds and the approval gate."""
    articles = root / "articles"
    articles.mkdir()
    for path in SAMPLE_ARTICLES:
        shutil.copy(path, articles / path.name)
    data = {
        "job": JOB,
        "input": {"paths": ["articles/*"]},
        "output_dir": "out",
        "languages": {
            "sq": {"model": str(tiny_models["sq"])},
            "uk": {"model": str(tiny_models["uk"]), "tts": {"engine": "none"}},
        },
        "translation": {"beam_size": 1, "max_length": 12, "batch_size": 8, "device": "cpu"},
        "tts": {"engine": "espeak-ng", "pause": 0.3},
        "feeds": {"base_url": "https://news.example/audio", "image": "https://news.example/art.png"},
        "review": {"require_approval": True},
    }
    config = root / "job.yaml"
    config.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), "utf-8")
    return config


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, tiny_models: dict[str, Path]) -> Iterator[Served]:
    """The job, run once by ``pipeline run``, then served by ``pipeline serve`` for the module."""
    assert ESPEAK is not None, "espeak-ng is not installed"
    root = tmp_path_factory.mktemp("review-app-e2e")
    config = write_job(root, tiny_models)
    log = root / "espeak-calls.log"
    wrappers = root / "bin"
    wrappers.mkdir()
    wrapper = wrappers / "espeak-ng"
    wrapper.write_text(WRAPPER.replace("{log}", str(log)).replace("{real}", ESPEAK))
    wrapper.chmod(0o755)
    env = {**os.environ, "PATH": f"{wrappers}{os.pathsep}{os.environ.get('PATH', '')}"}
    # the processes run this checkout's pipeline, not whichever one the venv has installed
    checkout = str(Path(__file__).resolve().parents[1])
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [checkout, os.environ.get("PYTHONPATH")]))
    env.pop("PIPELINE_REVIEW_TOKEN", None)

    job = Served(root, config, env, log)
    pipeline_run(job)
    assert len(job.calls()) > 0, "the espeak-ng wrapper was not used"
    job.server = serve(job)
    yield job
    stop(job.server)


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A fresh page (nothing in its storage: the app asks for the editor's name) that records every
    script error; the test's end checks there was none."""
    context = browser.new_context()
    page = context.new_page()
    problems: list[str] = []
    page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.on("dialog", lambda dialog: dialog.accept())  # "N flags are still open. Approve anyway?": yes
    yield page
    context.close()
    # The browser logs every refused request (the 423s) as "Failed to load resource".
    assert [p for p in problems if not p.startswith("Failed to load resource")] == []


# ---- reading the outputs -----------------------------------------------------------------------


def sentences(view: dict[str, Any]) -> list[dict[str, Any]]:
    return [s for paragraph in view["paragraphs"] for s in paragraph]


def record(served: Served, article_id: str, language: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(
        (served.folder(article_id, language) / "article.json").read_text("utf-8")
    )
    return data


def mp3_chapters(path: Path) -> tuple[list[tuple[float, float, str]], float]:
    """The MP3's chapters (start, end in seconds, title) in the order its table of contents lists
    them, as mutagen reads the CHAP frames back, and the MP3's duration."""
    from mutagen.id3 import ID3, CTOCFlags
    from mutagen.mp3 import MP3

    id3 = ID3(path)
    chaps = {frame.element_id: frame for frame in id3.getall("CHAP")}
    tocs = id3.getall("CTOC")
    assert len(tocs) == 1 and tocs[0].flags & CTOCFlags.TOP_LEVEL and tocs[0].flags & CTOCFlags.ORDERED
    assert sorted(tocs[0].child_element_ids) == sorted(chaps)  # every CHAP is listed, once
    listed = [chaps[element_id] for element_id in tocs[0].child_element_ids]
    chapters = [(c.start_time / 1000, c.end_time / 1000, c.sub_frames["TIT2"].text[0]) for c in listed]
    info = MP3(path).info
    assert info is not None
    return chapters, info.length


def feed_guids(served: Served, language: str = "sq") -> list[str]:
    """The guids of the language's podcast feed, in order (none when there is no feed)."""
    feed = served.job_dir / "public" / "feeds" / f"{language}.xml"
    if not feed.exists():
        return []
    return [guid.text or "" for guid in ET.parse(feed).getroot().iter("guid")]


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def files(folder: Path) -> dict[str, bytes]:
    return {name: (folder / name).read_bytes() for name in ("article.txt", "article.json")}


def wait_for_audio(served: Served, article_id: str, language: str) -> dict[str, Any]:
    """The article once its narration is ready (the app narrates edits in the background)."""
    deadline = time.monotonic() + NARRATION_MS / 1000
    while (view := served.article(article_id, language))["audio"] != "ready":
        assert view["audio"] == "pending" and time.monotonic() < deadline, view["audio"]
        time.sleep(0.5)
    return view


def edited_sentence(view: dict[str, Any]) -> dict[str, Any]:
    """The sentence of the third block that the first test edits."""
    return view["paragraphs"][2][0]


# ---- 1. an edit in the browser -----------------------------------------------------------------


def test_an_edit_in_the_browser_is_published_and_only_its_paragraph_narrated_again(
    served: Served, page: Any
) -> None:
    from playwright.sync_api import expect

    view = served.article(FIRST, "sq")
    assert view["audio"] == "ready" and len(view["paragraphs"]) > 3
    target = edited_sentence(view)
    index, n = target["index"], target["index"] + 1
    assert target["edit"] is None and target["text"] != EDIT
    folder = served.folder(FIRST, "sq")
    before_chapters, _ = mp3_chapters(folder / "narration.mp3")
    before_record = record(served, FIRST, "sq")
    calls = len(served.calls())

    page.goto(f"{served.base}/articles/{FIRST}/")
    audio = page.locator("#audio-sq")
    old_src = audio.get_attribute("src")
    assert old_src == f"sq/narration.mp3?v={view['audio_version']}"
    edit = page.get_by_role("button", name=f"Edit sentence {n} (sq)")
    expect(edit).to_be_disabled()  # a fresh browser: the page asks for the editor's name first
    page.get_by_role("textbox", name="Your name").fill(EDITOR)
    edit.click()
    area = page.get_by_role("textbox", name=f"Your version of sentence {n} (sq)")
    expect(area).to_be_focused()
    expect(area).to_have_value(target["text"])
    area.fill(EDIT)
    area.press("Control+Enter")
    text = page.locator(f"#s-sq-{index} .text")
    expect(text).to_have_text(EDIT)
    expect(page.locator("#notice")).to_have_text(f"Sentence {n} saved.")
    expect(page.locator(f"#s-sq-{index} .badge.edited")).to_have_text(f"edited by {EDITOR}")

    # The text is out at once; the narration follows: the page says so, asks, then plays the new MP3.
    assert EDIT in (folder / "article.txt").read_text("utf-8")
    status = page.locator("#audio-status-sq")
    expect(status).to_have_text("New audio is being made…")
    expect(status).to_have_text("New audio is ready.", timeout=NARRATION_MS)
    done = served.article(FIRST, "sq")
    assert done["audio"] == "ready" and done["audio_version"] != view["audio_version"]
    new_src = f"sq/narration.mp3?v={done['audio_version']}"
    expect(audio).to_have_attribute("src", new_src)
    buttons = page.locator("#chapters-sq button.chapter")  # the chapter list follows the new MP3
    expect(buttons).to_have_count(len(done["chapters"]))
    starts = buttons.evaluate_all("all => all.map(b => [Number(b.dataset.start), Number(b.dataset.end)])")
    assert starts == [[c["start"], c["end"]] for c in done["chapters"]]
    page.reload()
    expect(text).to_have_text(EDIT)
    expect(page.locator(f"#s-sq-{index} .badge.edited")).to_have_text(f"edited by {EDITOR}")
    expect(audio).to_have_attribute("src", new_src)
    edited = sentences(done)[index]
    assert (edited["edit"], edited["text"], edited["edited_by"]) == (EDIT, EDIT, EDITOR)

    # One synthesis: the edited paragraph; every other segment came from the cache.
    new_calls = served.calls()[calls:]
    assert len(new_calls) == 1 and EDIT in new_calls[0], new_calls

    # The MP3's chapters: as many as before, in order, each where article.json says, and the last
    # one ends with the audio.
    after = record(served, FIRST, "sq")
    summary = after["narration"]
    chapters, duration = mp3_chapters(folder / "narration.mp3")
    assert len(chapters) == len(before_chapters) == len(summary["chapters"])
    for (start, end, title), chapter in zip(chapters, summary["chapters"], strict=True):
        assert abs(start - chapter["start"]) < 0.002 and abs(end - chapter["end"]) < 0.002
        assert title == chapter["title"]
    assert all(a[1] <= b[0] for a, b in itertools.pairwise(chapters))  # in time order
    assert abs(chapters[-1][1] - duration) < 0.1 and abs(summary["duration"] - duration) < 0.1
    blocks = [c["block"] for c in summary["chapters"]]
    assert blocks == [c["block"] for c in before_record["narration"]["chapters"]]
    assert blocks == [None, *range(len(after["paragraphs"]))]  # the disclosure, then each paragraph
    assert summary["chapters"][3]["title"].startswith(" ".join(EDIT.split()[:3]))  # block 2 speaks the edit
    assert summary["chapters"][:3] == before_record["narration"]["chapters"][:3]  # cached: unchanged


# ---- 2. approval gates the feed ----------------------------------------------------------------


def test_approving_in_the_browser_puts_the_article_in_the_feed(served: Served, page: Any) -> None:
    from playwright.sync_api import expect

    guid = f"{JOB}:{SECOND}:sq"
    assert guid not in feed_guids(served)  # nothing approved yet: no item (or no feed at all)
    assert served.article(SECOND, "sq")["audio"] == "ready"

    page.goto(f"{served.base}/articles/{SECOND}/")
    page.get_by_role("textbox", name="Your name").fill(EDITOR)
    page.get_by_role("textbox", name="Note with the Albanian review (optional)").fill("Listened to it all")
    page.get_by_role("button", name="Approve Albanian").click()
    expect(page.locator("#review-sq")).to_have_text("approved")
    expect(page.locator("#review-detail-sq")).to_contain_text(f"by {EDITOR}")
    expect(page.locator("#review-detail-sq")).to_contain_text("Listened to it all")
    expect(page.locator("#notice")).to_have_text("Albanian approved.")
    expect(page.locator("#review-uk")).to_have_text("needs review")

    assert feed_guids(served) == [guid]  # the approved one, and not the others
    manifest = json.loads((served.job_dir / "manifest.json").read_text("utf-8"))
    reviews = {(i["article_id"], i["language"]): i["review"] for i in manifest["items"]}
    assert reviews[(SECOND, "sq")] == "approved"
    assert reviews[(SECOND, "uk")] == reviews[(FIRST, "sq")] == reviews[(THIRD, "sq")] == "needs_review"
    feed = (served.job_dir / "public" / "feeds" / "sq.xml").read_text("utf-8")
    public = served.job_dir / "public" / SECOND / "sq" / "narration.mp3"
    assert public.read_bytes() == (served.folder(SECOND, "sq") / "narration.mp3").read_bytes()
    assert f'length="{public.stat().st_size}"' in feed
    detail = served.article(SECOND, "sq")["review_detail"]
    assert (detail["editor"], detail["note"]) == (EDITOR, "Listened to it all")
    page.reload()
    expect(page.locator("#review-sq")).to_have_text("approved")


# ---- 3. nightly runs ---------------------------------------------------------------------------


def test_nightly_runs_keep_the_edit_and_flag_it_when_the_english_changes(served: Served, page: Any) -> None:
    from playwright.sync_api import expect

    view = wait_for_audio(served, FIRST, "sq")
    target = edited_sentence(view)
    assert target["edit"] == EDIT, "the first test's edit is missing"
    text, mp3 = (served.folder(FIRST, "sq") / name for name in ("article.txt", "narration.mp3"))
    kept = [(sha256(path), path.stat().st_mtime_ns) for path in (text, mp3)]
    calls = len(served.calls())

    pipeline_run(served)  # nothing changed: the edit stays, nothing is written or spoken
    assert [(sha256(path), path.stat().st_mtime_ns) for path in (text, mp3)] == kept
    assert len(served.calls()) == calls
    assert sentences(served.article(FIRST, "sq"))[target["index"]]["edit"] == EDIT

    source = served.root / "articles" / SAMPLE_ARTICLES[0].name
    english = target["source"]
    assert english.endswith(".") and source.read_text("utf-8").count(english) == 1
    changed_english = english[:-1] + " on Wednesday."
    source.write_text(source.read_text("utf-8").replace(english, changed_english), "utf-8")
    pipeline_run(served)

    heir = sentences(served.article(FIRST, "sq"))[target["index"]]
    assert heir["source"] == changed_english
    assert heir["edit"] is None and heir["text"] == heir["machine"] != EDIT
    flag = next(f for f in heir["flags"] if f["type"] == "source_changed_after_edit")
    assert EDIT in flag["detail"] and english in flag["detail"]
    assert [(h["text"], h["editor"]) for h in heir["history"]] == [(EDIT, EDITOR)]
    assert EDIT not in text.read_text("utf-8")

    page.goto(f"{served.base}/articles/{FIRST}/")
    flags = page.locator(f"#flags-sq-{target['index']}")
    expect(flags).to_contain_text("source_changed_after_edit")
    expect(flags).to_contain_text(EDIT)
    expect(page.locator(f"#s-sq-{target['index']} .history")).to_contain_text(EDIT)
    expect(page.locator(f"#s-sq-{target['index']} .text")).to_have_text(heir["machine"])


# ---- 4. the API's refusals ---------------------------------------------------------------------


def test_api_refusals_change_nothing_and_a_save_waits_out_a_run(served: Served, page: Any) -> None:
    from playwright.sync_api import expect

    client = httpx.Client(base_url=served.base, timeout=60)
    view = served.article(THIRD, "uk")
    target, other = view["paragraphs"][1][0], view["paragraphs"][2][0]
    url = f"/api/articles/{THIRD}/uk/sentences/{target['index']}"
    body = {"text": "Текст редактора.", "editor": EDITOR}
    key = {"If-Match": f'"{target["key"]}"'}
    folder = served.folder(THIRD, "uk")
    before = files(folder)

    def refused(status: int, method: str, path: str, **kwargs: Any) -> httpx.Response:
        reply = client.request(method, path, **kwargs)
        assert reply.status_code == status, (method, path, reply.status_code, reply.text)
        if path.startswith("/api/"):
            message = reply.json()
            assert list(message) == ["error"] and message["error"] and "\n" not in message["error"]
        assert files(folder) == before, f"{method} {path} ({status}) changed the article"
        return reply

    assert client.get(f"/articles/{THIRD}/uk/article.txt").content == before["article.txt"]
    refused(404, "GET", "/api/articles/no-such-article/uk")
    refused(404, "GET", f"/api/articles/{THIRD}/de")
    refused(404, "PUT", "/api/articles/no-such-article/uk/sentences/0", json=body, headers=key)
    refused(404, "PUT", f"/api/articles/{THIRD}/de/sentences/{target['index']}", json=body, headers=key)
    refused(404, "PUT", f"/api/articles/{THIRD}/uk/sentences/{len(sentences(view))}", json=body, headers=key)
    refused(404, "GET", f"/articles/{THIRD}/uk/narration.mp3")  # uk is not narrated
    refused(404, "GET", f"/articles/{THIRD}/uk/manifest.json")
    refused(404, "GET", "/articles/no-such-article/uk/article.txt")
    refused(412, "PUT", url, json=body, headers={"If-Match": '"0123456789abcdef0123"'})
    refused(428, "PUT", url, json=body)
    refused(422, "PUT", url, json={"text": " \n\t ", "editor": EDITOR}, headers=key)
    refused(422, "PUT", url, json={"text": "а" * 2001, "editor": EDITOR}, headers=key)
    refused(422, "PUT", url, json={"text": body["text"]}, headers=key)

    # A run holds the job's lock (another process, as the server is): 423 with Retry-After; the
    # page says so and tries again every 5 s, and its save goes through once the run is over.
    lock = load_config(served.config).lock_path
    assert lock == served.job_dir / ".lock"
    other_text = "Збережено після нічного запуску."
    with JobLock(lock):
        busy = refused(423, "PUT", url, json=body, headers=key)
        assert int(busy.headers["Retry-After"]) > 0
        page.goto(f"{served.base}/articles/{THIRD}/")
        page.get_by_role("textbox", name="Your name").fill(EDITOR)
        n = other["index"] + 1
        page.get_by_role("button", name=f"Edit sentence {n} (uk)").click()
        area = page.get_by_role("textbox", name=f"Your version of sentence {n} (uk)")
        area.fill(other_text)
        area.press("Control+Enter")
        expect(page.locator("#notice")).to_have_text(BUSY)
        page.wait_for_timeout(1000)
        assert files(folder) == before
    expect(page.locator(f"#s-uk-{other['index']} .text")).to_have_text(other_text, timeout=60_000)
    expect(page.locator("#notice")).to_have_text(f"Sentence {n} saved.")
    assert other_text in (folder / "article.txt").read_text("utf-8")

    saved = client.put(url, json=body, headers=key)  # the very request refused while the run held the job
    assert saved.status_code == 200, saved.text
    assert sentences(saved.json())[target["index"]]["edit"] == body["text"]
    assert body["text"] in (folder / "article.txt").read_text("utf-8")
    before = files(folder)
    refused(412, "PUT", url, json={**body, "text": "Інший текст."}, headers=key)  # the key it had is stale
    client.close()


# ---- 5. security ---------------------------------------------------------------------------------


def test_the_real_process_refuses_what_it_must(served: Served) -> None:
    port = free_port()
    command = [sys.executable, "-m", "pipeline", "serve", str(served.config), "--host", "0.0.0.0"]
    refusal = subprocess.run(
        [*command, "--port", str(port)],
        cwd=served.root, env=served.env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert refusal.returncode == 2
    assert refusal.stderr.splitlines() == [
        "error: refusing to serve on 0.0.0.0 without a token: add editor accounts (pipeline editors add), "
        "set PIPELINE_REVIEW_TOKEN or pass --token-file"
    ]
    assert refusal.stdout == "" and not listening(port)

    token = "T0ken-for-the-e2e-test-long-enough-to-guard-it"
    server = serve(served, "--token", token)
    base = server.base
    try:
        bearer = {"Authorization": f"Bearer {token}"}
        assert httpx.get(f"{base}/api/articles", timeout=30).status_code == 401
        assert httpx.get(f"{base}/articles/{FIRST}/", timeout=30).status_code == 303  # to /sign-in
        assert httpx.get(f"{base}/api/articles", headers={"Authorization": "Bearer wrong"}).status_code == 401
        listed = httpx.get(f"{base}/api/articles", headers=bearer, timeout=30)
        assert listed.status_code == 200 and {a["id"] for a in listed.json()["articles"]} == {
            FIRST,
            SECOND,
            THIRD,
        }

        folder = served.folder(THIRD, "sq")
        before = files(folder)
        target = sentences(served.article(THIRD, "sq"))[0]
        put: dict[str, Any] = {"json": {"text": "Nga një sajt tjetër.", "editor": "Eve"}, "timeout": 30}
        path = f"/api/articles/{THIRD}/sq/sentences/{target['index']}"
        evil = {"Origin": "https://evil.example", "If-Match": f'"{target["key"]}"'}
        assert httpx.put(f"{base}{path}", headers={**bearer, **evil}, **put).status_code == 403
        assert httpx.put(f"{served.base}{path}", headers=evil, **put).status_code == 403  # no token either
        assert files(folder) == before
    finally:
        stop(server)


def test_an_approval_after_another_tabs_edit_shows_what_changed(served: Served, page: Any) -> None:
    from playwright.sync_api import expect

    page.goto(f"{served.base}/articles/{THIRD}/")  # the reviewer reads the page
    page.get_by_role("textbox", name="Your name").fill(EDITOR)
    target = sentences(served.article(THIRD, "sq"))[1]
    text = "Ndryshuar në një skedë tjetër."
    with httpx.Client(base_url=served.base, timeout=60) as other_tab:
        saved = other_tab.put(
            f"/api/articles/{THIRD}/sq/sentences/{target['index']}",
            json={"text": text, "editor": "Ben"},
            headers={"If-Match": f'"{target["key"]}"'},
        )
    assert saved.status_code == 200, saved.text

    page.get_by_role("button", name="Approve Albanian").click()
    expect(page.locator("#problem")).to_contain_text(
        "The Albanian text changed since you read it", timeout=60_000
    )
    expect(page.locator(f"#s-sq-{target['index']}.changed .text")).to_have_text(text)
    expect(page.locator("#review-sq")).to_have_text("needs review")
    manifest = json.loads((served.job_dir / "manifest.json").read_text("utf-8"))
    reviews = {(i["article_id"], i["language"]): i["review"] for i in manifest["items"]}
    assert reviews[(THIRD, "sq")] == "needs_review"  # nothing recorded

    page.get_by_role("button", name="Approve Albanian").click()  # now of the text it shows
    expect(page.locator("#review-sq")).to_have_text("approved", timeout=60_000)
    expect(page.locator("#notice")).to_have_text("Albanian approved.")


def test_an_editor_signs_in_through_the_form_and_out_again(served: Served, page: Any) -> None:
    from playwright.sync_api import expect

    token = "T0ken-for-the-e2e-test-long-enough-to-guard-it"
    server = serve(served, "--token", token)
    try:
        page.goto(f"{server.base}/articles/{FIRST}/")
        expect(page).to_have_url(f"{server.base}/sign-in?next=%2Farticles%2F{FIRST}%2F")
        page.get_by_label("Your access token").fill("not-the-token")
        page.get_by_role("button", name="Sign in").click()
        expect(page.locator(".error")).to_have_text("That token is not right.")
        page.get_by_label("Your access token").fill(token)
        page.get_by_role("button", name="Sign in").click()
        expect(page).to_have_url(f"{server.base}/articles/{FIRST}/")  # no token in any URL
        expect(page.locator("#signed-in")).to_have_text("editor")  # the shared token's one account
        expect(page.get_by_role("textbox", name="Your name")).to_have_count(0)
        port = server.base.rsplit(":", 1)[1]
        (cookie,) = page.context.cookies()
        assert cookie["name"] == f"pipeline_review_{JOB}_{port}" and token not in cookie["value"]
        assert cookie["httpOnly"] and cookie["sameSite"] == "Strict" and not cookie["secure"]
        assert 11.9 * 3600 < cookie["expires"] - time.time() <= 12 * 3600
        listed = page.request.get(f"{server.base}/api/articles")
        assert listed.status == 200

        page.get_by_role("button", name="Sign out").click()
        expect(page).to_have_url(f"{server.base}/sign-in")
        assert page.request.get(f"{server.base}/api/articles").status == 401
    finally:
        stop(server)
