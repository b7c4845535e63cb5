"""``pipeline models pull``: fetch every hub model a config uses into the local cache, and say
which commit each revision resolved to, so scheduled runs can pin it and use HF_HUB_OFFLINE=1."""

from __future__ import annotations

from dataclasses import dataclass

from pipeline.config import JobConfig
from pipeline.errors import PipelineError
from pipeline.mt.locate import locate_model


@dataclass(frozen=True)
class Pulled:
    language: str
    model: str
    revision: str | None
    commit: str | None  # None for a local directory
    error: PipelineError | None = None


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
