"""``pipeline models pull``: fetch every hub model a config uses into the local cache, and say
which commit each revision resolved to, so scheduled runs can pin it and use HF_HUB_OFFLINE=1."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pipeline.config import JobConfig, TargetConfig, TranslationConfig
from pipeline.errors import PipelineError
from pipeline.hub import locate_model, parse_model_ref


@dataclass(frozen=True)
class Pulled:
    language: str
    model: str
    revision: str | None
    commit: str | None  # None for a local directory
    error: PipelineError | None = None
    kind: str = "model"  # "model" (translation) or "voice" (an mms narration voice)


def convert_models(config: JobConfig, force: bool = False) -> list[tuple[str, Path | PipelineError]]:
    """Convert every model to CTranslate2 ahead of the first run (fetching it first if needed).

    Takes the job config and whether to convert again what is cached (a model that several
    languages share is then converted once); returns, per language, the conversion folder or the
    ``PipelineError`` that language met, raising nothing. A cached conversion that does not load
    is converted again.
    """
    results: list[tuple[str, Path | PipelineError]] = []
    forced: set[Path] = set()
    for target in config.targets:
        try:
            folder = _convert_model(target, config.translation, force, forced)
        except PipelineError as exc:
            results.append((target.code, exc))
        else:
            results.append((target.code, folder))
    return results


def _convert_model(target: TargetConfig, settings: TranslationConfig, force: bool, forced: set[Path]) -> Path:
    """The conversion folder of ``target``'s model; with ``force`` it is made again unless it is in
    ``forced`` (then added). Raises ``PipelineError``."""
    from pipeline.mt.ctranslate2_backend import conversion_folder, converted_model, resolve_compute_type
    from pipeline.mt.device import resolve_device
    from pipeline.state.keys import model_fingerprint

    files = locate_model(target.model, target.revision, local=target.model_is_local,
                         key=f"languages.{target.code}")  # fmt: skip
    quantization = resolve_compute_type(settings.compute_type, resolve_device(settings.device, "ctranslate2"))
    fingerprint = model_fingerprint(target.model, target.revision, target.model_is_local)
    cache_dir = Path(settings.cache_dir or ".")
    again = force and conversion_folder(fingerprint, quantization, cache_dir) not in forced
    folder = converted_model(files.directory, fingerprint, quantization, cache_dir, force=again)
    if again:
        forced.add(folder)
    return folder


def pull_models(config: JobConfig) -> list[Pulled]:
    """Every hub model the job uses, fetched: each language's translation model, then the voices of
    the languages narrated with ``mms``; a failure is kept in its ``Pulled``, never raised."""
    from pipeline.config.loader import MMS_ENGINE

    results = []
    for target in config.targets:
        results.append(_pull(target.code, target.model, target.revision, target.model_is_local, "model"))
    for target in config.targets:
        if target.tts_engine == MMS_ENGINE:
            voice = parse_model_ref(target.tts_voice)
            results.append(_pull(target.code, voice.model, voice.revision, voice.local, "voice"))
    return results


def _pull(code: str, model: str, revision: str | None, local: bool, kind: str) -> Pulled:
    if local:
        return Pulled(code, model, None, None, kind=kind)
    label = f"languages.{code}." + ("model" if kind == "model" else "tts.voice")
    try:
        files = locate_model(model, revision, local=False, key=f"languages.{code}", label=label)
    except PipelineError as exc:
        return Pulled(code, model, revision, None, exc, kind=kind)
    return Pulled(code, model, revision, files.resolved_revision, kind=kind)
