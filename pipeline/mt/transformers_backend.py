"""MarianMT with Hugging Face transformers: the reference backend.

Generation parameters are set explicitly: of the checkpoint's ``generation_config.json`` only
what describes the model is kept (its special tokens, ``bad_words_ids``, ``renormalize_logits``:
see ``marian.checkpoint_decoding``), never its suggested beam size or lengths.
"""

from __future__ import annotations

import copy
from typing import Any

from pipeline.config import TargetConfig, TranslationConfig
from pipeline.errors import ModelError
from pipeline.mt.marian import Hypothesis, ModelInfo, batch_error, cpu_threads, first_line, open_checkpoint


class TransformersTranslator:
    """A ``Translator`` running ``target``'s model with transformers in float32.

    Args:
        target: the language and its model.
        settings: ``translation``: device, threads, beam size, lengths.
        pull_command: the command that fetches a missing model, suggested in the error.

    Raises:
        ModelError: the model or its tokenizer cannot be found or loaded.
        ConfigError: ``translation.device`` is ``cuda`` and torch sees no CUDA device.
    """

    backend = "transformers"
    info: ModelInfo

    def __init__(self, target: TargetConfig, settings: TranslationConfig, pull_command: str | None = None):
        import torch
        from transformers import MarianMTModel

        checkpoint = open_checkpoint(target, settings, pull_command, self.backend)
        if checkpoint.device == "cpu":
            torch.set_num_threads(cpu_threads(settings.threads))
        directory = checkpoint.files.directory
        try:
            model = MarianMTModel.from_pretrained(directory, dtype=torch.float32)
        except (OSError, ValueError, KeyError, TypeError, RuntimeError) as exc:
            message = f"{checkpoint.key}.model: cannot load MarianMT from {directory}: {first_line(exc)}"
            raise ModelError(message) from exc
        self.vocabulary = checkpoint.vocabulary
        # PreTrainedModel.to is decorated with functools.wraps, whose typing loses the method's
        # binding: mypy takes the device for ``self``.
        self.model = model.to(checkpoint.device).eval()  # type: ignore[arg-type]
        self.tokenizer = self.vocabulary.tokenizer
        self.lang_token = self.vocabulary.lang_token
        self.info = checkpoint.info(target, self.backend, "float32")
        self.eos_token_id = checkpoint.tokens["eos_token_id"]
        self.pad_token_id = checkpoint.tokens["pad_token_id"]
        # Replace the checkpoint's generation_config.json: transformers fills every unset value
        # from it (forced_eos_token_id, max_length...), and we want no setting we did not choose
        # beyond what describes the model (checkpoint.tokens, checkpoint.decoding).
        self.model.generation_config = self._generation_config(settings, checkpoint.tokens)
        self.generation = self.model.generation_config

    def _generation_config(self, settings: TranslationConfig, tokens: dict[str, int]) -> Any:
        """The GenerationConfig of every batch (``max_new_tokens`` is then set per batch)."""
        from transformers import GenerationConfig

        beams = settings.beam_size
        beam_settings = {"early_stopping": True, "length_penalty": 1.0} if beams > 1 else {}
        return GenerationConfig(
            num_beams=beams,
            do_sample=False,
            max_new_tokens=self.info.max_output_tokens,
            min_new_tokens=self.vocabulary.min_output_tokens or None,
            num_return_sequences=1,
            repetition_penalty=1.0,
            no_repeat_ngram_size=0,
            **beam_settings,
            **tokens,
            **self.info.decoding,
        )

    def variant(self, **options: object) -> TransformersTranslator:
        """The same loaded model with other decoding options (``repetition_penalty``, ...)."""
        other = copy.copy(self)
        other.generation = copy.deepcopy(self.generation)
        other.generation.update(**options)
        return other

    def count_tokens(self, sentences: list[str]) -> list[int]:
        """Source tokens of each sentence as the model sees it (language token and </s> included)."""
        return self.vocabulary.count_tokens(sentences)

    def translate(self, sentences: list[str]) -> list[Hypothesis]:
        """One batch; every sentence must fit ``info.max_input_tokens``.

        Raises ``OutOfMemoryError`` when the batch does not fit in memory and ``TranslationError``
        when generation fails on it otherwise.
        """
        import torch

        if not sentences:
            return []
        prefix = self.vocabulary.prefix
        batch = self.tokenizer([prefix + s for s in sentences], return_tensors="pt", padding=True).to(
            self.info.device
        )
        limit = self.vocabulary.output_limit(batch["input_ids"].shape[1])  # padded to the longest
        generation = copy.deepcopy(self.generation)
        generation.max_new_tokens = limit
        try:
            with torch.inference_mode():
                output = self.model.generate(**batch, generation_config=generation)
        except (RuntimeError, IndexError, ValueError) as exc:  # torch.OutOfMemoryError is a RuntimeError
            raise batch_error(exc, self.info.model, len(sentences)) from exc
        texts = self.tokenizer.batch_decode(output, skip_special_tokens=True)
        rows = output[:, 1:].tolist()  # [:, 1:] drops the start token
        return [self._hypothesis(text, row, limit) for text, row in zip(texts, rows, strict=True)]

    def _hypothesis(self, text: str, row: list[int], limit: int) -> Hypothesis:
        """One output ``row`` (start token dropped) decoded as ``text``; ``limit``: the batch's bound."""
        content = [t for t in row if t not in (self.pad_token_id, self.eos_token_id)]
        finished = self.eos_token_id in row
        return Hypothesis(text.strip(), len(content), not finished and len(content) >= limit)
