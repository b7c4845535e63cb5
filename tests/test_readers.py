"""Every input format, and every kind of bad input, through ``read_article``."""

import datetime as dt
import json
from pathlib import Path

import pytest

from pipeline.errors import InputError
from pipeline.text.article import article_from_record, article_record
from pipeline.text.load import read_article

from .conftest import SAMPLE_ARTICLES


def write(tmp_path: Path, name: str, content: str | bytes) -> Path:
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, "utf-8")
    return path


def test_sample_txt_article() -> None:
    article = read_article(SAMPLE_ARTICLES[0])
    assert article.id == "2024-02-28-albania-ukraine-treaty"
    assert article.date == dt.date(2024, 2, 28)
    assert article.parts.audio_note == "This audio is created with AI assistance"
    assert article.title is None
    assert len(article.parts.paragraphs) == 8
    assert article.parts.paragraphs[0].startswith("Ukraine and Albania signed a treaty")
    assert article.encoding == "utf-8"


def test_txt_folds_line_breaks_inside_a_paragraph(tmp_path: Path) -> None:
    path = write(tmp_path, "a.txt", "date 2024-01-02\n\nFirst line\nsame paragraph.\n\n\n\nSecond.\n")
    assert read_article(path).parts.paragraphs == ("First line same paragraph.", "Second.")


def test_markdown_with_front_matter(tmp_path: Path) -> None:
    text = (
        "---\ndate: 2024-03-01\nid: Custom ID\n---\n# The *title*\n\n"
        "A [linked](http://x.example) paragraph\nwith **bold** text.\n\n"
        "```\ncode is not translated\n```\n\n## A subheading\n\n- a list item\n"
    )
    article = read_article(write(tmp_path, "m.md", text))
    assert article.id == "custom-id"
    assert article.format == "md"
    assert article.title == "The title"
    assert article.date == dt.date(2024, 3, 1)
    assert article.parts.paragraphs == ("A linked paragraph with bold text.", "A subheading", "a list item")
    assert [b.kind for b in article.blocks] == ["title", "paragraph", "paragraph", "paragraph"]


def test_markdown_with_a_date_line(tmp_path: Path) -> None:
    article = read_article(write(tmp_path, "m.md", "date 2024-03-02 note\n\nBody text.\n"))
    assert (article.date, article.parts.paragraphs) == (dt.date(2024, 3, 2), ("Body text.",))


def test_html_keeps_main_text_only(tmp_path: Path) -> None:
    html = """<!doctype html><html><head><title>Site | Story</title>
    <meta property="og:title" content="Grain corridor holds">
    <meta property="article:published_time" content="2024-03-05T08:00:00Z">
    <script>var tracking = "do not translate";</script><style>p{color:red}</style></head>
    <body><nav><a href="/">Home</a> <a href="/news">News</a></nav>
    <article><header><h1>Grain corridor holds</h1></header>
    <p>Ships carried 4.2 million tons
       of cargo.</p><aside>Read more: unrelated</aside>
    <p>Most carried <b>grain</b> &amp; oil.</p><ul><li>Odesa</li><li><p>Chornomorsk</p></li></ul>
    </article><footer>(c) Newsroom</footer></body></html>"""
    article = read_article(write(tmp_path, "page.html", html))
    assert article.title == "Grain corridor holds"
    assert article.date == dt.date(2024, 3, 5)
    assert article.parts.paragraphs == (
        "Ships carried 4.2 million tons of cargo.",
        "Most carried grain & oil.",
        "Odesa",
        "Chornomorsk",
    )


def test_html_without_article_element_uses_body(tmp_path: Path) -> None:
    html = (
        '<html><head><meta name="date" content="2024-01-05"></head>'
        "<body><h1>T</h1><p>Only text.</p></body></html>"
    )
    article = read_article(write(tmp_path, "p.htm", html))
    assert (article.title, article.parts.paragraphs) == ("T", ("Only text.",))


