"""What a job would do, in words: the report ``pipeline validate`` prints."""

from __future__ import annotations

import platform
import socket
import sys
from pathlib import Path

from pipeline.config import JobConfig, TargetConfig
from pipeline.config.loader import MMS_ENGINE, MMS_LICENCE
from pipeline.config.speech import ipa_unused
from pipeline.errors import PipelineError
from pipeline.items import Failure
from pipeline.layout import FEEDS_DIR, REVIEW_FILE
from pipeline.licences import engine_terms, model_licence
from pipeline.stages.ingest import Ingest
from pipeline.stages.narrate import Narrate
from pipeline.stages.segment import split_outcomes
from pipeline.state.keys import cached_commit
from pipeline.text.discover import discover
from pipeline.version import __version__


def describe_job(config: JobConfig) -> tuple[list[str], int]:
    """Report lines, and how many matched files cannot be read as articles."""
    lines = [
        f"config: {config.path}",
        f"job: {config.job} -> {config.job_dir}",
    ]
    results = Ingest(job_dir=config.job_dir)(discover(config.input_patterns))
    ready, failures = split_outcomes(results)
    segmented = {s.article.id: s for s in ready}
    lines.append(f"articles: {len(results)} files, {len(ready)} readable")
    for item in results:
        if isinstance(item, Failure) or item.id not in segmented:
            failure = (
                item if isinstance(item, Failure) else next(f for f in failures if f.article_id == item.id)
            )
            lines.append(f"  ! {failure.message}")
            continue
        s = segmented[item.id]
        lines.append(
            f"  {item.id}  ({item.format}, {item.date}, {len(item.blocks)} blocks, "
            f"{s.sentence_count} sentences)  {_short(item.source)}"
        )
    lines += _describe_web(config)
    lines.append("languages:")
    narrate = Narrate(config.tts, config.targets)
    for target in config.targets:
        lines.append(f"  {_describe_target(target)}")
        lines.append(f"      narration: {_describe_narration(target, narrate)}")
    t = config.translation
    lines.append(
        f"translation: {t.backend} ({t.compute_type}), beam_size {t.beam_size}, max_length {t.max_length}, "
        f"batch_size {t.batch_size} / {t.batch_tokens or 'any'} tokens, device {t.device}"
    )
    tts = config.tts
    lines.append(
        f"narration: disclosure {tts.disclosure}, pause {tts.pause:g} s, concurrency {tts.concurrency}"
    )
    lines.append(f"quality: on_flag {config.quality.on_flag}")
    if config.executor == "ray":
        r = config.ray
        lines.append(
            f"executor: ray at {r.address or 'a local cluster'}; translate x{r.translate.concurrency} "
            f"({r.translate.num_cpus:g} CPU, {r.translate.num_gpus:g} GPU), tts x{r.tts.concurrency}"
        )
    else:
        lines.append("executor: local")
    feeds = (
        f"{config.feeds.base_url} -> {config.public_dir / FEEDS_DIR}"
        if config.feeds.base_url
        else "off (no base_url)"
    )
    lines.append(f"review: {config.job_dir / REVIEW_FILE}; feeds: {feeds}")
    return lines, len(failures)


def _describe_web(config: JobConfig) -> list[str]:
    """What each web source would bring tonight (fetched now; nothing is written)."""
    if not config.input.has_web_sources:
        return []
    from pipeline.state.web_records import read_web_articles
    from pipeline.web.harvest import web_client
    from pipeline.web.preview import preview_sources

    known = read_web_articles(config.state_path)
    client = web_client(config.input.web)
    heading = f"web sources ({len(known)} article(s) taken so far):"
    return [heading, *preview_sources(config.input, known, client)]


def _describe_narration(target: TargetConfig, narrate: Narrate) -> str:
    if not narrate.wants(target):
        return "none (text only)"
    engine = narrate.engines[target.code]
    text = f"{target.tts_engine}, voice {target.tts_voice}"
    if target.tts_engine == MMS_ENGINE:
        text += f" (licence {MMS_LICENCE}: non-commercial use only)"
    service = getattr(engine, "url", None)  # a cloud engine: where the audio is made
    if isinstance(service, str):
        text += f" (service {service})"
    if target.pronunciations:
        text += f", lexicon of {len(target.pronunciations)} entries"
    if target.tts_engine != MMS_ENGINE and (terms := engine_terms(target.tts_engine)):
        text += f"; terms: {terms}"
    if isinstance(engine, PipelineError):
        text += f"  ! {engine}"
    return text


