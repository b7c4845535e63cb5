"""ID3v2.3 tags for a narration: title, artist, album, language, date, disclosure, voice, cover art,
chapters.

Version 2.3, not 2.4: FFmpeg (and the players built on it) reads the size of a CHAP's sub-frames as a
plain integer, which in 2.4 is synchsafe, so a chapter whose title frame is over 127 bytes vanishes.
The CHAP frames are written in time order, where FFmpeg lists them (mutagen would sort them by size).
"""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pipeline.audio.assemble import Chapter

if TYPE_CHECKING:
    from mutagen.id3 import CTOC

# A CTOC's entry count is one byte. Past that, the top-level CTOC lists sub-CTOCs (ID3v2 Chapter Frame
# Addendum 1.0 lets a CTOC's children be CTOCs), each listing at most this many children.
MAX_CHILDREN = 255
HEADER = 10  # bytes of an ID3v2 tag's header
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"  # the cover art is a PNG, else a JPEG (checked at config load)


@dataclass(frozen=True)
class NarrationTags:
    """What a narration's ID3 tag says: title, artist, language, date, disclosure and chapters."""

    title: str
    artist: str
    language: str  # ISO 639-2 (sqi, ukr)
    date: dt.date
    disclosure: str
    chapters: tuple[Chapter, ...]
    album: str = ""  # TALB: the show's title
    voice: str = ""  # a TXXX "Voice" naming the engine and the voice
    artwork: bytes | None = None  # APIC (front cover): a JPEG or PNG


@dataclass(frozen=True)
class Show:
    """What every narration of a job says of the show: artist, album (the show's title), cover art."""

    artist: str
    album: str
    artwork: bytes | None = None


@dataclass(frozen=True)
class TocEntry:
    """One CTOC to write: its id, its children's ids, and the chapters (numbered from 1) it covers."""

    element_id: str
    children: tuple[str, ...]
    first: int
    last: int

    @property
    def title(self) -> str:
        """What a player shows for a sub-CTOC: "Chapters 1–255", or "Chapter 256" for one."""
        if self.first == self.last:
            return f"Chapter {self.first}"
        return f"Chapters {self.first}\u2013{self.last}"


def chapter_ids(count: int) -> list[str]:
    """The CHAP element ids, in order: chp0, chp1, ..."""
    return [f"chp{index}" for index in range(count)]


def toc_entries(count: int) -> list[TocEntry]:
    """The CTOCs for ``count`` chapters: the top-level "toc" first, then sub-CTOCs toc1, toc2, ...

    Up to ``MAX_CHILDREN`` chapters, "toc" lists them all. Otherwise chapters are grouped into sub-CTOCs
    of at most ``MAX_CHILDREN``, and groups of groups while there are still too many, so every CTOC's
    children stay within a byte and, read depth first, list every chapter once in order.
    """
    level = [
        TocEntry(element_id, (), number, number) for number, element_id in enumerate(chapter_ids(count), 1)
    ]
    subs: list[TocEntry] = []
    while len(level) > MAX_CHILDREN:
        level = group(level, first_number=len(subs) + 1)
        subs.extend(level)
    return [TocEntry("toc", tuple(entry.element_id for entry in level), 1, count), *subs]


def group(entries: list[TocEntry], first_number: int) -> list[TocEntry]:
    """Sub-CTOCs tocN, tocN+1, ... (N = ``first_number``) each listing up to ``MAX_CHILDREN`` entries."""
    chunks = [entries[start : start + MAX_CHILDREN] for start in range(0, len(entries), MAX_CHILDREN)]
    return [
        TocEntry(f"toc{number}", tuple(entry.element_id for entry in chunk), chunk[0].first, chunk[-1].last)
        for number, chunk in enumerate(chunks, first_number)
    ]


def ctoc_frames(count: int) -> list[CTOC]:
    """mutagen CTOC frames for ``count`` chapters (one top-level, ordered; sub-CTOCs ordered)."""
    from mutagen.id3 import CTOC, TIT2, CTOCFlags

    top, *subs = toc_entries(count)
    frames = [
        CTOC(
            element_id=top.element_id,
            flags=CTOCFlags.TOP_LEVEL | CTOCFlags.ORDERED,
            child_element_ids=list(top.children),
            sub_frames=[TIT2(encoding=3, text="Chapters")],
        )
    ]
    for sub in subs:
        frames.append(
            CTOC(
                element_id=sub.element_id,
                flags=CTOCFlags.ORDERED,
                child_element_ids=list(sub.children),
                sub_frames=[TIT2(encoding=3, text=sub.title)],
            )
        )
    return frames


def tag_mp3(data: bytes, tags: NarrationTags) -> bytes:
    """``data`` with an ID3v2.3 tag in front (one CHAP per chapter, in time order, listed by CTOCs:
    see ``toc_entries``)."""
    from mutagen.id3 import APIC, CHAP, COMM, ID3, TALB, TDRC, TIT2, TLAN, TPE1, TXXX, PictureType

    id3 = ID3()
    id3.add(TIT2(encoding=3, text=tags.title))
    id3.add(TPE1(encoding=3, text=tags.artist))
    if tags.album:
        id3.add(TALB(encoding=3, text=tags.album))
    id3.add(TLAN(encoding=3, text=tags.language))
    id3.add(TDRC(encoding=3, text=tags.date.isoformat()))
    id3.add(COMM(encoding=3, lang=tags.language, desc="AI disclosure", text=tags.disclosure))
    if tags.voice:
        id3.add(TXXX(encoding=3, desc="Voice", text=tags.voice))
    for frame in ctoc_frames(len(tags.chapters)):
        id3.add(frame)
    if tags.artwork is not None:
        mime = "image/png" if tags.artwork.startswith(PNG_MAGIC) else "image/jpeg"
        id3.add(APIC(encoding=3, mime=mime, type=PictureType.COVER_FRONT, desc="Cover", data=tags.artwork))
    chaps = [
        CHAP(
            element_id=element_id,
            start_time=round(chapter.start * 1000),
            end_time=round(chapter.end * 1000),
            sub_frames=[TIT2(encoding=3, text=chapter.title)],
        )
        for element_id, chapter in zip(chapter_ids(len(tags.chapters)), tags.chapters, strict=True)
    ]
    body = _frames(id3) + b"".join(_frames(_one(chap)) for chap in chaps)
    return b"ID3\x03\x00\x00" + _synchsafe(len(body)) + body + data


def _one(frame: Any) -> Any:
    from mutagen.id3 import ID3

    id3 = ID3()
    id3.add(frame)
    return id3


def _frames(id3: Any) -> bytes:
    """The frames of ``id3`` as an ID3v2.3 tag holds them (mutagen's order), without the header."""
    buffer = io.BytesIO()
    id3.save(buffer, v2_version=3, padding=lambda info: 0)
    return buffer.getvalue()[HEADER:]


def _synchsafe(size: int) -> bytes:
    return bytes((size >> shift) & 0x7F for shift in (21, 14, 7, 0))
