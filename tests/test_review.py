"""What editors see: the review pages in a real headless browser, the podcast feeds, evaluation."""

import email.utils
import json
import os
from pathlib import Path

import feedparser
import pytest
from click.testing import CliRunner, Result

from pipeline.cli import cli

from .conftest import SAMPLE_ARTICLES, WriteConfig
from .requirements import chromium, needs_chromium, needs_espeak

needs_browser = needs_chromium
HOSTILE = (
    "date 2024-03-21 note\n\nThe mayor wrote <script>alert('x')</script> & left.\n\nA second paragraph.\n"
)


def invoke(*args: str) -> Result:
    return CliRunner(mix_stderr=False).invoke(cli, list(args), catch_exceptions=False)


@pytest.fixture
def narrated_job(write_config: WriteConfig, articles: Path) -> Path:
    (articles / "hostile.txt").write_text(HOSTILE, "utf-8")
    config = write_config(
        tts={"engine": "espeak-ng", "pause": 0.3},
        feeds={
            "base_url": "https://news.example/audio",
            "title": "Night desk",
            "image": "https://news.example/a.jpg",
        },
    )
    result = invoke("run", str(config))
    assert result.exit_code == 0, result.stderr
    return config.parent / "out" / "test"


@needs_browser
@needs_espeak
def test_review_pages_in_a_headless_browser(narrated_job: Path, tmp_path: Path) -> None:
    article_ids = sorted([p.stem for p in SAMPLE_ARTICLES] + ["hostile"])
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        problems: list[str] = []
        page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
        page.on("pageerror", lambda error: problems.append(str(error)))
        page.on("dialog", lambda dialog: problems.append(f"dialog: {dialog.message}"))

        page.goto((narrated_job / "index.html").as_uri())
        assert page.locator("tr.article td:first-child a").all_inner_texts() == article_ids
        assert page.locator("thead th").all_inner_texts()[-2:] == ["Albanian", "Ukrainian"]
        assert page.locator("tr.article .status-ok").count() == len(article_ids) * 2

        for article_id in article_ids:
            page.goto((narrated_job / article_id / "index.html").as_uri())
            for code in ("sq", "uk"):
                audio = page.locator(f"#audio-{code}")
                page.wait_for_function(
                    f"document.getElementById('audio-{code}').readyState >= 1", timeout=15000
                )
                assert audio.evaluate("a => a.error") is None
                assert audio.evaluate("a => a.duration") > 1
                assert page.locator(f"#player-{code} a[href='{code}/article.json']").count() == 1
            rows = page.locator("tr.block").count()
            record = json.loads((narrated_job / article_id / "uk/article.json").read_text())
            assert rows == len(record["paragraphs"])  # aligned by paragraph
            # a chapter jumps to the paragraph it speaks
            chapter = page.locator("#player-uk button.chapter").nth(2)
            block = chapter.get_attribute("data-block")
            chapter.click()
            assert page.locator("tr.block.current").get_attribute("id") == f"block-{block}"
            assert page.evaluate("document.getElementById('audio-uk').currentTime") == pytest.approx(
                float(chapter.get_attribute("data-start") or 0), abs=0.5
            )
            if article_id == "hostile":
                assert page.locator("script").count() == 1  # only the page's own
                assert "<script>alert('x')</script>" in page.locator("tr.block td").first.inner_text()
            page.screenshot(path=str(tmp_path / f"{article_id}.png"), full_page=True)
        browser.close()
    assert problems == []
    assert all((tmp_path / f"{article_id}.png").stat().st_size > 10_000 for article_id in article_ids)


@needs_espeak
def test_podcast_feeds_parse_back_with_every_item(narrated_job: Path) -> None:
    manifest = json.loads((narrated_job / "manifest.json").read_text())
    for code, name, disclosure in (
        ("sq", "Albanian", "Ky regjistrim audio është krijuar me ndihmën e inteligjencës artificiale."),
        ("uk", "Ukrainian", "Це аудіо створено за допомогою штучного інтелекту."),
    ):
        feed = feedparser.parse((narrated_job / "public" / "feeds" / f"{code}.xml").read_bytes())
        assert not feed.bozo, feed.bozo_exception
        assert feed.version == "rss20"
        assert feed.feed.title == f"Night desk ({name})"
        assert feed.feed.link == "https://news.example/audio/"
        assert feed.feed.language == code
        items = [i for i in manifest["items"] if i["language"] == code]
        assert len(feed.entries) == len(items) == 4
        for entry in feed.entries:
            item = next(
                i for i in items if entry.enclosures[0].href.split("?")[0].endswith(i["files"]["audio"])
            )
            record = json.loads((narrated_job / item["files"]["json"]).read_text())
            enclosure = entry.enclosures[0]
            version = item["narration"]["sha256"][:12]  # the audio's version: a new URL for new audio
            assert enclosure.href == f"https://news.example/audio/{item['files']['audio']}?v={version}"
            assert enclosure.type == "audio/mpeg"
            assert int(enclosure.length) == (narrated_job / item["files"]["audio"]).stat().st_size
            seconds = round(record["narration"]["duration"])
            assert (
                entry.itunes_duration
                == f"{seconds // 3600:02d}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"
            )
            assert (
                email.utils.parsedate_to_datetime(entry.published).date().isoformat()
                == record["source"]["date"]
            )
            assert disclosure in entry.summary


