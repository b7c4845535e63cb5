"""A fetched document's text: the charset from the reply's header, else from the document, else guessed.

Newsroom sites get their headers wrong often: a server that says ``iso-8859-1`` for every page while
the CMS writes UTF-8. Bytes that decode as strict UTF-8 and hold non-ASCII characters are almost
never Latin-1 text, so for a header (or a document) that names a Western single-byte charset, such
bytes are read as UTF-8, with a warning that says so.
"""

from __future__ import annotations

import codecs
import re

import charset_normalizer

SNIFF_BYTES = 2048  # where a document declares its charset (the HTML spec looks at the first 1024)
_SINGLE_BYTE_WESTERN = {"iso8859-1", "cp1252", "ascii"}  # Python's names for the aliases
_BOMS = ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))
_DECLARED = (
    re.compile(rb"""<\?xml[^>]*\bencoding\s*=\s*["']([A-Za-z0-9._:-]+)["']"""),
    re.compile(rb"""<meta\s[^>]*\bcharset\s*=\s*["']?([A-Za-z0-9._:-]+)""", re.IGNORECASE),
)


def decode(body: bytes, header_charset: str | None) -> tuple[str, tuple[str, ...]]:
    """``body`` as text, and what was doubtful about its charset (one line each, or none).

    In order: a byte order mark; the header's charset; one the document declares in its first
    2 KB (XML declaration, ``<meta charset>``, ``<meta http-equiv="Content-Type">``);
    charset-normalizer's best guess; UTF-8 with replacement characters.
    """
    for bom, bom_encoding in _BOMS:
        if body.startswith(bom):
            return body.decode(bom_encoding, errors="replace"), ()
    warnings: list[str] = []
    for source, name in (("header", header_charset), ("document", declared_charset(body))):
        if name is None:
            continue
        encoding = _codec(name)
        if encoding is None:
            warnings.append(f"unknown charset {name!r} in the {source}; ignored")
            continue
        if mislabelled_utf8(body, encoding):
            warnings.append(f"the {source} says {name} but the bytes are UTF-8; read as UTF-8")
            encoding = "utf-8"
        return body.decode(encoding, errors="replace"), tuple(warnings)
    best = charset_normalizer.from_bytes(body).best()
    if best is not None:
        return str(best), tuple(warnings)
    return body.decode("utf-8", errors="replace"), tuple(warnings)


def declared_charset(body: bytes) -> str | None:
    """The charset the document names in its first ``SNIFF_BYTES`` bytes, if any."""
    head = body[:SNIFF_BYTES]
    for pattern in _DECLARED:
        match = pattern.search(head)
        if match:
            return match.group(1).decode("ascii")
    return None


def mislabelled_utf8(body: bytes, encoding: str) -> bool:
    """Whether ``body``, said to be in a Western single-byte ``encoding``, is UTF-8 instead."""
    if encoding not in _SINGLE_BYTE_WESTERN or body.isascii():
        return False
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def header_warnings(body: bytes, header_charset: str | None) -> tuple[str, ...]:
    """What ``decode`` would say about the header's charset, without decoding the whole body."""
    if header_charset is None:
        return ()
    encoding = _codec(header_charset)
    if encoding is None:
        return (f"unknown charset {header_charset!r} in the header; ignored",)
    if mislabelled_utf8(body, encoding):
        return (f"the header says {header_charset} but the bytes are UTF-8; read as UTF-8",)
    return ()


def _codec(name: str) -> str | None:
    """Python's name for the charset ``name`` (``"iso8859-1"`` for ``latin1``), or None."""
    try:
        return codecs.lookup(name).name
    except LookupError:
        return None
