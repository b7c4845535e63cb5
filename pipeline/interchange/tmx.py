"""TMX 1.4b translation memories of editors' sentence pairs, for CAT tools such as OmegaT.

``write_tmx`` exports pairs for one language direction; ``read_tmx`` imports the pairs of one
direction from a TMX file written here or by another tool (OmegaT writes ``<tmx version="1.4">``,
upper-case language codes such as ``EN-US`` and ``SQ``, and ``changeid``/``changedate`` on the
translated ``<tuv>``).

translate-toolkit (``translate.storage.tmx``) builds the document: the skeleton, the
``<tu>``/``<tuv>``/``<seg>`` elements, escaping and serialisation. What it does not expose is done
with lxml on its elements: the header's attributes, a unit's ``creationid``/``creationdate`` and
``<prop>`` elements.

Reading is lxml's ``iterparse``, one ``<tu>`` at a time, each dropped once read: a memory of
hundreds of megabytes must not be held as a tree (the whole document took about 20 times the
file's size). The parser has translate-toolkit's safe settings (no entity expansion, no network,
no DTD). The languages match by primary subtag, and inline codes are left out of a segment's text
(translate-toolkit would keep the native codes of ``<bpt>``/``<ph>``... as text).
"""

from __future__ import annotations

import datetime as dt
import io
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from lxml import etree
from translate.misc.xml_helpers import safely_set_text, valid_chars_only
from translate.storage.tmx import tmxfile

from pipeline.errors import FormatError
from pipeline.fsio import atomic_write_bytes

CREATION_TOOL = "newsroom-pipeline"
ARTICLE_PROP = "x-article"
STATUS_PROP = "x-status"
TMX_DATE = "%Y%m%dT%H%M%SZ"  # TMX 1.4b dates: ISO 8601 basic format, always UTC
_TMX_DATE_RE = re.compile(r"\d{8}T\d{6}Z")
_XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
# Native codes (markup of the original document), not text: their content is left out of a segment.
_INLINE_CODES = frozenset({"bpt", "ept", "it", "ph", "ut"})
_POSITION_RE = re.compile(r",\s*line \d+, column \d+$")


@dataclass(frozen=True)
class TmUnit:
    """One sentence pair: an English sentence and its translation by an editor.

    Attributes:
        source: The English sentence.
        target: Its translation.
        editor: Who made the translation (TMX ``creationid``; read from ``changeid`` too).
        at: When, ISO 8601 UTC like ``2026-11-29T12:00:00+00:00`` (TMX ``creationdate``/``changedate``
            ``20261129T120000Z``); empty when unknown.
        article_id: The article the translation was made in (``<prop type="x-article">``).
        status: ``"approved"`` or ``"edited"`` (``<prop type="x-status">``); empty when unknown.
    """

    source: str
    target: str
    editor: str = ""
    at: str = ""
    article_id: str = ""
    status: str = ""


def write_tmx(
    path: Path, units: Iterable[TmUnit], source_lang: str, target_lang: str, tool_version: str
) -> int:
    """Write units as a TMX 1.4b file atomically (temp file + os.replace), return how many.

    The file is UTF-8 with an XML declaration; the units keep the order given, so the same units
    give the same bytes. The parent folder is created if needed. Characters XML 1.0 cannot hold
    (control characters other than tab, newline and carriage return) are dropped, as
    translate-toolkit drops them.

    Args:
        path: The ``.tmx`` file to write; replaced if it exists.
        units: The pairs, in the order they are written.
        source_lang: Language code of the sources (``en``): the header's ``srclang`` and the first
            ``<tuv>`` of each unit.
        target_lang: Language code of the targets (``sq``, ``uk``).
        tool_version: The pipeline's version, as the header's ``creationtoolversion``.

    Returns:
        The number of units written.

    Raises:
        ValueError: a language code is empty, or a unit's ``at`` is not an ISO 8601 date and time
            with a UTC offset.
        OSError: the folder or the file cannot be written; ``path`` is then left as it was.
    """
    if not source_lang.strip() or not target_lang.strip():
        raise ValueError(f"TMX languages must not be empty (source {source_lang!r}, target {target_lang!r})")
    store = tmxfile(sourcelanguage=source_lang, targetlanguage=target_lang)
    _set_header(store, source_lang, tool_version)
    count = 0
    for unit in units:
        _add_unit(store, unit, target_lang)
        count += 1
    out = io.BytesIO()
    store.serialize(out)
    atomic_write_bytes(path, out.getvalue())
    return count


