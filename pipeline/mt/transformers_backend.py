"""MarianMT with Hugging Face transformers: the reference backend.

Generation parameters are set explicitly (never taken from the checkpoint's
``generation_config.json``), so results do not change when a model repo does.
"""

from __future__ import annotations

from typing import Any

from pipeline.config import TargetConfig, TranslationConfig
from pipeline.errors import ModelError, OutOfMemoryError, TranslationError
from pipeline.mt.device import resolve_device
from pipeline.mt.locate import locate_model
from pipeline.mt.marian import (
    Hypothesis,
    MarianVocabulary,
    ModelInfo,
    cpu_threads,
    first_line,
    model_positions,
)


class TransformersTranslator:
    backend = "transformers"

    def __init__(self, target: TargetConfig, settings: TranslationConfig, pull_command: str | None = None):
        import torch
        from transformers import MarianMTModel

        key = f"languages.{target.code}"
        files = locate_model(target.model, target.revision, local=target.model_is_local, key=key,
                             pull_command=pull_command)  # fmt: skip
        device = resolve_device(settings.device, self.backend)
        if device == "cpu":
            torch.set_num_threads(cpu_threads(settings.threads))
        self.vocabulary = MarianVocabulary(
            files.directory, target, settings, model_positions(files.directory)
        )
        try:
            model = MarianMTModel.from_pretrained(files.directory, dtype=torch.float32)
        except (OSError, ValueError, KeyError, TypeError, RuntimeError) as exc:
            raise ModelError(
                f"{key}.model: cannot load MarianMT from {files.directory}: {first_line(exc)}"
            ) from exc
        self.model = model.to(device).eval()
        self.tokenizer = self.vocabulary.tokenizer
        self.lang_token = self.vocabulary.lang_token
        self.info = ModelInfo(
            model=target.model,
            revision=target.revision,
            resolved_revision=files.resolved_revision,
            lang_token=self.lang_token,
            device=device,
            max_input_tokens=self.vocabulary.max_input_tokens,
            max_output_tokens=self.vocabulary.max_output_tokens,
            backend=self.backend,
            compute_type="float32",
        )
        # Replace the checkpoint's generation_config.json: transformers fills every unset value
        # from it (forced_eos_token_id, max_length...), and we want no setting we did not choose.
        self.model.generation_config = self._generation_config(settings)

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

    def count_tokens(self, sentences: list[str]) -> list[int]:
        return self.vocabulary.count_tokens(sentences)

    def translate(self, sentences: list[str]) -> list[Hypothesis]:
        """One batch; every sentence must fit ``info.max_input_tokens``."""
        import torch

        if not sentences:
            return []
        prefix = self.vocabulary.prefix
        batch = self.tokenizer([prefix + s for s in sentences], return_tensors="pt", padding=True).to(
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
        config = self.model.config
        hypotheses = []
        for text, row in zip(texts, output[:, 1:].tolist(), strict=True):  # [:, 1:] drops the start token
            content = [t for t in row if t not in (config.pad_token_id, config.eos_token_id)]
            finished = config.eos_token_id in row
            hit_limit = not finished and len(content) >= self.info.max_output_tokens
            hypotheses.append(Hypothesis(text.strip(), len(content), hit_limit))
        return hypotheses
