"""Load a job config: YAML file + ``--set`` overrides → validated, resolved ``JobConfig``.

Every problem is collected and reported at once, one line each, naming the key path and the line.
"""

from __future__ import annotations

import difflib
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from pipeline.config.artwork import artwork_problem
from pipeline.config.overrides import ORIGIN as OVERRIDE_ORIGIN
from pipeline.config.overrides import apply_overrides, looks_like_local_path
from pipeline.config.schema import (
    ConfigFile,
    FeedsConfig,
    InputConfig,
    LanguageConfig,
    LexiconEntry,
    NotifyConfig,
    QualityConfig,
    RayConfig,
    ReviewConfig,
    StateConfig,
    TranslationConfig,
    TtsConfig,
)
from pipeline.config.speech import check_azure_voice, default_voice, plain_lexicon, resolve_azure
from pipeline.config.yaml_source import KeyPath, YamlSource, read_yaml
from pipeline.errors import ConfigError, ConfigIssue
from pipeline.languages import LANGUAGES, Language
from pipeline.layout import JOURNAL_FILE, LATEST_FILE, LOCK_FILE, PUBLIC_DIR, SOURCES_DIR, STATE_FILE
from pipeline.text.discover import expand_glob

MMS_ENGINE = "mms"
MMS_LICENCE = "CC-BY-NC 4.0"
HUB_ID_PATTERN = re.compile(r"^[A-Za-z0-9][\w.-]*(/[A-Za-z0-9][\w.-]*)?$")


@dataclass(frozen=True)
class TargetConfig:
    """One target language with its defaults filled in and its model location resolved."""

    code: str
    language: Language
    model: str  # a hub id, or an absolute directory when model_is_local
    model_is_local: bool
    revision: str | None
    lang_token: str | None  # as configured; None lets the loader pick the language's default
    disclosure: str
    tts_engine: str  # "gtts", "espeak-ng", "mms", "azure" or "none"
    tts_voice: str  # the engine's voice name (mms: a hub id, ``id@revision``, or an absolute directory)
    lexicon: tuple[tuple[str, str], ...] = ()  # (text, what to say) substituted before synthesis
    pronunciations: tuple[tuple[str, LexiconEntry], ...] = ()  # the lexicon as configured
    glossary: tuple[tuple[str, str], ...] = ()  # (source term, required target term)
    protect: tuple[str, ...] = ()  # terms that must come through unchanged


@dataclass(frozen=True)
class JobConfig:
    """A validated job config: every path absolute, every target language resolved."""

    path: Path
    job: str
    input_patterns: tuple[str, ...]  # absolute globs (with the web ingest's article files)
    output_root: Path
    min_free_mb: int
    targets: tuple[TargetConfig, ...]
    translation: TranslationConfig
    tts: TtsConfig
    quality: QualityConfig
    feeds: FeedsConfig
    state: StateConfig
    state_path: Path
    public_dir: Path  # what may be served, and only that
    executor: str = "local"
    ray: RayConfig = field(default_factory=RayConfig)
    notify: NotifyConfig = field(default_factory=NotifyConfig)
    review: ReviewConfig = field(default_factory=ReviewConfig)
    input: InputConfig = field(default_factory=lambda: InputConfig(paths=["*"]))  # url_file absolute

    @property
    def job_dir(self) -> Path:
        """``<output_dir>/<job>``: the folder that holds every output of the job."""
        return self.output_root / self.job

    @property
    def lock_path(self) -> Path:
        """The lock file that keeps two runs of the job apart."""
        return self.job_dir / LOCK_FILE

    @property
    def journal_path(self) -> Path:
        """The editors' journal: every post-edit and review, appended (the state is rebuilt from it)."""
        return self.job_dir / JOURNAL_FILE


