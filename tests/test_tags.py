"""ID3 chapters for long articles: nested CTOCs (a CTOC lists at most 255 children), read back two ways."""

from __future__ import annotations

import datetime as dt
import io
import json
import subprocess
from pathlib import Path

import pytest
from mutagen.id3 import CHAP, CTOC, ID3, CTOCFlags

from pipeline.audio.assemble import Chapter
from pipeline.audio.tags import NarrationTags, tag_mp3, toc_entries

from .fakes import tone_mp3
from .requirements import needs_ffprobe

STEP = 0.01  # seconds per chapter: 600 chapters fit in 6 s of audio
MOST = 255  # a CTOC's entry count is a single byte


@pytest.fixture(scope="module")
def audio() -> bytes:
    """Real MP3 bytes long enough for every chapter below."""
    return tone_mp3(6.5)


def make_chapters(count: int) -> tuple[Chapter, ...]:
    """``count`` back-to-back chapters, ``STEP`` seconds each, titled by number."""
    return tuple(Chapter(f"Paragraph {i + 1}", i * STEP, (i + 1) * STEP) for i in range(count))


def tagged(audio: bytes, chapters: tuple[Chapter, ...]) -> bytes:
    """``audio`` tagged by ``tag_mp3`` with ``chapters``."""
    tags = NarrationTags(
        title="Long article",
        artist="Test Newsroom",
        language="sqi",
        date=dt.date(2024, 5, 1),
        disclosure="Made with AI.",
        chapters=chapters,
    )
    return tag_mp3(audio, tags)


def chap_ids(count: int) -> list[str]:
    """The CHAP element ids for ``count`` chapters, in order."""
    return [f"chp{i}" for i in range(count)]


def flatten(tocs: dict[str, CTOC], chaps: dict[str, CHAP], element_id: str) -> list[str]:
    """CHAP ids under ``element_id``, depth first in listed order; every child id must resolve."""
    if element_id in chaps:
        return [element_id]
    return [leaf for child in tocs[element_id].child_element_ids for leaf in flatten(tocs, chaps, child)]


def read_tocs(data: bytes) -> tuple[CTOC, dict[str, CTOC], dict[str, CHAP]]:
    """(the one top-level CTOC, CTOCs by id, CHAPs by id) as mutagen reads them back from ``data``."""
    id3 = ID3(io.BytesIO(data))
    tocs = {frame.element_id: frame for frame in id3.getall("CTOC")}
    chaps = {frame.element_id: frame for frame in id3.getall("CHAP")}
    assert not tocs.keys() & chaps.keys()
    (top,) = [toc for toc in tocs.values() if toc.flags & CTOCFlags.TOP_LEVEL]
    return top, tocs, chaps


def assert_chaps_match(chaps: dict[str, CHAP], chapters: tuple[Chapter, ...]) -> None:
    """Every chapter is a CHAP with its own id, times (ms) and title."""
    assert sorted(chaps) == sorted(chap_ids(len(chapters)))
    for element_id, chapter in zip(chap_ids(len(chapters)), chapters, strict=True):
        frame = chaps[element_id]
        assert (frame.start_time, frame.end_time) == (round(chapter.start * 1000), round(chapter.end * 1000))
        assert frame.sub_frames["TIT2"].text == [chapter.title]


def ffprobe_chapters(data: bytes, tmp_path: Path) -> list[dict]:
    """The chapters ffprobe finds in ``data``, by start time.

    FFmpeg ignores CTOCs and lists CHAP frames in file order, which mutagen sets (by frame size), so the
    order is not what is checked here: the CTOC order is, above.
    """
    path = tmp_path / "narration.mp3"
    path.write_bytes(data)
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-show_chapters", "-of", "json", str(path)],
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stderr == ""
    return sorted(json.loads(out.stdout)["chapters"], key=lambda chapter: chapter["start"])


