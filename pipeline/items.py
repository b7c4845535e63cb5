"""What flows between stages besides the work itself: a failed item and why."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pipeline.errors import PipelineError


@dataclass(frozen=True)
class Failure:
    """One article (for one language, or for all when ``language`` is None) that did not finish."""

    source: Path
    article_id: str
    stage: str
    error: PipelineError
    language: str | None = None

    @property
    def message(self) -> str:
        return str(self.error)
