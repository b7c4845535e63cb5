"""What every MarianMT backend shares: the tokenizer side, the language token, length limits, and
the record of what produced a translation.

Both backends (transformers, CTranslate2) take their source tokens from the same
``MarianTokenizer`` and decode with it, so they see identical inputs and differ only in the engine.
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipeline.config import TargetConfig, TranslationConfig
from pipeline.errors import ModelError, OutOfMemoryError, PipelineError, TranslationError
from pipeline.mt.locate import ModelFiles

log = logging.getLogger(__name__)

POSITION_LIMIT = 512  # Opus-MT models are trained on sentences well inside 512 tokens


@dataclass(frozen=True)
class Hypothesis:
    text: str
    tokens: int  # generated tokens, end-of-sentence excluded
    hit_limit: bool  # stopped at max_length without finishing the sentence


@dataclass(frozen=True)
class ModelInfo:
    """What produced a translation: recorded in every ``article.json``."""

    model: str
    revision: str | None
    resolved_revision: str | None
    lang_token: str | None
    device: str
    max_input_tokens: int
    max_output_tokens: int
    backend: str = "transformers"
    compute_type: str = "float32"

    def state(self) -> dict[str, Any]:
        """Everything, for the state store (so outputs can be re-published without loading)."""
        return dataclasses.asdict(self)

    @classmethod
    def from_state(cls, data: dict[str, Any]) -> ModelInfo:
        return cls(**data)

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.model,
            "revision": self.revision,
            "resolved_revision": self.resolved_revision,
            "lang_token": self.lang_token,
            "backend": self.backend,
            "compute_type": self.compute_type,
        }


class MarianVocabulary:
    """The tokenizer of a MarianMT checkpoint, with the language token and the length limits."""

    def __init__(self, directory: Path, target: TargetConfig, settings: TranslationConfig, positions: int):
        from transformers import MarianTokenizer

        self.key = f"languages.{target.code}"
        try:
            self.tokenizer = MarianTokenizer.from_pretrained(directory)
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ModelError(
                f"{self.key}.model: cannot load the tokenizer from {directory}: {first_line(exc)}"
            ) from exc
        self.lang_token = choose_lang_token(target, self.tokenizer, self.key)
        self.prefix = f"{self.lang_token} " if self.lang_token else ""
        self.max_input_tokens = min(
            positions, int(self.tokenizer.model_max_length or positions), POSITION_LIMIT
        )
        self.max_output_tokens = min(settings.max_length, positions - 1)
        if self.max_output_tokens < settings.max_length:
            log.warning(
                "%s: translation.max_length %d exceeds the model's %d positions; using %d",
                self.key, settings.max_length, positions, self.max_output_tokens,
            )  # fmt: skip
        self.special = set(self.tokenizer.all_special_tokens)

    def count_tokens(self, sentences: list[str]) -> list[int]:
        """Source tokens of each sentence as the model will see it (language token and </s> included)."""
        if not sentences:
            return []
        encoded = self.tokenizer([self.prefix + s for s in sentences], add_special_tokens=True)
        return [len(ids) for ids in encoded["input_ids"]]

    def source_pieces(self, sentence: str) -> list[str]:
        return [*self.tokenizer.tokenize(self.prefix + sentence), self.tokenizer.eos_token]

    def decode_pieces(self, pieces: list[str]) -> str:
        return self.tokenizer.convert_tokens_to_string([p for p in pieces if p not in self.special]).strip()


@dataclass(frozen=True)
class Checkpoint:
    """A located MarianMT checkpoint with its tokenizer, ready for a backend to load the weights."""

    key: str  # languages.<code>, for messages
    files: ModelFiles
    device: str
    vocabulary: MarianVocabulary

    def info(self, target: TargetConfig, backend: str, compute_type: str) -> ModelInfo:
        return ModelInfo(
            model=target.model,
            revision=target.revision,
            resolved_revision=self.files.resolved_revision,
            lang_token=self.vocabulary.lang_token,
            device=self.device,
            max_input_tokens=self.vocabulary.max_input_tokens,
            max_output_tokens=self.vocabulary.max_output_tokens,
            backend=backend,
            compute_type=compute_type,
        )


def open_checkpoint(
    target: TargetConfig, settings: TranslationConfig, pull_command: str | None, backend: str
) -> Checkpoint:
    """Find the model's files (local or hub cache), pick the device, and load the tokenizer."""
    from pipeline.mt.device import resolve_device
    from pipeline.mt.locate import locate_model

    key = f"languages.{target.code}"
    files = locate_model(
        target.model, target.revision, local=target.model_is_local, key=key, pull_command=pull_command
    )
    device = resolve_device(settings.device, backend)
    vocabulary = MarianVocabulary(files.directory, target, settings, model_positions(files.directory))
    return Checkpoint(key, files, device, vocabulary)


def choose_lang_token(target: TargetConfig, tokenizer: Any, key: str) -> str | None:
    """The configured token, checked against the vocabulary; or the default for multi-target models."""
    codes = list(getattr(tokenizer, "supported_language_codes", []) or [])
    vocab = tokenizer.get_vocab()
    if target.lang_token:
        if target.lang_token not in vocab:
            known = f"its language tokens are {', '.join(codes)}" if codes else "it has no language tokens"
            raise ModelError(
                f"{key}.lang_token: {target.lang_token!r} is not in the vocabulary "
                f"of {target.model} ({known})"
            )
        return target.lang_token
    if not codes:
        return None
    default = target.language.default_lang_token
    if default in codes:
        log.info("%s: multi-target model, using language token %s", key, default)
        return default
    raise ModelError(
        f"{key}.lang_token: {target.model} translates into several languages; "
        f"set lang_token to one of {', '.join(codes)}"
    )


def batch_error(exc: BaseException, model: str, size: int) -> PipelineError:
    """What an engine's failure on a batch means: out of memory (retried smaller) or a real failure."""
    if "out of memory" in str(exc).lower():
        return OutOfMemoryError(f"out of memory translating {size} sentences")
    return TranslationError(f"{model} failed on a batch: {exc}")


def model_positions(directory: Path) -> int:
    """``max_position_embeddings`` from the checkpoint's config.json."""
    import json

    config = json.loads((directory / "config.json").read_text("utf-8"))
    return int(config.get("max_position_embeddings") or POSITION_LIMIT)


def first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def cpu_threads(setting: int) -> int:
    """``translation.threads``, or every core this process may run on."""
    import os

    if setting:
        return setting
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1