def _describe_target(target: TargetConfig) -> str:
    text = f"{target.code}  {target.language.name}: {target.model}"
    if target.model_is_local:
        text += " (local directory)"
        licence = model_licence(target.model, Path(target.model))
    else:
        text += f" (hub, revision {target.revision or 'main, unpinned'}; {_cache_state(target)})"
        licence = model_licence(target.model, _cached_snapshot(target))
    if target.lang_token:
        text += f", lang_token {target.lang_token}"
    elif target.language.default_lang_token:
        text += f", lang_token {target.language.default_lang_token} if the model is multi-target"
    return f"{text}; licence {licence}"


def _cached_snapshot(target: TargetConfig) -> Path | None:
    """The hub cache's folder of the model's files, when its card is cached."""
    from huggingface_hub import try_to_load_from_cache

    found = try_to_load_from_cache(target.model, "README.md", revision=target.revision or None)
    return Path(found).parent if isinstance(found, str) else None


def _cache_state(target: TargetConfig) -> str:
    from huggingface_hub import try_to_load_from_cache

    cached = try_to_load_from_cache(target.model, "config.json", revision=target.revision)
    return "cached" if isinstance(cached, str) else "not cached, will download"


def _short(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def ipa_warnings(config: JobConfig) -> list[str]:
    """One warning per language whose engine cannot use the lexicon's IPA entries (no SSML)."""
    warnings = []
    for target in config.targets:
        unused = ipa_unused(target.tts_engine, dict(target.pronunciations))
        if unused and target.tts_engine != "none":
            warnings.append(
                f"tts.lexicon.{target.code}: {target.tts_engine} cannot use IPA; "
                f"{', '.join(unused)} will be said by the alias, or as written"
            )
    return warnings


def disclosure_warning(config: JobConfig) -> str | None:
    """The one-line warning for a job whose MP3s will not say they were made with AI assistance
    (``tts.disclosure: none`` and a language narrated), or None when there is nothing to warn of."""
    narrated = [target.code for target in config.targets if target.tts_engine != "none"]
    if config.tts.disclosure != "none" or not narrated:
        return None
    return (
        f"tts.disclosure is none: the {', '.join(narrated)} narrations will not say they are AI-made; "
        "set tts.disclosure to start or end unless listeners are told some other way"
    )


def run_log_header(config: JobConfig, overrides: tuple[str, ...] | list[str]) -> list[str]:
    """The lines that open a run's log: what the run is made of, so a log explains its outputs.

    Takes the loaded config and the ``--set`` overrides as given; returns one line per fact:
    pipeline version, config path, overrides, each language's model (hub: revision and the commit
    it resolves to in the local cache; local: the directory), translation settings, host, Python.
    """
    t = config.translation
    return [
        f"pipeline {__version__}",
        f"config: {config.path.resolve()}",
        "overrides: " + (" ".join(f"--set {item}" for item in overrides) if overrides else "none"),
        *(f"model {target.code}: {_model_origin(target)}" for target in config.targets),
        f"translation: backend {t.backend}, device {t.device}, compute_type {t.compute_type}, "
        f"threads {t.threads or 'all'}, beam_size {t.beam_size}",
        f"executor: {config.executor}; tts: {config.tts.engine}, disclosure {config.tts.disclosure}",
        f"host: {socket.gethostname()}; Python {platform.python_version()} ({sys.executable})",
    ]


def _model_origin(target: TargetConfig) -> str:
    """A model as the run will load it: a local directory, or a hub id, revision and cached commit."""
    if target.model_is_local:
        return f"local directory {target.model}"
    revision = target.revision or "main"
    try:
        commit = cached_commit(target.model, target.revision)
    except Exception as exc:  # the header must never stop a run; the load reports real problems
        return f"{target.model} revision {revision}, cache unreadable ({type(exc).__name__}: {exc})"
    resolved = f"commit {commit} in the local cache" if commit else "not in the local cache (will download)"
    return f"{target.model} revision {revision} -> {resolved}"