def test_feeds_need_a_base_url(write_config: WriteConfig, articles: Path) -> None:
    config = write_config()
    assert invoke("run", str(config)).exit_code == 0
    assert not (config.parent / "out/test/public/feeds").exists()
    assert not (config.parent / "out/test/feeds").exists()
    assert (config.parent / "out/test/index.html").is_file()


# Scored once by hand with sacrebleu 2.6.0: `sacrebleu ref.sq -i hyp.sq -m bleu chrf -w 2 -f text`
# (hyp.sq: EVAL_HYPOTHESES joined line by line; ref.sq: EVAL_REFERENCES).
EVAL_SOURCES = [
    "The ministers signed a treaty on trade and culture in Tirana.",
    "Ships carried grain through the corridor. This happened in February.",  # two sentences, one line
    "Engineers restored power to most homes.",
]
EVAL_TRANSLATIONS = {
    "The ministers signed a treaty on trade and culture in Tirana.": (
        "Ministrat nënshkruan një traktat për tregtinë dhe kulturën në Tiranë."
    ),
    "Ships carried grain through the corridor.": "Anijet mbartën drithë përmes korridorit.",
    "This happened in February.": "Kjo ndodhi në shkurt.",
    "Engineers restored power to most homes.": "Inxhinierët rikthyen energjinë në shumicën e shtëpive.",
}
EVAL_HYPOTHESES = [
    "Ministrat nënshkruan një traktat për tregtinë dhe kulturën në Tiranë.",
    "Anijet mbartën drithë përmes korridorit. Kjo ndodhi në shkurt.",
    "Inxhinierët rikthyen energjinë në shumicën e shtëpive.",
]
EVAL_REFERENCES = [
    "Ministrat nënshkruan një marrëveshje për tregtinë dhe kulturën në Tiranë.",
    "Në shkurt, anijet mbartën drithë përmes korridorit të Detit të Zi.",
    "Inxhinierët rikthyen energjinë elektrike në 85,000 shtëpi pas sulmit.",
]
EVAL_BLEU = "BLEU = 36.45 70.0/48.1/37.5/23.8 (BP = 0.875 ratio = 0.882 hyp_len = 30 ref_len = 34)"
EVAL_CHRF = "chrF2 = 67.88"
BLEU_SIGNATURE = "nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|version:"
CHRF_SIGNATURE = "nrefs:1|case:mixed|eff:yes|nc:6|nw:0|space:no|version:"


