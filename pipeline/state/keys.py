"""Content keys: ``sha256`` of everything that determines a piece of output.

A key changes when, and only when, its output would: the input text, the model (by fingerprint,
so a re-downloaded revision or a replaced local checkpoint counts), the parameters that change
results, and the stage's version (bumped when the code's output changes). Keys are computed
without loading a model, so an up-to-date run never loads one.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

# Bump when a stage's output for the same inputs changes, so old results are redone.
TRANSLATION_VERSION = 1
TEXT_VERSION = 2  # 2: the wrong_language flag is recorded in article.json
SEGMENT_VERSION = 1
NARRATION_VERSION = 2  # 2: loudness-normalised, ID3v2.3 with CHAPs in time order, cover art

_WEIGHT_SUFFIXES = (".safetensors", ".bin", ".spm", ".json")


def digest(*parts: Any) -> str:
    return hashlib.sha256(
        json.dumps(parts, ensure_ascii=False, sort_keys=True, default=str).encode()
    ).hexdigest()


def model_fingerprint(model: str, revision: str | None, local: bool) -> str:
    """Which model files a language will use, known without loading them.

    A local directory: its path and the size and modification time of every model file. A hub
    model: the commit its revision resolves to in the local cache (no network), or the revision
    name when it is not cached yet (then the first run downloads it and records the commit).
    """
    if local:
        directory = Path(model)
        files = sorted(p for p in directory.iterdir() if p.suffix in _WEIGHT_SUFFIXES and p.is_file())
        stats = [(p.name, p.stat().st_size, p.stat().st_mtime_ns) for p in files]
        return "local:" + digest(str(directory.resolve()), stats)[:24]
    return f"hub:{model}@{cached_commit(model, revision) or (revision or 'main') + ':uncached'}"


def cached_commit(model: str, revision: str | None) -> str | None:
    from huggingface_hub import try_to_load_from_cache

    path = try_to_load_from_cache(model, "config.json", revision=revision)
    return Path(path).parent.name if isinstance(path, str) else None


def translation_key(fingerprint: str, lang_token: str | None, signature: list[object], sentence: str) -> str:
    """``signature``: the backend settings that change results (``mt.backends.result_signature``)."""
    return digest("translation", TRANSLATION_VERSION, fingerprint, lang_token, signature, sentence)


def segment_key(engine: str, voice: str, engine_params: dict[str, Any], text: str) -> str:
    return digest("segment", SEGMENT_VERSION, engine, voice, engine_params, text)
