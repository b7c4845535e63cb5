"""WebVTT transcripts: ``<article-id>/<lang>/transcript.vtt`` beside each narration.

One cue per sentence, timed from the narration's measured chapters in ``article.json``: each
chapter is one spoken segment (a paragraph, or the AI disclosure, ``"block": null``) with its
start and end in the MP3. A paragraph's chapter time is split across its sentences in proportion
to their length in characters (a sentence twice as long gets twice the time); the disclosure is
one cue of its own; the pauses between chapters belong to no cue. Times are whole milliseconds
and never pass the end of the audio.

Written at report time from ``article.json`` alone (no audio is read), when that record or the
transcript changed since it was last written; a file whose content did not change is not rewritten.
"""

from __future__ import annotations

import itertools
import json
import logging
import math
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipeline.config import JobConfig
from pipeline.fsio import write_if_changed
from pipeline.integrity import file_identity, read_record
from pipeline.layout import TRANSCRIPT_FILE

log = logging.getLogger(__name__)

HEADER = "WEBVTT"


@dataclass(frozen=True)
class Cue:
    """One sentence of a transcript: when it is spoken, in whole milliseconds, and its text."""

    start: int
    end: int
    text: str


MADE = ".transcripts.json"  # in the job folder: each transcript as written, and the record it is from

Identity = list[int] | None  # [size, mtime_ns, inode] of a file, None when it is not there


def write_transcripts(
    config: JobConfig, manifest: dict[str, Any], only: Collection[tuple[str, str]] | None = None
) -> dict[tuple[str, str], Path]:
    """Write ``transcript.vtt`` beside the narration of each listed article × language (retracted
    ones are left as they are; with ``only``, those ``(article_id, language)`` pairs alone) and
    return their paths by ``(article_id, language)``.

    A transcript whose ``article.json`` and file are as they were when it was last written (their
    size, time and inode, recorded in ``MADE``) is not made again: an unchanged job reads no
    ``article.json`` for them. An item whose ``article.json`` is unreadable is skipped; one whose
    ``article.json`` says there is no narration loses a transcript left by an earlier run.

    Raises:
        OSError: a transcript cannot be written.
    """
    made = _made(config.job_dir)
    kept: dict[str, list[Identity]] = dict(made) if only is not None else {}
    written = {}
    for item in manifest["items"]:
        relative = item["files"].get("json")
        pair = (item["article_id"], item["language"])
        if item["status"] == "retracted" or not relative or (only is not None and pair not in only):
            continue
        json_path = config.job_dir / relative
        path = transcript_path(json_path)
        key, now = f"{pair[0]}/{pair[1]}", [file_identity(json_path), file_identity(path)]
        if now[0] is not None and made.get(key) == now:  # as it was made: not read again
            kept[key] = now
            if now[1] is not None:
                written[pair] = path
            continue
        record = read_record(json_path)
        if record is None:
            continue
        vtt = transcript(record)
        if vtt is None:
            path.unlink(missing_ok=True)
        else:
            write_if_changed(path, vtt)
            written[pair] = path
        kept[key] = [now[0], file_identity(path)]  # the record was only read
    write_if_changed(config.job_dir / MADE, json.dumps(kept, sort_keys=True))
    return written


def _made(job_dir: Path) -> dict[str, list[Identity]]:
    """What the last run recorded of each transcript ({} when unreadable: all are made again)."""
    record = read_record(job_dir / MADE) or {}
    return {k: v for k, v in record.items() if isinstance(v, list) and len(v) == 2}


def transcript(record: dict[str, Any]) -> str | None:
    """The WebVTT text for an ``article.json`` record, or None when it has no usable narration."""
    found = cues(record)
    if found is None:
        return None
    blocks = [f"{_timestamp(c.start)} --> {_timestamp(c.end)}\n{_escape(c.text)}" for c in found]
    return "\n\n".join([HEADER, *blocks]) + "\n"


def cues(record: dict[str, Any]) -> list[Cue] | None:
    """Each spoken sentence's cue, in order; None when the narration is not ``ok`` or its
    chapters do not match the record's paragraphs (a record of another version, say)."""
    narration = record.get("narration") or {}
    if narration.get("status") != "ok":
        return None
    try:
        limit = round(float(narration["duration"]) * 1000) - 1  # the duration is rounded to 1 ms
        found = [cue for chapter in narration["chapters"] for cue in _chapter_cues(record, chapter, limit)]
    except (AttributeError, KeyError, IndexError, TypeError, ValueError) as exc:
        log.warning("%s: no transcript: the narration record does not match the text (%r)",
                    record.get("source", {}).get("path", "?"), exc)  # fmt: skip
        return None
    return found


def _chapter_cues(record: dict[str, Any], chapter: dict[str, Any], limit: int) -> list[Cue]:
    texts = _chapter_texts(record, chapter["block"])
    spans = _split(round(float(chapter["start"]) * 1000), round(float(chapter["end"]) * 1000), texts)
    return [Cue(min(a, limit), min(b, limit), text) for (a, b), text in zip(spans, texts, strict=True)]


def _chapter_texts(record: dict[str, Any], block: int | None) -> list[str]:
    """What a chapter says, one entry per cue: the disclosure, or its paragraph's sentences."""
    if block is None:
        texts = [_one_line(record["disclosure"])]
    else:
        if not isinstance(block, int) or block < 0:
            raise ValueError(f"chapter block {block!r}")
        texts = [_one_line(sentence["target"]) for sentence in record["paragraphs"][block]["sentences"]]
    return [text for text in texts if text]


def _split(start: int, end: int, texts: list[str]) -> list[tuple[int, int]]:
    """``[start, end)`` cut at each text's share of the characters; every cue at least 1 ms long
    when the chapter is long enough for that."""
    if not texts:
        return []
    total = sum(len(text) for text in texts)
    cuts, done = [start], 0
    for text in texts:
        done += len(text)
        cuts.append(start + math.floor((end - start) * done / total))
    cuts[-1] = end
    if end - start >= len(texts):  # nudge empty cues apart, within the chapter
        for i in range(1, len(cuts) - 1):
            cuts[i] = max(cuts[i], cuts[i - 1] + 1)
        for i in range(len(cuts) - 2, 0, -1):
            cuts[i] = min(cuts[i], cuts[i + 1] - 1)
    return list(itertools.pairwise(cuts))


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def _escape(text: str) -> str:
    """Cue text: ``&``, ``<`` and ``>`` as character references (so ``-->`` cannot end a cue)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _timestamp(milliseconds: int) -> str:
    seconds, ms = divmod(max(milliseconds, 0), 1000)
    minutes, seconds = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours:02d}:{minutes:02d}:{seconds:02d}.{ms:03d}"


def transcript_path(json_path: Path) -> Path:
    """Where the transcript of the narration that ``json_path`` (an ``article.json``) describes goes."""
    return json_path.parent / TRANSCRIPT_FILE


__all__ = ["Cue", "cues", "transcript", "transcript_path", "write_transcripts"]
