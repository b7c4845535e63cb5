"""The editors' loop at the service level, on a real job (tiny models, a counting tone engine):
a post-edit is published at once and narrated again for its paragraph only, survives nightly
runs, yields to a changed English sentence with a flag, is shared with other articles, and every
refusal (stale key, no key, bad text, unknown ids, a run holding the lock) changes nothing."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from pipeline.cli import cli
from pipeline.config import load_config
from pipeline.editor.service import EditorService
from pipeline.errors import InvalidEdit, JobBusy, KeyRequired, NotFound, StaleKey
from pipeline.lock import JobLock
from pipeline.tts import ENGINES

from .conftest import SAMPLE_ARTICLES, WriteConfig
from .fakes import tone_engine

FIRST = SAMPLE_ARTICLES[0].stem
SECOND = SAMPLE_ARTICLES[1].stem


@pytest.fixture
def spoken(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str]]:
    """Every (voice, text) the ``counting`` engine is asked to speak."""
    calls: list[tuple[str, str]] = []
    monkeypatch.setitem(
        ENGINES, "counting", tone_engine("counting", calls, lambda text: 0.1 + len(text) / 3000)
    )
    return calls


@pytest.fixture
def job(write_config: WriteConfig, tiny_models: dict[str, Path], articles: Path, spoken: list) -> Path:
    """A job run once: sq narrated by the counting engine, uk text only."""
    config = write_config(
        languages={
            "sq": {"model": str(tiny_models["sq"])},
            "uk": {"model": str(tiny_models["uk"]), "tts": {"engine": "none"}},
        },
        tts={"engine": "counting", "pause": 0.2},
    )
    run(config)
    spoken.clear()
    return config


def run(config: Path, *args: str) -> None:
    result = CliRunner(mix_stderr=False).invoke(cli, ["run", str(config), *args], catch_exceptions=False)
    assert result.exit_code == 0, result.stderr


def sentences(view: dict[str, Any]) -> list[dict[str, Any]]:
    return [s for paragraph in view["paragraphs"] for s in paragraph]


def job_dir(config: Path) -> Path:
    return config.parent / "out" / "test"


def test_an_edit_is_published_at_once_and_only_its_paragraph_is_narrated_again(
    job: Path, service: EditorService, spoken: list[tuple[str, str]]
) -> None:
    view = service.article(FIRST, "sq")
    assert view["audio"] == "ready"
    assert view["time"] == {"iso": FIRST[:10], "text": FIRST[:10]}  # a date alone: no time shown
    chapters = view["chapters"]
    target = sentences(view)[2]  # in the second paragraph (block 0 is the title)
    after = service.save_edit(FIRST, "sq", target["index"], "  Teksti i  redaktorit. ", "Ana", target["key"])

    edited = sentences(after)[2]
    assert (edited["edit"], edited["text"], edited["edited_by"]) == (
        "Teksti i redaktorit.",
        "Teksti i redaktorit.",
        "Ana",
    )
    assert edited["machine"] == target["machine"] and edited["key"] != target["key"]
    assert [h["action"] for h in edited["history"]] == ["saved"]
    folder = job_dir(job) / FIRST / "sq"
    assert "Teksti i redaktorit." in (folder / "article.txt").read_text()
    record = json.loads((folder / "article.json").read_text())
    raw = [s for p in record["paragraphs"] for s in p["sentences"]][2]
    assert raw["target"] == "Teksti i redaktorit." and raw["machine"] == target["machine"]
    assert raw["edit"]["editor"] == "Ana" and record["edited"] == 1
    manifest = json.loads((job_dir(job) / "manifest.json").read_text())
    item = next(i for i in manifest["items"] if (i["article_id"], i["language"]) == (FIRST, "sq"))
    assert item["edited"] == 1
    assert "edited by Ana" in (job_dir(job) / FIRST / "index.html").read_text()  # the static page too

    assert service.background is not None and service.background.wait_idle(60)
    done = service.article(FIRST, "sq")
    assert done["audio"] == "ready" and done["audio_version"] != view["audio_version"]
    assert len(spoken) == 1 and "Teksti i redaktorit." in spoken[0][1]  # that paragraph only
    assert done["chapters"][0]["title"] == chapters[0]["title"]
    assert len(done["chapters"]) == len(chapters)
    assert [c["block"] for c in done["chapters"]] == [c["block"] for c in chapters]


def test_nightly_runs_keep_an_edit_and_a_changed_english_sentence_is_flagged(
    job: Path, service: EditorService, articles: Path
) -> None:
    target = sentences(service.article(FIRST, "sq"))[2]
    service.save_edit(FIRST, "sq", 2, "Teksti i redaktorit.", "Ana", target["key"])
    assert service.background is not None and service.background.wait_idle(60)
    text = job_dir(job) / FIRST / "sq" / "article.txt"
    mp3 = text.with_name("narration.mp3")
    before = (text.stat().st_mtime_ns, mp3.stat().st_mtime_ns)

    run(job)  # the English is unchanged: the edit stays, nothing is rewritten, not even the narration
    assert "Teksti i redaktorit." in text.read_text()
    assert (text.stat().st_mtime_ns, mp3.stat().st_mtime_ns) == before

    source = articles / SAMPLE_ARTICLES[0].name
    source.write_text(source.read_text().replace(target["source"], target["source"].replace(".", " today.")))
    run(job)
    changed = sentences(service.article(FIRST, "sq"))
    assert "Teksti i redaktorit." not in text.read_text()
    heir = next(s for s in changed if s["source"] == target["source"].replace(".", " today."))
    assert heir["edit"] is None and heir["text"] == heir["machine"]
    flag = next(f for f in heir["flags"] if f["type"] == "source_changed_after_edit")
    assert "Teksti i redaktorit." in flag["detail"] and target["source"] in flag["detail"]
    assert [(h["text"], h["action"]) for h in heir["history"]] == [("Teksti i redaktorit.", "saved")]

    again = service.save_edit(FIRST, "sq", heir["index"], "Teksti i ri.", "Ana", heir["key"])
    fixed = sentences(again)[heir["index"]]
    assert fixed["edit"] == "Teksti i ri." and not any(
        f["type"] == "source_changed_after_edit" for f in fixed["flags"]
    )
    assert [h["action"] for h in fixed["history"]] == ["saved", "superseded", "saved"]


def test_an_edit_is_shared_with_the_same_sentence_elsewhere_and_can_be_dropped(
    job: Path, service: EditorService, articles: Path
) -> None:
    target = sentences(service.article(FIRST, "sq"))[2]
    (articles / "shared.txt").write_text(f"date 2024-03-20\n\nA title.\n\n{target['source']}\n")
    run(job)
    service.save_edit(FIRST, "sq", 2, "Teksti i redaktorit.", "Ana", target["key"])
    assert service.background is not None and service.background.wait_idle(60)
    run(job)
    borrowed = next(s for s in sentences(service.article("shared", "sq")) if s["source"] == target["source"])
    assert borrowed["text"] == "Teksti i redaktorit." and borrowed["edit_from"] == FIRST
    assert [f["type"] for f in borrowed["flags"]] == ["from_edit"]

    current = sentences(service.article(FIRST, "sq"))[2]
    view = service.drop_edit(FIRST, "sq", 2, current["key"], editor="Ben")
    assert sentences(view)[2]["edit"] is None and sentences(view)[2]["text"] == target["machine"]
    assert [h["action"] for h in sentences(view)[2]["history"]] == ["saved", "dropped"]
    with pytest.raises(NotFound, match="no edit to drop"):
        service.drop_edit(FIRST, "sq", 2, sentences(view)[2]["key"])


def test_a_sentence_without_an_edit_of_its_own_takes_the_newest_edit_made_elsewhere(
    job: Path, service: EditorService, articles: Path
) -> None:
    source = sentences(service.article(FIRST, "sq"))[2]["source"]
    for name in ("again", "third"):
        (articles / f"{name}.txt").write_text(f"date 2024-03-20\n\nA title.\n\n{source}\n")
    run(job)
    for article_id, text in ((FIRST, "E para."), ("again", "E dyta, më e reja.")):
        target = next(s for s in sentences(service.article(article_id, "sq")) if s["source"] == source)
        service.save_edit(article_id, "sq", target["index"], text, "Ana", target["key"])
    assert service.background is not None and service.background.wait_idle(60)
    run(job)  # the nightly run shares edits: the newest one wins
    borrowed = next(s for s in sentences(service.article("third", "sq")) if s["source"] == source)
    assert (borrowed["text"], borrowed["edit_from"]) == ("E dyta, më e reja.", "again")
    assert "E dyta, më e reja." in (job_dir(job) / "third" / "sq" / "article.txt").read_text("utf-8")


def test_refused_changes_change_nothing(job: Path, service: EditorService) -> None:
    target = sentences(service.article(FIRST, "sq"))[2]
    text = job_dir(job) / FIRST / "sq" / "article.txt"
    before = text.read_bytes()
    cases = [
        (StaleKey, dict(if_match="0" * 20)),
        (KeyRequired, dict(if_match=None)),
        (InvalidEdit, dict(text="   ")),
        (InvalidEdit, dict(text="x" * 2001)),
        (InvalidEdit, dict(text="a\x00b")),
        (InvalidEdit, dict(editor="")),
        (NotFound, dict(index=10_000)),
        (NotFound, dict(article_id="no-such-article")),
        (NotFound, dict(language="de")),
    ]
    for error, change in cases:
        call: dict[str, Any] = dict(
            article_id=FIRST, language="sq", index=2, text="Tekst.", editor="Ana", if_match=target["key"]
        )
        call.update(change)
        with pytest.raises(error):
            service.save_edit(**call)
    with JobLock(service.config.lock_path), pytest.raises(JobBusy, match="in progress"):
        service.save_edit(FIRST, "sq", 2, "Tekst.", "Ana", target["key"])
    assert text.read_bytes() == before
    assert sentences(service.article(FIRST, "sq"))[2]["key"] == target["key"]


def test_approval_from_the_service_and_an_edit_after_it_needs_review_again(
    job: Path, service: EditorService
) -> None:
    view = service.review(
        FIRST, "sq", "approved", "Ana", "looks right", service.article(FIRST, "sq")["text_key"]
    )
    assert view["review"] == "approved" and view["review_detail"]["note"] == "looks right"
    target = sentences(view)[2]
    after = service.save_edit(FIRST, "sq", 2, "Teksti i redaktorit.", "Ana", target["key"])
    assert after["review"] == "needs_review"
    with pytest.raises(InvalidEdit):
        service.review(FIRST, "sq", "maybe", "Ana", "", after["text_key"])
    listed = {a["id"]: a for a in service.articles()}
    assert listed[FIRST]["languages"]["sq"]["edited"] == 1
    assert listed[FIRST]["languages"]["uk"]["audio"] == "none"


def test_an_approval_is_of_the_text_the_editor_read(job: Path, service: EditorService) -> None:
    read = service.article(FIRST, "sq")  # A loads the page
    target = sentences(read)[2]
    edited = service.save_edit(FIRST, "sq", 2, "Teksti i Benit.", "Ben", target["key"])  # B saves an edit
    assert edited["text_key"] != read["text_key"]
    assert service.background is not None and service.background.wait_idle(60)  # its narration done
    assert service.article(FIRST, "sq")["text_key"] == edited["text_key"]  # narrating changes no text
    folder = job_dir(job)
    manifest = (folder / "manifest.json").read_bytes()
    public = {p: p.read_bytes() for p in sorted((folder / "public").rglob("*")) if p.is_file()}
    for stale, error in ((read["text_key"], StaleKey), (None, KeyRequired), ("", KeyRequired)):
        for status in ("approved", "rejected"):
            with pytest.raises(error):  # A approves what A read
                service.review(FIRST, "sq", status, "Ana", "", stale)
    assert (folder / "manifest.json").read_bytes() == manifest
    assert {p: p.read_bytes() for p in sorted((folder / "public").rglob("*")) if p.is_file()} == public
    assert service.article(FIRST, "sq")["review_detail"] is None  # nothing recorded
    with pytest.raises(StaleKey, match="changed since it was read"):
        service.review(FIRST, "sq", "approved", "Ana", "", read["text_key"])

    view = service.review(FIRST, "sq", "approved", "Ana", "", edited["text_key"])  # A reloads, approves
    assert view["review"] == "approved" and view["text_key"] == edited["text_key"]
    dropped = service.drop_edit(FIRST, "sq", 2, sentences(view)[2]["key"], "Ben")
    assert dropped["text_key"] == read["text_key"] != edited["text_key"]  # the machine's text again
    assert service.review(FIRST, "sq", "rejected", "Ana", "", dropped["text_key"])["review"] == "rejected"


def test_edits_and_approved_articles_go_out_as_tmx_and_come_back_in_as_edits(
    job: Path, service: EditorService, tmp_path: Path
) -> None:
    from pipeline.interchange.tmx import read_tmx

    target = sentences(service.article(FIRST, "sq"))[2]
    service.save_edit(FIRST, "sq", 2, "Teksti i redaktorit.", "Ana", target["key"])
    service.review(SECOND, "sq", "approved", "Ben", "", service.article(SECOND, "sq")["text_key"])
    assert service.background is not None and service.background.wait_idle(60)
    tmx = tmp_path / "sq.tmx"
    result = CliRunner(mix_stderr=False).invoke(
        cli, ["export-tm", str(job), "--lang", "sq", "--out", str(tmx)], catch_exceptions=False
    )
    assert result.exit_code == 0, result.stderr
    units = {unit.source: unit for unit in read_tmx(tmx, "en", "sq")}
    approved = sentences(service.article(SECOND, "sq"))
    assert len(units) == len({s["source"] for s in approved if s["source"].strip()}) + 1
    assert (
        units[target["source"]].target == "Teksti i redaktorit." and units[target["source"]].editor == "Ana"
    )
    assert units[target["source"]].status == "edited" and units[approved[0]["source"]].status == "approved"
    assert units[approved[0]["source"]].editor == "Ben"

    # OmegaT's translation of another sentence comes back as an edit of every article that has it
    other = sentences(service.article(SECOND, "sq"))[1]
    omegat = tmp_path / "omegat.tmx"
    omegat.write_text(
        '<?xml version="1.0" encoding="UTF-8"?>\n<tmx version="1.4"><header creationtool="OmegaT" '
        'o-tmf="OmegaT TMX" adminlang="EN-US" datatype="plaintext" segtype="sentence" srclang="EN-US"/>'
        f'<body><tu><tuv xml:lang="EN-US"><seg>{other["source"]}</seg></tuv>'
        '<tuv xml:lang="SQ" changeid="dora" changedate="20261129T101500Z"><seg>Nga OmegaT.</seg></tuv></tu>'
        "</body></tmx>",
        "utf-8",
    )
    result = CliRunner(mix_stderr=False).invoke(
        cli, ["import-tm", str(job), str(omegat), "--lang", "sq"], catch_exceptions=False
    )
    assert result.exit_code == 0, result.stderr
    assert "1 sentences of the job post-edited" in result.stdout
    imported = sentences(service.article(SECOND, "sq"))[1]
    assert (imported["edit"], imported["edited_by"]) == ("Nga OmegaT.", "dora")
    assert "Nga OmegaT." in (job_dir(job) / SECOND / "sq" / "article.txt").read_text()
    assert service.article(SECOND, "sq")["audio"] == "ready"  # narrated by the import itself


def test_status_tells_the_apps_runs_from_the_nightly_ones(job: Path, service: EditorService) -> None:
    target = sentences(service.article(FIRST, "sq"))[2]
    service.save_edit(FIRST, "sq", 2, "Teksti i redaktorit.", "Ana", target["key"])
    assert service.background is not None and service.background.wait_idle(60)
    result = CliRunner(mix_stderr=False).invoke(cli, ["status", str(job), "--json"], catch_exceptions=False)
    data = json.loads(result.stdout)
    assert [run["origin"] for run in data["runs"]] == ["serve", "serve", "run"]  # text, then narration
    assert data["last_exit_code"] == 0  # the nightly run's, not the app's (which has none)
    text = CliRunner(mix_stderr=False).invoke(cli, ["status", str(job)], catch_exceptions=False).stdout
    assert "[serve]" in text


def test_pipeline_run_finishes_a_narration_the_app_left_pending(
    job: Path, spoken: list[tuple[str, str]]
) -> None:
    service = EditorService(load_config(job), background=False)  # as if the app stopped at once
    target = sentences(service.article(FIRST, "sq"))[2]
    assert (
        service.save_edit(FIRST, "sq", 2, "Teksti i redaktorit.", "Ana", target["key"])["audio"] == "pending"
    )
    assert spoken == []
    run(job)
    assert service.article(FIRST, "sq")["audio"] == "ready"
    assert len(spoken) == 1 and "Teksti i redaktorit." in spoken[0][1]


def test_the_app_takes_up_a_narration_left_pending_when_it_starts(
    job: Path, spoken: list[tuple[str, str]]
) -> None:
    stopped = EditorService(load_config(job), background=False)  # an app stopped before narrating
    target = sentences(stopped.article(FIRST, "sq"))[2]
    stopped.save_edit(FIRST, "sq", 2, "Teksti i redaktorit.", "Ana", target["key"])
    restarted = EditorService(load_config(job))
    try:
        assert restarted.background is not None and restarted.background.wait_idle(60)
        assert restarted.article(FIRST, "sq")["audio"] == "ready"
        assert len(spoken) == 1 and "Teksti i redaktorit." in spoken[0][1]
    finally:
        restarted.close()


def test_only_a_nightly_run_prunes_the_caches(
    job: Path, service: EditorService, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pipeline.executor import run as run_module
    from pipeline.state import StateStore

    pruned: list[str] = []
    real = StateStore.prune
    monkeypatch.setattr(StateStore, "prune", lambda self, days: pruned.append("state") or real(self, days))
    monkeypatch.setattr(run_module, "prune_conversions", lambda *args: pruned.append("conversions") or [])
    sentence = sentences(service.article(FIRST, "sq"))[1]
    service.save_edit(FIRST, "sq", sentence["index"], "Teksti i redaktorit.", "ana", sentence["key"])
    service.close()  # the background narration has run by now
    assert pruned == []  # an editor's change does the work of that change, no nightly chores
    run(job)
    assert pruned == ["state", "conversions"]


def test_the_index_counts_flags_not_flagged_sentences(job: Path, service: EditorService) -> None:
    """The API's ``flags`` (as the README describes it): every flag raised, a sentence may carry
    several; ``edited``: the sentences edited."""
    target = sentences(service.article(FIRST, "sq"))[2]
    service.save_edit(FIRST, "sq", target["index"], "Teksti i redaktorit.", "Ana", target["key"])
    several = 0
    for summary in service.articles():
        for code, counts in summary["languages"].items():
            view = sentences(service.article(summary["id"], code))
            assert counts["flags"] == sum(len(s["flags"]) for s in view)
            assert counts["edited"] == sum(s["edit"] is not None for s in view)
            several += sum(len(s["flags"]) > 1 for s in view)
    assert several, "no sentence carries two flags: the test cannot tell flags from flagged sentences"
