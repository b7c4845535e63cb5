"""ID3v2.4 tags for a narration: title, artist, language, date, disclosure, chapters."""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass

from pipeline.audio.assemble import Chapter


@dataclass(frozen=True)
class NarrationTags:
    title: str
    artist: str
    language: str  # ISO 639-2 (sqi, ukr)
    date: dt.date
    disclosure: str
    chapters: tuple[Chapter, ...]


def tag_mp3(data: bytes, tags: NarrationTags) -> bytes:
    """``data`` with an ID3v2.4 tag in front (one CHAP per chapter, listed by a CTOC)."""
    from mutagen.id3 import CHAP, COMM, CTOC, ID3, TDRC, TIT2, TLAN, TPE1, CTOCFlags

    id3 = ID3()
    id3.add(TIT2(encoding=3, text=tags.title))
    id3.add(TPE1(encoding=3, text=tags.artist))
    id3.add(TLAN(encoding=3, text=tags.language))
    id3.add(TDRC(encoding=3, text=tags.date.isoformat()))
    id3.add(COMM(encoding=3, lang=tags.language, desc="AI disclosure", text=tags.disclosure))
    ids = [f"chp{index}" for index in range(len(tags.chapters))]
    id3.add(
        CTOC(
            element_id="toc",
            flags=CTOCFlags.TOP_LEVEL | CTOCFlags.ORDERED,
            child_element_ids=ids,
            sub_frames=[TIT2(encoding=3, text="Chapters")],
        )
    )
    for element_id, chapter in zip(ids, tags.chapters, strict=True):
        id3.add(
            CHAP(
                element_id=element_id,
                start_time=round(chapter.start * 1000),
                end_time=round(chapter.end * 1000),
                sub_frames=[TIT2(encoding=3, text=chapter.title)],
            )
        )
    buffer = io.BytesIO(data)
    id3.save(buffer, v2_version=4, padding=lambda info: 0)
    return buffer.getvalue()
