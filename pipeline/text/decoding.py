"""Bytes of an article file → text, refusing binary data and empty files.

Documented fallback: a file that is not valid UTF-8 is read as Windows-1252 (or Latin-1, which
accepts every byte) with a warning that names the first bad byte, so one mis-saved article does
not stop the night's batch. UTF-8 and UTF-16 byte-order marks are honoured.
"""

from __future__ import annotations

import codecs
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from pipeline.errors import InputError

_MAGIC = {
    b"%PDF": "a PDF document",
    b"\x89PNG": "a PNG image",
    b"\xff\xd8\xff": "a JPEG image",
    b"GIF8": "a GIF image",
    b"PK\x03\x04": "a ZIP archive (or a Word/OpenDocument file)",
    b"\x1f\x8b": "a gzip archive",
    b"ID3": "an MP3 file",
    b"\x7fELF": "an executable",
}
_BOMS = ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))
_TEXT_CONTROLS = {"\n", "\r", "\t", "\f", "\v"}


@dataclass(frozen=True)
class DecodedText:
    """An article file's text (NFC, Unix line ends), its encoding, and the fallback's warning."""

    text: str
    encoding: str
    warning: str | None = None


def decode_article(path: Path, data: bytes) -> DecodedText:
    """The text of an article file's bytes (see the module docstring for the fallback).

    Args:
        path: the file, named in errors only.
        data: the file's bytes.

    Raises:
        InputError: the file is empty or blank, binary (a known signature, NUL bytes, many control
            characters), or broken after its UTF-8 or UTF-16 byte-order mark.
    """
    if not data.strip():
        raise InputError(path, "empty file (only whitespace)" if data else "empty file")
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            try:
                return _checked(path, data.decode(encoding), encoding)
            except UnicodeDecodeError as exc:
                raise InputError(path, f"broken {encoding} text at byte {exc.start}") from None
    for magic, kind in _MAGIC.items():
        if data.startswith(magic):
            raise InputError(path, f"binary data ({kind}), not a text article")
    if b"\x00" in data:
        raise InputError(path, "binary data (NUL bytes), not a text article")
    try:
        return _checked(path, data.decode("utf-8"), "utf-8")
    except UnicodeDecodeError as exc:
        first_bad = f"byte 0x{data[exc.start]:02x} at offset {exc.start}"
    try:
        text, fallback = data.decode("cp1252"), "cp1252"
    except UnicodeDecodeError:
        text, fallback = data.decode("latin-1"), "latin-1"  # latin-1 decodes every byte
    warning = (
        f"not valid UTF-8 ({first_bad}); read as {fallback}, "
        "check the translation and re-save the file as UTF-8"
    )
    return _checked(path, text, fallback, warning)


def _checked(path: Path, text: str, encoding: str, warning: str | None = None) -> DecodedText:
    controls = sum(1 for char in text if unicodedata.category(char) == "Cc" and char not in _TEXT_CONTROLS)
    if controls > max(2, len(text) // 100):
        raise InputError(path, f"binary data ({controls} control characters), not a text article")
    text = unicodedata.normalize("NFC", text.replace("\r\n", "\n").replace("\r", "\n"))
    if not text.strip():
        raise InputError(path, "empty file (only whitespace)")
    return DecodedText(text, encoding, warning)