@pytest.mark.parametrize(
    "body", ["First paragraph.\n\nSecond paragraph.", ["First paragraph.", "Second paragraph."]]
)
def test_json_article(tmp_path: Path, body: object) -> None:
    data = {"id": "grain-42", "date": "2024-03-05", "title": "Grain", "body": body}
    article = read_article(write(tmp_path, "x.json", json.dumps(data)))
    assert article.id == "grain-42"
    assert article.title == "Grain"
    assert article.parts.paragraphs == ("First paragraph.", "Second paragraph.")


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("empty.txt", b"", "empty file"),
        ("blank.txt", b"  \n\n\t \n", "empty file"),
        ("nul.txt", b"date 2024-01-01\n\nText\x00\x00\x01 more", "binary data"),
        ("pdf.txt", b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj", "binary data (a PDF document)"),
        ("nodate.txt", "Ukraine and Albania signed a treaty.\n\nMore text.\n", "missing date line"),
        ("baddate.txt", "date 2024-02-30 note\n\nText.\n", "'2024-02-30' is not a real date"),
        ("onlydate.txt", "date 2024-02-10 note\n", "no paragraphs"),
        ("doc.pdf", b"whatever", "unsupported file type '.pdf'"),
        ("nodate.md", "# Title\n\nText.\n", "missing date"),
        ("nodate.html", "<html><body><p>Text</p></body></html>", "missing date"),
        ("broken.json", '{"date": "2024-01-01", "body": ', "invalid JSON at line 1"),
        ("nobody.json", '{"date": "2024-01-01"}', "missing key 'body'"),
        ("list.json", "[1, 2]", "must be an object"),
    ],
)
def test_bad_input_gives_one_clear_line_naming_the_file(
    tmp_path: Path, name: str, content: str | bytes, message: str
) -> None:
    path = write(tmp_path, name, content)
    with pytest.raises(InputError) as caught:
        read_article(path)
    text = str(caught.value)
    assert text.startswith(str(path))
    assert message in text
    assert "\n" not in text


def test_undecodable_bytes_fall_back_to_windows_1252_with_a_warning(tmp_path: Path) -> None:
    path = write(tmp_path, "latin.txt", "date 2024-01-01\n\nCaf\xe9 \u201cquoted\u201d.\n".encode("cp1252"))
    article = read_article(path)
    assert article.parts.paragraphs == ("Café “quoted”.",)
    assert article.encoding == "cp1252"
    assert "not valid UTF-8 (byte 0xe9 at offset 20)" in article.warnings[0]


def test_byte_order_marks_are_honoured(tmp_path: Path) -> None:
    text = "date 2024-01-01\n\nКиїв і Тирана.\n"
    for name, data in (("u8.txt", b"\xef\xbb\xbf" + text.encode()), ("u16.txt", text.encode("utf-16"))):
        article = read_article(write(tmp_path, name, data))
        assert article.parts.paragraphs == ("Київ і Тирана.",), name
        assert article.warnings == ()


PUBLISHED = dt.datetime(2026, 11, 30, 7, 15, tzinfo=dt.UTC)  # 08:15 at +01:00


def test_html_keeps_the_publish_and_update_times(tmp_path: Path) -> None:
    page = (
        '<html><head><meta property="article:published_time" content="2026-11-30T08:15:00+01:00">'
        '<meta property="article:modified_time" content="2026-12-01T10:00:00Z"></head>'
        "<body><article><p>Body text.</p></article></body></html>"
    )
    article = read_article(write(tmp_path, "a.html", page))
    assert article.date == dt.date(2026, 11, 30)
    assert article.parts.published == PUBLISHED
    assert article.parts.updated == dt.datetime(2026, 12, 1, 10, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("fields", "published", "updated"),
    [
        ({"date": "2026-11-30T08:15:00+01:00", "updated": "2026-12-01T10:00:00Z"}, PUBLISHED,
         dt.datetime(2026, 12, 1, 10, tzinfo=dt.UTC)),
        ({"published": "2026-11-30T07:15:00", "modified": "2026-12-01"}, PUBLISHED, None),  # no zone: UTC
        ({"date": "2026-11-30"}, None, None),
        ({"date": "2026-11-30", "published": "2026-11-30T07:15:00Z"}, PUBLISHED, None),  # the web ingest's
    ],
)  # fmt: skip
def test_json_dates_may_be_timestamps(
    tmp_path: Path, fields: dict[str, str], published: dt.datetime | None, updated: dt.datetime | None
) -> None:
    article = read_article(write(tmp_path, "a.json", json.dumps({**fields, "body": "Body text."})))
    assert (article.date, article.parts.published, article.parts.updated) == (
        dt.date(2026, 11, 30),
        published,
        updated,
    )


