"""What every MarianMT backend shares: the tokenizer side, the language token, length limits, and
the record of what produced a translation.

Both backends (transformers, CTranslate2) take their source tokens from the same
``MarianTokenizer`` and decode with it, so they see identical inputs and differ only in the engine.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipeline.config import TargetConfig, TranslationConfig
from pipeline.errors import ModelError, OutOfMemoryError, PipelineError, TranslationError
from pipeline.mt.locate import ModelFiles

log = logging.getLogger(__name__)

POSITION_LIMIT = 512  # Opus-MT models are trained on sentences well inside 512 tokens
# Tokens allowed beyond translation.max_length_ratio x source tokens (Marian's max-length-factor),
# so that a short sentence (a name, a number, "Yes.") still has room to come out longer.
LENGTH_SLACK = 10


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
    # renormalize_logits and bad_words_ids, as the checkpoint declares them (see checkpoint_decoding)
    decoding: dict[str, Any] = field(default_factory=dict, hash=False)
    max_length_ratio: float = 0.0  # output bound per source token; 0: only max_output_tokens

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
            "decoding": self.decoding,
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
        self.max_output_tokens = output_cap(settings.max_length, positions, self.key)
        self.min_output_tokens = min(settings.min_length, self.max_output_tokens)
        self.length_ratio = settings.max_length_ratio
        self.special = set(self.tokenizer.all_special_tokens)

    def output_limit(self, longest_source: int) -> int:
        """Most tokens to generate for a batch whose longest source has ``longest_source`` tokens.

        ``max_length_ratio`` x those tokens + ``LENGTH_SLACK`` (never under ``min_length``), within
        ``max_output_tokens``; just ``max_output_tokens`` when the ratio is 0.
        """
        if not self.length_ratio:
            return self.max_output_tokens
        bound = math.ceil(self.length_ratio * longest_source) + LENGTH_SLACK
        return min(self.max_output_tokens, max(bound, self.min_output_tokens))

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
    decoding: dict[str, Any]  # see checkpoint_decoding
    tokens: dict[str, int]  # decoder_start_token_id, eos_token_id, pad_token_id (see special_token_ids)

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
            decoding=self.decoding,
            max_length_ratio=self.vocabulary.length_ratio,
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
    config = read_json(files.directory / "config.json", key)
    declared = read_json(files.directory / "generation_config.json", key)
    vocabulary = MarianVocabulary(files.directory, target, settings, model_positions(config))
    tokens = special_token_ids(config, declared, key)
    return Checkpoint(key, files, device, vocabulary, checkpoint_decoding(declared, tokens), tokens)


def read_json(path: Path, key: str) -> dict[str, Any]:
    """The JSON object in ``path`` ({} when there is no such file). Raises ``ModelError`` when it is
    not readable JSON."""
    try:
        data = json.loads(path.read_text("utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise ModelError(f"{key}.model: cannot read {path}: {first_line(exc)}") from exc
    if not isinstance(data, dict):
        raise ModelError(f"{key}.model: {path} is not a JSON object")
    return data


def special_token_ids(config: dict[str, Any], declared: dict[str, Any], key: str) -> dict[str, int]:
    """``decoder_start_token_id``, ``eos_token_id`` and ``pad_token_id``: as the checkpoint's
    generation_config.json (``declared``) gives them, else as its config.json does.

    They name the model's own tokens, so they come from the checkpoint, as transformers takes them.
    Raises ``ModelError`` when one is missing or not a single id.
    """
    tokens = {}
    for name in ("decoder_start_token_id", "eos_token_id", "pad_token_id"):
        value = declared.get(name, config.get(name))
        if not isinstance(value, int):
            raise ModelError(f"{key}.model: its config.json gives no single {name}; is it a MarianMT model?")
        tokens[name] = value
    return tokens


def checkpoint_decoding(declared: dict[str, Any], tokens: dict[str, int]) -> dict[str, Any]:
    """The decoding settings of the checkpoint's generation_config.json (``declared``) that a
    backend honours because they change results; ``tokens`` from ``special_token_ids``.

    - ``renormalize_logits``: log-probabilities normalised again after <pad> is banned (Marian's
      own scoring; transformers PR 25459): changes beam search scores. False when not declared.
    - ``bad_words_ids``: token sequences never generated; <pad> is always one of them.

    Settings the checkpoint suggests for choices this tool makes itself (``num_beams``,
    ``max_length``, ``forced_eos_token_id``...) are not taken: ``translation.*`` sets those.
    """
    pad = [tokens["pad_token_id"]]
    bad = [list(ids) for ids in declared.get("bad_words_ids") or []]
    return {
        "renormalize_logits": bool(declared.get("renormalize_logits", False)),
        "bad_words_ids": bad if pad in bad else [pad, *bad],
    }


def output_cap(max_length: int | str, positions: int, key: str) -> int:
    """``translation.max_length`` as the model allows it: ``auto`` is its positions less the decoder
    start token; a larger number is cut to that, with a warning naming the key."""
    fits = positions - 1
    if max_length == "auto":
        return fits
    limit = int(max_length)
    if limit > fits:
        log.warning(
            "%s: translation.max_length %d exceeds the model's %d positions; using %d "
            "(or set max_length: auto)",
            key, limit, positions, fits,
        )  # fmt: skip
        return fits
    return limit


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


def model_positions(config: dict[str, Any]) -> int:
    """``max_position_embeddings`` from the checkpoint's config.json (as a dict)."""
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
