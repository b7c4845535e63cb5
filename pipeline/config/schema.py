"""The shape of a job config file, as pydantic models (unknown keys are errors).

Every default lives here, next to the key it belongs to; ``README.md`` documents the same keys.
Paths are strings at this level; ``loader.py`` resolves them against the config file's folder.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator

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


def _known_engine(name: str | None) -> str | None:
    from pipeline.registry import NO_NARRATION
    from pipeline.registry import TTS_ENGINES as ENGINES

    if name is not None and name not in ENGINES and name != NO_NARRATION:
        raise ValueError(f"unknown engine {name!r} (known: {', '.join([*ENGINES, NO_NARRATION])})")
    return name


TtsEngineName = Annotated[str, AfterValidator(_known_engine)]


class LanguageTtsConfig(StrictModel):
    engine: TtsEngineName | None = None
    """Overrides ``tts.engine`` for this language."""
    voice: Annotated[str, Field(min_length=1)] | None = None
    """Engine voice; default: the language code (gTTS ``sq``/``uk``, espeak-ng ``sq``/``uk``)."""


class LanguageConfig(StrictModel):
    model: Annotated[str, Field(min_length=1)] | None = None
    """Hub id (``Helsinki-NLP/opus-mt-en-sq``) or local directory; default from the language."""
    revision: Annotated[str, Field(min_length=1)] | None = None
    """Branch, tag or commit of a hub model; pin a commit for reproducible nightly runs."""
    lang_token: Annotated[str, Field(pattern=LANG_TOKEN_PATTERN)] | None = None
    """Target-language token put before every source sentence, for multi-target models."""
    disclosure: Annotated[str, Field(min_length=1)] | None = None
    """The AI-assistance note in the target language, closing every text output."""
    tts: LanguageTtsConfig = Field(default_factory=LanguageTtsConfig)
    glossary: dict[str, str] = Field(default_factory=dict)
    """Source term → the target term a translation must use; a miss is flagged."""
    protect: list[Annotated[str, Field(min_length=1)]] = Field(default_factory=list)
    """Terms that must come through unchanged (URLs and e-mail addresses always do)."""


class TranslationConfig(StrictModel):
    backend: Literal["ctranslate2", "transformers"] = "ctranslate2"
    """CTranslate2 (fast; the checkpoint is converted once and cached) or transformers (reference)."""
    beam_size: Annotated[int, Field(ge=1, le=32)] = 4
    max_length: Annotated[int, Field(ge=1, le=1024)] = 512
    """Most tokens generated for one sentence (capped at the model's position limit)."""
    min_length: Annotated[int, Field(ge=0, le=1024)] = 0
    """Fewest tokens generated for one sentence; 0 for none (benchmarks force a fixed length)."""
    batch_size: Annotated[int, Field(ge=1, le=4096)] = 32
    """Most sentences per generation batch."""
    batch_tokens: Annotated[int, Field(ge=0, le=1_000_000)] = 2048
    """Most source tokens per batch, padding included (batches are length-sorted); 0 for no limit."""
    device: Literal["auto", "cpu", "cuda"] = "auto"
    compute_type: Literal[
        "auto", "int8", "int8_float32", "int8_float16", "float16", "bfloat16", "float32"
    ] = "auto"
    """CTranslate2 precision: auto is int8 on CPU, float16 on CUDA. transformers always uses float32."""
    threads: Annotated[int, Field(ge=0, le=512)] = 0
    """CPU threads for one translation; 0 uses every core this process may run on."""
    cache_dir: Annotated[str, Field(min_length=1)] | None = None
    """Where converted models are kept; default ``$XDG_CACHE_HOME/newsroom-pipeline`` (~/.cache)."""


class GttsConfig(StrictModel):
    tld: Annotated[str, Field(pattern=r"^[a-z.]+$")] = "com"
    """Google host: ``translate.google.<tld>``."""
    endpoint: Annotated[str, Field(pattern=r"^https?://")] | None = None
    """Base URL replacing ``https://translate.google.<tld>`` (a proxy, or a test server)."""
    timeout: Annotated[float, Field(gt=0, le=300)] = 15.0
    """Seconds to wait for the endpoint before a try counts as failed."""
    min_interval: Annotated[float, Field(ge=0, le=60)] = 0.2
    """Least seconds between the starts of two requests."""
    max_tries: Annotated[int, Field(ge=1, le=20)] = 5
    backoff: Annotated[float, Field(ge=0, le=60)] = 1.0
    """Seconds before the second try; doubles for each further try (with jitter)."""
    max_backoff: Annotated[float, Field(ge=0, le=600)] = 60.0
    give_up_after: Annotated[int, Field(ge=1, le=1000)] = 3
    """Requests in a row that failed every try before the endpoint counts as down for the run."""


class EspeakConfig(StrictModel):
    speed: Annotated[int, Field(ge=80, le=450)] = 160
    """Words per minute."""
    timeout: Annotated[float, Field(gt=0, le=3600)] = 120.0


class TtsConfig(StrictModel):
    engine: TtsEngineName = "gtts"
    disclosure: Literal["start", "end", "none"] = "start"
    """Where the spoken AI-assistance note goes."""
    pause: Annotated[float, Field(ge=0, le=10)] = 0.8
    """Seconds of silence between paragraphs."""
    bitrate: Annotated[int, Field(ge=8, le=320)] = 64
    """kbps for the MP3s this tool encodes (espeak-ng); gTTS audio is kept as Google sends it."""
    concurrency: Annotated[int, Field(ge=1, le=64)] = 4
    """Segments synthesised at once."""
    artist: Annotated[str, Field(min_length=1)] | None = None
    """ID3 artist/publisher (TPE1); default: the job name."""
    lexicon: dict[str, dict[str, str]] = Field(default_factory=dict)
    """Per language: text → what to say instead (``{"sq": {"NATO": "Nato"}}``), applied before synthesis."""
    gtts: GttsConfig = Field(default_factory=GttsConfig)
    espeak: EspeakConfig = Field(default_factory=EspeakConfig)


class QualityConfig(StrictModel):
    on_flag: Literal["keep", "retry", "fail"] = "keep"
    """keep: record flags; retry: translate a flagged sentence again with a repetition penalty and
    no repeated 3-grams, keeping the version with fewer flags; fail: the article fails (its text is
    still written for review)."""
    max_repeats: Annotated[int, Field(ge=2, le=20)] = 3
    """An n-gram repeated this many times in a row (a single word: one more) is a loop."""
    min_length_ratio: Annotated[float, Field(gt=0, le=10)] = 0.4
    max_length_ratio: Annotated[float, Field(gt=0, le=10)] = 2.5
    min_script_share: Annotated[float, Field(ge=0, le=1)] = 0.6
    """Share of a translation's letters that must be in the target language's script."""


class FeedsConfig(StrictModel):
    base_url: Annotated[str, Field(pattern=r"^https?://")] | None = None
    """Where ``outputs/<job>/`` is published; feeds are written only when it is set."""
    title: Annotated[str, Field(min_length=1)] | None = None
    """Feed title; default: the job name and the language."""
    description: Annotated[str, Field(min_length=1)] | None = None


class RayTranslateConfig(StrictModel):
    concurrency: Annotated[int, Field(ge=1, le=1024)] = 1
    """Translation actors; each loads the model once."""
    num_cpus: Annotated[float, Field(ge=0, le=512)] = 1
    num_gpus: Annotated[float, Field(ge=0, le=64)] = 0
    batch_size: Annotated[int, Field(ge=1, le=10_000)] = 8
    """Articles per actor call."""


class RayTtsConfig(StrictModel):
    concurrency: Annotated[int, Field(ge=1, le=1024)] = 1
    """Narration actors (each also runs ``tts.concurrency`` requests at once)."""
    num_cpus: Annotated[float, Field(ge=0, le=512)] = 1


class RayConfig(StrictModel):
    address: str | None = None
    """Empty: start a local cluster; ``auto``: the cluster this machine belongs to; or ``ray://host:10001``."""
    translate: RayTranslateConfig = Field(default_factory=RayTranslateConfig)
    tts: RayTtsConfig = Field(default_factory=RayTtsConfig)


class StateConfig(StrictModel):
    path: Annotated[str, Field(min_length=1)] | None = None
    """The SQLite state file; default ``<output_dir>/<job>/state.sqlite``. Relative to the config file."""
    max_attempts: Annotated[int, Field(ge=1, le=100)] = 3
    """Runs that try a failed item again before it waits for ``--retry-failed``."""
    keep_days: Annotated[int, Field(ge=1, le=3650)] = 90
    """Cached translations and narrated segments unused for this long are removed."""


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
    tts: TtsConfig = Field(default_factory=TtsConfig)
    quality: QualityConfig = Field(default_factory=QualityConfig)
    feeds: FeedsConfig = Field(default_factory=FeedsConfig)
    state: StateConfig = Field(default_factory=StateConfig)
    executor: Literal["local", "ray"] = "local"
    """Where the stages run: in this process, or on a Ray cluster (``pip install '.[ray]'``)."""
    ray: RayConfig = Field(default_factory=RayConfig)