def test_eval_scores_the_translations_against_the_references(
    write_config: WriteConfig, articles: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pipeline.config import load_config
    from pipeline.executor.evaluate import evaluate
    from pipeline.items import SentenceTranslation
    from pipeline.mt.marian import ModelInfo
    from pipeline.stages import translate as translate_stage

    class FixedTranslate:  # a model whose translations are known, so the scores are too
        def __init__(self, target: object, *args: object) -> None:
            self.info = ModelInfo("fixed", None, None, None, "cpu", 512, 512, "ctranslate2", "int8")

        def __call__(self, sentences: list[str]) -> dict[str, SentenceTranslation]:
            return {s: SentenceTranslation(s, EVAL_TRANSLATIONS[s]) for s in sentences}

    monkeypatch.setattr(translate_stage, "Translate", FixedTranslate)
    job = load_config(write_config())
    target = next(t for t in job.targets if t.code == "sq")
    result = evaluate(job, target, EVAL_SOURCES, EVAL_REFERENCES)
    assert result.hypotheses == EVAL_HYPOTHESES
    assert result.bleu == EVAL_BLEU
    assert result.chrf == EVAL_CHRF
    assert result.bleu_signature.startswith(BLEU_SIGNATURE)
    assert result.chrf_signature.startswith(CHRF_SIGNATURE)
    assert result.model == "fixed (ctranslate2 int8, beam 1)"


def test_eval_prints_bleu_and_chrf_with_signatures(
    write_config: WriteConfig, articles: Path, tmp_path: Path
) -> None:
    from pipeline.text.load import read_article

    config = str(write_config())
    assert invoke("run", config).exit_code == 0
    source = SAMPLE_ARTICLES[1]
    lines = list(read_article(source).parts.paragraphs)
    # what the nightly run made of each paragraph with the same model and settings
    published = (tmp_path / "out/test" / source.stem / "sq/article.txt").read_text("utf-8")
    translations = published.rstrip("\n").split("\n\n")[:-1]  # less the closing disclosure
    assert len(translations) == len(lines)

    src, ref, out = tmp_path / "src.en", tmp_path / "ref.sq", tmp_path / "hyp.sq"
    src.write_text("\n".join(lines) + "\n")
    ref.write_text("\n".join(translations) + "\n")
    result = invoke(
        "eval", "--config", config, "--lang", "sq", "--src", str(src), "--ref", str(ref), "--out", str(out)
    )
    assert result.exit_code == 0, result.stderr
    hypotheses = out.read_text("utf-8").splitlines()
    assert hypotheses == translations  # the model's translations, line by line
    assert all(hyp != line for hyp, line in zip(hypotheses, lines, strict=True))  # not the source
    assert f"{len(lines)} lines, hypotheses in {out}" in result.stdout
    assert "BLEU = 100.00 100.0/100.0/100.0/100.0 (BP = 1.000 ratio = 1.000" in result.stdout
    assert "chrF2 = 100.00" in result.stdout
    assert f"signature: {BLEU_SIGNATURE}" in result.stdout
    assert f"signature: {CHRF_SIGNATURE}" in result.stdout

    ref.write_text("only one line\n")
    result = invoke("eval", "--config", config, "--lang", "sq", "--src", str(src), "--ref", str(ref))
    assert result.exit_code == 2
    assert f"{src} has {len(lines)} lines but {ref} has 1" in result.stderr


def test_an_article_page_is_made_again_only_when_what_it_shows_changed(
    write_config: WriteConfig, articles: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pipeline.report import review

    config = write_config()
    assert invoke("run", str(config)).exit_code == 0
    job_dir = config.parent / "out" / "test"
    made: list[str] = []
    real = review._article_page

    def counting(job_dir: Path, article_id: str, *args: object) -> dict:
        made.append(article_id)
        return real(job_dir, article_id, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(review, "_article_page", counting)
    index = (job_dir / "index.html").read_bytes()
    assert invoke("run", str(config)).exit_code == 0
    assert made == []  # an unchanged job reads no article.json for its pages
    assert (job_dir / "index.html").read_bytes() == index  # the index, from the recorded summaries

    changed, other = SAMPLE_ARTICLES[1], SAMPLE_ARTICLES[2]
    path = articles / changed.name
    path.write_text(path.read_text("utf-8").replace("grain", "wheat", 1), "utf-8")
    page = job_dir / other.stem / "index.html"
    before = page.read_bytes()
    page.unlink()
    assert invoke("run", str(config)).exit_code == 0
    assert sorted(made) == sorted([changed.stem, other.stem])  # the changed one, and the one deleted
    assert page.read_bytes() == before
    assert "wheat" in (job_dir / changed.stem / "index.html").read_text("utf-8")


def test_a_page_follows_its_manifest_item_when_its_files_did_not_change(
    write_config: WriteConfig, articles: Path
) -> None:
    from pipeline.config import load_config
    from pipeline.report.review import write_review

    config = write_config()
    assert invoke("run", str(config)).exit_code == 0
    job = load_config(config)
    manifest = json.loads((job.job_dir / "manifest.json").read_text("utf-8"))
    victim = SAMPLE_ARTICLES[0].stem
    for item in manifest["items"]:
        if item["article_id"] == victim and item["language"] == "uk":
            item.update(status="failed", stage="narration", error="the TTS endpoint is down")
    write_review(job, manifest)  # no article.json or transcript changed; the item did
    page = (job.job_dir / victim / "index.html").read_text("utf-8")
    assert "narration: the TTS endpoint is down" in page


def test_the_pages_inputs_are_the_same_in_every_process(write_config: WriteConfig, articles: Path) -> None:
    """Folders of equal length (``articles``, ``cachedir``) are hidden in one order whatever the
    process's string hashing: otherwise each new process would find every page's inputs changed
    and render every page again."""
    import subprocess
    import sys

    config = write_config(
        translation={"beam_size": 1, "max_length": 12, "device": "cpu", "cache_dir": "cachedir"}
    )
    assert invoke("run", str(config)).exit_code == 0
    script = (
        "import json, sys\n"
        "from pipeline.config import load_config\n"
        "from pipeline.report.review import _private_folders\n"
        "job = load_config(sys.argv[1])\n"
        "manifest = json.loads((job.job_dir / 'manifest.json').read_text('utf-8'))\n"
        "print(json.dumps(_private_folders(job, manifest)))\n"
    )
    orders = {
        subprocess.run(
            [sys.executable, "-c", script, str(config)],
            env={**os.environ, "PYTHONHASHSEED": str(seed)},
            capture_output=True, text=True, check=True,
        ).stdout
        for seed in range(8)
    }  # fmt: skip
    assert len(orders) == 1
    hidden = json.loads(orders.pop())
    assert str(articles) in hidden and str(config.parent / "cachedir") in hidden
