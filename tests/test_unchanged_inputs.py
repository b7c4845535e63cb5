"""A quiet night reads no article file: an input unchanged since it was read is taken as the state
recorded it; a changed one (content, or the file replaced under the same times) is read again."""

from __future__ import annotations

import os
import sqlite3
from collections import Counter
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from pipeline.cli import cli
from pipeline.executor import inputs as input_files
from pipeline.stages import ingest, segment

from .conftest import SAMPLE_ARTICLES, WriteConfig


class Reads:
    """Counts the files read and the blocks split into sentences."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch):
        self.files: Counter[str] = Counter()
        self.splits = 0
        real_read, real_split = ingest.read_article, segment.split_sentences

        def read(path: Path):  # type: ignore[no-untyped-def]
            self.files[path.name] += 1
            return real_read(path)

        def split(text: str) -> list[str]:
            self.splits += 1
            return real_split(text)

        monkeypatch.setattr(ingest, "read_article", read)
        monkeypatch.setattr(segment, "split_sentences", split)

    def reset(self) -> None:
        self.files.clear()
        self.splits = 0


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> Reads:
    return Reads(monkeypatch)


@pytest.fixture
def settled(monkeypatch: pytest.MonkeyPatch) -> None:
    """Files count as settled at once (no test waits the racy-file interval)."""
    monkeypatch.setattr(input_files, "RACY_NS", 0)


def invoke(*args: str) -> Result:
    return CliRunner(mix_stderr=False).invoke(cli, list(args), catch_exceptions=False)


def test_a_quiet_night_reads_and_splits_no_article(
    write_config: WriteConfig, articles: Path, reads: Reads, settled: None
) -> None:
    config = write_config()
    assert invoke("run", str(config)).exit_code == 0
    assert sum(reads.files.values()) == 3 and reads.splits > 3
    reads.reset()

    again = invoke("run", str(config))
    assert again.exit_code == 0, again.stderr
    assert (sum(reads.files.values()), reads.splits) == (0, 0)
    assert "test: 3 input files, 3 unchanged since they were last read (not read again)" in again.stderr
    assert "0 to do, 6 up to date" in again.stderr


def test_an_edited_article_alone_is_read_again_and_its_change_is_seen(
    write_config: WriteConfig, articles: Path, reads: Reads, settled: None
) -> None:
    config = write_config()
    assert invoke("run", str(config)).exit_code == 0
    path = articles / SAMPLE_ARTICLES[1].name
    path.write_text(path.read_text("utf-8").replace("grain", "wheat", 1), "utf-8")
    reads.reset()

    result = invoke("run", str(config))
    assert result.exit_code == 0, result.stderr
    assert reads.files == Counter({path.name: 1})
    assert "3 input files, 2 unchanged" in result.stderr and "2 to do, 4 up to date" in result.stderr


def test_a_file_replaced_under_the_same_size_and_times_is_read_again(
    write_config: WriteConfig, articles: Path, reads: Reads, settled: None
) -> None:
    config = write_config()
    assert invoke("run", str(config)).exit_code == 0
    path = articles / SAMPLE_ARTICLES[1].name
    before = path.stat()
    text = path.read_text("utf-8")
    assert "grain" in text
    replacement = path.with_name("incoming.tmp")
    replacement.write_text(text.replace("grain", "wheat", 1), "utf-8")  # as long as it was
    os.utime(replacement, ns=(before.st_atime_ns, before.st_mtime_ns))  # cp -p, rsync -t
    os.replace(replacement, path)
    assert (path.stat().st_size, path.stat().st_mtime_ns) == (before.st_size, before.st_mtime_ns)
    reads.reset()

    result = invoke("run", str(config))
    assert result.exit_code == 0, result.stderr
    assert reads.files == Counter({path.name: 1})  # its inode and change time tell
    assert "2 to do, 4 up to date" in result.stderr


def test_a_file_read_in_the_instant_it_was_written_is_read_again(
    write_config: WriteConfig, articles: Path, reads: Reads
) -> None:
    # the files were written just now: a change in the same instant would leave the same times
    config = write_config()
    assert invoke("run", str(config)).exit_code == 0
    reads.reset()
    assert invoke("run", str(config)).exit_code == 0
    assert sum(reads.files.values()) == 3


def test_a_new_reader_version_reads_every_file_again(
    write_config: WriteConfig, articles: Path, reads: Reads, settled: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = write_config()
    assert invoke("run", str(config)).exit_code == 0
    monkeypatch.setattr(input_files, "READ_VERSION", input_files.READ_VERSION + 1)
    reads.reset()
    assert invoke("run", str(config)).exit_code == 0
    assert sum(reads.files.values()) == 3


def test_a_file_gone_from_the_input_is_forgotten(
    write_config: WriteConfig, articles: Path, settled: None
) -> None:
    config = write_config()
    assert invoke("run", str(config)).exit_code == 0
    state = config.parent / "out" / "test" / "state.sqlite"
    (articles / SAMPLE_ARTICLES[0].name).unlink()
    assert invoke("run", str(config)).exit_code == 0
    with sqlite3.connect(state) as db:
        recorded = {Path(path).name for (path,) in db.execute("SELECT path FROM inputs")}
    assert recorded == {p.name for p in SAMPLE_ARTICLES[1:]}
