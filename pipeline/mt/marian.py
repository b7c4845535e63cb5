"""MarianMT (Opus-MT) inference with Hugging Face transformers.

One ``MarianTranslator`` per target language and process: the model loads once in ``__init__``
and translates any number of batches. Generation parameters are set explicitly (never taken from
the checkpoint's ``generation_config.json``), so results do not change when a model repo does.
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass
from typing import Any

from pipeline.config import TargetConfig, TranslationConfig
from pipeline.errors import ModelError, OutOfMemoryError, TranslationError
from pipeline.mt.device import resolve_device
from pipeline.mt.locate import locate_model

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
        }


class MarianTranslator:
    def __init__(self, target: TargetConfig, settings: TranslationConfig, pull_command: str | None = None):
        import torch
        from transformers import MarianMTModel, MarianTokenizer

        key = f"languages.{target.code}"
        files = locate_model(
            target.model, target.revision, local=target.model_is_local, key=key, pull_command=pull_command
        )
        device = resolve_device(settings.device)
        try:
            tokenizer = MarianTokenizer.from_pretrained(files.directory)
            model = MarianMTModel.from_pretrained(files.directory, dtype=torch.float32)
        except (OSError, ValueError, KeyError, TypeError, RuntimeError) as exc:
            first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise ModelError(
                f"{key}.model: cannot load MarianMT from {files.directory}: {first_line}"
            ) from exc
        self.tokenizer = tokenizer
        self.model = model.to(device).eval()
        self.lang_token = _choose_lang_token(target, tokenizer, key)
        positions = int(getattr(model.config, "max_position_embeddings", POSITION_LIMIT))
        limit = min(positions, int(tokenizer.model_max_length or positions), POSITION_LIMIT)
        max_output = min(settings.max_length, positions - 1)
        if max_output < settings.max_length:
            log.warning(
                "%s: translation.max_length %d exceeds the model's %d positions; using %d",
                key,
                settings.max_length,
                positions,
                max_output,
            )
        self.info = ModelInfo(
            model=target.model,
            revision=target.revision,
            resolved_revision=files.resolved_revision,
            lang_token=self.lang_token,
            device=device,
            max_input_tokens=limit,
            max_output_tokens=max_output,
        )
        # Replace the checkpoint's generation_config.json: transformers fills every unset value
        # from it (forced_eos_token_id, max_length...), and we want no setting we did not choose.
        self.model.generation_config = self._generation_config(settings.beam_size, max_output)
        self._prefix = f"{self.lang_token} " if self.lang_token else ""

    def _generation_config(self, beams: int, max_new_tokens: int) -> Any:
        from transformers import GenerationConfig

        config = self.model.config
        beam_settings = {"early_stopping": True, "length_penalty": 1.0} if beams > 1 else {}
        return GenerationConfig(
            num_beams=beams,
            do_sample=False,
            max_new_tokens=max_new_tokens,
            num_return_sequences=1,
            repetition_penalty=1.0,
            no_repeat_ngram_size=0,
            **beam_settings,
            decoder_start_token_id=config.decoder_start_token_id,
            eos_token_id=config.eos_token_id,
            pad_token_id=config.pad_token_id,
            bad_words_ids=[[config.pad_token_id]],
        )

    def count_tokens(self, sentences: list[str]) -> list[int]:
        """Source tokens of each sentence as the model will see it (language token and </s> included)."""
        if not sentences:
            return []
        encoded = self.tokenizer([self._prefix + s for s in sentences], add_special_tokens=True)
        return [len(ids) for ids in encoded["input_ids"]]

    def translate(self, sentences: list[str]) -> list[Hypothesis]:
        """One batch; every sentence must fit ``info.max_input_tokens``."""
        import torch

        if not sentences:
            return []
        batch = self.tokenizer([self._prefix + s for s in sentences], return_tensors="pt", padding=True).to(
            self.info.device
        )
        try:
            with torch.inference_mode():
                output = self.model.generate(**batch)
        except torch.OutOfMemoryError as exc:
            raise OutOfMemoryError(f"out of memory translating {len(sentences)} sentences") from exc
        except (RuntimeError, IndexError, ValueError) as exc:
            if "out of memory" in str(exc).lower():
                raise OutOfMemoryError(f"out of memory translating {len(sentences)} sentences") from exc
            raise TranslationError(f"{self.info.model} failed on a batch: {exc}") from exc
        texts = self.tokenizer.batch_decode(output, skip_special_tokens=True)
        generated = output[:, 1:]  # drop the decoder start token
        config = self.model.config
        hypotheses = []
        for text, row in zip(texts, generated.tolist(), strict=True):
            content = [t for t in row if t not in (config.pad_token_id, config.eos_token_id)]
            finished = config.eos_token_id in row
            hit_limit = not finished and len(content) >= self.info.max_output_tokens
            hypotheses.append(Hypothesis(text.strip(), len(content), hit_limit))
        return hypotheses


def _choose_lang_token(target: TargetConfig, tokenizer: Any, key: str) -> str | None:
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
