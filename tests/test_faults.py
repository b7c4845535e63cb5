"""One article never stops the night: an unexpected exception at any step fails that item only,
damaged outputs are written again, a damaged state says so, unusable output folders are refused."""

from __future__ import annotations

import html
import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from pipeline.cli import cli
from pipeline.layout import STATE_FILE

from .conftest import REPO, SAMPLE_ARTICLES, WriteConfig
from .requirements import needs_read_only_mount

VICTIM = SAMPLE_ARTICLES[1].stem  # 2024-03-05-grain-corridor
VICTIM_DATE = VICTIM[:10]


def invoke(*args: str) -> Result:
    return CliRunner(mix_stderr=False).invoke(cli, list(args), catch_exceptions=False)


def error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if "ERROR" in line or line.startswith("error:")]


def manifest_items(job_dir: Path) -> dict[tuple[str, str], dict]:
    data = json.loads((job_dir / "manifest.json").read_text("utf-8"))
    return {(i["article_id"], i["language"]): i for i in data["items"]}


def boom(*args: object, **kwargs: object) -> None:
    raise ZeroDivisionError("injected fault")


def victim_sentences() -> set[str]:
    from pipeline.stages.segment import split_outcomes
    from pipeline.text.load import read_article

    segmented, _ = split_outcomes([read_article(SAMPLE_ARTICLES[1])])
    return set(segmented[0].all_sentences())


