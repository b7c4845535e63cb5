"""TMX 1.4b export and import of editors' sentence pairs (``pipeline.interchange.tmx``).

A written file is checked three ways: element by element with lxml, read back by
translate-toolkit's own parser, and read back by ``read_tmx``. Reading is also checked on a file as
OmegaT 6 writes it, and on files that are not TMX at all.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path

import pytest
from lxml import etree
from translate.storage.tmx import tmxfile

import pipeline
from pipeline.errors import FormatError
from pipeline.interchange.tmx import TmUnit, read_tmx, write_tmx

XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"

# Text that breaks naive XML writers or readers: markup characters, quotes, emoji, Cyrillic.
TRICKY = [
    TmUnit(
        source='Prices < 5 & "rising" fast',
        target="Çmimet < 5 & „në rritje” shpejt",
        editor="drita",
        at="2026-11-29T12:00:00+00:00",
        article_id="2026-11-29-budget",
        status="approved",
    ),
    TmUnit(
        source="Tom's <b>bold</b> ]]> move 🚀",
        target="Смілий крок Тома <b>жирний</b> ]]> 🚀",
        editor="оксана",
        at="2026-11-30T08:05:09+00:00",
        article_id="2026-11-30-space",
        status="edited",
    ),
    TmUnit(source="No metadata at all.", target="Pa asnjë të dhënë."),
    # Text that looks like escaped markup must stay as it is, neither unescaped nor escaped twice.
    TmUnit(source="Write &amp; as &, &lt;b&gt; as <b>.", target="Shkruani &amp; si &, &#233; si é."),
]

OMEGAT_TMX = """\
<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE tmx SYSTEM "tmx14.dtd">
<tmx version="1.4">
  <header creationtool="OmegaT" o-tmf="OmegaT TMX" adminlang="EN-US" datatype="plaintext" \
creationtoolversion="6.0.1_0_1bf1729c" segtype="sentence" srclang="EN-US"/>
  <body>
<!-- Default translations -->
    <tu>
      <tuv xml:lang="EN-US">
        <seg>The council met on Monday.</seg>
      </tuv>
      <tuv xml:lang="SQ" changeid="drita" changedate="20261128T091500Z" creationid="arben" \
creationdate="20261127T180000Z">
        <seg>Këshilli u mblodh të hënën.</seg>
      </tuv>
    </tu>
    <tu>
      <tuv xml:lang="EN-US">
        <seg>Click <bpt i="0" x="0">&lt;b0&gt;</bpt>here<ept i="0">&lt;/b0&gt;</ept> to read more.<ph \
x="1">&lt;x1/&gt;</ph></seg>
      </tuv>
      <tuv xml:lang="SQ" creationid="arben" creationdate="20261127T181000Z">
        <seg>Klikoni <bpt i="0" x="0">&lt;b0&gt;</bpt>këtu<ept i="0">&lt;/b0&gt;</ept> për të lexuar më \
shumë.<ph x="1">&lt;x1/&gt;</ph></seg>
      </tuv>
    </tu>
    <tu>
      <tuv xml:lang="EN-US">
        <seg>  The vote was close.
        </seg>
      </tuv>
      <tuv xml:lang="SQ">
        <seg>Votimi ishte i ngushtë.</seg>
      </tuv>
    </tu>
    <tu>
      <tuv xml:lang="EN-US">
        <seg>Only English here.</seg>
      </tuv>
    </tu>
<!-- Alternative translations -->
    <tu tuid="3">
      <prop type="file">2026-11-27-council.txt</prop>
      <prop type="id">3</prop>
      <note>Council, not assembly.</note>
      <tuv xml:lang="EN-US">
        <seg>The mayor resigned.</seg>
      </tuv>
      <tuv xml:lang="SQ" changeid="drita" changedate="20261128T100000Z">
        <seg>Kryetari i bashkisë dha dorëheqjen.</seg>
      </tuv>
    </tu>
  </body>