def load_config(path: Path, overrides: list[str] | None = None, cwd: Path | None = None) -> JobConfig:
    """Read, override, validate and resolve; raise ``ConfigError`` listing every problem.

    Args:
        path: the YAML file; relative paths in it are taken from its folder.
        overrides: ``KEY.PATH=VALUE`` strings (``--set``), applied in order.
        cwd: where relative paths in ``overrides`` are taken from; the current directory when None.

    Raises:
        ConfigError: the file cannot be read or is not a YAML mapping, an override is malformed, or
            values are invalid (unknown key or language, an input glob that matches nothing, a
            missing local model directory...).
    """
    path = Path(path)
    source = read_yaml(path)
    cwd = cwd or Path.cwd()
    data, overridden = apply_overrides(source.data, list(overrides or []), cwd)
    errors = _Errors(source, overridden, cwd)
    try:
        parsed = ConfigFile.model_validate(data)
    except ValidationError as exc:
        for error in exc.errors():
            errors.add_pydantic(error)
        raise ConfigError(errors.issues) from None
    config = _resolve(parsed, path.resolve().parent, errors)
    if errors.issues:
        raise ConfigError(errors.issues)
    return config


class _Errors:
    """Collects issues and knows where each key came from (file line or ``--set``)."""

    def __init__(self, source: YamlSource, overridden: list[KeyPath], cwd: Path):
        self.source = source
        self.overridden = overridden
        self.cwd = cwd  # where relative paths given with --set were taken from
        self.issues: list[ConfigIssue] = []

    def from_cli(self, key_path: KeyPath) -> bool:
        """The key was set with ``--set``: it is at or below an override, or above one and not in the file."""
        if any(key_path[: len(o)] == o for o in self.overridden):
            return True
        created = key_path not in self.source.lines
        return created and any(o[: len(key_path)] == key_path for o in self.overridden)

    def add(self, key_path: KeyPath, message: str) -> None:
        dotted = ".".join(str(part) for part in key_path)
        if self.from_cli(key_path):
            self.issues.append(ConfigIssue(dotted, message, origin=OVERRIDE_ORIGIN))
        else:
            line = self.source.line_of(key_path)
            self.issues.append(ConfigIssue(dotted, message, line, str(self.source.path)))

    def add_pydantic(self, error: Any) -> None:
        loc = tuple(error["loc"])
        kind = error["type"]
        if kind == "extra_forbidden":
            message = _unknown_key_message(loc)
        elif kind == "missing":
            message = "required key is missing"
        elif kind == "value_error":  # our own validators' messages are complete sentences
            message = str(error["ctx"]["error"])
        else:
            message = error["msg"][0].lower() + error["msg"][1:]
            if kind not in ("model_type", "dict_type", "list_type"):
                message += f" (got {error['input']!r})"
        self.add(loc, message)


def _unknown_key_message(loc: KeyPath) -> str:
    model = _model_at(loc[:-1])
    if model is None:
        return "unknown key"
    known = sorted(model.model_fields)
    close = difflib.get_close_matches(str(loc[-1]), known, n=1)
    hint = f"did you mean '{close[0]}'? " if close else ""
    return f"unknown key ({hint}known keys: {', '.join(known)})"


def _model_at(loc: KeyPath) -> type[BaseModel] | None:
    """The pydantic model that validates the mapping at ``loc``, for listing its keys."""
    model: type[BaseModel] = ConfigFile
    index = 0
    while index < len(loc):
        field = model.model_fields.get(str(loc[index]))
        if field is None:
            return None
        if loc[index] == "languages":
            model = LanguageConfig
            index += 2  # skip the language code
            continue
        annotation = field.annotation
        if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
            return None
        model = annotation
        index += 1
    return model


