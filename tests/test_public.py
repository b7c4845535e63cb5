"""The public folder: only what may be served, updated atomically, and retraction of removed articles."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from click.testing import CliRunner, Result

from pipeline.cli import cli
from pipeline.config import load_config
from pipeline.report.manifest import manifest_data, retracted_states
from pipeline.report.public import prune_public, public_files, servable, update_public
from pipeline.state import StateStore

from .conftest import SAMPLE_ARTICLES, WriteConfig
from .requirements import needs_espeak

PUBLIC_NAMES = {"narration.mp3", "transcript.vtt", "article.txt"}
REMOVED = SAMPLE_ARTICLES[1].stem  # the article taken out of the input


def invoke(*args: str) -> Result:
    return CliRunner(mix_stderr=False).invoke(cli, list(args), catch_exceptions=False)


def narrated(write_config: WriteConfig, tiny_models: dict[str, Path], **overrides: Any) -> Path:
    """A job narrated by espeak-ng; its uk voice does not exist, so every uk item fails."""
    return write_config(
        tts={"engine": "espeak-ng", "pause": 0.3},
        languages={
            "sq": {"model": str(tiny_models["sq"])},
            "uk": {"model": str(tiny_models["uk"]), "tts": {"voice": "no-such-voice"}},
        },
        **overrides,
    )


def files_under(folder: Path) -> dict[str, os.stat_result]:
    return {str(p.relative_to(folder)): p.stat() for p in sorted(folder.rglob("*")) if not p.is_dir()}


def manifest(job: Path) -> dict[str, Any]:
    return json.loads((job / "manifest.json").read_text())


def expected_public(job: Path) -> set[str]:
    """Every file the public folder must hold: each ok item's text, and audio and transcript when narrated."""
    wanted = set()
    for item in manifest(job)["items"]:
        if item["status"] == "ok":
            names = PUBLIC_NAMES if "audio" in item["files"] else {"article.txt"}
            wanted |= {f"{item['article_id']}/{item['language']}/{name}" for name in names}
    return wanted


@needs_espeak
def test_the_public_folder_holds_only_what_may_be_served(
    write_config: WriteConfig, articles: Path, tiny_models: dict[str, Path]
) -> None:
    config = narrated(
        write_config,
        tiny_models,
        feeds={"base_url": "https://news.example/audio", "image": "https://news.example/art.png"},
    )
    result = invoke("run", str(config))
    assert result.exit_code == 1, result.stderr  # the uk narrations fail
    job = config.parent / "out" / "test"
    public = job / "public"
    statuses = {(i["language"], i["status"]) for i in manifest(job)["items"]}
    assert statuses == {("sq", "ok"), ("uk", "failed")}

    found = {name for name in files_under(public) if not name.startswith("feeds/")}
    assert found == expected_public(job)
    assert len(found) == 3 * len(SAMPLE_ARTICLES)  # sq: text, audio and transcript; uk: nothing
    assert not list(public.glob("*/uk"))  # a failed item is not served, not even its text
    feeds = [name for name in files_under(public) if name.startswith("feeds/")]
    assert all(name.endswith(".xml") for name in feeds)  # feeds/<lang>.xml, when the feeds write there
    for name in found:
        assert (public / name).read_bytes() == (job / name).read_bytes()  # what the job delivered
    for pattern in ("*.sqlite*", "*.log", "*.lock", ".lock", "manifest.json", "*.json", "index.html", ".*"):
        assert not list(public.rglob(pattern)), pattern


@needs_espeak
def test_an_unchanged_run_rewrites_nothing_in_the_public_folder(
    write_config: WriteConfig, articles: Path, tiny_models: dict[str, Path]
) -> None:
    config = narrated(write_config, tiny_models)
    invoke("run", str(config))
    job = config.parent / "out" / "test"
    before = files_under(job / "public")
    transcripts = {p: p.stat().st_mtime_ns for p in job.glob("*/*/transcript.vtt")}
    assert before and transcripts

    assert invoke("run", str(config)).exit_code == 1  # uk still fails (not retried: a missing voice)
    after = files_under(job / "public")
    assert after.keys() == before.keys()
    for name, info in after.items():  # not replaced, not relinked: ctime changes with either
        old = before[name]
        assert (info.st_ino, info.st_mtime_ns, info.st_ctime_ns) == (
            old.st_ino,
            old.st_mtime_ns,
            old.st_ctime_ns,
        )
    assert {p: p.stat().st_mtime_ns for p in job.glob("*/*/transcript.vtt")} == transcripts

    # A public MP3 replaced by other bytes of the same size is put back by the next run.
    name = next(n for n in before if n.endswith("narration.mp3"))
    served = job / "public" / name
    size = served.stat().st_size
    served.unlink()
    served.write_bytes(b"\0" * size)
    invoke("run", str(config))
    assert served.read_bytes() == (job / name).read_bytes()


