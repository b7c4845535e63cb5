"""The records that flow between stages and layers, besides the work itself.

A failed item and why; one sentence's translation; the names of an item's stages; the rule that
turns a paragraph's sentence translations into its text. They live here, below every stage and
store, so the translation memory, the stages and both executors share one definition of each.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipeline.errors import PipelineError

# The stages of an article-language that the state records, each with its own content key.
TEXT, NARRATION = "text", "narration"


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
        """The error's one-line message."""
        return str(self.error)


@dataclass(frozen=True)
class SentenceTranslation:
    """One source sentence's translation, as the translation memory keeps it."""

    source: str
    target: str
    parts: int = 1  # >1 when the sentence was too long for the model and split
    hit_limit: bool = False  # some part stopped at max_length
    moved: tuple[str, ...] = ()  # protected spans the model dropped, put back at the end


def text_sha256(text_record: dict[str, Any] | None) -> str | None:
    """The sha256 of the article.txt a text stage's record (``ItemState.detail``) says it wrote:
    the text an editor's review is of (``Review.text_sha256``), or None when there is no record."""
    return ((text_record or {}).get("sha256") or {}).get("text")


def paragraph_text(targets: Iterable[str]) -> str:
    """A paragraph's text in the target language: its non-empty sentence translations, joined by
    spaces. What ``article.txt`` holds and what the narration speaks, for both executors."""
    return " ".join(target for target in targets if target)


@dataclass(frozen=True)
class StageFailure:
    """Why an item's stage is failed: the stage, its one-line error, whether a retry may help."""

    stage: str
    error: str
    transient: bool


@dataclass(frozen=True)
class ItemOutcome:
    """Where one article-language stands once a run is over: what the manifest and reports show.

    ``status`` is ``ok`` (every wanted stage done under today's keys, files intact), ``failed``
    (a stage failed under today's key) or ``pending`` (not done yet: an interrupted run).
    """

    article_id: str
    language: str
    source: Path
    sentences: int
    status: str
    text: dict[str, Any] | None  # the text stage's record (files, sha256, flags, warnings) when done
    narration: dict[str, Any] | None  # the narration stage's record when done
    failure: StageFailure | None = None
    headline: str = ""  # the article's title, or its first sentence when it has none
    date: str = ""  # the article's date, ISO 8601
