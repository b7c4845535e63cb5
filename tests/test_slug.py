import json
import re
from pathlib import Path

import pytest

from pipeline.stages.ingest import Ingest
from pipeline.text.article import Article
from pipeline.text.slug import article_id, legacy_article_id, short_hash, slugify


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("2024-02-28-albania-ukraine-treaty", "2024-02-28-albania-ukraine-treaty"),
        ("Grain Corridor (final) v2", "grain-corridor-final-v2"),
        ("Zürich café", "zurich-cafe"),
        ("../../etc/passwd", "etc-passwd"),
        ("..", ""),
    ],
)
def test_slugify(name: str, expected: str) -> None:
    assert slugify(name) == expected


@pytest.mark.parametrize("name", ["..", "/", "Київ", "", "....", "\\..\\..\\windows"])
def test_article_id_is_always_a_safe_single_path_component(name: str) -> None:
    result = article_id(name)
    assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", result), result
    assert result not in (".", "..")


def test_names_without_ascii_get_distinct_stable_ids() -> None:
    assert article_id("Київ") == article_id("Київ")
    assert article_id("Київ") != article_id("Львів")
    assert legacy_article_id("Київ") == f"article-{short_hash('Київ')}"  # what earlier versions issued


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Зеленський у Тирані", "zelenskii-u-tirani"),
        ("Україна 2024 – звіт", "ukraina-2024-zvit"),
        ("Шкодер і Дуррес", "shkoder-i-durres"),
        ("Ελλάδα", "ellada"),
        ("中文 新闻", "zhong-wen-xin-wen"),
        ("«Привіт», світе!", "privit-svite"),
        ("Київ " * 40, "kiiv-" * 15 + "kiiv"),  # 80 characters at most, no hyphen at the end
    ],
)
def test_non_latin_names_are_transliterated(name: str, expected: str) -> None:
    assert article_id(name) == expected


@pytest.mark.parametrize(
    "name",
    [
        "Zürich café",
        "Straße",
        "Łódź news",
        "Grain Corridor (final) v2",
        "São Tomé",
        "naïve-2024",
        "Hawaiʻi",
        "1ª edición",
        "ﬁnal ½",
    ],
)
def test_latin_names_keep_the_slugs_issued_before(name: str) -> None:
    """Unidecode would spell some Latin letters out (ß → ss, Ł → l): ids already issued must not move."""
    assert article_id(name) == legacy_article_id(name) == slugify(name)


@pytest.mark.parametrize("name", ["😀", "…", "—", "\u0301"])
def test_names_without_letters_or_digits_still_get_a_hash(name: str) -> None:
    assert article_id(name) == f"article-{short_hash(name)}"


ARTICLE = "date 2024-03-20 note\n\nZelensky flew to Tirana.\n"


def inputs(folder: Path, *names: str) -> list[Path]:
    folder.mkdir(exist_ok=True)
    for name in names:
        (folder / name).write_text(ARTICLE, "utf-8")
    return [folder / name for name in names]


def issue(job_dir: Path, article_id: str, source: Path, language: str = "uk") -> None:
    """What an earlier run left: ``<job>/<article_id>/<language>/article.json`` naming ``source``."""
    folder = job_dir / article_id / language
    folder.mkdir(parents=True)
    (folder / "article.json").write_text(
        json.dumps({"article_id": article_id, "source": {"path": str(source)}})
    )


def ids(results: list) -> list[str]:
    return [r.id if isinstance(r, Article) else r.article_id for r in results]


def test_ingest_gives_non_latin_file_names_readable_ids(tmp_path: Path) -> None:
    paths = inputs(tmp_path / "in", "Зеленський у Тирані.txt", "grain.txt", "Київ.txt")
    assert ids(Ingest()(paths)) == ["zelenskii-u-tirani", "grain", "kiiv"]
    assert ids(Ingest(job_dir=tmp_path / "no-job-yet")(paths)) == ["zelenskii-u-tirani", "grain", "kiiv"]