def _resolve(parsed: ConfigFile, base: Path, errors: _Errors) -> JobConfig:
    patterns = []
    for index, pattern in enumerate(parsed.input.paths):
        absolute = _absolute(pattern, base)
        patterns.append(str(absolute))
        if not expand_glob(str(absolute)):
            key = ("input", "paths", index)
            where = (
                f"relative paths given with --set are taken from the current directory, {errors.cwd}"
                if errors.from_cli(key)
                else f"looked in {base}"
            )
            errors.add(key, f"{pattern!r} matches no files ({where})")

    if not parsed.languages:
        errors.add(("languages",), "no target languages: add at least one, e.g. 'sq:'")
    targets = []
    for code, settings in parsed.languages.items():
        target = _resolve_target(code, settings, parsed.tts, base, errors)
        if target is not None:
            targets.append(target)
    _check_mms_licence(targets, parsed.tts, errors)
    for code in parsed.tts.lexicon:
        if code not in parsed.languages:
            errors.add(("tts", "lexicon", code), f"{code!r} is not one of the job's languages")
    tts = _tts(
        resolve_azure(parsed.tts, (target.tts_engine for target in targets), base, errors.add), base, errors
    )
    if parsed.feeds.base_url and not parsed.feeds.image and tts.artwork is None:
        errors.add(
            ("feeds", "image"),
            "podcast feeds (feeds.base_url is set) need the show's artwork: set tts.artwork to a square "
            "JPEG or PNG (1400-3000 px), or feeds.image to the URL of one",
        )

    output_root = _absolute(parsed.output_dir, base)
    input_config = _web_input(parsed, base, output_root, patterns, errors)
    state_path = (
        _absolute(parsed.state.path, base) if parsed.state.path else output_root / parsed.job / STATE_FILE
    )
    public_dir = (
        _absolute(parsed.publish.dir, base) if parsed.publish.dir else output_root / parsed.job / PUBLIC_DIR
    )
    for guarded in (output_root / parsed.job, output_root, state_path.parent, base):
        if public_dir == guarded or public_dir in guarded.parents:
            errors.add(
                ("publish", "dir"),
                f"{public_dir} would serve (and prune) the job's own files ({guarded} is in it): "
                "use a folder of its own, e.g. the default <output_dir>/<job>/public",
            )
            break
    cache_dir = (
        _absolute(parsed.translation.cache_dir, base) if parsed.translation.cache_dir else default_cache_dir()
    )
    return JobConfig(
        path=base / Path(errors.source.path).name,
        job=parsed.job,
        input_patterns=tuple(patterns),
        output_root=output_root,
        min_free_mb=parsed.min_free_mb,
        targets=tuple(targets),
        translation=parsed.translation.model_copy(update={"cache_dir": str(cache_dir)}),
        tts=tts,
        quality=parsed.quality,
        feeds=parsed.feeds,
        state=parsed.state,
        state_path=state_path,
        public_dir=public_dir,
        executor=parsed.executor,
        ray=parsed.ray,
        notify=parsed.notify,
        review=parsed.review,
        input=input_config,
    )


def _tts(tts: TtsConfig, base: Path, errors: _Errors) -> TtsConfig:
    """``tts`` with the cover art's path made absolute, once checked (a square JPEG or PNG)."""
    if tts.artwork is None:
        return tts
    artwork = _absolute(tts.artwork, base)
    problem = artwork_problem(artwork)
    if problem is not None:
        errors.add(("tts", "artwork"), problem)
    return tts.model_copy(update={"artwork": str(artwork)})


def _web_input(
    parsed: ConfigFile, base: Path, output_root: Path, patterns: list[str], errors: _Errors
) -> InputConfig:
    """``input`` with ``url_file`` made absolute (and checked); with a web source, the web ingest's
    article files join ``patterns``: they are read like any other."""
    url_file = _absolute(parsed.input.url_file, base) if parsed.input.url_file else None
    if url_file is not None and not url_file.is_file():
        errors.add(("input", "url_file"), f"{url_file} is not a file")
    if parsed.input.has_web_sources:
        patterns.append(str(output_root / parsed.job / SOURCES_DIR / "*" / LATEST_FILE))
    return parsed.input.model_copy(update={"url_file": str(url_file) if url_file else None})


