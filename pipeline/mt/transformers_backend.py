"""MarianMT with Hugging Face transformers: the reference backend.

Generation parameters are set explicitly (never taken from the checkpoint's
``generation_config.json``), so results do not change when a model repo does.
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
        # Replace the checkpoint's generation_config.json: transformers fills every unset value
        # from it (forced_eos_token_id, max_length...), and we want no setting we did not choose.
        self.model.generation_config = self._generation_config(settings)
        self.generation = self.model.generation_config

    def _generation_config(self, settings: TranslationConfig) -> Any:
        from transformers import GenerationConfig

        config = self.model.config
        beams = settings.beam_size
        beam_settings = {"early_stopping": True, "length_penalty": 1.0} if beams > 1 else {}
        return GenerationConfig(
            num_beams=beams,
            do_sample=False,
            max_new_tokens=self.info.max_output_tokens,
            min_new_tokens=min(settings.min_length, self.info.max_output_tokens) or None,
            num_return_sequences=1,
            repetition_penalty=1.0,
            no_repeat_ngram_size=0,
            **beam_settings,
            decoder_start_token_id=config.decoder_start_token_id,
            eos_token_id=config.eos_token_id,
            pad_token_id=config.pad_token_id,
            bad_words_ids=[[config.pad_token_id]],
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
        try:
            with torch.inference_mode():
                output = self.model.generate(**batch, generation_config=self.generation)
        except (RuntimeError, IndexError, ValueError) as exc:  # torch.OutOfMemoryError is a RuntimeError
            raise batch_error(exc, self.info.model, len(sentences)) from exc
        texts = self.tokenizer.batch_decode(output, skip_special_tokens=True)
        config = self.model.config
        hypotheses = []
        for text, row in zip(texts, output[:, 1:].tolist(), strict=True):  # [:, 1:] drops the start token
            content = [t for t in row if t not in (config.pad_token_id, config.eos_token_id)]
            finished = config.eos_token_id in row
            hit_limit = not finished and len(content) >= self.info.max_output_tokens
            hypotheses.append(Hypothesis(text.strip(), len(content), hit_limit))
        return hypotheses