def test_an_article_removed_from_the_input_leaves_the_public_folder(
    write_config: WriteConfig, articles: Path
) -> None:
    config = write_config(tts={"engine": "none"})
    assert invoke("run", str(config)).exit_code == 0
    job = config.parent / "out" / "test"
    public = job / "public"
    assert (public / REMOVED / "sq" / "article.txt").is_file()
    (public / REMOVED / "sq" / "notes.json").write_text("{}")  # nothing else is ever served
    (public / REMOVED / "de").mkdir()
    kept = files_under(job / REMOVED)

    (articles / f"{REMOVED}.txt").unlink()
    assert invoke("run", str(config)).exit_code == 0
    assert not (public / REMOVED).exists()
    remaining = {p.stem for p in SAMPLE_ARTICLES} - {REMOVED}
    assert {name.split("/")[0] for name in files_under(public)} == remaining
    assert set(files_under(public)) == expected_public(job)
    assert files_under(job / REMOVED).keys() == kept.keys()  # its outputs stay, for the record

    # The manifest's retracted items, as run.py's finish() makes them (see test_cli_marks_...).
    loaded = load_config(config)
    current = {(i["article_id"], i["language"]) for i in manifest(job)["items"] if i["status"] != "retracted"}
    with_state = StateStore.open(loaded.state_path)
    try:
        retracted = retracted_states(with_state.items(), current)
    finally:
        with_state.close()
    data = manifest_data(loaded, [], [], False, retracted)
    assert [(i["article_id"], i["language"], i["status"]) for i in data["items"]] == [
        (REMOVED, "sq", "retracted"),
        (REMOVED, "uk", "retracted"),
    ]
    assert data["counts"] == {"articles": 1, "items": 2, "ok": 0, "failed": 0, "pending": 0, "retracted": 2}
    for item in data["items"]:
        assert item["files"] == {"text": f"{REMOVED}/{item['language']}/article.txt",
                                 "json": f"{REMOVED}/{item['language']}/article.json"}  # fmt: skip
        assert all((job / path).is_file() for path in item["files"].values())
        assert item["source"].endswith(f"{REMOVED}.txt")
        assert not servable(loaded, item)


def test_cli_marks_a_removed_article_retracted(write_config: WriteConfig, articles: Path) -> None:
    config = write_config(tts={"engine": "none"})
    assert invoke("run", str(config)).exit_code == 0
    (articles / f"{REMOVED}.txt").unlink()
    assert invoke("run", str(config)).exit_code == 0
    job = config.parent / "out" / "test"
    data = manifest(job)
    retracted = [(i["article_id"], i["language"]) for i in data["items"] if i["status"] == "retracted"]
    assert retracted == [(REMOVED, "sq"), (REMOVED, "uk")]
    assert data["counts"]["retracted"] == 2
    assert data["counts"]["ok"] == 2 * (len(SAMPLE_ARTICLES) - 1)
    assert not (job / "public" / REMOVED).exists()


def test_pruning_spares_the_feeds_and_folders_it_did_not_make(
    write_config: WriteConfig, articles: Path
) -> None:
    config = load_config(write_config(tts={"engine": "none"}, publish={"dir": "www"}))
    public = config.public_dir
    for name in ("feeds/sq.xml", "robots.txt", "other-site/index.html", "old/sq/article.txt", ".removed-x/a"):
        (public / name).parent.mkdir(parents=True, exist_ok=True)
        (public / name).write_text("x")
    (public / "empty").mkdir()
    (public / "link").symlink_to(config.job_dir)
    assert prune_public(config, None) == []  # refused folder: nothing touched

    removed = prune_public(config, update_public(config, {"items": []}, {}))
    assert sorted(p.name for p in removed) == [".removed-x", "empty", "link", "old"]
    assert sorted(files_under(public)) == ["feeds/sq.xml", "other-site/index.html", "robots.txt"]


def test_a_public_dir_over_the_jobs_own_files_is_refused(write_config: WriteConfig, articles: Path) -> None:
    for folder in ("out/test", "out", "."):  # known from the config alone: refused before any work
        result = invoke("run", str(write_config(tts={"engine": "none"}, publish={"dir": folder})))
        assert result.exit_code == 2 and "publish.dir:" in result.stderr, result.stderr
    for folder in ("articles",):  # known once the inputs are read: the run goes on without it
        config = write_config(tts={"engine": "none"}, publish={"dir": folder})
        result = invoke("run", str(config))
        assert result.exit_code == 0, result.stderr
        assert "publish.dir" in result.stderr and "is not used" in result.stderr
        job = config.parent / "out" / "test"
        assert len(list(job.glob("*/*/article.txt"))) == 2 * len(SAMPLE_ARTICLES)
        assert len(list(articles.iterdir())) == len(SAMPLE_ARTICLES)
        assert (job / "state.sqlite").is_file() and (job / "logs").is_dir()


def test_only_ok_items_are_servable(write_config: WriteConfig, articles: Path) -> None:
    listed = {"text": "a/sq/article.txt", "json": "a/sq/article.json", "audio": "a/sq/narration.mp3"}
    narration = {"size": 3, "sha256": "0" * 64}
    items = [
        {"article_id": "a", "language": "sq", "status": status, "files": listed, "narration": narration}
        for status in ("ok", "failed", "pending", "retracted")
    ]
    config = load_config(write_config())
    assert [servable(config, item) for item in items] == [True, False, False, False]
    files = public_files(config, {"items": items}, {("a", "sq"): Path("a/sq/transcript.vtt")})
    assert sorted(map(str, files)) == ["a/sq/article.txt", "a/sq/narration.mp3", "a/sq/transcript.vtt"]
