"""Translation backends by name (``translation.backend``), and what distinguishes their results."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from pipeline.config import TargetConfig, TranslationConfig

if TYPE_CHECKING:
    from pipeline.mt.batching import Translator


def _transformers(target: TargetConfig, settings: TranslationConfig, pull_command: str | None) -> Translator:
    from pipeline.mt.transformers_backend import TransformersTranslator

    return TransformersTranslator(target, settings, pull_command)


def _ctranslate2(target: TargetConfig, settings: TranslationConfig, pull_command: str | None) -> Translator:
    from pipeline.mt.ctranslate2_backend import CTranslate2Translator

    return CTranslate2Translator(target, settings, pull_command)


BACKENDS: dict[str, Callable[[TargetConfig, TranslationConfig, str | None], Translator]] = {
    "transformers": _transformers,
    "ctranslate2": _ctranslate2,
}


def load_translator(
    target: TargetConfig, settings: TranslationConfig, pull_command: str | None = None
) -> Translator:
    """The ``translation.backend`` translator with ``target``'s model loaded.

    ``pull_command`` is the command that fetches a missing model, suggested in the error.

    Raises:
        ModelError: the model or its tokenizer cannot be found or loaded.
        ConfigError: ``translation.device`` is ``cuda`` and the backend sees no CUDA device.
    """
    return BACKENDS[settings.backend](target, settings, pull_command)


def result_signature(settings: TranslationConfig) -> list[object]:
    """Settings besides the model that change translations: part of every translation key.

    The checkpoint's own decoding settings (``generation_config.json``: ``renormalize_logits``,
    ``bad_words_ids``) are covered by the model's fingerprint, which changes with its files.
    """
    from pipeline.mt.marian import LENGTH_SLACK

    lengths = [settings.max_length, settings.min_length, settings.max_length_ratio, LENGTH_SLACK]
    if settings.backend == "transformers":
        return ["transformers", "float32", settings.beam_size, *lengths]
    from pipeline.mt.ctranslate2_backend import resolve_compute_type
    from pipeline.mt.device import resolve_device

    compute_type = resolve_compute_type(settings.compute_type, resolve_device(settings.device, "ctranslate2"))
    return ["ctranslate2", compute_type, settings.beam_size, *lengths]
