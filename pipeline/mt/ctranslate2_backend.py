"""MarianMT with CTranslate2: the fast backend.

The transformers checkpoint is converted once, on first use (or by ``pipeline models convert``),
into the cache folder, keyed by the model's fingerprint and the quantization; the conversion is
written to a temporary folder and renamed into place, so a killed conversion leaves nothing half
made. Tokens come from the same ``MarianTokenizer`` as the transformers backend.
"""

from __future__ import annotations

import copy
import logging
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from pipeline.config import TargetConfig, TranslationConfig
from pipeline.errors import ModelError
from pipeline.mt.marian import Hypothesis, batch_error, cpu_threads, first_line, open_checkpoint

log = logging.getLogger(__name__)

CONVERSION_VERSION = 1


def resolve_compute_type(setting: str, device: str) -> str:
    if setting != "auto":
        return setting
    return "float16" if device == "cuda" else "int8"


def converted_model(directory: Path, fingerprint: str, quantization: str, cache_dir: Path) -> Path:
    """The CTranslate2 conversion of the checkpoint in ``directory``, made once and cached."""
    from pipeline.state.keys import digest

    target = cache_dir / "ctranslate2" / digest(CONVERSION_VERSION, fingerprint, quantization)[:32]
    if (target / "model.bin").is_file():
        return target
    import ctranslate2

    log.info("converting %s to CTranslate2 (%s) in %s", directory, quantization, target)
    target.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".convert-", dir=target.parent))
    try:
        converter = ctranslate2.converters.TransformersConverter(str(directory))
        converter.convert(str(work / "model"), quantization=quantization, force=True)
        try:
            os.replace(work / "model", target)
        except OSError:
            if not (target / "model.bin").is_file():  # another process converted it meanwhile
                raise
    except (ValueError, RuntimeError, OSError) as exc:
        raise ModelError(f"cannot convert {directory} to CTranslate2: {first_line(exc)}") from exc
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return target


class CTranslate2Translator:
    backend = "ctranslate2"

    def __init__(self, target: TargetConfig, settings: TranslationConfig, pull_command: str | None = None):
        import ctranslate2

        from pipeline.state.keys import model_fingerprint

        checkpoint = open_checkpoint(target, settings, pull_command, self.backend)
        compute_type = resolve_compute_type(settings.compute_type, checkpoint.device)
        self.vocabulary = checkpoint.vocabulary
        fingerprint = model_fingerprint(target.model, target.revision, target.model_is_local)
        directory = checkpoint.files.directory
        converted = converted_model(directory, fingerprint, compute_type, Path(settings.cache_dir or "."))
        try:
            self.engine = ctranslate2.Translator(
                str(converted),
                device=checkpoint.device,
                compute_type=compute_type,
                inter_threads=1,
                intra_threads=cpu_threads(settings.threads) if checkpoint.device == "cpu" else 0,
            )
        except (ValueError, RuntimeError) as exc:
            message = f"{checkpoint.key}.model: CTranslate2 cannot load {converted}: {first_line(exc)}"
            raise ModelError(message) from exc
        self.lang_token = self.vocabulary.lang_token
        self.info = checkpoint.info(target, self.backend, compute_type)
        self.decoding_options: dict[str, Any] = {
            "beam_size": settings.beam_size,
            "max_decoding_length": self.info.max_output_tokens,
            "min_decoding_length": min(settings.min_length, self.info.max_output_tokens),
            "length_penalty": 1.0,
            "repetition_penalty": 1.0,
            "no_repeat_ngram_size": 0,
            "num_hypotheses": 1,
            "max_input_length": 0,  # inputs are split to fit beforehand; never truncate
        }  # <pad> is not in a converted Marian vocabulary, so it can never be generated

    def variant(self, **options: Any) -> CTranslate2Translator:
        """The same loaded model with other decoding options (``repetition_penalty``, ...)."""
        other = copy.copy(self)
        other.decoding_options = {**self.decoding_options, **options}
        return other

    def count_tokens(self, sentences: list[str]) -> list[int]:
        return self.vocabulary.count_tokens(sentences)

    def translate(self, sentences: list[str]) -> list[Hypothesis]:
        """One batch; every sentence must fit ``info.max_input_tokens``."""
        if not sentences:
            return []
        source = [self.vocabulary.source_pieces(s) for s in sentences]
        try:
            results = self.engine.translate_batch(source, **self.decoding_options)
        except RuntimeError as exc:
            raise batch_error(exc, self.info.model, len(sentences)) from exc
        hypotheses = []
        for result in results:
            pieces = result.hypotheses[0]
            hit_limit = len(pieces) >= self.info.max_output_tokens
            hypotheses.append(Hypothesis(self.vocabulary.decode_pieces(pieces), len(pieces), hit_limit))
        return hypotheses
