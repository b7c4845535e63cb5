"""One article file → ``Article``: check the type, decode the bytes, run the format's reader."""

from __future__ import annotations

import hashlib
from pathlib import Path

from pipeline.errors import FormatError, InputError
from pipeline.text.article import Article, ArticleParts
from pipeline.text.decoding import decode_article
from pipeline.text.readers import READERS
from pipeline.text.slug import article_id


def file_article_id(path: Path, parts: ArticleParts) -> str:
    """The id an article file gives itself: the slug of the id it declares, else of its name (before
    the job keeps ids it issued earlier and makes them unique: ``stages.ingest``)."""
    return article_id(parts.id_hint or path.stem)


def read_article(path: Path) -> Article:
    """The article in ``path``, read by the reader for its suffix.

    Its id is the slug of the id the file declares, else of the file name.

    Raises:
        InputError: no reader for the suffix, the file cannot be read, it is not text (see
            ``decode_article``), or its reader rejects the content (a ``FormatError``, reworded).
    """
    suffix = path.suffix.lower()
    if suffix not in READERS:
        supported = ", ".join(sorted(READERS))
        raise InputError(path, f"unsupported file type {suffix or '(no suffix)'!r} (supported: {supported})")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(path, f"cannot read the file: {exc.strerror or exc}") from None
    decoded = decode_article(path, data)
    file_format, reader = READERS[suffix]
    try:
        parts = reader(decoded.text)
    except FormatError as exc:
        raise InputError(path, str(exc)) from None
    return Article(
        id=file_article_id(path, parts),
        source=path,
        format=file_format,
        sha256=hashlib.sha256(data).hexdigest(),
        encoding=decoded.encoding,
        parts=parts,
        warnings=(decoded.warning,) if decoded.warning else (),
    )