def read_tmx(path: Path, source_lang: str, target_lang: str) -> list[TmUnit]:
    """Read the pairs in source_lang → target_lang from a TMX file (1.4 or 1.4b).

    Languages match by primary subtag, ignoring case (``SQ`` and ``sq-AL`` are ``sq``); the
    ``xml:lang`` attribute is read, or TMX 1.1's ``lang``. A unit without a non-empty segment in
    both languages is skipped. Segments lose their leading and trailing whitespace; inline codes
    (``<bpt>``, ``<ept>``, ``<it>``, ``<ph>``, ``<ut>``) are left out, the text around and in
    ``<hi>`` kept. The editor and the date come from the target ``<tuv>``, else the ``<tu>``:
    ``changeid``/``changedate`` before ``creationid``/``creationdate``; a date not in TMX form is
    ignored.

    Of units with the same source sentence, the most recent is kept; a dated unit beats an undated
    one, and between equals the later in the file wins. Pairs come in the order their source first
    appears.

    Args:
        path: The ``.tmx`` file.
        source_lang: Language code of the sources (``en``).
        target_lang: Language code of the targets (``sq``, ``uk``).

    Returns:
        The pairs, one per source sentence.

    Raises:
        FormatError: the file is missing or unreadable, is not XML, or is XML but not TMX; the
            one-line message names the file.
    """
    source_key, target_key = _primary(source_lang), _primary(target_lang)
    kept: dict[str, TmUnit] = {}
    for tu in _units(path):
        unit = _pair(tu, source_key, target_key)
        if unit is None:
            continue
        previous = kept.get(unit.source)
        # Dates are all "YYYY-MM-DDThh:mm:ss+00:00" or "", so they compare as strings.
        if previous is None or unit.at >= previous.at:
            kept[unit.source] = unit
    return list(kept.values())


def _set_header(store: tmxfile, source_lang: str, tool_version: str) -> None:
    header = store.document.getroot().find("header")
    header.attrib.clear()  # translate-toolkit's own values (creationtool, datatype...) go
    header.set("creationtool", CREATION_TOOL)
    header.set("creationtoolversion", valid_chars_only(tool_version))
    header.set("datatype", "plaintext")
    header.set("segtype", "sentence")
    header.set("adminlang", "en")
    header.set("srclang", valid_chars_only(source_lang))
    header.set("o-tmf", CREATION_TOOL)


def _add_unit(store: tmxfile, unit: TmUnit, target_lang: str) -> None:
    tu = store.addsourceunit(unit.source)  # a <tuv> in the store's source language
    tu.settarget(unit.target, target_lang)
    element = tu.xmlelement
    if unit.editor:
        element.set("creationid", valid_chars_only(unit.editor))
    if unit.at:
        element.set("creationdate", _tmx_date(unit.at))
    first_tuv = element.find("tuv")
    for kind, value in ((ARTICLE_PROP, unit.article_id), (STATUS_PROP, unit.status)):
        if value:
            prop = etree.Element("prop", type=kind)  # TMX order: note*, prop*, tuv+
            safely_set_text(prop, value)
            first_tuv.addprevious(prop)


def _tmx_date(at: str) -> str:
    try:
        moment = dt.datetime.fromisoformat(at)
    except ValueError:
        raise ValueError(f"TmUnit.at {at!r} is not an ISO 8601 date and time") from None
    if moment.utcoffset() is None:
        raise ValueError(f"TmUnit.at {at!r} has no UTC offset (write it like 2026-11-29T12:00:00+00:00)")
    return moment.astimezone(dt.UTC).strftime(TMX_DATE)