def test_ingest_keeps_the_id_a_job_already_issued_for_a_file(tmp_path: Path) -> None:
    paths = inputs(tmp_path / "in", "Зеленський у Тирані.txt", "Київ.txt", "Львів.txt")
    job_dir = tmp_path / "out" / "job"
    old = f"article-{short_hash('Зеленський у Тирані')}"
    issue(job_dir, old, paths[0])
    issue(job_dir, legacy_article_id("Київ"), tmp_path / "elsewhere" / "Київ.txt", "sq")  # moved since
    assert ids(Ingest(job_dir=job_dir)(paths)) == [old, legacy_article_id("Київ"), "lviv"]
    assert ids(Ingest()(paths)) == ["zelenskii-u-tirani", "kiiv", "lviv"]  # without the job: new ids


def test_a_declared_id_keeps_its_old_form_too(tmp_path: Path) -> None:
    path = tmp_path / "summit.json"
    path.write_text(json.dumps({"id": "Зеленський", "date": "2024-03-20", "title": "T", "body": "Text."}))
    job_dir = tmp_path / "job"
    assert ids(Ingest(job_dir=job_dir)([path])) == ["zelenskii"]
    issue(job_dir, legacy_article_id("Зеленський"), path)
    assert ids(Ingest(job_dir=job_dir)([path])) == [legacy_article_id("Зеленський")]


def test_an_old_id_folder_that_another_file_wrote_is_not_taken(tmp_path: Path) -> None:
    """``Київ 2024.txt`` was id ``2024`` before; here ``2024.txt`` owns that folder."""
    paths = inputs(tmp_path / "in", "2024.txt", "Київ 2024.txt")
    job_dir = tmp_path / "job"
    issue(job_dir, "2024", paths[0])
    assert legacy_article_id("Київ 2024") == "2024"
    assert ids(Ingest(job_dir=job_dir)(paths)) == ["2024", "kiiv-2024"]


def test_ids_that_were_made_unique_stay_so(tmp_path: Path) -> None:
    """``Київ.txt`` and ``Київ.md`` had the same old id, so each got its path's hash appended."""
    txt, md = inputs(tmp_path / "in", "Київ.txt", "Київ.md")
    md.write_text("---\ndate: 2024-03-20\n---\n\nZelensky flew to Tirana.\n", "utf-8")
    job_dir = tmp_path / "job"
    old = legacy_article_id("Київ")
    for path in (txt, md):
        issue(job_dir, f"{old}-{short_hash(str(path))}", path)
    assert ids(Ingest(job_dir=job_dir)([txt, md])) == [f"{old}-{short_hash(str(p))}" for p in (txt, md)]
    assert ids(Ingest()([txt, md])) == [f"kiiv-{short_hash(str(p))}" for p in (txt, md)]


def test_a_file_that_fails_to_read_gets_the_new_id_too(tmp_path: Path) -> None:
    (path,) = inputs(tmp_path / "in", "Зеленський.pdf")
    assert ids(Ingest(job_dir=tmp_path / "job")([path])) == ["zelenskii"]


def test_an_article_never_takes_a_folder_of_the_job() -> None:
    """``logs/``, ``public/`` and ``feeds/`` beside the article folders belong to the job."""
    assert article_id("logs") == "logs-article"
    assert article_id("Public") == "public-article"
    assert article_id("feeds") == "feeds-article"
    assert article_id("logs-2024") == "logs-2024"


def test_a_file_added_later_never_takes_the_id_of_a_web_article(tmp_path: Path) -> None:
    """A web article's id was issued and names its folder; a file with the same id yields."""
    job_dir = tmp_path / "job"
    web = job_dir / "sources" / "budget-vote" / "latest.json"
    web.parent.mkdir(parents=True)
    web.write_text(json.dumps({"id": "budget-vote", "date": "2026-12-01", "title": "T", "body": "Text."}))
    (path,) = inputs(tmp_path / "in", "budget-vote.txt")

    assert ids(Ingest(job_dir=job_dir)([web, path])) == [
        "budget-vote",
        f"budget-vote-{short_hash(str(path))}",
    ]
