"""Editors in the loop: with ``review.require_approval`` only what an editor approved, for the text
as it stands, reaches the public folder and the feeds; ``pipeline approve`` / ``reject`` show at
once; a changed text needs review again. The default publishes every ok item that no editor
rejected."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from click.testing import CliRunner, Result

from pipeline.cli import cli
from pipeline.lock import JobLock
from pipeline.state import StateStore

from .conftest import SAMPLE_ARTICLES, WriteConfig
from .requirements import needs_espeak

GATED = {"require_approval": True}
FEEDS = {"base_url": "https://news.example/audio", "image": "https://news.example/art.png"}
FIRST = SAMPLE_ARTICLES[0].stem  # the article approved
SECOND = SAMPLE_ARTICLES[1].stem


def invoke(*args: str) -> Result:
    return CliRunner(mix_stderr=False).invoke(cli, list(args), catch_exceptions=False)


def job_dir(config: Path) -> Path:
    return config.parent / "out" / "test"


def public(config: Path) -> set[str]:
    folder = job_dir(config) / "public"
    return (
        {str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()} if folder.is_dir() else set()
    )


def reviews(config: Path) -> dict[tuple[str, str], str]:
    manifest = json.loads((job_dir(config) / "manifest.json").read_text())
    return {(i["article_id"], i["language"]): i["review"] for i in manifest["items"]}


def feed_items(config: Path, code: str) -> int:
    feed = job_dir(config) / "public" / "feeds" / f"{code}.xml"
    return feed.read_text().count("<item>") if feed.exists() else 0


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def status_json(config: Path) -> dict[str, Any]:
    result = invoke("status", str(config), "--json")
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def test_by_default_everything_ok_is_public_and_awaits_no_gate(
    write_config: WriteConfig, articles: Path
) -> None:
    config = write_config()
    assert invoke("run", str(config)).exit_code == 0
    texts = {f"{a.stem}/{code}/article.txt" for a in SAMPLE_ARTICLES for code in ("sq", "uk")}
    assert public(config) == texts
    assert set(reviews(config).values()) == {"needs_review"}
    data = status_json(config)
    assert (data["awaiting_review"], data["require_approval"]) == (6, False)
    assert invoke("approve", str(config), SECOND, "--lang", "sq").exit_code == 0
    assert public(config) == texts  # without the gate an approval changes nothing public


def test_reject_withdraws_without_the_gate_until_approved_or_changed(
    write_config: WriteConfig, articles: Path
) -> None:
    config = write_config(feeds=FEEDS)
    assert invoke("run", str(config)).exit_code == 0
    texts = {f"{a.stem}/{code}/article.txt" for a in SAMPLE_ARTICLES for code in ("sq", "uk")}
    assert public(config) == texts
    withdrawn = texts - {f"{FIRST}/sq/article.txt"}

    result = invoke("reject", str(config), FIRST, "--lang", "sq", "--note", "wrong figures")
    assert result.exit_code == 0, result.stderr
    assert f"{FIRST} [sq]: withdrawn from the public folder until it is approved or its text changes" in (
        result.stdout
    )  # no narration in this job, so no feed lists it
    assert public(config) == withdrawn
    assert invoke("run", str(config)).exit_code == 0  # a run keeps it withdrawn
    assert public(config) == withdrawn
    again = invoke("reject", str(config), FIRST, "--lang", "sq")
    assert f"{FIRST} [sq]: not in the public folder (it was not published)" in again.stdout

    result = invoke("approve", str(config), FIRST, "--lang", "sq")
    assert f"{FIRST} [sq]: published in the public folder" in result.stdout
    assert public(config) == texts

    assert invoke("reject", str(config), FIRST, "--lang", "sq").exit_code == 0
    source = articles / SAMPLE_ARTICLES[0].name
    text = source.read_text()
    source.write_text(text.replace(text.split("\n\n")[1], SAMPLE_ARTICLES[2].read_text().split("\n\n")[1]))
    assert invoke("run", str(config)).exit_code == 0  # its text changed: it needs review, and is served
    assert reviews(config)[(FIRST, "sq")] == "needs_review"
    assert public(config) == texts


def test_with_the_gate_only_approved_text_is_public(write_config: WriteConfig, articles: Path) -> None:
    config = write_config(review=GATED)
    assert invoke("run", str(config)).exit_code == 0
    assert public(config) == set()
    data = status_json(config)
    assert (data["awaiting_review"], data["require_approval"]) == (6, True)
    assert "awaiting review: 6 (published only once approved)" in invoke("status", str(config)).stdout

    result = invoke("approve", str(config), FIRST, "--lang", "sq", "--editor", "ed", "--note", "fine")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith(f"{FIRST} [sq]: approved by ed")
    assert public(config) == {f"{FIRST}/sq/article.txt"}  # at once, exactly that one
    assert reviews(config)[(FIRST, "sq")] == "approved"
    assert reviews(config)[(FIRST, "uk")] == "needs_review"
    assert status_json(config)["awaiting_review"] == 5

    assert invoke("run", str(config)).exit_code == 0  # nothing changed: it stays approved and public
    assert public(config) == {f"{FIRST}/sq/article.txt"}

    assert invoke("approve", str(config), SECOND).exit_code == 0  # every language
    assert public(config) == {
        f"{FIRST}/sq/article.txt",
        f"{SECOND}/sq/article.txt",
        f"{SECOND}/uk/article.txt",
    }
    assert invoke("reject", str(config), FIRST, "--note", "no").exit_code == 0
    assert public(config) == {f"{SECOND}/sq/article.txt", f"{SECOND}/uk/article.txt"}
    assert reviews(config)[(FIRST, "sq")] == "rejected"

    state = StateStore.open(job_dir(config) / "state.sqlite")
    history = [(r.article_id, r.language, r.status) for r in state.review_history()]
    state.close()
    assert history == [
        (FIRST, "sq", "approved"), (SECOND, "sq", "approved"), (SECOND, "uk", "approved"),
        (FIRST, "sq", "rejected"), (FIRST, "uk", "rejected"),
    ]  # fmt: skip


def test_an_approved_article_whose_text_changes_needs_review_again(
    write_config: WriteConfig, articles: Path
) -> None:
    config = write_config(review=GATED)
    assert invoke("run", str(config)).exit_code == 0
    assert invoke("approve", str(config), FIRST).exit_code == 0
    assert invoke("approve", str(config), SECOND).exit_code == 0
    assert len(public(config)) == 4

    approved = {code: sha256(job_dir(config) / FIRST / code / "article.txt") for code in ("sq", "uk")}
    source = articles / SAMPLE_ARTICLES[0].name
    text = source.read_text()
    first = text.split("\n\n")[1]  # its first paragraph, one sentence
    other = SAMPLE_ARTICLES[2].read_text().split("\n\n")[1]  # a sentence the tiny models know
    source.write_text(text.replace(first, other))
    assert invoke("run", str(config)).exit_code == 0
    for code in ("sq", "uk"):  # the translation did change
        assert sha256(job_dir(config) / FIRST / code / "article.txt") != approved[code]
    assert reviews(config)[(FIRST, "sq")] == reviews(config)[(FIRST, "uk")] == "needs_review"
    assert reviews(config)[(SECOND, "sq")] == "approved"
    assert public(config) == {f"{SECOND}/sq/article.txt", f"{SECOND}/uk/article.txt"}
    assert status_json(config)["awaiting_review"] == 4


def test_approve_refuses_what_it_cannot_review(write_config: WriteConfig, articles: Path) -> None:
    config = write_config(review=GATED)
    before = invoke("approve", str(config), FIRST)  # no run yet: no manifest
    assert (before.exit_code, len(before.stderr.splitlines())) == (2, 1)
    assert invoke("run", str(config)).exit_code == 0

    unknown = invoke("approve", str(config), "no-such-article")
    assert unknown.exit_code == 2
    assert unknown.stderr.splitlines() == [
        "error: unknown article 'no-such-article': job test has no such article"
    ]
    language = invoke("approve", str(config), FIRST, "--lang", "de")
    assert (language.exit_code, len(language.stderr.splitlines())) == (2, 1)
    assert "has no language 'de'" in language.stderr
    with JobLock(job_dir(config) / ".lock"):
        assert invoke("approve", str(config), FIRST).exit_code == 3
        waited = invoke("approve", str(config), FIRST, "--wait-lock", "0.6")
        assert waited.exit_code == 3 and "after waiting 0.6 s" in waited.stderr
    assert public(config) == set()
    state = StateStore.open(job_dir(config) / "state.sqlite")
    assert state.reviews() == {}
    state.close()


@needs_espeak
def test_the_feed_lists_only_approved_narrations(
    write_config: WriteConfig, articles: Path, tiny_models: dict[str, Path]
) -> None:
    config = write_config(
        review=GATED,
        feeds=FEEDS,
        tts={"engine": "espeak-ng", "pause": 0.3},
        languages={"sq": {"model": str(tiny_models["sq"])}},
    )
    assert invoke("run", str(config)).exit_code == 0
    assert public(config) == {"feeds/sq.xml"}  # a feed from the first run, with no items
    assert feed_items(config, "sq") == 0

    assert invoke("approve", str(config), FIRST).exit_code == 0
    assert feed_items(config, "sq") == 1
    assert public(config) == {
        f"{FIRST}/sq/{name}" for name in ("article.txt", "narration.mp3", "transcript.vtt")
    } | {"feeds/sq.xml"}
    assert invoke("reject", str(config), FIRST).exit_code == 0
    assert feed_items(config, "sq") == 0
    assert public(config) == {"feeds/sq.xml"}  # the feed stays, empty


@needs_espeak
def test_reject_takes_a_narration_out_of_the_feed_without_the_gate(
    write_config: WriteConfig, articles: Path, tiny_models: dict[str, Path]
) -> None:
    config = write_config(
        feeds=FEEDS,
        tts={"engine": "espeak-ng", "pause": 0.3},
        languages={"sq": {"model": str(tiny_models["sq"])}},
    )
    assert invoke("run", str(config)).exit_code == 0
    assert feed_items(config, "sq") == len(SAMPLE_ARTICLES)
    result = invoke("reject", str(config), FIRST, "--lang", "sq", "--note", "wrong figures")
    assert f"{FIRST} [sq]: withdrawn from the public folder and the sq feed" in result.stdout
    assert feed_items(config, "sq") == len(SAMPLE_ARTICLES) - 1
    assert not any(path.startswith(f"{FIRST}/") for path in public(config))


def test_an_approved_article_that_comes_back_needs_approving_again(
    write_config: WriteConfig, articles: Path
) -> None:
    config = write_config(review=GATED)
    assert invoke("run", str(config)).exit_code == 0
    assert invoke("approve", str(config), FIRST).exit_code == 0
    assert invoke("reject", str(config), SECOND, "--lang", "sq").exit_code == 0
    assert public(config) == {f"{FIRST}/sq/article.txt", f"{FIRST}/uk/article.txt"}

    source = articles / SAMPLE_ARTICLES[0].name
    text = source.read_text()
    source.unlink()
    (articles / SAMPLE_ARTICLES[1].name).rename(articles.parent / "elsewhere.txt")  # the rejected one too
    assert invoke("run", str(config)).exit_code == 0
    assert public(config) == set()
    # the run's retraction is in force at once: no editors' change left for the app or a run to apply
    assert status_json(config)["pending_changes"] == []
    source.write_text(text)  # the very same text comes back
    (articles.parent / "elsewhere.txt").rename(articles / SAMPLE_ARTICLES[1].name)
    assert invoke("run", str(config)).exit_code == 0
    assert reviews(config)[(FIRST, "sq")] == reviews(config)[(FIRST, "uk")] == "needs_review"
    assert reviews(config)[(SECOND, "sq")] == "rejected"  # a rejection stands
    assert public(config) == set()
    assert invoke("run", str(config)).exit_code == 0  # nothing more is recorded on later runs
    journal = (job_dir(config) / "editors-journal.jsonl").read_text().splitlines()
    assert sum('"retracted"' in line for line in journal) == 1

    assert invoke("approve", str(config), FIRST, "--lang", "sq").exit_code == 0
    assert public(config) == {f"{FIRST}/sq/article.txt"}