def _resolve_target(
    code: str, settings: LanguageConfig | None, tts: TtsConfig, base: Path, errors: _Errors
) -> TargetConfig | None:
    settings = settings or LanguageConfig()
    key = ("languages", code)
    language = LANGUAGES.get(code)
    if language is None:
        close = difflib.get_close_matches(code, list(LANGUAGES), n=1)
        hint = f"did you mean '{close[0]}'? " if close else ""
        errors.add(key, f"unknown language code {code!r} ({hint}known: {', '.join(LANGUAGES)})")
        return None
    model = settings.model or language.default_model
    if model is None:
        errors.add((*key, "model"), f"no default model for {language.name}: set a MarianMT model")
        return None
    disclosure = settings.disclosure or language.default_disclosure
    if disclosure is None:
        errors.add(
            (*key, "disclosure"),
            f"no default disclosure for {language.name}: write the AI-assistance note in {language.name}",
        )
        return None

    is_local = looks_like_local_path(model, base)
    if is_local:
        directory = _absolute(model, base)
        if not directory.is_dir():
            errors.add((*key, "model"), f"model directory not found: {directory}")
            return None
        if not (directory / "config.json").is_file():
            errors.add((*key, "model"), f"not a model directory (no config.json): {directory}")
            return None
        model = str(directory)
        if settings.revision:
            errors.add((*key, "revision"), "a revision applies to hub models, not local directories")
    elif not HUB_ID_PATTERN.match(model):
        errors.add(
            (*key, "model"),
            f"{model!r} is neither an existing directory nor a hub id like 'Helsinki-NLP/opus-mt-en-sq'",
        )
        return None

    engine = settings.tts.engine or tts.engine
    voice = settings.tts.voice or default_voice(engine, code)
    if engine == "azure":
        check_azure_voice(code, voice, errors.add)
    if engine == MMS_ENGINE:
        voice = _mms_voice(settings.tts.voice, language, base, key, errors)
    entries = tts.lexicon.get(code, {})
    return TargetConfig(
        code=code,
        language=language,
        model=model,
        model_is_local=is_local,
        revision=settings.revision,
        lang_token=settings.lang_token,
        disclosure=disclosure,
        tts_engine=engine,
        tts_voice=voice,
        lexicon=plain_lexicon(engine, entries),
        pronunciations=tuple(entries.items()),
        glossary=tuple(settings.glossary.items()),
        protect=tuple(settings.protect),
    )


def _check_mms_licence(targets: list[TargetConfig], tts: TtsConfig, errors: _Errors) -> None:
    """The MMS-TTS voices are CC-BY-NC: a job narrated with them must say its use is non-commercial."""
    narrated = [target.code for target in targets if target.tts_engine == MMS_ENGINE]
    if narrated and tts.mms.license != "non-commercial":
        errors.add(
            ("tts", "mms", "license"),
            f"{', '.join(narrated)} narrated with mms, whose MMS-TTS voices are licensed {MMS_LICENCE} "
            "(non-commercial use only): set tts.mms.license: non-commercial to accept it",
        )


def _mms_voice(voice: str | None, language: Language, base: Path, key: KeyPath, errors: _Errors) -> str:
    """An MMS-TTS voice as the engine loads it (default ``facebook/mms-tts-<ISO 639-3>``, a local
    directory made absolute)."""
    voice = voice or f"facebook/mms-tts-{language.iso639_2}"
    if looks_like_local_path(voice, base):
        directory = _absolute(voice, base)
        if not (directory / "config.json").is_file():
            errors.add((*key, "tts", "voice"), f"not a voice directory (no config.json): {directory}")
        return str(directory)
    if not HUB_ID_PATTERN.match(voice.partition("@")[0]):
        errors.add(
            (*key, "tts", "voice"),
            f"{voice!r} is neither an existing directory nor a hub id like 'facebook/mms-tts-sqi'",
        )
    return voice


def default_cache_dir() -> Path:
    """``$PIPELINE_CACHE_DIR``, else ``$XDG_CACHE_HOME/newsroom-pipeline``, else ``~/.cache/...``."""
    if os.environ.get("PIPELINE_CACHE_DIR"):
        return Path(os.environ["PIPELINE_CACHE_DIR"]).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache")
    return Path(xdg) / "newsroom-pipeline"


def _absolute(path: str, base: Path) -> Path:
    expanded = Path(os.path.expanduser(path))
    return Path(os.path.normpath(expanded if expanded.is_absolute() else base / expanded))
