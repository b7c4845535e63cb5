"""Transcripts: one WebVTT cue per spoken sentence, timed from the narration's measured chapters."""

from __future__ import annotations

import html
import itertools
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from mutagen.mp3 import MP3

from pipeline.audio.mp3 import check_audio
from pipeline.cli import cli
from pipeline.config import load_config
from pipeline.report.transcripts import cues, transcript, write_transcripts

from .conftest import WriteConfig
from .requirements import needs_espeak


def invoke(*args: str) -> Result:
    return CliRunner(mix_stderr=False).invoke(cli, list(args), catch_exceptions=False)


# ---------------------------------------------------------------------------------------------
# A strict WebVTT reader: what the WebVTT spec requires of a file with plain-text cues.

TIMESTAMP = r"(?:(\d{2,}):)?([0-5]\d):([0-5]\d)\.(\d{3})"
TIMING = re.compile(rf"^{TIMESTAMP} --> {TIMESTAMP}(?: [^\n]*)?$")
ENTITY = re.compile(r"&(?:amp|lt|gt|nbsp|lrm|rlm);")


@dataclass(frozen=True)
class ParsedCue:
    start: float
    end: float
    text: str


def _seconds(hours: str | None, minutes: str, seconds: str, millis: str) -> float:
    return int(hours or 0) * 3600 + int(minutes) * 60 + int(seconds) + int(millis) / 1000


def parse_webvtt(data: bytes) -> list[ParsedCue]:
    """The cues of a WebVTT file; AssertionError on anything the spec does not allow."""
    text = data.decode("utf-8")  # WebVTT is UTF-8
    assert not text.startswith("\ufeff"), "no byte-order mark wanted"
    assert "\r" not in text and "\0" not in text
    assert text.endswith("\n")
    blocks = text.rstrip("\n").split("\n\n")
    assert re.fullmatch(r"WEBVTT(?:[ \t][^\n]*)?", blocks[0]), f"bad header: {blocks[0]!r}"
    parsed = []
    for block in blocks[1:]:
        lines = block.split("\n")
        assert all(lines), f"blank line inside a block: {block!r}"
        if "-->" not in lines[0]:  # an identifier
            lines = lines[1:]
        timing = TIMING.match(lines[0])
        assert timing, f"bad timing line: {lines[0]!r}"
        payload = lines[1:]
        assert payload, f"cue without text: {block!r}"
        for line in payload:
            assert "-->" not in line, f"'-->' in cue text: {line!r}"
            assert "<" not in line, f"markup in cue text: {line!r}"
            assert "&" not in ENTITY.sub("", line), f"bare '&' in cue text: {line!r}"
        groups = timing.groups()
        parsed.append(
            ParsedCue(_seconds(*groups[:4]), _seconds(*groups[4:]), html.unescape("\n".join(payload)))
        )
    return parsed


def test_the_strict_reader_rejects_what_webvtt_forbids() -> None:
    good = b"WEBVTT\n\n00:00:00.000 --> 00:00:01.500\nHello &amp; bye\n"
    assert parse_webvtt(good) == [ParsedCue(0.0, 1.5, "Hello & bye")]
    for bad in (
        b"WEBVTT\n00:00:00.000 --> 00:00:01.500\nx\n",  # no blank line after the header
        b"WEBVT\n\n00:00:00.000 --> 00:00:01.500\nx\n",
        b"WEBVTT\n\n00:00:00,000 --> 00:00:01.500\nx\n",  # SRT's comma
        b"WEBVTT\n\n00:00:00.000 --> 00:00:61.000\nx\n",
        b"WEBVTT\n\n00:00:00.000 --> 00:00:01.500\na --> b\n",
        b"WEBVTT\n\n00:00:00.000 --> 00:00:01.500\na <b> & c\n",
        b"WEBVTT\n\n00:00:00.000 --> 00:00:01.500\n",
    ):
        with pytest.raises(AssertionError):
            parse_webvtt(bad)


# ---------------------------------------------------------------------------------------------
# The rule, on a record made by hand


def record(**narration: Any) -> dict[str, Any]:
    return {
        "source": {"path": "a.txt"},
        "disclosure": "Made with AI.",
        "paragraphs": [
            {"kind": "title", "sentences": [{"source": "T", "target": "Title"}]},
            {"kind": "paragraph", "sentences": []},
            {
                "kind": "paragraph",
                "sentences": [
                    {"source": "a", "target": "Short one."},  # 10 characters
                    {"source": "b", "target": ""},  # not spoken: no cue
                    {"source": "c", "target": "A <b> & c --> 30 chars longer!"},  # 30 characters
                ],
            },
        ],
        "narration": {
            "status": "ok",
            "duration": 10.0,
            "chapters": [
                {"title": "Made with AI.", "start": 0.0, "end": 2.0, "block": None},
                {"title": "Title", "start": 2.5, "end": 3.5, "block": 0},
                {"title": "Short…", "start": 4.0, "end": 10.0, "block": 2},
            ],
            **narration,
        },
    }


def test_a_paragraphs_time_is_shared_by_its_sentences_in_proportion_to_their_characters() -> None:
    found = cues(record())
    assert found is not None
    assert [(c.start, c.end, c.text) for c in found] == [
        (0, 2000, "Made with AI."),  # the disclosure: a cue of its own
        (2500, 3500, "Title"),
        (4000, 5500, "Short one."),  # 10 of 40 characters: a quarter of the 6 s chapter
        (5500, 9999, "A <b> & c --> 30 chars longer!"),  # never past the end of the audio
    ]
    vtt = transcript(record())
    assert vtt is not None
    assert parse_webvtt(vtt.encode()) == [ParsedCue(c.start / 1000, c.end / 1000, c.text) for c in found]
    assert "A &lt;b&gt; &amp; c --&gt; 30 chars longer!" in vtt