def _iso_date(value: str) -> str:
    if not _TMX_DATE_RE.fullmatch(value):
        return ""
    try:
        moment = dt.datetime.strptime(value, TMX_DATE)
    except ValueError:  # digits in the right places, but no such day or hour
        return ""
    return moment.replace(tzinfo=dt.UTC).isoformat()


def _units(path: Path) -> Iterator[etree._Element]:
    """Each ``<tu>`` of the file as it is read, then dropped: memory holds one unit, not the tree."""
    try:
        with path.open("rb") as file:
            events = etree.iterparse(file, tag="tu", resolve_entities=False, no_network=True, load_dtd=False)
            yield from _units_of(path, events)
    except FileNotFoundError as exc:
        raise FormatError(f"{path}: no such TMX file") from exc
    except OSError as exc:
        raise FormatError(f"{path}: cannot read the TMX file ({exc.strerror or exc})") from exc
    except etree.XMLSyntaxError as exc:
        raise FormatError(f"{path}: not an XML file ({_syntax_error(exc)})") from exc


def _syntax_error(exc: etree.XMLSyntaxError) -> str:
    if not exc.lineno:  # iterparse's words for a file without an element: say it as libxml2 does
        return "line 1: Document is empty"
    lines = str(exc.msg or "").strip().splitlines()
    reason = _POSITION_RE.sub("", lines[0]) if lines else "syntax error"
    return f"line {exc.lineno}: {reason}"


def _units_of(path: Path, events: etree.iterparse) -> Iterator[etree._Element]:
    checked = False
    for _event, element in events:
        if not checked:  # mid-parse, getroottree() does not know the root yet: climb to it
            root = element
            while (parent := root.getparent()) is not None:
                root = parent
            _check_root(path, root)
            checked = True
        yield element
        element.clear(keep_tail=False)
        while element.getprevious() is not None:  # units and comments already read
            del element.getparent()[0]
    _check_root(path, events.root)


def _check_root(path: Path, root: etree._Element) -> None:
    if root.tag != "tmx":
        raise FormatError(f"{path}: not a TMX file: the root element is <{root.tag}>, not <tmx>")


def _primary(language: str) -> str:
    return re.split(r"[-_]", language.strip(), maxsplit=1)[0].lower()


def _pair(tu: etree._Element, source_key: str, target_key: str) -> TmUnit | None:
    source_tuv = _tuv(tu, source_key)
    target_tuv = _tuv(tu, target_key)
    if source_tuv is None or target_tuv is None:
        return None
    source = _seg_text(source_tuv)
    target = _seg_text(target_tuv)
    if not source or not target:
        return None
    levels = (target_tuv, tu)
    return TmUnit(
        source=source,
        target=target,
        editor=_attribute(levels, ("changeid", "creationid")),
        at=_iso_date(_attribute(levels, ("changedate", "creationdate"))),
        article_id=_prop(tu, ARTICLE_PROP),
        status=_prop(tu, STATUS_PROP),
    )


def _tuv(tu: etree._Element, language_key: str) -> etree._Element | None:
    for tuv in tu.iterchildren("tuv"):
        language = tuv.get(_XML_LANG) or tuv.get("lang") or ""
        if _primary(language) == language_key:
            return tuv
    return None


def _seg_text(tuv: etree._Element) -> str:
    seg = tuv.find("seg")
    return "" if seg is None else _text(seg).strip()


def _text(element: etree._Element) -> str:
    parts = [element.text or ""]
    for child in element:
        if isinstance(child.tag, str) and etree.QName(child).localname not in _INLINE_CODES:
            parts.append(_text(child))  # <hi>: text with a formatting, kept
        parts.append(child.tail or "")  # comments and codes go, the text after them stays
    return "".join(parts)


def _attribute(elements: Sequence[etree._Element], names: Sequence[str]) -> str:
    for element in elements:
        for name in names:
            value = (element.get(name) or "").strip()
            if value:
                return value
    return ""


def _prop(tu: etree._Element, kind: str) -> str:
    for prop in tu.iterchildren("prop"):
        if prop.get("type") == kind:
            return (prop.text or "").strip()
    return ""
