"""``pipeline models pull``: fetch every hub model a config uses into the local cache, and say
which commit each revision resolved to, so scheduled runs can pin it and use HF_HUB_OFFLINE=1."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pipeline.config import JobConfig, TargetConfig, TranslationConfig
from pipeline.errors import PipelineError
from pipeline.mt.locate import locate_model


@dataclass(frozen=True)
class Pulled:
    language: str
    model: str
    revision: str | None
    commit: str | None  # None for a local directory
    error: PipelineError | None = None


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
    results = []
    for target in config.targets:
        if target.model_is_local:
            results.append(Pulled(target.code, target.model, None, None))
            continue
        try:
            files = locate_model(target.model, target.revision, local=False, key=f"languages.{target.code}")
        except PipelineError as exc:
            results.append(Pulled(target.code, target.model, target.revision, None, exc))
            continue
        results.append(Pulled(target.code, target.model, target.revision, files.resolved_revision))
    return results