def test_no_transcript_without_a_matching_narration() -> None:
    assert transcript(record(status="failed")) is None
    assert transcript({**record(), "narration": None}) is None
    broken = record()
    broken["narration"]["chapters"][2]["block"] = 7  # no such paragraph
    assert transcript(broken) is None
    del broken["narration"]["chapters"][2]["block"]  # a record that does not say
    assert transcript(broken) is None


def test_every_sentence_gets_a_cue_of_at_least_a_millisecond() -> None:
    tight = record()
    tight["paragraphs"][2]["sentences"] = [{"source": "", "target": t} for t in ("x" * 500, "y", "z")]
    tight["narration"]["chapters"][2].update(start=4.0, end=4.01)  # 10 ms for three sentences
    found = cues(tight)
    assert found is not None
    spans = [(c.start, c.end) for c in found[2:]]
    assert spans[0][0] == 4000 and spans[-1][1] == 4010
    assert all(start < end for start, end in spans)
    assert all(a[1] == b[0] for a, b in itertools.pairwise(spans))


# ---------------------------------------------------------------------------------------------
# The CLI: real narrations by espeak-ng


def spoken(record: dict[str, Any]) -> list[str]:
    """What a transcript must say, in the narration's order."""
    texts = []
    for chapter in record["narration"]["chapters"]:
        if chapter["block"] is None:
            texts.append(record["disclosure"])
        else:
            texts += [s["target"] for s in record["paragraphs"][chapter["block"]]["sentences"] if s["target"]]
    return [" ".join(text.split()) for text in texts]


@needs_espeak
def test_transcripts_of_real_narrations(write_config: WriteConfig, articles: Path) -> None:
    (articles / "hostile.txt").write_text(
        "date 2024-03-21 note\n\nThe mayor wrote <script>x</script> & left --> away.\n\nA second one.\n",
        "utf-8",
    )
    config = write_config(tts={"engine": "espeak-ng", "pause": 0.4, "disclosure": "end"})
    result = invoke("run", str(config))
    assert result.exit_code == 0, result.stderr
    job = config.parent / "out" / "test"
    manifest = json.loads((job / "manifest.json").read_text())
    assert manifest["counts"]["ok"] == 8
    for item in manifest["items"]:
        folder = job / item["article_id"] / item["language"]
        record = json.loads((folder / "article.json").read_text())
        audio = (folder / "narration.mp3").read_bytes()
        vtt = (folder / "transcript.vtt").read_bytes()
        parsed = parse_webvtt(vtt)
        measured = check_audio(audio)
        assert MP3(folder / "narration.mp3").info.length == pytest.approx(measured, abs=0.03)

        assert [cue.text for cue in parsed] == spoken(record)  # one cue per sentence, in order
        assert parsed[-1].text == record["disclosure"]  # spoken last: tts.disclosure is "end"
        for cue in parsed:
            assert 0 <= cue.start < cue.end <= measured  # inside the audio
        for before, after in itertools.pairwise(parsed):
            assert before.end <= after.start  # in order, never overlapping
        chapters = record["narration"]["chapters"]
        for cue in parsed:  # every cue within the chapter that speaks it
            assert any(c["start"] - 0.001 <= cue.start and cue.end <= c["end"] + 0.001 for c in chapters)

        public = job / "public" / item["article_id"] / item["language"] / "transcript.vtt"
        assert public.read_bytes() == vtt


def test_an_unreadable_article_json_is_skipped(write_config: WriteConfig, articles: Path) -> None:
    config = load_config(write_config())
    job = config.job_dir
    items = []
    for article_id, content in (("good", json.dumps(record())), ("bad", "{ not json")):
        folder = job / article_id / "sq"
        folder.mkdir(parents=True)
        (folder / "article.json").write_text(content, "utf-8")
        (folder / "transcript.vtt").write_text("WEBVTT\n\nan earlier one\n", "utf-8")
        files = {"json": f"{article_id}/sq/article.json"}
        items.append({"article_id": article_id, "language": "sq", "status": "ok", "files": files})
    written = write_transcripts(config, {"items": items})
    assert set(written) == {("good", "sq")}
    assert (job / "good/sq/transcript.vtt").read_text() == transcript(record())
    assert (job / "bad/sq/transcript.vtt").read_text() == "WEBVTT\n\nan earlier one\n"  # left as it was


@needs_espeak
def test_a_transcript_is_made_again_only_when_its_record_or_its_file_changed(
    write_config: WriteConfig, articles: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pipeline.report import transcripts

    config = write_config(tts={"engine": "espeak-ng"})
    assert invoke("run", str(config)).exit_code == 0
    job = load_config(config).job_dir
    read: list[str] = []
    real = transcripts.read_record
    monkeypatch.setattr(transcripts, "read_record", lambda path: read.append(str(path)) or real(path))
    assert invoke("run", str(config)).exit_code == 0
    assert [r for r in read if r.endswith("article.json")] == []  # an unchanged job reads none

    vtt = next(job.glob("*/sq/transcript.vtt"))
    good = vtt.read_text("utf-8")
    vtt.write_text(good.replace("WEBVTT", "WEBVTT\n\nNOTE edited by hand", 1), "utf-8")
    assert invoke("run", str(config)).exit_code == 0
    assert vtt.read_text("utf-8") == good  # restored, from its record
    assert [r for r in read if r.endswith("article.json")] == [str(vtt.parent / "article.json")]
    public = job / "public" / vtt.relative_to(job)
    assert public.read_text("utf-8") == good and public.stat().st_ino == vtt.stat().st_ino
