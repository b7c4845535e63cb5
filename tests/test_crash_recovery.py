"""Real runs in subprocesses, killed or signalled at chosen points; the next run finishes the job."""

import hashlib
import io
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from html.parser import HTMLParser
from pathlib import Path

import feedparser
import pytest
import soundfile

from pipeline.config import load_config
from pipeline.mt.backends import result_signature
from pipeline.state.keys import model_fingerprint, segment_key, translation_key

from .conftest import REPO, SAMPLE_ARTICLES, WriteConfig

FAULT_RUN = str(Path(__file__).with_name("fault_run.py"))
ESPEAK = {"speed": 160, "bitrate": 64}
FEEDS_URL = "https://news.example/audio/"
ARTICLE_IDS = sorted(path.stem for path in SAMPLE_ARTICLES)
LANGUAGES = ("sq", "uk")


def start(spec: dict, *args: str) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.Popen(
        [sys.executable, FAULT_RUN, json.dumps(spec), *args],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


def finish(process: subprocess.Popen, timeout: float = 240) -> tuple[int, str]:
    _, stderr = process.communicate(timeout=timeout)
    return process.returncode, stderr


def calls(record: Path, point: str) -> list:
    if not record.exists():
        return []
    lines = [json.loads(line) for line in record.read_text("utf-8").splitlines()]
    return [detail for name, detail in lines if name == point]


def wait_for(record: Path, point: str, count: int = 1, timeout: float = 120) -> None:
    """Until the process under test has reached ``point`` ``count`` times."""
    deadline = time.monotonic() + timeout
    while len(calls(record, point)) < count:
        assert time.monotonic() < deadline, f"{point} was not reached {count} times"
        time.sleep(0.05)


def recorded_keys(state: Path) -> tuple[set[str], set[str]]:
    with sqlite3.connect(state) as db:
        translations = {row[0] for row in db.execute("SELECT key FROM translations")}
        segments = {row[0] for row in db.execute("SELECT key FROM segments")}
    return translations, segments


def assert_outputs_whole(job_dir: Path, temp_files_allowed: bool = False) -> None:
    """Every output under the job folder is complete and valid. A killed run may leave a hidden
    temporary file beside an output (never in its place); the next run removes it."""
    temp = list(job_dir.rglob("*.tmp"))
    assert all(path.name.startswith(".") for path in temp)
    assert temp_files_allowed or not temp
    for path in job_dir.rglob("article.json"):
        json.loads(path.read_text("utf-8"))
    for path in job_dir.rglob("article.txt"):
        text = path.read_text("utf-8")
        assert text.endswith("\n") and text.rstrip().splitlines()[-1] in (
            "Ky regjistrim audio është krijuar me ndihmën e inteligjencës artificiale.",
            "Це аудіо створено за допомогою штучного інтелекту.",
        )
    for path in job_dir.rglob("narration.mp3"):
        audio, rate = soundfile.read(io.BytesIO(path.read_bytes()))
        assert len(audio) / rate > 1


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class Page(HTMLParser):
    """What a test reads of an HTML page: its links, its elements' classes, its audio sources, its text."""

    def __init__(self, path: Path):
        super().__init__()
        self.links: list[tuple[str, str]] = []  # (href, link text)
        self.classes: list[str] = []
        self.sources: list[str] = []  # of <audio>
        self.text: list[str] = []
        self._link: tuple[str, int] | None = None  # (href, where its text starts)
        self.feed(path.read_text("utf-8"))

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        self.classes.extend((attributes.get("class") or "").split())
        if tag == "a":
            self._link = (attributes.get("href") or "", len(self.text))
        elif tag == "audio":
            self.sources.append(attributes.get("src") or "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "a" and self._link is not None:
            href, start = self._link
            self.links.append((href, "".join(self.text[start:]).strip()))
            self._link = None

    def handle_data(self, data: str) -> None:
        self.text.append(data)

    @property
    def words(self) -> str:
        return " ".join(" ".join(self.text).split())


def assert_job_delivered(job_dir: Path) -> None:
    """After the run that finished the job: manifest.json, the review pages and the feeds describe
    every article × language as delivered, and every file they name is there, with the bytes the
    state and the manifest recorded for it."""
    manifest = json.loads((job_dir / "manifest.json").read_text("utf-8"))
    assert manifest["interrupted"] is False
    assert manifest["counts"] == {
        "articles": 3,
        "items": 6,
        "ok": 6,
        "failed": 0,
        "pending": 0,
        "retracted": 0,
    }
    items = manifest["items"]
    assert [(i["article_id"], i["language"]) for i in items] == [
        (a, c) for a in ARTICLE_IDS for c in LANGUAGES
    ]
    with sqlite3.connect(job_dir / "state.sqlite") as db:
        recorded = {
            (article_id, language, stage): json.loads(detail)
            for article_id, language, stage, status, detail in db.execute(
                "SELECT article_id, language, stage, status, detail FROM items"
            )
            if status == "done"
        }
    for item in items:
        article_id, code = item["article_id"], item["language"]
        folder = f"{article_id}/{code}"
        assert item["status"] == "ok", item
        assert item["files"] == {
            "text": f"{folder}/article.txt",
            "json": f"{folder}/article.json",
            "audio": f"{folder}/narration.mp3",
        }
        data = {kind: (job_dir / path).read_bytes() for kind, path in item["files"].items()}
        assert item["narration"]["sha256"] == sha256(data["audio"])
        assert item["narration"]["size"] == len(data["audio"])
        # each file has the bytes its last writer recorded: the text stage wrote article.txt,
        # narration wrote the MP3 and article.json (which then describes the narration)
        text, narration = recorded[(article_id, code, "text")], recorded[(article_id, code, "narration")]
        assert text["files"]["text"] == item["files"]["text"]
        assert text["sha256"]["text"] == sha256(data["text"])
        assert narration["files"] == {"audio": item["files"]["audio"], "json": item["files"]["json"]}
        assert narration["sha256"] == {"audio": sha256(data["audio"]), "json": sha256(data["json"])}
        record = json.loads(data["json"])
        assert record["narration"]["status"] == "ok"
        assert record["narration"]["sha256"] == item["narration"]["sha256"]

    index = Page(job_dir / "index.html")
    assert "3 articles, 6 ok, 0 failed, 0 pending" in index.words
    assert "(the last run was interrupted)" not in index.words
    assert [(href, text) for href, text in index.links if href.endswith("/index.html")] == [
        (f"{article_id}/index.html", article_id) for article_id in ARTICLE_IDS
    ]
    assert sorted(href for href, text in index.links if text == "audio") == sorted(
        item["files"]["audio"] for item in items
    )
    assert index.classes.count("status-ok") == len(items)
    for article_id in ARTICLE_IDS:
        page = Page(job_dir / article_id / "index.html")
        assert page.classes.count("status-ok") == len(LANGUAGES)
        assert sorted(page.sources) == [f"{code}/narration.mp3" for code in LANGUAGES]
        for code in LANGUAGES:
            record = json.loads((job_dir / article_id / code / "article.json").read_text("utf-8"))
            for paragraph in record["paragraphs"]:  # the translation as delivered, sentence by sentence
                for sentence in paragraph["sentences"]:
                    assert " ".join(sentence["target"].split()) in page.words

    for code in LANGUAGES:
        feed = feedparser.parse((job_dir / "public" / "feeds" / f"{code}.xml").read_bytes())
        assert not feed.bozo, feed.bozo_exception
        ours = {
            f"{FEEDS_URL}{i['files']['audio']}?v={i['narration']['sha256'][:12]}": i
            for i in items
            if i["language"] == code
        }
        assert sorted(entry.enclosures[0].href for entry in feed.entries) == sorted(ours)
        for entry in feed.entries:
            item = ours[entry.enclosures[0].href]
            assert int(entry.enclosures[0].length) == item["narration"]["size"]
            assert entry.id == f"test:{item['article_id']}:{code}"


@pytest.fixture
def job(write_config: WriteConfig, articles: Path) -> Path:
    return write_config(
        translation={"beam_size": 1, "max_length": 8, "batch_size": 2, "device": "cpu"},
        tts={"engine": "espeak-ng", "concurrency": 2, "pause": 0.2},
        feeds={"base_url": FEEDS_URL, "image": FEEDS_URL + "cover.jpg"},
    )


@pytest.mark.slow
@pytest.mark.parametrize(
    "kill",
    [
        ["translate", 6],
        ["synthesize", 9],
        ["replace", 7],
        ["replace", "public/feeds/sq.xml"],  # every item is recorded done and index.html is written
    ],
)
def test_a_killed_run_is_finished_by_the_next_without_redoing_recorded_work(
    job: Path, tmp_path: Path, tiny_models: dict, kill: list
) -> None:
    job_dir = job.parent / "out/test"
    first = start({"kill": kill, "record": str(tmp_path / "first.jsonl")}, "run", str(job))
    code, _ = finish(first)
    assert code == -signal.SIGKILL
    assert_outputs_whole(job_dir, temp_files_allowed=True)  # no output is half-written, even mid-publish
    tm_before, segments_before = recorded_keys(job_dir / "state.sqlite")

    record = tmp_path / "second.jsonl"
    code, stderr = finish(start({"record": str(record)}, "run", str(job)))
    assert code == 0, stderr
    assert_outputs_whole(job_dir)
    assert_job_delivered(job_dir)

    fingerprints = {
        str(tiny_models[lang]): model_fingerprint(str(tiny_models[lang]), None, True) for lang in tiny_models
    }
    tokens = {str(tiny_models["sq"]): None, str(tiny_models["uk"]): None}
    signature = result_signature(load_config(job).translation)
    redone = [
        s for model, sentences in calls(record, "translate") for s in sentences
        if translation_key(fingerprints[model], tokens[model], signature, s) in tm_before
    ]  # fmt: skip
    assert redone == []
    respoken = [
        (v, t)
        for v, t in calls(record, "synthesize")
        if segment_key("espeak-ng", v, ESPEAK, t) in segments_before
    ]
    assert respoken == []
    # and between them the two runs did everything once
    first_sentences = {s for _, batch in calls(tmp_path / "first.jsonl", "translate") for s in batch}
    assert len(first_sentences) + sum(len(b) for _, b in calls(record, "translate")) >= 26


@pytest.mark.slow
def test_sigterm_finishes_the_step_in_hand_records_it_and_exits(job: Path, tmp_path: Path) -> None:
    record = tmp_path / "first.jsonl"
    process = start({"record": str(record), "slow": {"translate": 0.3}}, "run", str(job))
    wait_for(record, "translate", 5)
    process.send_signal(signal.SIGTERM)
    code, stderr = finish(process, timeout=60)
    assert code == 128 + signal.SIGTERM
    assert "SIGTERM: finishing the step in hand and recording it" in stderr
    assert "stopped by SIGTERM" in stderr and "Traceback" not in stderr
    job_dir = job.parent / "out/test"
    with sqlite3.connect(job_dir / "state.sqlite") as db:
        assert db.execute("SELECT status FROM runs ORDER BY id DESC").fetchone()[0] == "interrupted"
    translated_before = {(model, s) for model, batch in calls(record, "translate") for s in batch}
    assert len(recorded_keys(job_dir / "state.sqlite")[0]) >= 8  # the sub-batch in hand was recorded

    second = tmp_path / "second.jsonl"
    code, stderr = finish(start({"record": str(second)}, "run", str(job)))
    assert code == 0, stderr
    again = [(m, s) for m, batch in calls(second, "translate") for s in batch if (m, s) in translated_before]
    assert again == []  # the step in hand was finished and recorded before the run stopped
    assert_outputs_whole(job_dir)
    assert_job_delivered(job_dir)


@pytest.mark.slow
def test_a_second_signal_stops_at_once(job: Path, tmp_path: Path) -> None:
    record = tmp_path / "calls.jsonl"
    process = start({"record": str(record), "slow": {"translate": 5}}, "run", str(job))
    wait_for(record, "translate")
    process.send_signal(signal.SIGINT)
    time.sleep(0.3)
    started = time.monotonic()
    process.send_signal(signal.SIGINT)
    code, stderr = finish(process, timeout=60)
    assert code == 128 + signal.SIGINT
    assert time.monotonic() - started < 3  # did not wait for the 5-second step
    assert "second SIGINT: stopping now" in stderr


@pytest.mark.slow
def test_two_concurrent_runs_one_exits_3(job: Path, tmp_path: Path) -> None:
    record = tmp_path / "calls.jsonl"
    holder = start({"record": str(record), "slow": {"translate": 0.5}}, "run", str(job))
    wait_for(record, "translate")
    code, stderr = finish(start({}, "run", str(job)))
    assert code == 3
    assert f"another run of this job is in progress (PID {holder.pid}" in stderr
    assert finish(holder)[0] == 0
    assert_job_delivered(job.parent / "out/test")