@pytest.mark.parametrize(
    "date", ["2026-11-30T08:15:00+01:00", "'2026-11-30T08:15:00+01:00'", "2026-11-30 07:15:00"]
)
def test_markdown_front_matter_date_with_a_time(tmp_path: Path, date: str) -> None:
    """YAML gives a datetime (aware, or naive and then UTC), or a string when it is quoted."""
    text = f"---\ndate: {date}\nupdated: 2026-12-01T10:00:00Z\n---\nBody text.\n"
    article = read_article(write(tmp_path, "m.md", text))
    assert (article.date, article.parts.published) == (dt.date(2026, 11, 30), PUBLISHED)
    assert article.parts.updated == dt.datetime(2026, 12, 1, 10, tzinfo=dt.UTC)


def test_the_date_is_the_sources_own_day_and_the_time_is_utc(tmp_path: Path) -> None:
    article = read_article(write(tmp_path, "a.txt", "date 2026-11-30T00:30+01:00 note\n\nBody.\n"))
    assert article.date == dt.date(2026, 11, 30)  # the newsroom's day, not UTC's 29 November
    assert article.parts.published == dt.datetime(2026, 11, 29, 23, 30, tzinfo=dt.UTC)
    assert article.parts.audio_note == "note"


def test_a_date_alone_has_no_time(tmp_path: Path) -> None:
    article = read_article(write(tmp_path, "a.txt", "date 2026-11-30\n\nBody.\n"))
    assert (article.date, article.parts.published, article.parts.updated) == (
        dt.date(2026, 11, 30),
        None,
        None,
    )


@pytest.mark.parametrize(
    ("body", "title", "paragraphs"),
    [
        ("# The Title\n\nBody text.\n", "The Title", ("Body text.",)),  # the same title twice
        ("# Another *heading*\n\nBody text.\n", "The Title", ("Body text.",)),  # front matter wins
        ("Body text.\n\n# A later heading\n", "The Title", ("Body text.", "A later heading")),
    ],
)
def test_markdown_front_matter_title_and_heading_are_one_title(
    tmp_path: Path, body: str, title: str, paragraphs: tuple[str, ...]
) -> None:
    article = read_article(write(tmp_path, "m.md", f"---\ndate: 2026-11-30\ntitle: The Title\n---\n{body}"))
    assert (article.title, article.parts.paragraphs) == (title, paragraphs)
    assert [b.text for b in article.blocks].count("The Title") == 1


def test_markdown_heading_is_the_title_without_front_matter_title(tmp_path: Path) -> None:
    article = read_article(write(tmp_path, "m.md", "date 2026-11-30\n\n# The Title\n\nBody.\n\n# Later\n"))
    assert (article.title, article.parts.paragraphs) == ("The Title", ("Body.", "Later"))


def test_times_survive_the_article_record_and_old_records_still_load(tmp_path: Path) -> None:
    page = '<meta property="article:published_time" content="2026-11-30T08:15:00+01:00"><p>Body.</p>'
    article = read_article(write(tmp_path, "a.html", page))
    record = article_record(article)
    assert (record["published"], record["updated"]) == ("2026-11-30T07:15:00Z", None)
    assert article_from_record(record) == article
    old = {key: value for key, value in record.items() if key not in ("published", "updated")}
    assert article_from_record(old).parts.published is None
