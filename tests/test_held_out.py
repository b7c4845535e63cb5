"""A night as the tester made it: a 400-paragraph article among good ones, and a speech endpoint that
truncates, trickles, corrupts and rate-limits at random. Every run ends in bounded time with every
article's text delivered, nothing bad cached, and the transient failures healed by the next run."""

from __future__ import annotations

import io
import json
import random
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from mutagen.id3 import ID3

from pipeline.audio.mp3 import check_audio
from pipeline.cli import cli

from .conftest import WriteConfig
from .fakes import Reply, ScriptedServer, audio_reply, endpoint_reply_b64, http_reply

LONG_ARTICLE = "2024-04-01-long-report"
PARAGRAPHS = 400
TIMEOUT = 1.0


def long_article(folder: Path) -> None:
    paragraphs = [
        f"Section {n} of the council report covers {n * 3} schools and {n + 7} clinics in the region."
        for n in range(1, PARAGRAPHS + 1)
    ]
    text = "date 2024-04-01 This audio is created with AI assistance\n\n" + "\n\n".join(paragraphs) + "\n"
    (folder / f"{LONG_ARTICLE}.txt").write_text(text, "utf-8")


def chaotic_replies(seed: int, count: int = 6000) -> list[Reply | bytes]:
    """What each connection gets, at random: good audio about half the time; otherwise a reply cut
    short, a trickle, bad base64, garbage, a reply without audio, or a 429."""
    rng = random.Random(seed)
    good = audio_reply(0.2)
    faults: list[Reply | bytes] = [
        http_reply(endpoint_reply_b64("AAAA")[:40], length=5000),  # shorter than its Content-Length
        Reply(good, trickle=0.4, trickle_from=20),  # one byte every 0.4 s: cut at the deadline
        http_reply(endpoint_reply_b64("bm90IG1wMw")),  # base64 with bad padding
        http_reply("<html>Service temporarily unavailable</html>"),  # garbage
        http_reply(endpoint_reply_b64("bm90IGFuIG1wMyBhdCBhbGw=")),  # "audio" that is not MP3
        http_reply("", "429 Too Many Requests", {"Retry-After": "0"}),
    ]
    return [good if rng.random() < 0.5 else rng.choice(faults) for _ in range(count)]


def run(config: Path, endpoint: str) -> tuple[int, str, float]:
    started = time.monotonic()
    result = CliRunner(mix_stderr=False).invoke(
        cli, ["run", str(config), "--set", f"tts.gtts.endpoint={endpoint}"], catch_exceptions=False
    )
    return result.exit_code, result.stderr, time.monotonic() - started


@pytest.mark.slow
def test_a_hostile_night_ends_in_bounded_time_and_the_next_run_heals_it(
    write_config: WriteConfig, articles: Path
) -> None:
    long_article(articles)
    config = write_config(
        translation={"beam_size": 1, "max_length": 6, "batch_size": 64, "device": "cpu"},
        tts={
            "engine": "gtts",
            "concurrency": 8,
            "pause": 0.1,
            "gtts": {
                "timeout": TIMEOUT, "min_interval": 0, "backoff": 0.01, "max_backoff": 0.05,
                "max_tries": 3, "give_up_after": 1000,
            },
        },
        state={"max_attempts": 10},
    )  # fmt: skip
    job_dir = config.parent / "out" / "test"

    for night in (1, 2):
        with ScriptedServer(chaotic_replies(seed=night)) as server:
            code, stderr, seconds = run(config, server.url)
            print(f"night {night}: exit {code}, {seconds:.1f} s, {len(server.requests)} requests")
            print("\n".join(line for line in stderr.splitlines() if "ERROR" in line))
        assert code in (0, 1), stderr
        assert "Traceback" not in stderr and "unexpected error" not in stderr, stderr
        assert seconds < 300, f"night {night} took {seconds:.0f} s"
        manifest = json.loads((job_dir / "manifest.json").read_text("utf-8"))
        assert manifest["counts"]["items"] == 8
        for item in manifest["items"]:  # text is delivered whatever the speech endpoint does
            assert "text" in item["files"], item
            if item["status"] == "failed":
                assert item["stage"] == "narration" and item["transient"], item
        assert (job_dir / "index.html").is_file()

    with ScriptedServer([audio_reply(0.2)]) as server:
        code, stderr, _ = run(config, server.url)
        requests_made = len(server.requests)
    assert code == 0, stderr
    manifest = json.loads((job_dir / "manifest.json").read_text("utf-8"))
    assert manifest["counts"]["ok"] == 8
    assert requests_made < 200  # only what failed before; the hundreds of good segments were cached

    for item in manifest["items"]:
        data = (job_dir / item["files"]["audio"]).read_bytes()
        assert check_audio(data) == pytest.approx(item["narration"]["duration"], abs=0.05)
    long_mp3 = (job_dir / LONG_ARTICLE / "sq" / "narration.mp3").read_bytes()
    chapters = ID3(io.BytesIO(long_mp3)).getall("CHAP")
    assert len(chapters) == PARAGRAPHS + 1  # every paragraph and the disclosure
    assert "0 to do, 8 up to date" in run(config, "http://127.0.0.1:9")[1]  # nothing left, no request