@pytest.mark.parametrize("count", [300, 600])
def test_long_article_gets_nested_ctocs(audio: bytes, count: int) -> None:
    chapters = make_chapters(count)
    top, tocs, chaps = read_tocs(tagged(audio, chapters))
    assert_chaps_match(chaps, chapters)
    assert all(len(toc.child_element_ids) <= MOST for toc in tocs.values())
    groups = -(-count // MOST)
    assert len(tocs) == 1 + groups
    assert top.element_id == "toc" and top.flags & CTOCFlags.ORDERED
    assert len(top.child_element_ids) == groups
    for number, sub_id in enumerate(top.child_element_ids):
        sub = tocs[sub_id]  # the top level lists sub-CTOCs only
        first, last = number * MOST + 1, min((number + 1) * MOST, count)
        assert sub.flags == CTOCFlags.ORDERED
        assert sub.child_element_ids == chap_ids(count)[first - 1 : last]
        assert sub.sub_frames["TIT2"].text == [f"Chapters {first}\u2013{last}"]
    assert flatten(tocs, chaps, top.element_id) == chap_ids(count)


@pytest.mark.parametrize("count", [0, 1, 3, 255])
def test_up_to_255_chapters_keep_one_ctoc(audio: bytes, count: int) -> None:
    chapters = make_chapters(count)
    top, tocs, chaps = read_tocs(tagged(audio, chapters))
    assert_chaps_match(chaps, chapters)
    assert list(tocs) == ["toc"]
    assert top.flags == CTOCFlags.TOP_LEVEL | CTOCFlags.ORDERED
    assert top.child_element_ids == chap_ids(count)
    assert top.sub_frames["TIT2"].text == ["Chapters"]


def test_256_chapters_split_255_and_1(audio: bytes) -> None:
    chapters = make_chapters(256)
    top, tocs, chaps = read_tocs(tagged(audio, chapters))
    assert_chaps_match(chaps, chapters)
    assert [len(tocs[sub].child_element_ids) for sub in top.child_element_ids] == [255, 1]
    assert [tocs[sub].sub_frames["TIT2"].text for sub in top.child_element_ids] == [
        ["Chapters 1\u2013255"],
        ["Chapter 256"],
    ]
    assert flatten(tocs, chaps, "toc") == chap_ids(256)


@pytest.mark.parametrize(("count", "top"), [(255 * 255, 255), (255 * 255 + 1, 2)])
def test_past_255_squared_ctocs_nest_again(count: int, top: int) -> None:
    entries = toc_entries(count)  # not written: mutagen takes ~20 s to read 65 000 CHAPs back
    by_id = {entry.element_id: entry for entry in entries}
    assert len(by_id) == len(entries) and not by_id.keys() & set(chap_ids(count))
    assert all(len(entry.children) <= MOST for entry in entries)
    assert entries[0].element_id == "toc" and len(entries[0].children) == top

    def leaves(element_id: str) -> list[str]:
        entry = by_id.get(element_id)
        return [element_id] if entry is None else [leaf for c in entry.children for leaf in leaves(c)]

    assert leaves("toc") == chap_ids(count)
    if count > 255 * 255:
        assert [by_id[sub].title for sub in entries[0].children] == ["Chapters 1\u201365025", "Chapter 65026"]


@needs_ffprobe
@pytest.mark.parametrize("count", [255, 256, 300, 600])
def test_ffprobe_reads_every_chapter(audio: bytes, count: int, tmp_path: Path) -> None:
    chapters = make_chapters(count)
    found = ffprobe_chapters(tagged(audio, chapters), tmp_path)
    assert len(found) == count
    assert [round(float(c["start_time"]) * 1000) for c in found] == [round(c.start * 1000) for c in chapters]
    assert [round(float(c["end_time"]) * 1000) for c in found] == [round(c.end * 1000) for c in chapters]
    assert [c["tags"]["title"] for c in found] == [c.title for c in chapters]
