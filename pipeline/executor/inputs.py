"""Input files unchanged since they were last read are not read or split again.

Each run records, for every article it read, the file's identity on disk (size, modification and
change times, inode: what ``os.stat`` says, as git and rsync compare) and what reading and
splitting it gave. The next run stats each file and takes the recorded article for a file whose
identity is the same, unless the reader or the sentence splitter changed since (``read_version``)
or the file had been changed in the very instant it was read (its times then cannot tell a later
change in that instant: it is read again, as git treats a "racily clean" file). A quiet night thus
reads no article file; one edited article is the only one read.

Records are read before the job's lock, without writing to the state, and written under it.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path

from pipeline.stages.segment import SegmentedArticle
from pipeline.state.input_records import InputRecord, read_input_records
from pipeline.text.article import article_from_record, article_record
from pipeline.text.load import file_article_id
from pipeline.version import __version__

log = logging.getLogger(__name__)

# Raise READ_VERSION when a reader or the sentence splitter changes what it makes.
# 2: publish and update times are read, a Markdown title is one block.
READ_VERSION = 2
RACY_NS = 2_000_000_000  # a file changed this close before it was read is read again next time


def read_version() -> str:
    """What made a recorded article: this tool's version, ``READ_VERSION`` and pysbd's version."""
    import pysbd

    return f"{__version__}/{READ_VERSION}/pysbd {getattr(pysbd, '__version__', '?')}"


Identity = tuple[int, int, int, int]  # size, mtime_ns, ctime_ns, inode


def identity(info: os.stat_result) -> Identity:
    return (info.st_size, info.st_mtime_ns, info.st_ctime_ns, info.st_ino)


@dataclass
class InputFiles:
    """The run's input files: those unchanged since they were read (``known``), and what to record
    of the others once they are read (``stats``, taken before reading them)."""

    known: dict[Path, SegmentedArticle] = field(default_factory=dict)
    stats: dict[Path, Identity] = field(default_factory=dict)
    gone: list[str] = field(default_factory=list)  # recorded files the input no longer matches
    read_ns: int = 0

    @classmethod
    def check(cls, paths: list[Path], state_path: Path, whole: bool = True) -> InputFiles:
        """Stat ``paths`` and find those the state at ``state_path`` recorded as they are now.
        ``whole``: ``paths`` are the whole input (recorded files not among them are ``gone``);
        else they are some of it (an editor's change), and only their records are read."""
        current = {str(path) for path in paths}
        records = read_input_records(state_path, None if whole else current)
        version = read_version()
        gone = [path for path in records if path not in current]
        files = cls(gone=gone, read_ns=time.time_ns())
        for path in paths:
            try:
                now = identity(path.stat())
            except OSError:  # the reader says what is wrong with it
                continue
            record = records.get(str(path))
            article = _unchanged(record, now, version) if record is not None else None
            if article is not None:
                files.known[path] = article
            else:
                files.stats[path] = now
        return files

    def records(self, segmented: Iterable[SegmentedArticle]) -> list[InputRecord]:
        """What to record of the files read afresh this run, as ``segmented`` holds them."""
        version = read_version()
        made = []
        for item in segmented:
            source = item.article.source
            if source in self.known or source not in self.stats:
                continue
            data = {"article": article_record(item.article), "sentences": [list(b) for b in item.sentences]}
            made.append(
                InputRecord(str(source), *self.stats[source], self.read_ns, version,
                            json.dumps(data, ensure_ascii=False))
            )  # fmt: skip
        return made


def _unchanged(record: InputRecord, now: Identity, version: str) -> SegmentedArticle | None:
    """The article ``record`` holds, if the file is as it was read and the record can be trusted."""
    if record.version != version or record.identity != now:
        return None
    if max(record.mtime_ns, record.ctime_ns) > record.read_ns - RACY_NS:
        return None
    try:
        data = json.loads(record.article)
        article = article_from_record(data["article"])
        sentences = tuple(tuple(str(s) for s in block) for block in data["sentences"])
    except (ValueError, KeyError, TypeError) as exc:
        log.debug("%s: the recorded article is unusable (%s); reading the file", record.path, exc)
        return None
    if len(sentences) != len(article.blocks):
        return None
    # the id as read_article gives it (the record holds the one the job gave it)
    return SegmentedArticle(replace(article, id=file_article_id(article.source, article.parts)), sentences)