</tmx>
"""


def write(path: Path, units: Iterable[TmUnit], target_lang: str = "sq") -> int:
    return write_tmx(path, units, "en", target_lang, "1.4.2")


def test_written_file_is_tmx_14b_element_by_element(tmp_path: Path) -> None:
    path = tmp_path / "sq.tmx"
    assert write(path, TRICKY) == 4

    data = path.read_bytes()
    assert data.startswith(b'<?xml version="1.0" encoding="UTF-8"?>\n')
    root = etree.fromstring(data)
    assert root.tag == "tmx"
    assert root.attrib == {"version": "1.4"}
    header, body = root
    assert header.tag == "header"
    assert dict(header.attrib) == {
        "creationtool": "newsroom-pipeline",
        "creationtoolversion": "1.4.2",
        "datatype": "plaintext",
        "segtype": "sentence",
        "adminlang": "en",
        "srclang": "en",
        "o-tmf": "newsroom-pipeline",
    }
    assert body.tag == "body"
    tus = list(body)
    assert [tu.tag for tu in tus] == ["tu"] * 4

    assert dict(tus[0].attrib) == {"creationid": "drita", "creationdate": "20261129T120000Z"}
    assert dict(tus[1].attrib) == {"creationid": "оксана", "creationdate": "20261130T080509Z"}
    assert dict(tus[2].attrib) == dict(tus[3].attrib) == {}
    for tu, unit in zip(tus, TRICKY, strict=True):
        props = [(child.get("type"), child.text) for child in tu if child.tag == "prop"]
        expected = [("x-article", unit.article_id), ("x-status", unit.status)] if unit.status else []
        assert props == expected
        assert [child.tag for child in tu] == ["prop"] * len(expected) + ["tuv", "tuv"]
        tuvs = tu.findall("tuv")
        assert [tuv.get(XML_LANG) for tuv in tuvs] == ["en", "sq"]
        segs = [tuv.find("seg") for tuv in tuvs]
        assert all(seg is not None and len(seg) == 0 for seg in segs)  # text only, no child elements
        assert [seg.text for seg in segs if seg is not None] == [unit.source, unit.target]


def test_markup_characters_are_escaped_not_written_as_markup(tmp_path: Path) -> None:
    path = tmp_path / "sq.tmx"
    write(path, TRICKY[1:2])
    text = path.read_text("utf-8")
    assert "Tom's &lt;b&gt;bold&lt;/b&gt; ]]&gt; move 🚀" in text  # UTF-8, not character references
    assert "Смілий крок Тома" in text


def test_translate_toolkit_reads_the_written_file(tmp_path: Path) -> None:
    path = tmp_path / "sq.tmx"
    write(path, TRICKY)

    store = tmxfile.parsestring(path.read_bytes())
    assert store.sourcelanguage == "en"  # from the header's srclang
    assert [(unit.source, unit.gettarget("sq")) for unit in store.units] == [
        (unit.source, unit.target) for unit in TRICKY
    ]
    assert store.translate(TRICKY[0].source, "en", "sq") == TRICKY[0].target


def test_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "sq.tmx"
    write(path, TRICKY)
    assert read_tmx(path, "en", "sq") == TRICKY


def test_round_trip_ukrainian(tmp_path: Path) -> None:
    path = tmp_path / "uk.tmx"
    units = [TmUnit("Kyiv is the capital.", "Київ — столиця.", "mykola", "2026-01-02T03:04:05+00:00")]
    write(path, units, target_lang="uk")
    assert read_tmx(path, "en", "uk") == units
    assert read_tmx(path, "en", "sq") == []
    swapped = TmUnit("Київ — столиця.", "Kyiv is the capital.", "mykola", "2026-01-02T03:04:05+00:00")
    assert read_tmx(path, "uk", "en") == [swapped]


def test_characters_xml_cannot_hold_are_dropped(tmp_path: Path) -> None:
    path = tmp_path / "sq.tmx"
    write(path, [TmUnit("Tab\tand\x00 null\x0b", "Sq\x1f", "ed\x01", article_id="a\x02", status="ok")])
    assert read_tmx(path, "en", "sq") == [TmUnit("Tab\tand null", "Sq", "ed", article_id="a", status="ok")]


def test_dates_are_written_in_utc(tmp_path: Path) -> None:
    path = tmp_path / "sq.tmx"
    units = [TmUnit("a", "b", at="2026-11-29T13:30:00+01:00"), TmUnit("c", "d", at="2026-11-29T12:00:00Z")]
    write(path, units)
    tus = etree.parse(str(path)).getroot().findall("body/tu")
    assert [tu.get("creationdate") for tu in tus] == ["20261129T123000Z", "20261129T120000Z"]
    assert [unit.at for unit in read_tmx(path, "en", "sq")] == [
        "2026-11-29T12:30:00+00:00",
        "2026-11-29T12:00:00+00:00",
    ]


@pytest.mark.parametrize("at", ["2026-11-29T12:00:00", "yesterday", "29/11/2026"])
def test_dates_without_offset_or_not_dates_are_refused(tmp_path: Path, at: str) -> None:
    path = tmp_path / "sq.tmx"
    with pytest.raises(ValueError, match=r"TmUnit\.at"):
        write(path, [TmUnit("a", "b", at=at)])
    assert not path.exists()


def test_output_is_deterministic_keeps_order_and_creates_folders(tmp_path: Path) -> None:
    first, second = tmp_path / "a" / "b" / "one.tmx", tmp_path / "two.tmx"
    reverse = list(reversed(TRICKY))
    assert write(first, reverse) == 4
    write(second, iter(reverse))  # any iterable, read once
    assert first.read_bytes() == second.read_bytes()
    assert [unit.source for unit in read_tmx(first, "en", "sq")] == [unit.source for unit in reverse]


def test_write_replaces_atomically_and_leaves_no_temporary_file(tmp_path: Path) -> None:
    path = tmp_path / "sq.tmx"
    write(path, TRICKY)
    write(path, TRICKY[:1])
    assert read_tmx(path, "en", "sq") == TRICKY[:1]
    assert [child.name for child in tmp_path.iterdir()] == ["sq.tmx"]


def test_failed_write_leaves_the_old_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "sq.tmx"
    write(path, TRICKY)
    before = path.read_bytes()

    def refuse(source: object, target: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("pipeline.fsio.os.replace", refuse)
    with pytest.raises(OSError, match="No space"):
        write(path, TRICKY[:1])
    assert path.read_bytes() == before
    assert [child.name for child in tmp_path.iterdir()] == ["sq.tmx"]


def test_empty_memory_is_valid_tmx(tmp_path: Path) -> None:
    path = tmp_path / "sq.tmx"
    assert write(path, []) == 0
    assert etree.parse(str(path)).getroot().findall("body/tu") == []
    assert read_tmx(path, "en", "sq") == []


def test_reads_a_tmx_as_omegat_writes_it(tmp_path: Path) -> None:
    path = tmp_path / "project-omegat.tmx"
    path.write_text(OMEGAT_TMX, "utf-8")

    assert read_tmx(path, "en", "sq") == [
        TmUnit(
            "The council met on Monday.",
            "Këshilli u mblodh të hënën.",
            editor="drita",  # changeid before creationid
            at="2026-11-28T09:15:00+00:00",  # changedate before creationdate
        ),
        TmUnit(
            "Click here to read more.",  # inline codes left out, text around them kept
            "Klikoni këtu për të lexuar më shumë.",
            editor="arben",
            at="2026-11-27T18:10:00+00:00",
        ),
        TmUnit("The vote was close.", "Votimi ishte i ngushtë."),  # whitespace stripped
        # "Only English here." has no Albanian: skipped
        TmUnit(
            "The mayor resigned.",
            "Kryetari i bashkisë dha dorëheqjen.",
            editor="drita",
            at="2026-11-28T10:00:00+00:00",
        ),
    ]


def test_translate_toolkit_alone_would_keep_the_inline_codes(tmp_path: Path) -> None:
    # Why read_tmx extracts segment text itself.
    store = tmxfile.parsestring(OMEGAT_TMX.encode("utf-8"))
    assert store.units[1].source == "Click <b0>here</b0> to read more.<x1/>"


@pytest.mark.parametrize(
    ("source_lang", "target_lang"), [("en", "sq"), ("EN", "SQ"), ("en-GB", "sq-AL"), ("en_US", "sq_XK")]
)
def test_languages_match_by_primary_subtag_ignoring_case(
    tmp_path: Path, source_lang: str, target_lang: str
) -> None:
    path = tmp_path / "project-omegat.tmx"
    path.write_text(OMEGAT_TMX, "utf-8")
    assert len(read_tmx(path, source_lang, target_lang)) == 4


def test_units_in_other_languages_are_skipped(tmp_path: Path) -> None:
    path = tmp_path / "mixed.tmx"
    path.write_text(
        """<tmx version="1.4"><header srclang="en"/><body>
        <tu><tuv xml:lang="en"><seg>One</seg></tuv><tuv xml:lang="uk"><seg>Один</seg></tuv></tu>
        <tu><tuv xml:lang="sq-AL"><seg>Dy</seg></tuv><tuv xml:lang="en-US"><seg>Two</seg></tuv></tu>
        <tu><tuv xml:lang="en"><seg>Three</seg></tuv><tuv xml:lang="sq"><seg> </seg></tuv></tu>
        <tu><tuv xml:lang="en"><seg>Four</seg></tuv><tuv xml:lang="sq"/></tu>
        <tu><tuv xml:lang="de"><seg>Fünf</seg></tuv><tuv xml:lang="sq"><seg>Pesë</seg></tuv></tu>
        <tu><tuv lang="EN"><seg>Six</seg></tuv><tuv lang="SQ"><seg>Gjashtë</seg></tuv></tu>
        </body></tmx>""",
        "utf-8",
    )
    # The order of the <tuv>s does not matter; TMX 1.1's lang attribute is read too.
    assert read_tmx(path, "en", "sq") == [TmUnit("Two", "Dy"), TmUnit("Six", "Gjashtë")]
    assert read_tmx(path, "en", "uk") == [TmUnit("One", "Один")]


def test_hi_text_is_kept_comments_are_not(tmp_path: Path) -> None:
    path = tmp_path / "hi.tmx"
    path.write_text(
        """<tmx version="1.4"><header srclang="en"/><body><tu>
        <tuv xml:lang="en"><seg>A <hi type="b">big</hi><!-- note --> day</seg></tuv>
        <tuv xml:lang="sq"><seg>Një ditë e <hi type="b">madhe</hi></seg></tuv>
        </tu></body></tmx>""",
        "utf-8",
    )
    assert read_tmx(path, "en", "sq") == [TmUnit("A big day", "Një ditë e madhe")]


def test_duplicate_sources_keep_the_most_recent(tmp_path: Path) -> None:
    path = tmp_path / "sq.tmx"
    write(
        path,
        [
            TmUnit("Undated", "first"),
            TmUnit("Dated", "newest", at="2026-11-30T00:00:00+00:00"),
            TmUnit("Undated", "last"),
            TmUnit("Dated", "older", at="2026-11-29T00:00:00+00:00"),
            TmUnit("Dated", "undated, after the dated ones"),
            TmUnit("Same date", "first", at="2026-11-29T00:00:00+00:00"),
            TmUnit("Same date", "last", at="2026-11-29T00:00:00+00:00"),
        ],
    )
    assert [(unit.source, unit.target) for unit in read_tmx(path, "en", "sq")] == [
        ("Undated", "last"),  # no dates: the last one
        ("Dated", "newest"),  # the newest date, wherever it is
        ("Same date", "last"),
    ]


def test_duplicates_compare_change_dates(tmp_path: Path) -> None:
    path = tmp_path / "sq.tmx"
    path.write_text(
        """<tmx version="1.4"><header srclang="en"/><body>
        <tu><tuv xml:lang="en"><seg>Hi</seg></tuv>
        <tuv xml:lang="sq" creationdate="20250101T000000Z" changedate="20261201T000000Z">
          <seg>Tung</seg></tuv></tu>
        <tu creationdate="20261101T000000Z"><tuv xml:lang="en"><seg>Hi</seg></tuv>
        <tuv xml:lang="sq"><seg>Përshëndetje</seg></tuv></tu>
        <tu creationid="converter" creationdate="20200101T000000Z">
          <tuv xml:lang="en"><seg>Per unit</seg></tuv>
        <tuv xml:lang="sq" changeid="drita" changedate="20261202T000000Z"><seg>Për njësi</seg></tuv></tu>
        <tu><tuv xml:lang="en"><seg>Bad date</seg></tuv>
        <tuv xml:lang="sq" changedate="2026-12-01"><seg>Datë e keqe</seg></tuv></tu>
        </body></tmx>""",
        "utf-8",
    )
    assert read_tmx(path, "en", "sq") == [
        TmUnit("Hi", "Tung", at="2026-12-01T00:00:00+00:00"),
        TmUnit("Per unit", "Për njësi", "drita", "2026-12-02T00:00:00+00:00"),  # the <tuv>'s, not the <tu>'s
        TmUnit("Bad date", "Datë e keqe"),  # a date not in TMX form is ignored
    ]


def one_line_error(path: Path) -> str:
    with pytest.raises(FormatError) as caught:
        read_tmx(path, "en", "sq")
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(f"{path}: ")
    return message


def test_missing_file_is_a_format_error(tmp_path: Path) -> None:
    assert "no such TMX file" in one_line_error(tmp_path / "absent.tmx")


def test_folder_is_a_format_error(tmp_path: Path) -> None:
    assert "cannot read" in one_line_error(tmp_path)


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"", "not an XML file (line 1: Document is empty)"),
        (b"Source\tTarget\nHello\tTung\n", "not an XML file (line 1: "),
        (
            b'<?xml version="1.0"?>\n<tmx version="1.4">\n<body>\n<tu>\n</body>\n</tmx>\n',
            "not an XML file (line 5: Opening and ending tag mismatch: tu line 4 and body)",
        ),
        (b"\x89PNG\r\n\x1a\n\x00\x00", "not an XML file (line 1: "),
    ],
)
def test_not_xml_is_a_format_error_with_the_line(tmp_path: Path, content: bytes, expected: str) -> None:
    path = tmp_path / "bad.tmx"
    path.write_bytes(content)
    assert expected in one_line_error(path)


@pytest.mark.parametrize(
    ("content", "root"),
    [
        ("<html><body><tu/></body></html>", "html"),
        ('<xliff version="1.2"><file/></xliff>', "xliff"),
        ('<t:tmx xmlns:t="urn:x" version="1.4"><t:body/></t:tmx>', "{urn:x}tmx"),
    ],
)
def test_xml_that_is_not_tmx_is_a_format_error(tmp_path: Path, content: str, root: str) -> None:
    path = tmp_path / "other.xml"
    path.write_text(content, "utf-8")
    assert f"not a TMX file: the root element is <{root}>, not <tmx>" in one_line_error(path)


def test_entities_are_not_expanded(tmp_path: Path) -> None:
    path = tmp_path / "xxe.tmx"
    path.write_text(
        f"""<?xml version="1.0"?>
