"""The shape of a job config file, as pydantic models (unknown keys are errors).

Every default lives here, next to the key it belongs to; ``README.md`` documents the same keys.
Paths are strings at this level; ``loader.py`` resolves them against the config file's folder.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from pipeline.languages import DEFAULT_TARGETS

JOB_NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$"
LANG_TOKEN_PATTERN = r"^>>[A-Za-z0-9_]+<<$"


class StrictModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class InputConfig(StrictModel):
    paths: Annotated[list[str], Field(min_length=1)]
    """Globs (``**`` allowed) relative to the config file, matching article files."""

    @field_validator("paths", mode="before")
    @classmethod
    def _one_glob_is_a_list(cls, value: object) -> object:
        return [value] if isinstance(value, str) else value


class LanguageConfig(StrictModel):
    model: Annotated[str, Field(min_length=1)] | None = None
    """Hub id (``Helsinki-NLP/opus-mt-en-sq``) or local directory; default from the language."""
    revision: Annotated[str, Field(min_length=1)] | None = None
    """Branch, tag or commit of a hub model; pin a commit for reproducible nightly runs."""
    lang_token: Annotated[str, Field(pattern=LANG_TOKEN_PATTERN)] | None = None
    """Target-language token put before every source sentence, for multi-target models."""
    disclosure: Annotated[str, Field(min_length=1)] | None = None
    """The AI-assistance note in the target language, closing every text output."""


class TranslationConfig(StrictModel):
    beam_size: Annotated[int, Field(ge=1, le=32)] = 4
    max_length: Annotated[int, Field(ge=1, le=1024)] = 512
    """Most tokens generated for one sentence (capped at the model's position limit)."""
    batch_size: Annotated[int, Field(ge=1, le=4096)] = 16
    """Sentences per generation batch."""
    device: Literal["auto", "cpu", "cuda"] = "auto"


def _default_languages() -> dict[str, LanguageConfig | None]:
    return {code: None for code in DEFAULT_TARGETS}


class ConfigFile(StrictModel):
    job: Annotated[str, Field(pattern=JOB_NAME_PATTERN)]
    """Job name; outputs go to ``<output_dir>/<job>/``."""
    input: InputConfig
    output_dir: Annotated[str, Field(min_length=1)] = "outputs"
    """Relative to the config file."""
    languages: dict[str, LanguageConfig | None] = Field(default_factory=_default_languages)
    """Target language code → model settings; ``sq:`` alone takes every default."""
    translation: TranslationConfig = Field(default_factory=TranslationConfig)
