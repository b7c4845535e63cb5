"""Translate English news articles into Albanian and Ukrainian with MarianMT (Opus-MT), and narrate
each translation as an MP3 that says it was made with AI assistance.

From Python, the same job ``pipeline run`` does::

    from pathlib import Path

    from pipeline import RunOptions, load_config, run_job

    config = load_config(Path("configs/example.yaml"), overrides=["tts.engine=espeak-ng"])
    report = run_job(config, options=RunOptions(languages=frozenset({"sq"})))
    print(report.counts(), [failure.message for failure in report.failures])

The names below are imported on first use, so ``import pipeline`` stays cheap (no torch, no
CTranslate2 until a model is loaded). Everything the pipeline raises on purpose is a
``PipelineError``: ``TransientError`` (may succeed later) or ``PermanentError``.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from pipeline.version import __version__

_EXPORTS = {
    "load_config": "pipeline.config",
    "JobConfig": "pipeline.config",
    "TargetConfig": "pipeline.config",
    "run_job": "pipeline.executor.run",
    "RunOptions": "pipeline.executor.options",
    "RunReport": "pipeline.executor.run_report",
    "Translator": "pipeline.mt.batching",
    "load_translator": "pipeline.mt.backends",
    "Engine": "pipeline.tts",
    "EditorService": "pipeline.editor.service",
    "PipelineError": "pipeline.errors",
    "TransientError": "pipeline.errors",
    "PermanentError": "pipeline.errors",
    "ConfigError": "pipeline.errors",
    "InputError": "pipeline.errors",
    "ModelError": "pipeline.errors",
    "LockedError": "pipeline.errors",
    "StateError": "pipeline.errors",
    "EditorError": "pipeline.errors",
}

__all__ = [
    "ConfigError",
    "EditorError",
    "EditorService",
    "Engine",
    "InputError",
    "JobConfig",
    "LockedError",
    "ModelError",
    "PermanentError",
    "PipelineError",
    "RunOptions",
    "RunReport",
    "StateError",
    "TargetConfig",
    "TransientError",
    "Translator",
    "__version__",
    "load_config",
    "load_translator",
    "run_job",
]

if TYPE_CHECKING:
    from pipeline.config import JobConfig, TargetConfig, load_config
    from pipeline.editor.service import EditorService
    from pipeline.errors import (
        ConfigError,
        EditorError,
        InputError,
        LockedError,
        ModelError,
        PermanentError,
        PipelineError,
        StateError,
        TransientError,
    )
    from pipeline.executor.options import RunOptions
    from pipeline.executor.run import run_job
    from pipeline.executor.run_report import RunReport
    from pipeline.mt.backends import load_translator
    from pipeline.mt.batching import Translator
    from pipeline.tts import Engine


def __getattr__(name: str) -> Any:
    """Import an exported name from its module on first use (PEP 562)."""
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'pipeline' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])
