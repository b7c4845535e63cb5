"""Checks of the show's cover art (``tts.artwork``) at config load: a square JPEG or PNG.

The dimensions are read from the file's header (PNG's IHDR, JPEG's start-of-frame marker), so no
imaging library is needed.
"""

from __future__ import annotations

import struct
from pathlib import Path

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
JPEG_MAGIC = b"\xff\xd8\xff"
# JPEG start-of-frame markers (baseline, progressive, ...): not DHT (C4), JPG (C8) or DAC (CC).
_SOF = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}


def image_size(data: bytes) -> tuple[str, int, int]:
    """("png" or "jpeg", width, height) from the header of ``data``.

    Raises:
        ValueError: ``data`` is not a PNG or JPEG, or its header is cut short.
    """
    if data.startswith(PNG_MAGIC) and data[12:16] == b"IHDR":
        width, height = struct.unpack(">II", data[16:24])
        return "png", width, height
    if data.startswith(JPEG_MAGIC):
        offset = 2
        while offset + 9 <= len(data):
            if data[offset] != 0xFF:
                break
            marker = data[offset + 1]
            (length,) = struct.unpack(">H", data[offset + 2 : offset + 4])
            if marker in _SOF:
                height, width = struct.unpack(">HH", data[offset + 5 : offset + 9])
                return "jpeg", width, height
            offset += 2 + length
        raise ValueError("a JPEG without a frame header (no width and height found)")
    raise ValueError("neither a JPEG nor a PNG")


def artwork_problem(path: Path) -> str | None:
    """Why ``path`` cannot be the show's cover art, or None when it can."""
    try:
        kind, width, height = image_size(path.read_bytes())
    except OSError as exc:
        return f"cannot read {path}: {exc.strerror or exc}"
    except ValueError as exc:
        return f"{path} is {exc}"
    if width != height or width == 0:
        return f"{path} is a {width}x{height} {kind.upper()}: cover art must be square (Apple: 1400-3000 px)"
    return None
