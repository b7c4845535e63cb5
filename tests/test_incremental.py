"""Incremental runs in-process: nothing redone that is up to date, only what changed is redone."""

import json
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from pipeline.cli import cli
from pipeline.lock import JobLock
from pipeline.mt.backends import load_translator
from pipeline.tts import ENGINES

from .conftest import SAMPLE_ARTICLES, WriteConfig
from .fakes import tone_engine


class Spy:
    """Counts model loads and records every sentence translated and every text synthesised."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch):
        self.loads: list[str] = []
        self.translated: list[tuple[str, str]] = []
        self.spoken: list[tuple[str, str]] = []
        spy = self

        def load(target, settings, pull_command=None):
            spy.loads.append(target.code)
            translator = load_translator(target, settings, pull_command)
            translate = translator.translate

            def recording(sentences):
                spy.translated.extend((target.code, s) for s in sentences)
                return translate(sentences)

            translator.translate = recording
            return translator

        monkeypatch.setattr("pipeline.stages.translate.load_translator", load)
        monkeypatch.setitem(
            ENGINES, "recorder", tone_engine("recorder", self.spoken, lambda text: 0.1 + len(text) / 2000)
        )

    def reset(self) -> None:
        self.loads.clear()
        self.translated.clear()
        self.spoken.clear()


@pytest.fixture
def spy(monkeypatch: pytest.MonkeyPatch) -> Spy:
    return Spy(monkeypatch)


def invoke(*args: str) -> Result:
    return CliRunner(mix_stderr=False).invoke(cli, list(args), catch_exceptions=False)


def output_files(job_dir: Path) -> dict[Path, tuple[int, bytes]]:
    """Every output under the job folder (not logs, the state or its segment files), with its mtime
    and content."""
    return {
        path: (path.stat().st_mtime_ns, path.read_bytes())
        for path in sorted(job_dir.rglob("*"))
        if path.is_file()
        and "logs" not in path.parts
        and not any(part.startswith("state.sqlite") for part in path.relative_to(job_dir).parts)
        and not path.name.startswith(".")
    }


def config_with_narration(write_config: WriteConfig, **overrides: object) -> Path:
    return write_config(tts={"engine": "recorder", "pause": 0.3}, **overrides)


def test_second_run_of_an_unchanged_job_does_nothing(
    write_config: WriteConfig, articles: Path, spy: Spy
) -> None:
    config = config_with_narration(write_config)
    assert invoke("run", str(config)).exit_code == 0
    assert spy.loads == ["sq", "uk"] and spy.translated and spy.spoken
    job_dir = config.parent / "out/test"
    before = output_files(job_dir)
    # per item: txt, json, mp3, transcript and the public txt, mp3, transcript; a page per article,
    # the manifest and the index
    assert len(before) == 3 * (2 * 7 + 1) + 2

    spy.reset()
    result = invoke("run", str(config))
    assert result.exit_code == 0, result.stderr
    assert (spy.loads, spy.translated, spy.spoken) == ([], [], [])  # no model load, no TTS request
    assert output_files(job_dir) == before  # no file rewritten
    assert "test: 0 to do, 6 up to date" in result.stderr


def test_editing_one_sentence_redoes_that_sentence_and_its_paragraph_only(
    write_config: WriteConfig, articles: Path, spy: Spy, known_translations: Callable[[str, str], str]
) -> None:
    # the known engine gives every sentence its own translation, so exactly the changed paragraph
    # must be spoken again (random models repeat themselves, and may do so differently by CPU)
    config = config_with_narration(
        write_config, translation={"beam_size": 1, "max_length": 256, "device": "cpu"}
    )
    assert invoke("run", str(config)).exit_code == 0
    job_dir = config.parent / "out/test"
    before = output_files(job_dir)
    path = articles / SAMPLE_ARTICLES[1].name
    old_paragraphs = {
        lang: json.loads((job_dir / path.stem / lang / "article.json").read_text())["paragraphs"]
        for lang in ("sq", "uk")
    }
    spoken_before = set(spy.spoken)
    spy.reset()

    old = "Most of them carried grain, sunflower oil and iron ore."
    new = "Their holds were full of wheat from Kherson."
    path.write_text(path.read_text().replace(old, new))
    result = invoke("run", str(config))
    assert result.exit_code == 0, result.stderr
    assert "2 to do, 4 up to date" in result.stderr

    assert sorted(spy.translated) == [("sq", new), ("uk", new)]  # exactly that sentence
    assert spy.loads == ["sq", "uk"]
    for lang in ("sq", "uk"):
        record = json.loads((job_dir / path.stem / lang / "article.json").read_text())
        sentences = record["paragraphs"][1]["sentences"]
        assert known_translations(lang, new) in [s["target"] for s in sentences]
        paragraph = " ".join(s["target"] for s in sentences)
        assert paragraph != " ".join(s["target"] for s in old_paragraphs[lang][1]["sentences"])
        assert (lang, paragraph) not in spoken_before
        assert [text for voice, text in spy.spoken if voice == lang] == [paragraph]  # that paragraph only
    changed = {p for p, v in output_files(job_dir).items() if before.get(p) != v}
    # the job's index shows when the manifest last changed, to the second: it is rewritten unless
    # both runs end within the same second, so it is left out of the comparison
    changed.discard(job_dir / "index.html")
    expected = {job_dir / "manifest.json", job_dir / path.stem / "index.html"}
    for lang in ("sq", "uk"):
        expected |= {
            job_dir / path.stem / lang / name
            for name in ("article.txt", "article.json", "narration.mp3", "transcript.vtt")
        }
        expected |= {
            job_dir / "public" / path.stem / lang / name
            for name in ("article.txt", "narration.mp3", "transcript.vtt")
        }
    assert changed == expected


def test_a_changed_setting_redoes_what_it_affects_and_nothing_else(
    write_config: WriteConfig, articles: Path, spy: Spy, tiny_models: dict
) -> None:
    config = config_with_narration(write_config)
    assert invoke("run", str(config)).exit_code == 0
    job_dir = config.parent / "out/test"

    spy.reset()  # a pause between paragraphs: the MP3s are rebuilt from cached segments
    before = output_files(job_dir)
    assert invoke("run", str(config), "--set", "tts.pause=0.5").exit_code == 0
    assert (spy.loads, spy.translated, spy.spoken) == ([], [], [])
    changed = {p.name for p, v in output_files(job_dir).items() if before.get(p) != v}
    assert changed == {"narration.mp3", "article.json", "transcript.vtt", "manifest.json", "index.html"}

    spy.reset()  # a generation parameter of one language: that language is translated again
    result = invoke("run", str(config), "--set", "tts.pause=0.5", "--set", "languages.uk.lang_token=>>ukr<<")
    assert result.exit_code == 0, result.stderr
    assert spy.loads == ["uk"]
    assert {lang for lang, _ in spy.translated} == {"uk"}

    spy.reset()  # a parameter of every language
    assert invoke("run", str(config), "--set", "tts.pause=0.5", "--set", "languages.uk.lang_token=>>ukr<<",
                  "--set", "translation.max_length=10").exit_code == 0  # fmt: skip
    assert spy.loads == ["sq", "uk"]
    assert len(spy.translated) == 2 * 26  # every sentence of the three articles, in both languages


def test_failed_items_are_retried_up_to_the_limit_then_wait_for_retry_failed(
    write_config: WriteConfig, articles: Path, spy: Spy, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pipeline.errors import SpeechUnavailableError

    def failing(self, text, voice):
        raise SpeechUnavailableError("429 Too Many Requests from the TTS endpoint after 5 tries")

    config = config_with_narration(write_config, state={"max_attempts": 2})
    working = ENGINES["recorder"].synthesize
    monkeypatch.setattr(ENGINES["recorder"], "synthesize", failing)
    first = invoke("run", str(config))
    assert first.exit_code == 1
    assert "6 to do" in first.stderr
    second = invoke("run", str(config))
    assert second.exit_code == 1 and "6 to do" in second.stderr  # transient: tried again
    third = invoke("run", str(config))
    assert third.exit_code == 1
    assert "0 to do, 0 up to date, 6 failed before and not retried" in third.stderr
    assert "narration failed 2 times (last: 429 Too Many Requests" in third.stderr
    spy.reset()
    assert invoke("run", str(config)).exit_code == 1
    assert spy.translated == [] and spy.loads == []  # the text was never redone

    monkeypatch.setattr(ENGINES["recorder"], "synthesize", working)
    retry = invoke("run", str(config), "--retry-failed")
    assert retry.exit_code == 0, retry.stderr
    status = json.loads(invoke("status", str(config), "--json").stdout)
    assert status["failures"] == []
    # the retry finished cleanly; the run before it, with items still failed, says so (exit code 1)
    assert [(r["status"], r["exit_code"]) for r in status["runs"]][:2] == [("finished", 0), ("failed", 1)]
    assert status["runs"][0]["done"] == 6
    assert status["last_exit_code"] == 0


def test_status_shows_runs_and_failures(write_config: WriteConfig, articles: Path, spy: Spy) -> None:
    config = config_with_narration(write_config)
    (articles / "broken.txt").write_bytes(b"")
    assert invoke("run", str(config), "--set", "languages.uk.lang_token=>>xx<<").exit_code == 1
    assert invoke("run", str(config), "--set", "languages.uk.lang_token=>>xx<<").exit_code == 1
    out = invoke("status", str(config)).stdout.splitlines()
    assert out[0] == f"job test: state {config.parent / 'out/test/state.sqlite'}"
    assert out[2].startswith("  #2 ")
    assert out[2].endswith("failed (exit 1): 0 to do, 3 up to date, 0 done, 5 failed")
    assert out[3].startswith("  #1 ")
    assert out[3].endswith("failed (exit 1): 6 to do, 0 up to date, 3 done, 5 failed")
    assert out[4] == "articles: 0 done, 4 failed"  # every article's uk failed, and broken.txt
    assert out[5] == "article-languages: 3 done, 5 failed"  # as the runs count: done or up to date
    assert out[6] == "awaiting review: 3"  # the ok items no editor has approved yet
    assert out[7] == "failed items: 4"  # the unreadable file once, for every language
    assert out[8] == f"  broken [every language] ingest (permanent): {articles / 'broken.txt'}: empty file"
    assert out[9].startswith(
        "  2024-02-28-albania-ukraine-treaty [uk] text (permanent, 1x): languages.uk.lang_token:"
    )


def test_dry_run_lists_the_work_and_writes_nothing(
    write_config: WriteConfig, articles: Path, spy: Spy
) -> None:
    config = config_with_narration(write_config)
    result = invoke("run", str(config), "--dry-run")
    assert result.exit_code == 0
    assert result.stdout.splitlines()[0] == "6 to do, 0 up to date, 0 failed (not retried)"
    assert "  2024-03-12-power-grid [uk]: translate 6 of 6 sentences, narrate" in result.stdout
    assert not (config.parent / "out").exists()
    assert (spy.loads, spy.spoken) == ([], [])


def test_a_second_run_while_one_holds_the_lock_exits_3(write_config: WriteConfig, articles: Path) -> None:
    config = write_config()
    with JobLock(config.parent / "out/test/.lock"):
        result = invoke("run", str(config))
    assert result.exit_code == 3
    assert f"another run of this job is in progress (PID {os.getpid()}" in result.stderr
    assert invoke("run", str(config)).exit_code == 0  # released, never stale


def test_wait_lock_waits_for_the_holder_then_runs(write_config: WriteConfig, articles: Path) -> None:
    config = write_config()
    lock = JobLock(config.parent / "out/test/.lock").__enter__()
    threading.Timer(1.0, lock.__exit__, (None, None, None)).start()  # the holder lets go after 1 s
    started = time.monotonic()
    result = invoke("run", str(config), "--wait-lock", "30")
    assert result.exit_code == 0, result.stderr
    assert time.monotonic() - started >= 1.0
    with JobLock(config.parent / "out/test/.lock"):
        refused = invoke("run", str(config), "--wait-lock", "0.6")
    assert refused.exit_code == 3 and "after waiting 0.6 s" in refused.stderr


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"this is not a database at all" * 100, "the state file is not readable as SQLite"),
        (None, "the state file is a SQLite database of another program"),
    ],
)
def test_a_corrupt_or_foreign_state_file_is_a_clear_error(
    write_config: WriteConfig, articles: Path, content: bytes | None, message: str
) -> None:
    import sqlite3

    config = write_config()
    state = config.parent / "out/test/state.sqlite"
    state.parent.mkdir(parents=True)
    if content is None:
        with sqlite3.connect(state) as db:
            db.execute("CREATE TABLE invoices (id INTEGER)")
    else:
        state.write_bytes(content)
    for command in ("run", "status"):
        result = invoke(command, str(config))
        assert result.exit_code == 2
        assert message in result.stderr and "move it aside" in result.stderr
        assert "Traceback" not in result.stderr