def inject(step: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Make ``step`` raise an exception no rule foresaw, for the victim article only."""
    from pipeline.executor import recorder
    from pipeline.mt import ctranslate2_backend
    from pipeline.stages import ingest, narrate, publish, segment

    if step == "reading":
        real_read = ingest.read_article
        monkeypatch.setattr(
            ingest, "read_article", lambda path: boom() if path.stem == VICTIM else real_read(path)
        )
    elif step == "splitting":
        real_split = segment.split_sentences
        monkeypatch.setattr(
            segment, "split_sentences", lambda text: boom() if "grain" in text else real_split(text)
        )
    elif step == "translating":
        sentences = victim_sentences()
        real_translate = ctranslate2_backend.CTranslate2Translator.translate

        def translate(self: object, batch: list[str]) -> object:
            return boom() if sentences & set(batch) else real_translate(self, batch)

        monkeypatch.setattr(ctranslate2_backend.CTranslate2Translator, "translate", translate)
    elif step == "joining":
        real_build = recorder.build_narration
        monkeypatch.setattr(
            recorder,
            "build_narration",
            lambda item, *rest: boom() if item.article_id == VICTIM else real_build(item, *rest),
        )
    elif step == "tagging":
        real_tag = narrate.tag_mp3
        monkeypatch.setattr(
            narrate,
            "tag_mp3",
            lambda data, tags: boom() if tags.date.isoformat() == VICTIM_DATE else real_tag(data, tags),
        )
    elif step == "publishing text":
        real_render = publish.render_text
        monkeypatch.setattr(
            publish,
            "render_text",
            lambda item: boom() if item.article_id == VICTIM else real_render(item),
        )
    elif step == "publishing audio":
        real_write = publish.atomic_write_bytes

        def write(path: Path, data: bytes) -> None:
            if path.name == "narration.mp3" and VICTIM in str(path):
                boom()
            real_write(path, data)

        monkeypatch.setattr(publish, "atomic_write_bytes", write)
    else:
        raise AssertionError(step)


@pytest.mark.parametrize(
    "step",
    [
        "reading",
        "splitting",
        "translating",
        "joining",
        "tagging",
        "publishing text",
        "publishing audio",
    ],
)
def test_an_unexpected_exception_at_any_step_fails_that_item_only(
    step: str, write_config: WriteConfig, articles: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    config = write_config(
        tts={"engine": "espeak-ng", "concurrency": 2},
        feeds={"base_url": "https://news.example/audio/", "image": "https://news.example/cover.jpg"},
    )
    inject(step, monkeypatch)
    log_file = tmp_path / "run.log"
    result = invoke("run", str(config), "--log-file", str(log_file))

    assert result.exit_code == 1, result.stderr
    errors = error_lines(result.stderr)
    assert errors and all(VICTIM in line for line in errors), result.stderr
    assert all("ZeroDivisionError: injected fault" in line for line in errors)
    # one line per failed item: both languages when the article fails as a whole
    assert len(errors) == (1 if step in ("reading", "splitting") else 2)
    log = log_file.read_text("utf-8")
    assert "Traceback" in log and "ZeroDivisionError: injected fault" in log

    job_dir = config.parent / "out" / "test"
    items = manifest_items(job_dir)
    assert len(items) == 6
    for (article_id, _language), item in items.items():
        if article_id == VICTIM:
            assert item["status"] == "failed" and "injected fault" in item["error"]
            assert item["transient"] is True  # tried again by the next runs
        else:
            assert item["status"] == "ok", item
            assert (job_dir / item["files"]["audio"]).stat().st_size > 0
    index = (job_dir / "index.html").read_text("utf-8")
    assert all(path.stem in index for path in SAMPLE_ARTICLES)
    for language in ("sq", "uk"):
        feed = (job_dir / "public" / "feeds" / f"{language}.xml").read_text("utf-8")
        assert feed.count("<item>") == 2 and VICTIM not in feed

    monkeypatch.undo()  # the fault is gone: the next run heals the item
    result = invoke("run", str(config))
    assert result.exit_code == 0, result.stderr
    assert all(item["status"] == "ok" for item in manifest_items(job_dir).values())


def test_a_broken_article_json_is_written_again(write_config: WriteConfig, articles: Path) -> None:
    config = write_config(tts={"engine": "espeak-ng"})
    assert invoke("run", str(config)).exit_code == 0
    job_dir = config.parent / "out" / "test"
    damaged = job_dir / VICTIM / "sq" / "article.json"
    good = json.loads(damaged.read_text("utf-8"))
    damaged.write_text("{broken", "utf-8")

    result = invoke("run", str(config))
    assert result.exit_code == 0, result.stderr
    warnings = [line for line in result.stderr.splitlines() if "WARNING" in line and str(damaged) in line]
    assert len(warnings) == 1 and "not valid JSON; writing it again" in warnings[0]
    restored = json.loads(damaged.read_text("utf-8"))
    assert restored["paragraphs"] == good["paragraphs"]
    assert restored["narration"] == good["narration"] and restored["narration"]["status"] == "ok"
    assert "0 to do" in invoke("run", str(config)).stderr


def test_planning_an_unchanged_job_reads_no_article_json(
    write_config: WriteConfig, articles: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """article.json is written by the text stage, then again by the narration stage: as the
    narration left it, it is intact without being read (a JSON file is otherwise parsed to check)."""
    from pipeline.config import load_config
    from pipeline.executor.options import RunOptions
    from pipeline.executor.run import run_job

    config = write_config(tts={"engine": "espeak-ng"})
    assert invoke("run", str(config)).exit_code == 0
    read: list[str] = []
    real = Path.read_bytes
    monkeypatch.setattr(Path, "read_bytes", lambda self: read.append(self.name) or real(self))
    report = run_job(load_config(config), options=RunOptions(dry_run=True))
    assert report.todo == 0 and report.up_to_date == 2 * len(SAMPLE_ARTICLES)
    assert "article.json" not in read


def test_the_review_writer_treats_an_unreadable_record_as_missing(
    write_config: WriteConfig, articles: Path
) -> None:
    from pipeline.config import load_config
    from pipeline.report.review import write_review

    config = write_config()
    assert invoke("run", str(config)).exit_code == 0
    job = load_config(config)
    (job.job_dir / VICTIM / "uk" / "article.json").write_text("{broken", "utf-8")
    manifest = json.loads((job.job_dir / "manifest.json").read_text("utf-8"))
    sq = json.loads((job.job_dir / VICTIM / "sq" / "article.json").read_text("utf-8"))
    write_review(job, manifest)  # no exception; the page shows the readable language
    page = (job.job_dir / VICTIM / "index.html").read_text("utf-8")
    assert html.escape(sq["paragraphs"][1]["sentences"][0]["target"], quote=False) in page


def test_a_hand_edited_text_is_restored_with_a_warning(write_config: WriteConfig, articles: Path) -> None:
    config = write_config(tts={"engine": "espeak-ng"})
    assert invoke("run", str(config)).exit_code == 0
    job_dir = config.parent / "out" / "test"
    edited = job_dir / VICTIM / "uk" / "article.txt"
    original = edited.read_bytes()
    audio = (job_dir / VICTIM / "uk" / "narration.mp3").read_bytes()
    edited.write_text("An editor's correction.\n", "utf-8")

    dry = invoke("run", str(config), "--dry-run")
    assert f"{VICTIM} [uk]: restore 1 damaged or missing file(s)" in dry.stdout
    result = invoke("run", str(config))
    assert result.exit_code == 0, result.stderr
    warnings = [
        line for line in result.stderr.splitlines() if "WARNING" in line and "writing it again" in line
    ]
    assert len(warnings) == 1 and str(edited) in warnings[0] and "sha256 differs" in warnings[0]
    assert edited.read_bytes() == original
    assert (job_dir / VICTIM / "uk" / "narration.mp3").read_bytes() == audio  # not re-narrated
    record = json.loads((job_dir / VICTIM / "uk" / "article.json").read_text("utf-8"))
    assert record["narration"]["status"] == "ok"  # the restored record still describes the audio
    again = invoke("run", str(config))
    assert "0 to do" in again.stderr and "writing it again" not in again.stderr


def test_every_item_restored_counts_as_done(write_config: WriteConfig, articles: Path) -> None:
    """Three items with a damaged file each: two need only their text written again (the audio is
    intact), one its narration; the run has three to do and says all three are done."""
    config = write_config(tts={"engine": "espeak-ng"})
    assert invoke("run", str(config)).exit_code == 0
    job_dir = config.parent / "out" / "test"
    first, second = (path.stem for path in SAMPLE_ARTICLES[:2])
    (job_dir / first / "sq" / "article.txt").write_text("An editor's correction.\n", "utf-8")
    (job_dir / second / "uk" / "article.txt").unlink()
    (job_dir / second / "sq" / "narration.mp3").unlink()

    result = invoke("run", str(config))
    assert result.exit_code == 0, result.stderr
    assert ": 3 to do, " in result.stderr
    assert ": 3 done, 0 failed, " in result.stderr, result.stderr
    with sqlite3.connect(job_dir / STATE_FILE) as db:
        last = db.execute("SELECT todo, done, failed FROM runs ORDER BY id DESC LIMIT 1").fetchone()
    assert last == (3, 3, 0)


def test_a_hand_edit_that_keeps_the_file_s_size_is_restored_too(
    write_config: WriteConfig, articles: Path
) -> None:
    config = write_config()
    assert invoke("run", str(config)).exit_code == 0
    edited = config.parent / "out" / "test" / VICTIM / "sq" / "article.txt"
    original, written = edited.read_bytes(), edited.stat().st_mtime_ns
    damaged = bytearray(original)
    at = next(i for i, byte in enumerate(damaged) if chr(byte).isalpha())
    damaged[at] = ord("X" if chr(damaged[at]) != "X" else "Y")  # one letter: the same size
    edited.write_bytes(bytes(damaged))
    os.utime(edited, ns=(written + 10**9, written + 10**9))  # saved a second later, as an editor would

    result = invoke("run", str(config))
    assert result.exit_code == 0, result.stderr
    assert f"{edited}: changed since it was written (sha256 differs)" in result.stderr
    assert edited.read_bytes() == original


def test_a_damaged_narration_is_made_again_from_the_segment_cache(
    write_config: WriteConfig, articles: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pipeline.tts.espeak import EspeakEngine

    config = write_config(tts={"engine": "espeak-ng"})
    assert invoke("run", str(config)).exit_code == 0
    audio = config.parent / "out" / "test" / VICTIM / "sq" / "narration.mp3"
    original = audio.read_bytes()
    audio.write_bytes(original[: len(original) // 2])
    monkeypatch.setattr(EspeakEngine, "synthesize", boom)  # every segment is cached

    result = invoke("run", str(config))
    assert result.exit_code == 0, result.stderr
    assert str(audio) in result.stderr and "sha256 differs" in result.stderr
    assert audio.read_bytes() == original


def test_an_empty_state_file_is_reported(write_config: WriteConfig, articles: Path) -> None:
    config = write_config()
    state = config.parent / "out" / "test" / "state.sqlite"
    state.parent.mkdir(parents=True)
    state.write_bytes(b"")
    result = invoke("run", str(config))
    assert result.exit_code == 0, result.stderr
    assert f"state file {state} is empty (0 bytes" in result.stderr


def test_a_malformed_state_file_says_move_it_aside(write_config: WriteConfig, articles: Path) -> None:
    config = write_config()
    assert invoke("run", str(config)).exit_code == 0
    state = config.parent / "out" / "test" / "state.sqlite"
    with sqlite3.connect(state) as db:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        page_size = db.execute("PRAGMA page_size").fetchone()[0]
    data = bytearray(state.read_bytes())
    data[page_size : 4 * page_size] = b"\xa5" * (3 * page_size)  # the schema's tables, overwritten
    state.write_bytes(bytes(data))

    for command in ("run", "status"):
        result = invoke(command, str(config))
        assert result.exit_code == 2, (command, result.stderr)
        lines = error_lines(result.stderr)
        assert len(lines) == 1 and "malformed" in lines[0] and "move it aside" in lines[0], result.stderr


def test_an_output_dir_that_is_a_file_is_refused_before_any_work(
    write_config: WriteConfig, articles: Path
) -> None:
    (articles.parent / "out").write_text("not a folder\n", "utf-8")
    config = write_config()
    for command in ("validate", "run"):
        result = invoke(command, str(config))
        assert result.exit_code == 2, result.stderr
        assert error_lines(result.stderr) == [
            f"error: {config}: output_dir: {articles.parent / 'out' / 'test'}: "
            f"{articles.parent / 'out'} is a file, not a folder"
        ]
        assert "Traceback" not in result.stderr


def test_a_log_file_in_an_unusable_place_is_refused(write_config: WriteConfig, articles: Path) -> None:
    config = write_config()
    result = invoke("run", str(config), "--log-file", str(config / "run.log"))
    assert result.exit_code == 2
    assert error_lines(result.stderr) == [f"error: --log-file: {config}: {config} is a file, not a folder"]


@needs_read_only_mount
def test_a_read_only_output_dir_is_one_line_and_exit_2(write_config: WriteConfig, articles: Path) -> None:
    """As root no permission bit stops a write, so the folder is a read-only mount in a namespace."""
    config = write_config()
    out = config.parent / "out"
    out.mkdir()
    script = f'mount -t tmpfs -o ro tmpfs "{out}" && exec "$0" -m pipeline "$@"'
    for command in ("validate", "run"):
        done = subprocess.run(
            ["unshare", "-rm", "sh", "-c", script, sys.executable, command, str(config)],
            capture_output=True,
            text=True,
            cwd=REPO,
            timeout=120,
        )
        assert done.returncode == 2, done.stderr
        lines = [line for line in done.stderr.splitlines() if line.strip()]
        assert len(lines) == 1 and re.search(r"cannot write in .*out \(read-only file system\)", lines[0])


@pytest.fixture
def narrated_job(write_config: WriteConfig, articles: Path) -> Path:
    return write_config(tts={"engine": "espeak-ng", "concurrency": 1, "pause": 0.2})


@pytest.mark.slow
def test_sigterm_during_narration_stops_queued_speech_at_once(narrated_job: Path, tmp_path: Path) -> None:
    from .test_crash_recovery import calls, finish, recorded_keys, start, wait_for

    record = tmp_path / "calls.jsonl"
    process = start({"record": str(record), "slow": {"synthesize": 0.5}}, "run", str(narrated_job))
    wait_for(record, "synthesize", 2)
    signalled = time.monotonic()
    process.send_signal(signal.SIGTERM)
    code, stderr = finish(process, timeout=60)
    assert code == 128 + signal.SIGTERM, stderr
    assert time.monotonic() - signalled < 5  # not the 40-odd queued segments x 0.5 s
    assert len(calls(record, "synthesize")) <= 3  # the one in flight, and at most one starting
    assert "Traceback" not in stderr

    first = {tuple(call) for call in calls(record, "synthesize")}  # each ran to its end after the signal
    _, segments = recorded_keys(narrated_job.parent / "out" / "test" / "state.sqlite")
    assert len(segments) == len(first)  # every segment that finished after SIGTERM was recorded...

    second = tmp_path / "second.jsonl"
    code, stderr = finish(start({"record": str(second)}, "run", str(narrated_job)))
    assert code == 0, stderr
    spoken = [tuple(call) for call in calls(second, "synthesize")]
    assert len(spoken) >= 20  # the rest was left for this run...
    assert not first & set(spoken)  # ...and none of what the first run had spoken


@pytest.mark.slow
def test_every_segment_is_recorded_as_it_arrives(narrated_job: Path, tmp_path: Path) -> None:
    from .test_crash_recovery import calls, finish, recorded_keys, start

    first = tmp_path / "first.jsonl"
    spec = {"record": str(first), "slow": {"synthesize": 0.3}, "kill": ["synthesize", 8]}
    code, _ = finish(start(spec, "run", str(narrated_job)))
    assert code == -signal.SIGKILL
    _, segments = recorded_keys(narrated_job.parent / "out" / "test" / "state.sqlite")
    assert len(segments) >= 6  # 7 replies were in before the kill; at most the last one is lost

    second = tmp_path / "second.jsonl"
    code, stderr = finish(start({"record": str(second)}, "run", str(narrated_job)))
    assert code == 0, stderr
    spoken_first = {tuple(c) for c in calls(first, "synthesize")[:6]}
    assert not spoken_first & {tuple(c) for c in calls(second, "synthesize")}