<!DOCTYPE tmx [<!ENTITY secret SYSTEM "file://{tmp_path / "secret.txt"}">]>
<tmx version="1.4"><header srclang="en"/><body>
<tu><tuv xml:lang="en"><seg>Key: &secret;</seg></tuv><tuv xml:lang="sq"><seg>Çelësi</seg></tuv></tu>
</body></tmx>""",
        "utf-8",
    )
    (tmp_path / "secret.txt").write_text("hunter2", "utf-8")
    assert read_tmx(path, "en", "sq") == [TmUnit("Key:", "Çelësi")]


def test_billion_laughs_entities_are_not_expanded(tmp_path: Path) -> None:
    laughs = "".join(f'<!ENTITY lol{n} "{f"&lol{n - 1};" * 10}">' for n in range(1, 10))
    path = tmp_path / "laughs.tmx"
    path.write_text(
        f"""<?xml version="1.0"?>
<!DOCTYPE tmx [<!ENTITY lol0 "lol">{laughs}]>
<tmx version="1.4"><header srclang="en"/><body>
<tu><tuv xml:lang="en"><seg>Laugh: &lol9;</seg></tuv><tuv xml:lang="sq"><seg>Qesh</seg></tuv></tu>
</body></tmx>""",
        "utf-8",
    )
    # libxml2 2.14 refuses the file outright (entity amplification); an older one leaves them out.
    try:
        units = read_tmx(path, "en", "sq")
    except FormatError as exc:
        assert "\n" not in str(exc) and str(exc).startswith(f"{path}: not an XML file")
    else:
        assert units == [TmUnit("Laugh:", "Qesh")]


# Reads a TMX in a fresh interpreter and prints how much its peak memory grew while reading (KiB).
_PEAK_GROWTH = """
import resource, sys
from pathlib import Path
from pipeline.interchange.tmx import read_tmx
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
units = read_tmx(Path(sys.argv[1]), "en", "sq")
assert len(units) == 100, len(units)
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before)
"""


def test_a_large_file_is_read_as_a_stream_not_held_whole(tmp_path: Path) -> None:
    """A 10 MB TMX of 100 distinct pairs: reading it must not build the whole document in memory
    (the whole tree took about 20 times the file's size; a stream takes a small fraction of it)."""
    path = tmp_path / "large.tmx"
    with path.open("w", encoding="utf-8") as file:
        file.write('<?xml version="1.0"?>\n<tmx version="1.4"><header srclang="en"/><body>\n')
        for n in range(50_000):
            file.write(
                f'<tu creationid="drita" creationdate="20261128T0915{n % 60:02}Z">'
                f'<prop type="x-article">a-{n}</prop>'
                f'<tuv xml:lang="en"><seg>Sentence number {n % 100} of the council report.</seg></tuv>'
                f'<tuv xml:lang="sq"><seg>Fjalia numër {n % 100} e raportit.</seg></tuv></tu>\n'
            )
        file.write("</body></tmx>\n")
    size_kib = path.stat().st_size // 1024
    assert size_kib > 9_000
    env = dict(os.environ, PYTHONPATH=str(Path(pipeline.__file__).parents[1]))
    child = subprocess.run(
        [sys.executable, "-c", _PEAK_GROWTH, str(path)], env=env, capture_output=True, text=True, check=True
    )
    growth_kib = int(child.stdout)
    assert growth_kib < size_kib, f"peak memory grew by {growth_kib} KiB reading a {size_kib} KiB file"
